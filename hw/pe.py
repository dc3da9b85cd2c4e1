"""Reconfigurable processing element: three BF16 MACs and operand multiplexers (systolic / convolution).

Source: ``stt-ai-mishty-sadi.txt``, Section III.A and Fig. 3. "The reconfigurable core consists of three MAC
modules and four Multiplexers." Mode 0 (Fig. 3(b)): "the MACs are disconnected from each other and their
outputs are collected downward" (systolic array). Mode 1 (Fig. 3(c)): "adder3 adds the outputs of multiplier3
and multiplier2 ... adder1 adds the multiplier1 output with the previous partial sum ... adder2 sums them up to
produce the PE_OUT."

Index convention (ours; the paper numbers from 1): lane ``i`` = ``act<i>``, ``wgt<i>``, ``psum<i>``, ``out<i>``
holds multiplier ``i+1`` and adder ``i+1``. So with ``m_i = fl32(act_i * wgt_i)``:

==============  ==========================================  ==========================================
output          mode 0 (systolic)                           mode 1 (convolution)
==============  ==========================================  ==========================================
``out0``        ``fl32(m_0 + psum0)``                       adder1 = ``fl32(m_0 + psum0)``
``out1``        ``fl32(m_1 + psum1)``                       adder2 = ``fl32(out0 + out2)`` (= ``pe_out``)
``out2``        ``fl32(m_2 + psum2)``                       adder3 = ``fl32(m_2 + m_1)``
``pe_out``      ``out1`` (adder2's output, as in mode 1)    adder2 = ``fl32(adder1 + adder3)``
==============  ==========================================  ==========================================

In mode 1 ``psum0`` is the incoming partial sum (psum_in); ``psum1`` and ``psum2`` are ignored. The adders'
operand order is as written (a + b); addition is commutative in IEEE-754 with canonical NaNs, so it does not
change any result.

Pipeline and mode switching (our decision): the three MACs share their adders between the modes, and in
mode 1 adder2 takes its operands one adder latency later than in mode 0. To let the mode change on every
cycle with no bubble and no structural hazard, adder2 always works at the same pipeline depth: in mode 0 its
operands (``m_1``, ``psum1``) are delayed by the adder latency, and adder1's and adder3's results are delayed
by the adder latency so all outputs leave together. The mode travels down the pipeline with its vector. Hence
``latency_systolic == latency_conv`` = multiplier (3) + adder (4) + adder (4) = 11 cycles, initiation interval 1
in both modes and across mode changes. A single MAC on its own (:class:`hw.mac.BF16MAC`) has 7 cycles.

Multiplexers: the paper counts four; this datapath needs three operand muxes (adder3's second operand:
``psum2`` or ``m_1``; adder2's two operands: ``m_1``/``psum1`` or adder1/adder3) -- the paper's fourth is not
described and its role (e.g. steering ``PE_OUT`` onto the downward partial-sum path) is played here by the
fixed wiring ``pe_out = out1``.

Golden: :func:`model.fp_golden.ref_pe`.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.bf16_mul import BF16Multiplier
from hw.fp32_add import FP32Adder
from hw.fp_common import check_bool, delay

__all__ = ["ReconfigurablePE"]

LANES = 3


class ReconfigurablePE(wiring.Component):
    """Three BF16 x BF16 -> FP32 MACs reconfigurable per vector as three systolic MACs or one 3-term dot product.

    Parameters
    ----------
    ftz : bool
        Flush-to-zero in all multipliers and adders (default ``False``: full IEEE-754).

    Ports
    -----
    act0, act1, act2 : In(16)
        bfloat16 activations (input feature map elements).
    wgt0, wgt1, wgt2 : In(16)
        bfloat16 weights.
    psum0, psum1, psum2 : In(32)
        binary32 partial sums from the PE above (mode 0: one per MAC; mode 1: ``psum0`` is psum_in).
    mode : In(1)
        0 = systolic (Fig. 3(b)), 1 = convolution (Fig. 3(c)); sampled with ``valid``, may change every cycle.
    valid : In(1)
        The inputs carry a vector this cycle.
    out0, out1, out2 : Out(32)
        Per-adder results (see the module table: mode 0 the three MAC results, mode 1 adder1, adder2, adder3).
    pe_out : Out(32)
        adder2's result: the PE_OUT partial sum in mode 1; equal to ``out1`` in mode 0.
    out_valid : Out(1)
        The outputs carry the vector presented ``latency_conv`` (= ``latency_systolic``) cycles earlier.

    Attributes
    ----------
    latency_systolic, latency_conv : int
        11 cycles each (3 multiplier + 4 adder + 4 adder; mode 0 is padded to mode 1 so that modes can mix
        freely). Initiation interval 1 in both modes.
    """

    latency_systolic = BF16Multiplier.latency + 2 * FP32Adder.latency
    latency_conv = BF16Multiplier.latency + 2 * FP32Adder.latency

    def __init__(self, *, ftz: bool = False):
        self._ftz = check_bool("ftz", ftz)
        ports = {}
        for i in range(LANES):
            ports[f"act{i}"] = In(16)
        for i in range(LANES):
            ports[f"wgt{i}"] = In(16)
        for i in range(LANES):
            ports[f"psum{i}"] = In(32)
        ports["mode"] = In(1)
        ports["valid"] = In(1)
        for i in range(LANES):
            ports[f"out{i}"] = Out(32)
        ports["pe_out"] = Out(32)
        ports["out_valid"] = Out(1)
        super().__init__(ports)

    ftz = property(lambda self: self._ftz)

    def elaborate(self, platform):
        m = Module()
        lat_m, lat_a = BF16Multiplier.latency, FP32Adder.latency
        acts = [self.act0, self.act1, self.act2]
        wgts = [self.wgt0, self.wgt1, self.wgt2]

        muls, adds = [], []
        for i in range(LANES):
            mul = BF16Multiplier(ftz=self._ftz)
            add = FP32Adder(ftz=self._ftz)
            m.submodules[f"mul{i}"] = mul
            m.submodules[f"add{i}"] = add
            m.d.comb += [mul.a.eq(acts[i]), mul.b.eq(wgts[i]), mul.valid.eq(self.valid)]
            muls.append(mul)
            adds.append(add)

        # Stage lat_m: adder1 (lane 0) and adder3 (lane 2) start.
        valid_m = muls[0].product_valid
        mode_m = delay(m, self.mode, lat_m, "mode_m")
        psum0_m = delay(m, self.psum0, lat_m, "psum0_m")
        psum2_m = delay(m, self.psum2, lat_m, "psum2_m")
        m.d.comb += [
            adds[0].a.eq(muls[0].product), adds[0].b.eq(psum0_m), adds[0].valid.eq(valid_m),
            # mux: adder3's second operand is psum2 (mode 0) or multiplier2's product (mode 1)
            adds[2].a.eq(muls[2].product), adds[2].b.eq(Mux(mode_m, muls[1].product, psum2_m)),
            adds[2].valid.eq(valid_m),
        ]

        # Stage lat_m + lat_a: adder2 (lane 1) starts; in mode 0 on its own product and psum, delayed.
        mode_a = delay(m, mode_m, lat_a, "mode_a")
        prod1_a = delay(m, muls[1].product, lat_a, "prod1_a")
        psum1_a = delay(m, self.psum1, lat_m + lat_a, "psum1_a")
        m.d.comb += [
            adds[1].a.eq(Mux(mode_a, adds[0].sum, prod1_a)),
            adds[1].b.eq(Mux(mode_a, adds[2].sum, psum1_a)),
            adds[1].valid.eq(adds[0].sum_valid),
        ]

        # Stage lat_m + 2 lat_a: all outputs leave together.
        m.d.comb += [
            self.out0.eq(delay(m, adds[0].sum, lat_a, "out0")),
            self.out1.eq(adds[1].sum),
            self.out2.eq(delay(m, adds[2].sum, lat_a, "out2")),
            self.pe_out.eq(adds[1].sum),
            self.out_valid.eq(adds[1].sum_valid),
        ]
        return m
