"""The FP golden models (model/fp_golden.py) against IEEE-754, independently of numpy and of the RTL.

Two independent references:

* hand-derived bit patterns for the special-value rules (signed zeros, infinities, NaNs, ties, overflow,
  subnormal results), each worked out from the standard in its comment;
* an exact rational oracle (``fractions.Fraction``, round-to-nearest-even written out here) for finite operands.
"""

from fractions import Fraction

import numpy as np
import pytest

from model import fp_golden as g

NAN = 0x7FC00000
PINF, NINF = 0x7F800000, 0xFF800000


# ---------------------------------------------------------------------------------------------------------------
# Exact oracle: decode patterns to rationals and round a rational to binary32 (RNE) without floating point.

def value_of(bits: int, mant_bits: int) -> Fraction:
    """Finite bfloat16 (mant_bits=7) or binary32 (23) pattern -> exact rational."""
    sign = -1 if bits >> (mant_bits + 8) else 1
    exp = (bits >> mant_bits) & 0xFF
    mant = bits & ((1 << mant_bits) - 1)
    assert exp != 0xFF
    if exp == 0:
        return sign * Fraction(mant, 1 << mant_bits) * Fraction(1, 1 << 126)
    return sign * (1 + Fraction(mant, 1 << mant_bits)) * Fraction(2) ** (exp - 127)


def round_fp32(q: Fraction, zero_sign: int = 0) -> int:
    """Exact rational -> binary32 pattern, round to nearest, ties to even, overflow to infinity."""
    if q == 0:
        return zero_sign << 31
    sign = int(q < 0)
    q = abs(q)
    e = q.numerator.bit_length() - q.denominator.bit_length()
    if Fraction(2) ** e > q:
        e -= 1
    assert Fraction(2) ** e <= q < Fraction(2) ** (e + 1)
    e = max(e, -126)                      # below 2**-126 the quantum stays 2**-149 (gradual underflow)
    scaled = q / Fraction(2) ** (e - 23)  # significand in units of the quantum
    n = scaled.numerator // scaled.denominator
    rem = scaled - n
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2 == 1):
        n += 1
    if n == 1 << 24:
        n, e = 1 << 23, e + 1
    if e > 127:
        return (sign << 31) | 0x7F800000
    if n < (1 << 23):                     # subnormal (e == -126)
        return (sign << 31) | n
    return (sign << 31) | ((e + 127) << 23) | (n - (1 << 23))


def is_finite(bits, mant_bits):
    return ((bits >> mant_bits) & 0xFF) != 0xFF


def test_oracle_itself():
    assert round_fp32(Fraction(1)) == 0x3F800000
    assert round_fp32(Fraction(1, 1 << 149)) == 1
    assert round_fp32(Fraction(1, 1 << 150)) == 0           # tie between 0 and 2**-149 -> even (0)
    assert round_fp32(Fraction(3, 1 << 150)) == 2           # 1.5 quanta -> even (2)
    assert round_fp32(Fraction(2) ** 128) == PINF
    assert value_of(0x3FC0, 7) == Fraction(3, 2)
    assert value_of(0x00000001, 23) == Fraction(1, 1 << 149)


# ---------------------------------------------------------------------------------------------------------------

def test_numpy_float32_keeps_subnormals():
    g.check_float32_subnormals()  # raises if FTZ/DAZ were set
    tiny = np.uint32(1).view(np.float32)
    assert (tiny * np.float32(2)).view(np.uint32) == 2
    assert (np.float32(2.0 ** -126) / np.float32(2)).view(np.uint32) == 0x00400000


def test_bf16_conversion_is_exact():
    allb = g.all_bf16()
    assert np.array_equal(g.bf16_to_f32(allb).view(np.uint32)[~np.isnan(g.bf16_to_f32(allb))],
                          (allb.astype(np.uint32) << 16)[~np.isnan(g.bf16_to_f32(allb))])


# Hand-derived multiplier results (bfloat16 a, b -> binary32), from IEEE-754 rules:
MUL_CASES = [
    (0x3F80, 0x3F80, 0x3F800000),  # 1 * 1 = 1
    (0x3FC0, 0x3FC0, 0x40100000),  # 1.5 * 1.5 = 2.25 (exact)
    (0x0000, 0xBF80, 0x80000000),  # +0 * -1 = -0 (sign XOR)
    (0x8000, 0x8000, 0x00000000),  # -0 * -0 = +0
    (0x0000, 0x7F80, NAN),         # 0 * inf invalid
    (0xFF80, 0x8000, NAN),         # -inf * -0 invalid
    (0x7F80, 0xC000, NINF),        # inf * -2 = -inf
    (0xFF80, 0xFF80, PINF),        # -inf * -inf = +inf
    (0x7FC1, 0x3F80, NAN),         # NaN operand -> canonical NaN
    (0xFFFF, 0x0000, NAN),         # negative NaN * 0 -> canonical NaN
    (0x7F81, 0x7F80, NAN),         # signalling NaN * inf -> canonical NaN
    (0x7F7F, 0x7F7F, PINF),        # max^2 overflows
    (0x7F00, 0x4000, PINF),        # 2**127 * 2 = 2**128 overflows
    (0xFF00, 0x4000, NINF),        # -2**127 * 2 -> -inf
    (0x7F00, 0x3FC0, 0x7F400000),  # 2**127 * 1.5, largest exponent, exact
    (0x0080, 0x3F00, 0x00400000),  # 2**-126 * 0.5 = 2**-127, exact subnormal
    (0x0080, 0x3380, 0x00000000),  # 2**-126 * 2**-24 = 2**-150: tie 0 / 2**-149 -> even 0
    (0x8080, 0x3380, 0x80000000),  # same, negative: -0
    (0x0080, 0x33C0, 0x00000001),  # 1.5 * 2**-150 = 0.75 quantum -> 1 quantum
    (0x0080, 0x3440, 0x00000002),  # 1.5 * 2**-149: tie 1 / 2 -> even 2
    (0x1DFF, 0x1DFF, 0x00007F00),  # (255/128)**2 * 2**-136 = 32512.5 quanta -> even 32512
    (0x0001, 0x0001, 0x00000000),  # 2**-133 squared underflows to +0
    (0x0001, 0x4B80, 0x09000000),  # subnormal input 2**-133 * 2**24 = 2**-109: exponent field 18, exact
    (0x007F, 0x3F80, 0x007F0000),  # largest subnormal * 1 = 127 * 2**-133 = 127 * 2**16 quanta, exact
]


def test_mul_hand_derived():
    a, b, want = (np.array(x) for x in zip(*MUL_CASES))
    got = g.ref_bf16_mul(a.astype(np.uint16), b.astype(np.uint16))
    for ai, bi, wi, gi in zip(a, b, want, got):
        assert gi == wi, f"{ai:#06x} * {bi:#06x}: got {gi:#010x}, IEEE says {wi:#010x}"


# Hand-derived adder results (binary32 a, b -> binary32):
ADD_CASES = [
    (0x3F800000, 0x3F800000, 0x40000000),  # 1 + 1 = 2
    (0x3F800000, 0xBF800000, 0x00000000),  # x + (-x) = +0
    (0xBF800000, 0x3F800000, 0x00000000),  # (-x) + x = +0
    (0x80000000, 0x80000000, 0x80000000),  # -0 + -0 = -0
    (0x00000000, 0x80000000, 0x00000000),  # +0 + -0 = +0
    (0x80000000, 0x00000000, 0x00000000),  # -0 + +0 = +0
    (0x80000000, 0x3F800000, 0x3F800000),  # -0 + 1 = 1
    (0x7F800000, 0xFF800000, NAN),         # inf - inf invalid
    (0x7F800000, 0x3F800000, PINF),        # inf + 1 = inf
    (0xFF800000, 0xFF800000, NINF),        # -inf + -inf = -inf
    (0xFF800000, 0x7F7FFFFF, NINF),        # -inf + max = -inf
    (0x7FC00001, 0x3F800000, NAN),         # NaN + 1
    (0x7F800001, 0x00000000, NAN),         # sNaN + 0
    (0xFFC00000, 0x7F800000, NAN),         # NaN + inf
    (0x3F800000, 0x33800000, 0x3F800000),  # 1 + 2**-24: tie 1 / 1+ulp -> even 1
    (0x3F800001, 0x33800000, 0x3F800002),  # (1+ulp) + 2**-24: tie -> even 1+2ulp
    (0x3F800000, 0x33800001, 0x3F800001),  # just above the tie rounds up
    (0x3FFFFFFF, 0x34000000, 0x40000000),  # (2-ulp) + ulp = 2: carry renormalises
    (0x3F800000, 0xB3800000, 0x3F7FFFFF),  # 1 - 2**-24 exact
    (0x3F800000, 0xB3000000, 0x3F800000),  # 1 - 2**-25: tie 1-2**-24 (odd) / 1 (even) -> 1
    (0x3F800000, 0xB3000001, 0x3F7FFFFF),  # 1 - (2**-25 + tiny): below the tie -> 1 - 2**-24
    (0x7F7FFFFF, 0x7F7FFFFF, PINF),        # max + max overflows
    (0x7F7FFFFF, 0x73000000, PINF),        # max + half ulp: tie, max is odd -> rounds up -> inf
    (0x7F7FFFFF, 0x72800000, 0x7F7FFFFF),  # max + quarter ulp -> max
    (0xFF7FFFFF, 0xF3000000, NINF),        # negative overflow
    (0x00800001, 0x80800000, 0x00000001),  # cancellation to the smallest subnormal
    (0x00000001, 0x00000001, 0x00000002),  # subnormal + subnormal, exact
    (0x007FFFFF, 0x00000001, 0x00800000),  # largest subnormal + quantum = smallest normal
    (0x00800000, 0x807FFFFF, 0x00000001),  # smallest normal - largest subnormal
    (0x00000001, 0x80000001, 0x00000000),  # subnormal cancellation -> +0
    (0x4B000000, 0x3F000000, 0x4B000000),  # 2**23 + 0.5: tie -> even 2**23
    (0x4B000001, 0x3F000000, 0x4B000002),  # (2**23+1) + 0.5: tie -> even 2**23+2
]


def test_add_hand_derived():
    a, b, want = (np.array(x, dtype=np.uint32) for x in zip(*ADD_CASES))
    got = g.ref_fp32_add(a, b)
    for ai, bi, wi, gi in zip(a, b, want, got):
        assert gi == wi, f"{ai:#010x} + {bi:#010x}: got {gi:#010x}, IEEE says {wi:#010x}"


def test_mac_rounds_twice():
    # a*b = 2**-150 rounds to +0 first; +0 + -0 = +0.
    assert g.ref_mac(0x0080, 0x3380, 0x80000000) == 0x00000000
    # (1 + 2**-7)**2 = 1 + 2**-6 + 2**-14 is exact in binary32; minus (1 + 2**-6) leaves 2**-14 exactly.
    assert g.ref_mac(0x3F81, 0x3F81, 0xBF820000) == (127 - 14) << 23
    # Product 0.75 quantum (1.5*2**-150) rounds to 1 quantum, then + 1 quantum = 2 quanta;
    # product 0.5 quantum (2**-150, a tie) rounds to 0, then + 1 quantum = 1 quantum, where a fused MAC would
    # round 1.5 quanta to 2 (the two roundings are visible).
    assert g.ref_mac(0x0080, 0x33C0, 0x00000001) == 0x00000002
    assert g.ref_mac(0x0080, 0x3380, 0x00000001) == 0x00000001
    # 0 * inf in the multiplier is NaN whatever the addend
    assert g.ref_mac(0x0000, 0x7F80, 0x3F800000) == NAN
    # inf product + -inf addend
    assert g.ref_mac(0x7F80, 0x3F80, 0xFF800000) == NAN


def test_ftz_hand_derived():
    # DAZ: subnormal inputs read as signed zero; FTZ: subnormal results become signed zero.
    assert g.ref_bf16_mul(0x0001, 0x4B80, ftz=True) == 0x00000000     # 2**-133 flushed first
    assert g.ref_bf16_mul(0x8001, 0x4B80, ftz=True) == 0x80000000     # -0 * + = -0
    assert g.ref_bf16_mul(0x0080, 0x3F00, ftz=True) == 0x00000000     # 2**-127 result flushed
    assert g.ref_bf16_mul(0x8080, 0x3F00, ftz=True) == 0x80000000
    assert g.ref_bf16_mul(0x0001, 0x7F80, ftz=True) == NAN            # flushed 0 * inf is invalid
    assert g.ref_fp32_add(0x00800001, 0x80800000, ftz=True) == 0      # subnormal difference flushed
    assert g.ref_fp32_add(0x007FFFFF, 0x00000001, ftz=True) == 0      # both inputs flushed: +0 + +0
    assert g.ref_fp32_add(0x807FFFFF, 0x80000000, ftz=True) == 0x80000000  # -0 + -0
    assert g.ref_fp32_add(0x00800000, 0x3F800000, ftz=True) == 0x3F800000  # normal input untouched
    assert g.ref_fp32_add(0x00800000, 0x00800000, ftz=True) == 0x01000000


@pytest.mark.parametrize("ftz", [False, True])
def test_ftz_golden_never_outputs_subnormals_and_equals_flushed_ieee(ftz, rng):
    a, b = g.random_add_vectors(int(rng.integers(1 << 31)), 5000)
    out = g.ref_fp32_add(a, b, ftz=ftz)
    if ftz:
        assert not np.any(((out & 0x7F800000) == 0) & ((out & 0x7FFFFF) != 0))
        assert np.array_equal(out, g.flush_f32_bits(g.ref_fp32_add(g.flush_f32_bits(a), g.flush_f32_bits(b))))


def test_mul_matches_exact_oracle(rng):
    a, b = g.random_mul_vectors(int(rng.integers(1 << 31)), 3000)
    ca, cb = g.corner_mul_vectors()
    a, b = np.concatenate([a, ca]), np.concatenate([b, cb])
    got = g.ref_bf16_mul(a, b)
    checked = 0
    for ai, bi, gi in zip(a.tolist(), b.tolist(), got.tolist()):
        if not (is_finite(ai, 7) and is_finite(bi, 7)):
            continue
        want = round_fp32(value_of(ai, 7) * value_of(bi, 7), zero_sign=(ai ^ bi) >> 15)
        assert gi == want, f"{ai:#06x} * {bi:#06x}: golden {gi:#010x}, exact {want:#010x}"
        checked += 1
    assert checked > 2500


def test_add_matches_exact_oracle(rng):
    a, b = g.random_add_vectors(int(rng.integers(1 << 31)), 3000)
    ca, cb = g.corner_add_vectors()
    a, b = np.concatenate([a, ca]), np.concatenate([b, cb])
    got = g.ref_fp32_add(a, b)
    checked = 0
    for ai, bi, gi in zip(a.tolist(), b.tolist(), got.tolist()):
        if not (is_finite(ai, 23) and is_finite(bi, 23)):
            continue
        # exact zero: +0 unless both operands are -0
        want = round_fp32(value_of(ai, 23) + value_of(bi, 23), zero_sign=(ai >> 31) & (bi >> 31))
        assert gi == want, f"{ai:#010x} + {bi:#010x}: golden {gi:#010x}, exact {want:#010x}"
        checked += 1
    assert checked > 2500


def test_special_values_by_rule(rng):
    """Every NaN/inf combination in the corner sets follows the IEEE rules (written out here)."""
    a, b = g.corner_add_vectors()
    out = g.ref_fp32_add(a, b)
    for ai, bi, oi in zip(a.tolist(), b.tolist(), out.tolist()):
        a_nan = (ai & 0x7F800000) == 0x7F800000 and ai & 0x7FFFFF
        b_nan = (bi & 0x7F800000) == 0x7F800000 and bi & 0x7FFFFF
        a_inf, b_inf = (ai & 0x7FFFFFFF) == PINF, (bi & 0x7FFFFFFF) == PINF
        if a_nan or b_nan or (a_inf and b_inf and (ai ^ bi) >> 31):
            assert oi == NAN
        elif a_inf or b_inf:
            assert oi == (ai if a_inf else bi)
    a, b = g.corner_mul_vectors()
    out = g.ref_bf16_mul(a, b)
    for ai, bi, oi in zip(a.tolist(), b.tolist(), out.tolist()):
        nan = [(x & 0x7F80) == 0x7F80 and x & 0x7F for x in (ai, bi)]
        inf = [(x & 0x7FFF) == 0x7F80 for x in (ai, bi)]
        zero = [(x & 0x7FFF) == 0 for x in (ai, bi)]
        if any(nan) or (inf[0] and zero[1]) or (zero[0] and inf[1]):
            assert oi == NAN
        elif any(inf):
            assert oi == (((ai ^ bi) & 0x8000) << 16) | PINF


def test_pe_golden_definition():
    # m = [1*2, 3*1, 0.5*4] = [2, 3, 2]; psums = [10, 20, 30]
    acts = np.array([[0x3F80, 0x4040, 0x3F00]] * 2, np.uint16)
    wgts = np.array([[0x4000, 0x3F80, 0x4080]] * 2, np.uint16)
    psums = np.array([[0x41200000, 0x41A00000, 0x41F00000]] * 2, np.uint32)
    outs, pe = g.ref_pe(np.array([0, 1]), acts, wgts, psums)
    # systolic: 12, 23, 32; pe_out = out1
    assert outs[0].tolist() == [0x41400000, 0x41B80000, 0x42000000] and pe[0] == 0x41B80000
    # conv: adder1 = 2 + 10 = 12, adder3 = 2 + 3 = 5, adder2 = 17
    assert outs[1].tolist() == [0x41400000, 0x41880000, 0x40A00000] and pe[1] == 0x41880000


def test_vector_generators_are_seeded_and_cover_the_categories():
    a1 = g.random_mac_vectors(7, 500)
    a2 = g.random_mac_vectors(7, 500)
    assert all(np.array_equal(x, y) for x, y in zip(a1, a2))
    assert not np.array_equal(g.random_mac_vectors(8, 500)[0], a1[0])
    a, b = g.corner_add_vectors()
    s = g.ref_fp32_add(a, b)
    exp, mant = (s >> 23) & 0xFF, s & 0x7FFFFF
    assert np.any(s == 0) and np.any(s == 0x80000000)                 # both zeros
    assert np.any((exp == 0) & (mant != 0))                           # subnormal results
    assert np.any(s == PINF) and np.any(s == NINF) and np.any(s == NAN)
    a, b, c = g.corner_mac_vectors()
    p = g.ref_bf16_mul(a, b)
    pe = (p >> 23) & 0xFF
    assert np.any((pe == 0) & ((p & 0x7FFFFF) != 0))                  # product underflow to subnormal
    assert np.any(p == PINF)                                          # product overflow
    mode, acts, wgts, psums = g.corner_pe_vectors()
    assert set(mode.tolist()) == {0, 1} and np.any(np.diff(mode.astype(int)) != 0)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="0xffff"):
        g.ref_bf16_mul(np.array([70000]), np.array([1]))
    with pytest.raises(TypeError, match="integer"):
        g.ref_fp32_add(np.array([1.5]), np.array([1]))
    with pytest.raises(ValueError, match="shape"):
        g.ref_pe(0, np.zeros((4, 2), np.uint16), np.zeros((4, 2), np.uint16), np.zeros((4, 2), np.uint32))
    with pytest.raises(ValueError, match="mode"):
        g.ref_pe(2, np.zeros((1, 3), np.uint16), np.zeros((1, 3), np.uint16), np.zeros((1, 3), np.uint32))
    with pytest.raises(ValueError, match="mode"):
        g.random_pe_vectors(1, 4, mode=3)


def test_random_generators_mix_as_stated():
    """``random_bf16`` / ``random_fp32``: 1/2 uniform patterns, 3/8 with the exponent in the near-1 window, 1/8
    corner patterns. Expected fractions are derived from that mix (uniform patterns and corners also land in the
    window); each within 5 binomial sigma plus the corner weights' non-uniformity (``_scaled`` maps 256 values onto
    the k corners: each within 1/256 of 1/k)."""
    rng = np.random.default_rng(11)
    n = 200_000
    sig = lambda p: 5 * np.sqrt(p * (1 - p) / n)
    for gen, corners, width, lo, hi in ((g.random_bf16, g.BF16_CORNERS, 16, 111, 143),
                                        (g.random_fp32, g.FP32_CORNERS, 32, 87, 167)):
        man = width - 9
        x = gen(rng, n).astype(np.int64)
        exp = (x >> man) & 0xFF
        cexp = (corners.astype(np.int64) >> man) & 0xFF
        slack = len(corners) / 256 / 8
        p_near = 3 / 8 + 0.5 * (hi - lo + 1) / 256 + np.mean((cexp >= lo) & (cexp <= hi)) / 8
        assert abs(((exp >= lo) & (exp <= hi)).mean() - p_near) < sig(p_near) + slack
        assert len(np.unique(exp)) == 256
        if width == 16:
            in_near = np.sum((cexp >= lo) & (cexp <= hi)) / (2 * (hi - lo + 1) * 128)
            p_corner = 1 / 8 + 0.5 * len(set(corners.tolist())) / 65536 + 3 / 8 * in_near
            assert abs(np.isin(x, corners).mean() - p_corner) < sig(p_corner)
    close, cancel = g._fractions(rng, n, 0.5, 0.1)
    assert abs(close.mean() - 0.5) < sig(0.5) and abs(cancel.mean() - 0.1) < sig(0.1)
    assert abs((close & cancel).mean() - 0.05) < sig(0.05)           # independent
