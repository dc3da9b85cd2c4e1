"""The functional-coverage classifiers (model/stt_ai/fp_coverage.py) on corner values whose class IEEE 754 fixes."""

import numpy as np
import pytest

from model.stt_ai import fp_coverage as fc
from model.fp_golden import ref_bf16_mul, ref_fp32_add


def _names(codes, names):
    return [names[int(c)] for c in np.asarray(codes).reshape(-1)]


def test_operand_classes():
    bf16 = [0x0000, 0x8000, 0x0001, 0x807F, 0x0080, 0xFF7F, 0x7F80, 0xFF80, 0x7FC0, 0xFF81]
    fp32 = [0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0xFF7FFFFF, 0x7F800000, 0xFF800000,
            0x7FC00000, 0xFF800001]
    assert _names(fc.operand_class(bf16, "bf16"), fc.CLASS_NAMES) == list(fc.CLASS_NAMES)
    assert _names(fc.operand_class(fp32, "fp32"), fc.CLASS_NAMES) == list(fc.CLASS_NAMES)
    with pytest.raises(ValueError, match="fmt"):
        fc.operand_class([0], "fp16")


# (a, b, rounding, overflow, underflow) of bfloat16 products; 2**-149 is binary32's smallest subnormal (one ulp).
MUL = [
    (0x3F80, 0x3F80, "exact", 0, 0),          # 1 * 1
    (0x3FC0, 0x4040, "exact", 0, 0),          # 1.5 * 3: 8-bit significands multiply exactly into binary32
    (0x3380, 0x0080, "tie", 0, 1),            # 2**-24 * 2**-126 = 2**-150: half an ulp
    (0x33C0, 0x0080, "above_half", 0, 1),     # 1.5 * 2**-150: 0.75 ulp
    (0x3300, 0x0080, "below_half", 0, 1),     # 2**-151: 0.25 ulp
    (0x3440, 0x0080, "tie", 0, 1),            # 1.5 * 2**-149: 1.5 ulps
    (0x3F00, 0x0080, "exact", 0, 1),          # 0.5 * 2**-126 = 2**-127: subnormal, exact
    (0x7F00, 0x4000, "exact", 1, 0),          # 2**127 * 2: overflow
    (0x7F80, 0x4000, "exact", 0, 0),          # inf * 2: no overflow (an infinite operand)
    (0x0000, 0x7F7F, "exact", 0, 0),          # 0 * max
]


def test_mul_bins():
    a, b = (np.array([v[i] for v in MUL], np.uint16) for i in (0, 1))
    bins = fc.classify_mul(a, b, ref_bf16_mul(a, b))
    assert _names(bins["round"], fc.ROUND_NAMES) == [v[2] for v in MUL]
    assert bins["overflow"].tolist() == [v[3] for v in MUL]
    assert bins["underflow"].tolist() == [v[4] for v in MUL]


ONE, HALF = 0x3F800000, 0x3F000000
# (a, b, rounding, overflow, underflow, cancellation) of binary32 sums.
ADD = [
    (ONE, 0x34000000, "exact", 0, 0, "none"),             # 1 + 2**-23 (one ulp)
    (ONE, 0x33800000, "tie", 0, 0, "none"),               # 1 + 2**-24
    (ONE, 0x33000000, "below_half", 0, 0, "none"),        # 1 + 2**-25
    (ONE, 0x33C00000, "above_half", 0, 0, "none"),        # 1 + 1.5 * 2**-24
    (ONE, 0x0D800000, "below_half", 0, 0, "none"),        # 1 + 2**-100 (far beyond the alignment cap)
    (ONE, 0x8D800000, "above_half", 0, 0, "one_bit"),     # 1 - 2**-100: just below 1, whose ulp is 2**-24
    (ONE, 0xBF800000, "exact", 0, 0, "exact_zero"),       # 1 + -1
    (ONE, 0xBF7FFFFF, "exact", 0, 0, "massive"),          # 1 - (1 - 2**-24) = 2**-24
    (0x40000000, 0xBF800000, "exact", 0, 0, "one_bit"),   # 2 - 1
    (0x40400000, 0xBF800000, "exact", 0, 0, "none"),      # 3 - 1 = 2: opposite signs, no leading bit lost
    (0x00800000, 0x80400000, "exact", 0, 1, "one_bit"),   # 2**-126 - 2**-127: subnormal result
    (0x7F7FFFFF, 0x7F7FFFFF, "exact", 1, 0, "none"),      # max + max
    (0x7F800000, 0xFF800000, "exact", 0, 0, "none"),      # inf - inf: NaN, not a cancellation
    (0x00000001, ONE, "below_half", 0, 0, "none"),        # 2**-149 + 1
]


def test_add_bins():
    a, b = (np.array([v[i] for v in ADD], np.uint32) for i in (0, 1))
    bins = fc.classify_add(a, b, ref_fp32_add(a, b))
    assert _names(bins["round"], fc.ROUND_NAMES) == [v[2] for v in ADD]
    assert bins["overflow"].tolist() == [v[3] for v in ADD]
    assert bins["underflow"].tolist() == [v[4] for v in ADD]
    assert _names(bins["cancel"], fc.CANCEL_NAMES) == [v[5] for v in ADD]


def test_ftz_treats_subnormal_operands_as_zero():
    a, b = np.array([0x00000001], np.uint32), np.array([ONE], np.uint32)
    assert _names(fc.classify_add(a, b, ref_fp32_add(a, b, ftz=True), ftz=True)["round"], fc.ROUND_NAMES) == ["exact"]
    x = np.array([0x0001], np.uint16)
    assert fc.classify_mul(x, x, ref_bf16_mul(x, x, ftz=True), ftz=True)["underflow"].tolist() == [0]


def test_mac_and_pe_bins():
    # 1 * 1 + 2**-24 ties in the adder; 1 * 1 + -1 cancels to zero
    a = np.array([0x3F80, 0x3F80], np.uint16)
    bins = fc.classify_mac(a, a, np.array([0x33800000, 0xBF800000], np.uint32))
    assert _names(bins["add_round"], fc.ROUND_NAMES) == ["tie", "exact"]
    assert _names(bins["add_cancel"], fc.CANCEL_NAMES) == ["none", "exact_zero"]
    assert _names(bins["c"], fc.CLASS_NAMES) == ["+normal", "-normal"]
    ones = np.full((4, 3), 0x3F80, np.uint16)
    psums = np.full((4, 3), 0xBF800000, np.uint32)
    pe = fc.classify_pe([0, 1, 1, 0], ones, ones, psums, previous_mode=1)
    assert pe["switch"].tolist() == [2, 1, 3, 2]
    # mode 0: three 1 + -1 cancellations; mode 1: 1 + -1 = 0, then 0 + 2 (no cancellation), 1 + 1
    assert _names(pe["add_cancel"][0], fc.CANCEL_NAMES) == ["exact_zero"] * 3
    assert _names(pe["add_cancel"][1], fc.CANCEL_NAMES) == ["exact_zero", "none", "none"]
    assert fc.classify_pe([1], ones[:1], ones[:1], psums[:1])["switch"].tolist() == [-1]
