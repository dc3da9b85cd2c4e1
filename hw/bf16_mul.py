"""Pipelined bfloat16 x bfloat16 -> IEEE-754 binary32 multiplier.

Source: ``stt-ai-mishty-sadi.txt``, Section III.A and Fig. 3: "Each MAC contains a BFloat16 multiplier and an
FP32 adder". The paper gives no micro-architecture or rounding rule; we decide (and the golden
:func:`model.fp_golden.ref_bf16_mul` models exactly this):

* result = ``fl32(a * b)``, IEEE-754 round-to-nearest-even. Two 8-bit significands give a 16-bit product,
  exact in binary32 except where it lands in the binary32 subnormal range (then it is rounded, ties to even,
  possibly to zero) or overflows (then it is infinity).
* Special values: any NaN operand, or 0 x inf, gives the canonical NaN ``0x7FC00000``; inf x finite-non-zero is
  infinity with the XOR sign; zeros are signed (sign = XOR of the operand signs). Subnormal BF16 inputs are
  exact (default) or, with ``ftz=True``, read as zero of their sign, and a subnormal result is flushed to zero of
  its sign.
"""

# No `from __future__ import annotations`: wiring.Component evaluates the port annotations below.

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.fp_common import BF16, CANONICAL_NAN, Decoded, check_bool, flush_subnormal, leading_zeros, \
    round_pack, shift_right_sticky

__all__ = ["BF16Multiplier"]


class BF16Multiplier(wiring.Component):
    """bfloat16 x bfloat16 -> binary32 multiplier, round-to-nearest-even, one operation per cycle.

    Parameters
    ----------
    ftz : bool
        Flush subnormal inputs and results to zero of the same sign (default ``False``: full IEEE-754).

    Ports
    -----
    a, b : In(16)
        bfloat16 bit patterns.
    valid : In(1)
        ``a`` and ``b`` carry an operation this cycle.
    product : Out(32)
        binary32 bit pattern of ``fl32(a * b)``; meaningful while ``product_valid``.
    product_valid : Out(1)
        ``product`` carries the result of the operation presented ``latency`` cycles earlier.

    Attributes
    ----------
    latency : int
        3 cycles (register stages: 1 decode + 8x8 significand multiply, 2 leading-zero count + normalise,
        3 denormalise + round + pack). Initiation interval 1 (a new operation every cycle).
    """

    a: In(16)
    b: In(16)
    valid: In(1)
    product: Out(32)
    product_valid: Out(1)

    latency = 3

    def __init__(self, *, ftz: bool = False):
        self._ftz = check_bool("ftz", ftz)
        super().__init__()

    ftz = property(lambda self: self._ftz)

    def elaborate(self, platform):
        m = Module()
        a = Decoded(data.View(BF16, self.a), self._ftz)
        b = Decoded(data.View(BF16, self.b), self._ftz)

        # Stage 1: classify, multiply the 8-bit significands, add the exponents.
        s1_valid = Signal()
        s1_sign = Signal()
        s1_nan = Signal()
        s1_inf = Signal()
        s1_zero = Signal()
        s1_prod = Signal(16)
        s1_exp_m1 = Signal(signed(12))   # exp_eff(a) + exp_eff(b) - 127, -125 .. 381
        s1_den = Signal(signed(12))      # 127 - exp_eff(a) - exp_eff(b)
        exps = a.exp_eff + b.exp_eff
        m.d.sync += [
            s1_valid.eq(self.valid),
            s1_sign.eq(a.sign ^ b.sign),
            s1_nan.eq(a.is_nan | b.is_nan | (a.is_inf & b.is_zero) | (a.is_zero & b.is_inf)),
            s1_inf.eq(a.is_inf | b.is_inf),
            s1_zero.eq(a.is_zero | b.is_zero),
            s1_prod.eq(a.sig * b.sig),
            s1_exp_m1.eq(exps - 127),
            s1_den.eq(127 - exps),
        ]

        # Stage 2: normalise the product so its leading one is bit 15.
        # value = prod * 2**(exps - 268) = 1.f * 2**(exps - lz - 253)  ->  biased exponent e = exps - lz - 126.
        # Registered: e - 1 = exps - 127 - lz (negative: the result is below the normal range) and the
        # denormalising shift 1 - e = 127 - exps + lz, so stage 3 needs no exponent arithmetic.
        lz = leading_zeros(m, s1_prod, "s2_lz")
        s2_valid = Signal()
        s2_sign = Signal()
        s2_nan = Signal()
        s2_inf = Signal()
        s2_zero = Signal()
        s2_norm = Signal(16)
        s2_exp_m1 = Signal(signed(12))
        s2_den = Signal(signed(12))
        m.d.sync += [
            s2_valid.eq(s1_valid), s2_sign.eq(s1_sign), s2_nan.eq(s1_nan), s2_inf.eq(s1_inf),
            s2_zero.eq(s1_zero),
            s2_norm.eq((s1_prod << lz)[:16]),
            s2_exp_m1.eq(s1_exp_m1 - lz),
            s2_den.eq(s1_den + lz),
        ]

        # Stage 3: a result below the normal range is shifted right by 1 - e (with sticky) at exponent 1,
        # then rounded to nearest-even and packed.
        sig27 = Cat(Const(0, 11), s2_norm)
        tiny = s2_exp_m1[-1]
        den_amount = Signal(range(32))
        m.d.comb += den_amount.eq(Mux(s2_den[5:] != 0, 31, s2_den[:5]))  # only used when tiny (s2_den >= 1)
        den = shift_right_sticky(m, sig27, den_amount, "s3_den")
        exp_m1 = Signal(9)
        m.d.comb += exp_m1.eq(Mux(tiny, 0, s2_exp_m1[:9]))
        packed = round_pack(m, s2_sign, exp_m1, Mux(tiny, den, sig27), "s3_pack")
        finite = flush_subnormal(packed) if self._ftz else packed
        with m.If(s2_nan):
            m.d.sync += self.product.eq(CANONICAL_NAN)
        with m.Elif(s2_inf):
            m.d.sync += self.product.eq(Cat(Const(0, 23), Const(0xFF, 8), s2_sign))
        with m.Elif(s2_zero):
            m.d.sync += self.product.eq(Cat(Const(0, 31), s2_sign))
        with m.Else():
            m.d.sync += self.product.eq(finite)
        m.d.sync += self.product_valid.eq(s2_valid)
        return m
