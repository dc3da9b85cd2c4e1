"""Pipelined IEEE-754 binary32 adder.

Source: ``stt-ai-mishty-sadi.txt``, Section III.A and Fig. 3 (the "FP32 adder" of each MAC). The paper gives no
micro-architecture or rounding rule; we decide (and :func:`model.fp_golden.ref_fp32_add` models exactly this):

* sum = ``fl32(a + b)``, IEEE-754 round-to-nearest-even, overflow to infinity.
* Signed zeros: an exact zero sum is ``+0`` unless both operands are ``-0`` (``x + (-x) = +0``, ``-0 + -0 = -0``).
* Any NaN operand, or ``inf + (-inf)``, gives the canonical NaN ``0x7FC00000``; ``inf + finite`` is that inf.
* Subnormal operands and results are exact (default). With ``ftz=True`` subnormal operands read as zero of
  their sign and a subnormal result is flushed to zero of its sign.

Micro-architecture: classic swap / align / add / normalise / round on a 27-bit significand (24 bits + guard,
round, sticky), which is enough for correct round-to-nearest-even: a normalising left shift of more than one
place only happens when the exponents differ by at most one, and then no bit was shifted out.
"""

# No `from __future__ import annotations`: wiring.Component evaluates the port annotations below.

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.fp_common import CANONICAL_NAN, FP32, Decoded, check_bool, flush_subnormal, leading_zeros, \
    round_pack, shift_right_sticky

__all__ = ["FP32Adder"]


class FP32Adder(wiring.Component):
    """binary32 + binary32 -> binary32 adder, round-to-nearest-even, one operation per cycle.

    Parameters
    ----------
    ftz : bool
        Flush subnormal inputs and results to zero of the same sign (default ``False``: full IEEE-754).

    Ports
    -----
    a, b : In(32)
        binary32 bit patterns.
    valid : In(1)
        ``a`` and ``b`` carry an operation this cycle.
    sum : Out(32)
        binary32 bit pattern of ``fl32(a + b)``; meaningful while ``sum_valid``.
    sum_valid : Out(1)
        ``sum`` carries the result of the operation presented ``latency`` cycles earlier.

    Attributes
    ----------
    latency : int
        4 cycles (register stages: 1 classify + magnitude compare/swap + exponent difference, 2 align with
        sticky + add/subtract, 3 leading-zero count + normalise, 4 round + pack). Initiation interval 1.
    """

    a: In(32)
    b: In(32)
    valid: In(1)
    sum: Out(32)
    sum_valid: Out(1)

    latency = 4

    def __init__(self, *, ftz: bool = False):
        self._ftz = check_bool("ftz", ftz)
        super().__init__()

    ftz = property(lambda self: self._ftz)

    def elaborate(self, platform):
        m = Module()
        a = Decoded(data.View(FP32, self.a), self._ftz)
        b = Decoded(data.View(FP32, self.b), self._ftz)

        # Stage 1: classify; x is the operand of larger magnitude, y the other one.
        swap = self.b[:31] > self.a[:31]
        s1_valid, s1_nan, s1_inf, s1_inf_sign = Signal(), Signal(), Signal(), Signal()
        s1_sign, s1_sub, s1_zero_sign = Signal(), Signal(), Signal()
        s1_xsig, s1_ysig = Signal(24), Signal(24)
        s1_xexp, s1_diff = Signal(8), Signal(8)
        m.d.sync += [
            s1_valid.eq(self.valid),
            s1_nan.eq(a.is_nan | b.is_nan | (a.is_inf & b.is_inf & (a.sign != b.sign))),
            s1_inf.eq(a.is_inf | b.is_inf),
            s1_inf_sign.eq(Mux(a.is_inf, a.sign, b.sign)),
            s1_sign.eq(Mux(swap, b.sign, a.sign)),
            s1_sub.eq(a.sign ^ b.sign),
            s1_zero_sign.eq(a.sign & b.sign),
            s1_xsig.eq(Mux(swap, b.sig, a.sig)),
            s1_ysig.eq(Mux(swap, a.sig, b.sig)),
            s1_xexp.eq(Mux(swap, b.exp_eff, a.exp_eff)),
            s1_diff.eq(Mux(swap, b.exp_eff - a.exp_eff, a.exp_eff - b.exp_eff)),
        ]

        # Stage 2: align y to x (guard, round, sticky below the LSB), then add or subtract magnitudes.
        x27 = Cat(Const(0, 3), s1_xsig)
        y27 = shift_right_sticky(m, Cat(Const(0, 3), s1_ysig), s1_diff, "s2_yal")
        s2_valid, s2_nan, s2_inf, s2_inf_sign, s2_sign, s2_zero_sign = (Signal(name=f"s2_{n}") for n in (
            "valid", "nan", "inf", "inf_sign", "sign", "zero_sign"))
        s2_sum = Signal(28)
        s2_xexp = Signal(8)
        m.d.sync += [
            s2_valid.eq(s1_valid), s2_nan.eq(s1_nan), s2_inf.eq(s1_inf), s2_inf_sign.eq(s1_inf_sign),
            s2_sign.eq(s1_sign), s2_zero_sign.eq(s1_zero_sign), s2_xexp.eq(s1_xexp),
            s2_sum.eq(Mux(s1_sub, x27 - y27, x27 + y27)[:28]),
        ]

        # Stage 3: normalise. A carry shifts right by one (sticky kept); otherwise shift left by the leading
        # zeros, but not below exponent 1 (the result is then subnormal and exact).
        lz = leading_zeros(m, s2_sum[:27], "s3_lz")
        max_shift = s2_xexp - 1
        shift = Signal(range(28))
        m.d.comb += shift.eq(Mux(lz < max_shift, lz, max_shift))
        carry = s2_sum[27]
        s3_valid, s3_nan, s3_inf, s3_inf_sign, s3_sign, s3_zero_sign, s3_zero = (Signal(name=f"s3_{n}") for n in (
            "valid", "nan", "inf", "inf_sign", "sign", "zero_sign", "zero"))
        s3_sig = Signal(27)
        s3_exp_m1 = Signal(8)  # biased exponent - 1, <= 254
        m.d.sync += [
            s3_valid.eq(s2_valid), s3_nan.eq(s2_nan), s3_inf.eq(s2_inf), s3_inf_sign.eq(s2_inf_sign),
            s3_sign.eq(s2_sign), s3_zero_sign.eq(s2_zero_sign),
            s3_zero.eq(s2_sum == 0),
            s3_sig.eq(Mux(carry, Cat(s2_sum[1] | s2_sum[0], s2_sum[2:28]), (s2_sum[:27] << shift)[:27])),
            s3_exp_m1.eq(Mux(carry, s2_xexp, max_shift - shift)),
        ]

        # Stage 4: round to nearest-even, pack, select special results.
        packed = round_pack(m, s3_sign, s3_exp_m1, s3_sig, "s4_pack")
        finite = flush_subnormal(packed) if self._ftz else packed
        with m.If(s3_nan):
            m.d.sync += self.sum.eq(CANONICAL_NAN)
        with m.Elif(s3_inf):
            m.d.sync += self.sum.eq(Cat(Const(0, 23), Const(0xFF, 8), s3_inf_sign))
        with m.Elif(s3_zero):
            m.d.sync += self.sum.eq(Cat(Const(0, 31), s3_zero_sign))
        with m.Else():
            m.d.sync += self.sum.eq(finite)
        m.d.sync += self.sum_valid.eq(s3_valid)
        return m
