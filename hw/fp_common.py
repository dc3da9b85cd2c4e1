"""Shared pieces of the floating-point blocks: field layouts, leading-zero count, sticky shift, RNE packing.

Used by :mod:`hw.bf16_mul`, :mod:`hw.fp32_add`, :mod:`hw.mac` and :mod:`hw.pe`. Number formats are
IEEE-754 binary32 (FP32: 1 sign, 8 exponent, 23 fraction bits, bias 127) and bfloat16 (BF16: 1 sign,
8 exponent, 7 fraction bits, bias 127 -- the upper half of a binary32).

Rounding convention of all blocks (IEEE-754 round-to-nearest, ties-to-even) is implemented once, in
:func:`round_pack`, on a 27-bit significand ``sig27`` = 24 significand bits (hidden bit at bit 26) followed by
guard, round and sticky bits.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data

from model.checks import check_bool  # re-exported: the FP blocks check ``ftz`` with it

__all__ = ["BF16", "FP32", "CANONICAL_NAN", "check_bool", "leading_zeros", "shift_right_sticky", "round_pack",
           "flush_subnormal", "delay", "Decoded"]

#: bfloat16 fields, LSB first (``data.View(BF16, sig16)``).
BF16 = data.StructLayout({"mant": 7, "exp": 8, "sign": 1})
#: IEEE-754 binary32 fields, LSB first.
FP32 = data.StructLayout({"mant": 23, "exp": 8, "sign": 1})
#: The one NaN every block outputs (quiet, positive, payload zero).
CANONICAL_NAN = 0x7FC00000


def _lzc_tree(bits: Value) -> tuple[Value, Value]:
    """(count, all_zero) of a power-of-two-wide value, as a log-depth tree of muxes."""
    if len(bits) == 2:
        return ~bits[1], ~(bits[1] | bits[0])
    half = len(bits) // 2
    c_hi, z_hi = _lzc_tree(bits[half:])
    c_lo, z_lo = _lzc_tree(bits[:half])
    return Mux(z_hi, Cat(c_lo, Const(1, 1)), Cat(c_hi, Const(0, 1))), z_hi & z_lo


def leading_zeros(m: Module, value: Value, name: str) -> Signal:
    """Combinational count of leading zeros of ``value`` (``len(value)`` when it is zero).

    A balanced tree (``ceil(log2(len(value)))`` mux levels), not a priority chain, to keep the path short.
    """
    width = len(value)
    padded = 2
    while padded < width:
        padded *= 2
    count, zero = _lzc_tree(Cat(Const(0, padded - width), value))  # zero padding below the LSB
    lz = Signal(range(width + 1), name=name)
    m.d.comb += lz.eq(Mux(zero, width, count))
    return lz


def shift_right_sticky(m: Module, value: Value, amount: Value, name: str) -> Signal:
    """``value >> amount`` with every shifted-out bit ORed into bit 0 (the sticky bit).

    ``amount`` may exceed ``len(value)``: the result is then just the sticky bit.
    """
    width = len(value)
    amt = Signal(range(width + 1), name=f"{name}_amt")
    m.d.comb += amt.eq(Mux(amount >= width, width, amount))
    lost_mask = Signal(width, name=f"{name}_mask")
    m.d.comb += lost_mask.eq(((Const(1, 1) << amt) - 1)[:width])
    out = Signal(width, name=name)
    m.d.comb += out.eq((value >> amt)[:width] | ((value & lost_mask) != 0))
    return out


def round_pack(m: Module, sign: Value, exp_m1: Value, sig27: Value, name: str) -> Signal:
    """Round ``sig27`` to nearest-even and pack a binary32, overflowing to infinity.

    Parameters
    ----------
    sign : 1-bit value
    exp_m1 : unsigned value >= 0
        Biased exponent of the hidden-bit position (bit 26 of ``sig27``) minus one. A subnormal result has
        ``exp_m1 == 0`` and a clear bit 26; it is encoded correctly (exponent field 0) without a special case.
    sig27 : 27-bit value
        Significand (bits 26..3), guard (bit 2), round (bit 1) and sticky (bit 0).

    The pack is ``(exp_m1 << 23) + rounded_significand``: the hidden bit increments the exponent field, so a
    significand that rounds up to ``2**24`` (or a subnormal that rounds up to ``2**23``) renormalises by itself.
    Only the exponent part needs an adder (the fraction bits pass through). An exponent field >= 255 after
    rounding gives infinity (round-to-nearest never saturates to the largest finite number).
    """
    lsb, guard, rest = sig27[3], sig27[2], sig27[1] | sig27[0]
    up = guard & (rest | lsb)
    rounded = Signal(25, name=f"{name}_sig")
    m.d.comb += rounded.eq(sig27[3:27] + up)
    exp_field = Signal(len(exp_m1) + 1, name=f"{name}_exp")
    m.d.comb += exp_field.eq(exp_m1 + rounded[23:25])
    out = Signal(32, name=name)
    with m.If(exp_field >= 255):
        m.d.comb += out.eq(Cat(Const(0, 23), Const(0xFF, 8), sign))
    with m.Else():
        m.d.comb += out.eq(Cat(rounded[:23], exp_field[:8], sign))
    return out


def flush_subnormal(value: Value) -> Value:
    """A binary32 pattern with a subnormal replaced by the zero of the same sign (flush-to-zero)."""
    return Mux((value[23:31] == 0), Cat(Const(0, 31), value[31]), value)


def delay(m: Module, value: Value, cycles: int, name: str, en: Value | None = None) -> Value:
    """``value`` delayed by ``cycles`` registers (``cycles == 0`` returns ``value``); with ``en``, the registers
    load only in cycles where ``en`` is high (a stallable pipeline)."""
    for i in range(cycles):
        reg = Signal(len(value), name=f"{name}_d{i + 1}")
        m.d.sync += reg.eq(value if en is None else Mux(en, value, reg))
        value = reg
    return value


class Decoded:
    """Classified operand fields (combinational expressions) of a BF16 or FP32 ``data.View``.

    Attributes
    ----------
    sign : sign bit
    exp_eff : biased exponent with subnormals (and zero) at 1, ``max(exp, 1)``
    sig : significand with the hidden bit on top (``mant_bits + 1`` bits); zero for a flushed subnormal
    is_zero, is_inf, is_nan : classification (``is_zero`` includes flushed subnormals when ``ftz``)
    """

    def __init__(self, view, ftz: bool):
        exp_zero = view.exp == 0
        exp_max = view.exp == 0xFF
        mant_zero = view.mant == 0
        self.sign = view.sign
        self.exp_eff = Mux(exp_zero, 1, view.exp)
        if ftz:  # denormals-are-zero: the significand of a subnormal input is dropped
            self.sig = Mux(exp_zero, 0, Cat(view.mant, Const(1, 1)))
            self.is_zero = exp_zero
        else:
            self.sig = Cat(view.mant, ~exp_zero)
            self.is_zero = exp_zero & mant_zero
        self.is_inf = exp_max & mant_zero
        self.is_nan = exp_max & ~mant_zero
