"""Digital post-processing of the MRAM deep in-memory architecture (MRAM-DIMA): ADC codes to an output.

Source: ``mram-dima-patil-iscas2019.txt`` (eq. (1) ``a = W x``, ``B_w``-bit weights stored one bit per 1T-1MTJ
cell, Fig. 1) and the DIMA pipeline's last stage, digital processing of the ADC output (Kang et al., JSSC 2018;
Kang, Gonugondla, Shanbhag, Proc. IEEE 2020). The analog array (``model/dima/array.py``) gives, per output, either
one unsigned ADC code per (weight-bit slice, input-bit plane) (the bit-serial mapping) or one code for the whole
dot product (the dima mapping); this block removes the codes' offset, recombines the slices with their weights,
applies the ADC step (a left shift), accumulates the input-bit planes MSB first (shift-and-add), and applies bias,
scaling shift, ReLU and saturation: the requantisation of a DNN layer's output to the next layer's input.

Function (bit-exact with :func:`model.dima.array.ref_dima_post`); the block knows only the code weights ``c`` and
whether the codes are bipolar (offset binary); the registry's factory (``scripts/blocks``) derives both from the
array's encoding and mapping with :func:`model.dima.array.code_weights` and :func:`model.dima.array.is_bipolar`::

    p   = 2**lsb_shift · sum_k c_k (code_k - offset)                        per plane
          (twos, bit-serial: c = (1, 2, .., -2**(b_w-1)), offset 0;  sign-magnitude / differential, bit-serial:
           c = (1, 2, .., 2**(b_w-2)), offset 2**(slice_bits-1);  dima: one code, c = (1,), offset 2**(slice_bits-1))
    acc = p (first) | 2*acc + p (otherwise), wrapped to acc_width bits two's complement
    y   = (acc + bias) >> shift        on last: exact (acc_width + 1)-bit sum, arithmetic shift (floor)
    out = clamp(y, 0, 2**b_out - 1) (relu) | clamp(y, -2**(b_out-1), 2**(b_out-1) - 1) (two's complement)

Design decisions (the papers give no micro-architecture): three register stages -- code recombination,
accumulator (with the bias sum registered on ``last``), shift and saturation -- so ``latency`` = 3 and one plane
per cycle with vectors back to back; ``acc`` keeps its value over idle cycles and starts at 0 after reset; a plane
without ``first`` continues the previous accumulation even after a ``last``; ``first``/``last`` and the
``bias``/``shift``/``relu`` inputs are ignored when ``valid`` is low, and ``bias``/``shift``/``relu`` also on every
plane but the ``last``. ``out`` holds its value until the next result. The dima mapping's vectors are one plane
(``first`` and ``last`` together); the datapath does not forbid more.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from model.checks import check_int

#: Widest ADC code (the array model's ``model.dima.array.MAX_ADC_BITS``).
MAX_SLICE_BITS = 48

__all__ = ["DIMAPostProcessor"]


class DIMAPostProcessor(wiring.Component):
    """Pipelined slice recombination, bit-plane accumulation and requantisation of MRAM-DIMA ADC codes.

    Parameters
    ----------
    b_w : int
        Weight bits, 2 .. 16 (default 4).
    slice_bits : int
        Bits of one ADC code, 1 .. 48 (default 8).
    acc_width : int
        Accumulator and ``bias`` width, two's complement, 2 .. 64 (default 32).
    b_out : int
        Output width, 1 .. 64 (default 8).
    code_weights : sequence of int or None
        Weight of each code of a plane, each ``±2**k`` with ``k < b_w`` (at most ``b_w`` codes). Default: the
        two's-complement bit-serial slices ``(1, 2, .., 2**(b_w-2), -2**(b_w-1))``; ``(1,)`` is the dima mapping's
        one code per output.
    bipolar : bool
        The codes are offset binary: ``2**(slice_bits-1)`` is an analog 0 and is subtracted (default False).
    lsb_shift : int
        The ADC step ``2**lsb_shift`` applied to every plane value, 0 .. 48 (default 0).

    Ports
    -----
    codes : In(n_codes * slice_bits)
        The unsigned ADC codes of one input-bit plane; code ``j`` in bits ``[j*slice_bits, (j+1)*slice_bits)``.
    valid : In(1)
        A plane is presented this cycle.
    first : In(1)
        The plane is a vector's first (its MSB plane).
    last : In(1)
        The plane is the vector's last (its LSB plane); a one-plane vector has both flags.
    bias : In(signed(acc_width))
        Added to the accumulated value; sampled with the ``last`` plane.
    shift : In(ceil_log2(acc_width))
        Arithmetic right shift after the bias; sampled with the ``last`` plane.
    relu : In(1)
        Clamp to ``[0, 2**b_out - 1]`` instead of the signed range; sampled with the ``last`` plane.
    out : Out(b_out)
        The saturated result (its two's-complement pattern without ``relu``); held until the next result.
    out_valid : Out(1)
        One-cycle pulse: ``out`` carries a new result.

    Attributes
    ----------
    latency : int
        Cycles from the ``valid`` of a vector's ``last`` plane to its ``out_valid``: 3 (recombination,
        accumulator + bias, shift + saturation). One plane per cycle; vectors back to back.
    """

    def __init__(self, b_w: int = 4, slice_bits: int = 8, acc_width: int = 32, b_out: int = 8,
                 code_weights=None, bipolar: bool = False, lsb_shift: int = 0):
        self._b_w = check_int("b_w", b_w, min=2, max=16)
        self._slice_bits = check_int("slice_bits", slice_bits, min=1, max=MAX_SLICE_BITS)
        self._acc_width = check_int("acc_width", acc_width, min=2, max=64)
        self._b_out = check_int("b_out", b_out, min=1, max=64)
        self._lsb_shift = check_int("lsb_shift", lsb_shift, min=0, max=48)
        if not isinstance(bipolar, bool):
            raise TypeError(f"bipolar must be a bool, got {bipolar!r}")
        self._bipolar = bipolar
        if code_weights is None:
            code_weights = [1 << j for j in range(self._b_w - 1)] + [-(1 << (self._b_w - 1))]
        weights = list(code_weights)
        if not 1 <= len(weights) <= self._b_w or not all(
                isinstance(c, int) and not isinstance(c, bool) and c != 0 and abs(c) < (1 << self._b_w)
                and abs(c) & (abs(c) - 1) == 0 for c in weights):
            raise ValueError(f"code_weights must be 1 .. {self._b_w} values ±2**k with k < b_w = {self._b_w}, "
                             f"got {code_weights!r}")
        self._weights = weights
        super().__init__({
            "codes": In(self.n_codes * self._slice_bits),
            "valid": In(1),
            "first": In(1),
            "last": In(1),
            "bias": In(signed(self._acc_width)),
            "shift": In(self.shift_width),
            "relu": In(1),
            "out": Out(self._b_out),
            "out_valid": Out(1),
        })

    b_w = property(lambda self: self._b_w)
    slice_bits = property(lambda self: self._slice_bits)
    acc_width = property(lambda self: self._acc_width)
    b_out = property(lambda self: self._b_out)
    bipolar = property(lambda self: self._bipolar)
    lsb_shift = property(lambda self: self._lsb_shift)

    @property
    def n_codes(self) -> int:
        """Codes per plane: ``len(code_weights)``."""
        return len(self._weights)

    @property
    def code_weights(self) -> tuple:
        """Weight of each code of a plane."""
        return tuple(self._weights)

    @property
    def code_offset(self) -> int:
        """The code of an analog 0: ``2**(slice_bits-1)`` when bipolar, else 0."""
        return (1 << (self._slice_bits - 1)) if self._bipolar else 0

    @property
    def shift_width(self) -> int:
        """Bits of ``shift``: ``ceil_log2(acc_width)``."""
        return ceil_log2(self._acc_width)

    @property
    def plane_width(self) -> int:
        """Bits of one plane value ``p`` (signed): enough for ``2**lsb_shift·Σ_k |c_k|·max|code - offset|``."""
        top = max(self.code_offset, (1 << self._slice_bits) - 1 - self.code_offset)
        return (top * sum(abs(c) for c in self._weights) << self._lsb_shift).bit_length() + 1

    latency = 3

    def elaborate(self, platform):
        m = Module()
        s, aw, bo = self._slice_bits, self._acc_width, self._b_out

        # Stage 1: p = 2**lsb_shift · sum_j c_j (code_j - offset); c_j = ±2**k.
        off = self.code_offset
        codes = [self.codes[j * s:(j + 1) * s] for j in range(self.n_codes)]
        terms = [((c - off) if off else c) << abs(w).bit_length() - 1 for c, w in zip(codes, self._weights)]
        pos = sum(t for t, w in zip(terms, self._weights) if w > 0)
        neg = sum(t for t, w in zip(terms, self._weights) if w < 0)
        p = Signal(signed(self.plane_width), name="s1_p")
        v1, first1, last1, relu1 = Signal(name="s1_valid"), Signal(name="s1_first"), Signal(name="s1_last"), \
            Signal(name="s1_relu")
        bias1 = Signal(signed(aw), name="s1_bias")
        shift1 = Signal(self.shift_width, name="s1_shift")
        m.d.sync += [
            p.eq((pos - neg) << self._lsb_shift),
            v1.eq(self.valid), first1.eq(self.first), last1.eq(self.last),
            bias1.eq(self.bias), shift1.eq(self.shift), relu1.eq(self.relu),
        ]

        # Stage 2: accumulate (wrap at acc_width); on last, register the exact bias sum.
        acc = Signal(signed(aw))
        acc_next = Signal(signed(aw))
        m.d.comb += acc_next.eq(Mux(first1, p, (acc << 1) + p))        # truncation = the two's-complement wrap
        total = Signal(signed(aw + 1), name="s2_total")
        v2, relu2 = Signal(name="s2_valid"), Signal(name="s2_relu")
        shift2 = Signal(self.shift_width, name="s2_shift")
        with m.If(v1):
            m.d.sync += acc.eq(acc_next)
        m.d.sync += v2.eq(v1 & last1)
        with m.If(v1 & last1):
            m.d.sync += [total.eq(acc_next + bias1), shift2.eq(shift1), relu2.eq(relu1)]

        # Stage 3: arithmetic shift (floor) and saturation.
        y = Signal(signed(aw + 1))
        m.d.comb += y.eq(total >> shift2)
        lo = Mux(relu2, 0, -(1 << (bo - 1)))
        hi = Mux(relu2, (1 << bo) - 1, (1 << (bo - 1)) - 1)
        sat = Signal(signed(max(aw + 1, bo + 1)))
        with m.If(y < lo):
            m.d.comb += sat.eq(lo)
        with m.Elif(y > hi):
            m.d.comb += sat.eq(hi)
        with m.Else():
            m.d.comb += sat.eq(y)
        m.d.sync += self.out_valid.eq(v2)
        with m.If(v2):
            m.d.sync += self.out.eq(sat[:bo])
        return m
