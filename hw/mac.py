"""BF16-multiply / FP32-accumulate MAC: ``result = fl32(fl32(a * b) + c)``.

Source: ``stt-ai-mishty-sadi.txt``, Section III.A, Fig. 3(a): "Each MAC contains a BFloat16 multiplier and an
FP32 adder"; "the multipliers ... pass the results to their neighboring adders to be added with the previous
partial sum results". The multiplier and the adder are separate units, so the MAC rounds twice (not fused):
first the product to binary32 (:class:`hw.bf16_mul.BF16Multiplier`), then the sum
(:class:`hw.fp32_add.FP32Adder`). Golden: :func:`model.fp_golden.ref_mac`.
"""

# No `from __future__ import annotations`: wiring.Component evaluates the port annotations below.

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.bf16_mul import BF16Multiplier
from hw.fp32_add import FP32Adder
from hw.fp_common import check_bool, delay

__all__ = ["BF16MAC"]


class BF16MAC(wiring.Component):
    """Pipelined multiply-accumulate: bfloat16 x bfloat16 product added to a binary32 addend.

    Parameters
    ----------
    ftz : bool
        Flush-to-zero for both units (see :class:`~hw.bf16_mul.BF16Multiplier`); default ``False`` (IEEE-754).

    Ports
    -----
    a, b : In(16)
        bfloat16 bit patterns (activation and weight).
    c : In(32)
        binary32 addend (incoming partial sum), presented in the same cycle as ``a`` and ``b``.
    valid : In(1)
        The operands carry an operation this cycle.
    result : Out(32)
        ``fl32(fl32(a * b) + c)``, meaningful while ``result_valid``.
    result_valid : Out(1)
        ``result`` carries the operation presented ``latency`` cycles earlier.

    Attributes
    ----------
    latency : int
        ``BF16Multiplier.latency + FP32Adder.latency`` = 3 + 4 = 7 cycles; ``c`` is delayed inside by the
        multiplier latency. Initiation interval 1.
    """

    a: In(16)
    b: In(16)
    c: In(32)
    valid: In(1)
    result: Out(32)
    result_valid: Out(1)

    latency = BF16Multiplier.latency + FP32Adder.latency

    def __init__(self, *, ftz: bool = False):
        self._ftz = check_bool("ftz", ftz)
        super().__init__()

    ftz = property(lambda self: self._ftz)

    def elaborate(self, platform):
        m = Module()
        m.submodules.mul = mul = BF16Multiplier(ftz=self._ftz)
        m.submodules.add = add = FP32Adder(ftz=self._ftz)
        m.d.comb += [
            mul.a.eq(self.a), mul.b.eq(self.b), mul.valid.eq(self.valid),
            add.a.eq(mul.product),
            add.b.eq(delay(m, self.c, mul.latency, "c")),
            add.valid.eq(mul.product_valid),
            self.result.eq(add.sum),
            self.result_valid.eq(add.sum_valid),
        ]
        return m
