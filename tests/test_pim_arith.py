"""Tests of model.pim.arith: the Fig. 3 full adder (exhaustive), multi-bit integer addition, FP32 addition and
multiplication executed on the sub-array against numpy float32 (random values across exponent ranges, corners,
special values, ties), eqs. (2)-(3), the FloatPIM reconstruction and the LeNet cost.

The FP32 golden here is numpy float32 with every NaN replaced by 0x7FC00000 (the module's policy; numpy keeps NaN
payloads and makes inf - inf 0xFFC00000 on x86)."""

import math

import numpy as np
import pytest

from model.pim import arith as pa
from model.fp_golden import FP32_CORNERS, corner_add_vectors, random_add_vectors
from model.pim.subarray import TABLE1, StepCounts, SubArray

NAN = 0x7FC00000


def golden(op, a_bits, b_bits):
    """numpy float32 result patterns, NaN canonical (independent of the module's ref_fp32)."""
    x, y = np.asarray(a_bits, np.uint32).view(np.float32), np.asarray(b_bits, np.uint32).view(np.float32)
    with np.errstate(all="ignore"):
        r = (x + y) if op == "add" else (x * y)
    r = np.asarray(r, np.float32).view(np.uint32).copy()
    r[np.isnan(r.view(np.float32))] = NAN
    return r


def run_bits(op, a_bits, b_bits, **kw):
    a = np.asarray(a_bits, np.uint32).view(np.float32)
    b = np.asarray(b_bits, np.uint32).view(np.float32)
    return pa.fp32_op(op, a, b, **kw)


def assert_exact(op, a, b, run=None, **kw):
    run = run or run_bits(op, a, b, **kw)
    g = golden(op, a, b)
    bad = np.nonzero(run.bits != g)[0]
    assert bad.size == 0, (f"{bad.size} of {g.size} differ, first: {np.uint32(a[bad[0]]):#010x} {op} "
                           f"{np.uint32(b[bad[0]]):#010x} -> {run.bits[bad[0]]:#010x}, numpy {g[bad[0]]:#010x}")
    return run


# ------------------------------------------------------------------------------------------------ full adder
def test_full_adder_exhaustive():
    t = pa.full_adder_truth_table()
    total = t["x"].astype(int) + t["y"] + t["z"]
    assert np.array_equal(t["s"], total % 2) and np.array_equal(t["carry"], total >= 2)
    assert np.array_equal(t["x_after"], t["x"]) and np.array_equal(t["y_after"], t["y"])   # operands kept
    c = t["counts"]
    assert (c.read, c.write, c.search) == (4, 4, 0)          # Fig. 3: 4 steps of read and write
    assert t["cells"] == 4                                   # 4 cells
    assert (c.cell_writes / 8, c.cell_reads / 8) == (9, 8)   # per bit (module docstring)


def test_full_adder_with_any_rows(rng):
    """The adder on rows in a different order and lanes with random bits: X, Y kept, sum and carry right."""
    arr = SubArray(rows=16, cols=64)
    bits = rng.integers(0, 2, (3, 64)).astype(bool)
    arr.load([9, 2, 5], bits)
    cout = pa.full_adder(arr, 9, 2, 5, 0, [12, 1, 7, 3])
    x, y, z, s, c = arr.dump([9, 2, 5, 0, cout])
    total = bits.astype(int).sum(axis=0)
    assert np.array_equal(s, total % 2) and np.array_equal(c, total >= 2)
    assert np.array_equal(np.stack([x, y, z]), bits)


@pytest.mark.parametrize("carry_in", [0, 1])
def test_random_32bit_integer_addition(seed, carry_in):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 32, 1024, dtype=np.uint64)
    b = rng.integers(0, 1 << 32, 1024, dtype=np.uint64)
    a[:4], b[:4] = [0xFFFFFFFF, 0, 0xFFFFFFFF, 0x80000000], [1, 0, 0xFFFFFFFF, 0x80000000]   # full carry chains
    s, c, counts, arr = pa.int_add(a, b, 32, carry_in)
    exact = a + b + np.uint64(carry_in)
    assert np.array_equal(s, exact & np.uint64(0xFFFFFFFF)) and np.array_equal(c, (exact >> np.uint64(32)) == 1)
    assert (counts.read, counts.write) == (4 * 32, 4 * 32)
    assert len(arr.written_rows) == 32 + 4   # 32 sum cells and the 4 caches reused by every bit


# ------------------------------------------------------------------------------------------------------ FP32
def random_operands(rng, n):
    """binary32 pairs: uniform patterns, exponents near each other, products near the subnormal range and near
    overflow, short mantissas (ties), with random signs."""
    sign = lambda: rng.integers(0, 2, n).astype(np.uint32) << 31     # noqa: E731
    frac = lambda: rng.integers(0, 1 << 23, n).astype(np.uint32)     # noqa: E731
    ea = rng.integers(0, 255, n)
    kind = rng.integers(0, 5, n)
    eb = np.select([kind == 0, kind == 1, kind == 2, kind == 3],
                   [rng.integers(0, 255, n), np.clip(ea + rng.integers(-30, 31, n), 0, 254),
                    np.clip(127 - ea + rng.integers(-30, 5, n), 0, 254),          # product near 2^-126 .. 2^-156
                    np.clip(381 - ea + rng.integers(-3, 3, n), 0, 254)],          # product near 2^128
                   rng.integers(1, 255, n))
    fa, fb = frac(), frac()
    short = kind == 4                                                              # 12-bit mantissas: ties
    fa = np.where(short, fa & 0x7FF800, fa)
    fb = np.where(short, fb & 0x7FF800, fb)
    a = sign() | (ea.astype(np.uint32) << 23) | fa
    b = sign() | (eb.astype(np.uint32) << 23) | fb
    return a.astype(np.uint32), b.astype(np.uint32)


@pytest.mark.parametrize("mantissa", pa.MANTISSA)
def test_fp32_add_random_across_exponents(seed, mantissa):
    a, b = random_add_vectors(seed, 1024)   # uniform, near-equal exponents, cancellation, corners
    rng = np.random.default_rng(seed)
    c, d = random_operands(rng, 1024)
    run = assert_exact("add", np.concatenate([a, c]), np.concatenate([b, d]), mantissa=mantissa)
    assert len(run.passes) == 2 and run.passes[0].steps == run.passes[1].steps   # data-independent schedule


@pytest.mark.parametrize("mantissa", pa.MANTISSA)
def test_fp32_add_corners(mantissa):
    a, b = corner_add_vectors()   # all corner pairs, x - x, x -+ ulp, ties both ways, subnormal cancellation
    assert_exact("add", a, b, mantissa=mantissa)


@pytest.mark.parametrize("multiplier", ["gated", "ungated"])
def test_fp32_mul_random_across_exponents(seed, multiplier):
    rng = np.random.default_rng(seed)
    a, b = random_operands(rng, 2048)
    g = golden("mul", a, b)
    assert ((g & 0x7F800000) == 0).sum() > 100 and (g == 0x7F800000).sum() + (g == 0xFF800000).sum() > 50
    assert_exact("mul", a, b, multiplier=multiplier)


@pytest.mark.parametrize("multiplier", pa.MULTIPLIER)
def test_fp32_mul_corners(multiplier):
    a, b = np.meshgrid(FP32_CORNERS, FP32_CORNERS)
    assert_exact("mul", a.ravel(), b.ravel(), multiplier=multiplier)


INF, NINF, MAXF = 0x7F800000, 0xFF800000, 0x7F7FFFFF
#: (op, a, b, result) written from IEEE-754 by hand: signed zeros, subnormals, infinities, NaN, overflow, ties
SPECIALS = [
    ("add", INF, NINF, NAN), ("add", NINF, INF, NAN), ("add", 0x7F800001, 0x3F800000, NAN),
    ("add", 0xFFC00001, 0x3F800000, NAN), ("add", 0x3F800000, 0x7FFFFFFF, NAN), ("add", INF, 0x3F800000, INF),
    ("add", 0xC0000000, NINF, NINF), ("add", INF, INF, INF),
    ("add", 0x80000000, 0x80000000, 0x80000000), ("add", 0x00000000, 0x80000000, 0x00000000),
    ("add", 0x3F800000, 0xBF800000, 0x00000000), ("add", 0x80000001, 0x00000001, 0x00000000),
    ("add", 0x00000001, 0x00000001, 0x00000002), ("add", 0x007FFFFF, 0x00000001, 0x00800000),
    ("add", 0x00800000, 0x80000001, 0x007FFFFF), ("add", 0x80000003, 0x80000000, 0x80000003),
    ("add", MAXF, MAXF, INF), ("add", 0xFF7FFFFF, 0xF3800000, NINF),          # overflow by the rounding tie
    ("add", MAXF, 0x73000000, INF),                                           # + half ulp 2^103, odd: tie up
    ("add", MAXF, 0x72800000, MAXF),                                          # + 2^102, below the tie: stays
    ("add", 0x3F800000, 0x33800000, 0x3F800000),                              # 1 + 2^-24: tie to even (down)
    ("add", 0x3F800001, 0x33800000, 0x3F800002),                              # odd + half ulp: tie up
    ("add", 0x3F800000, 0x33800001, 0x3F800001),                              # just above the tie
    ("add", 0x3F800000, 0xB3800000, 0x3F7FFFFF),                              # 1 - 2^-24 is exact
    ("mul", 0x00000000, INF, NAN), ("mul", NINF, 0x80000000, NAN), ("mul", 0x7FC00000, 0x00000000, NAN),
    ("mul", 0x80000000, 0x40A00000, 0x80000000), ("mul", 0x80000000, 0x80000000, 0x00000000),
    ("mul", INF, 0xC0000000, NINF), ("mul", 0x00000001, INF, INF),
    ("mul", 0x7F000000, 0x40000000, INF), ("mul", MAXF, 0xBF800001, NINF),   # overflow
    ("mul", 0x1A000000, 0x1A000000, 0x00000000),                              # 2^-75 * 2^-75 = 2^-150: tie, even 0
    ("mul", 0x1A000000, 0x1A000001, 0x00000001),                              # just above half the min subnormal
    ("mul", 0x00000001, 0x3F000000, 0x00000000),                              # min subnormal / 2: tie to 0
    ("mul", 0x00000003, 0x3F000000, 0x00000002),                              # 1.5 ulp: tie to even (2)
    ("mul", 0x00000001, 0x4B000000, 0x00800000),                              # 2^-149 * 2^23 = 2^-126 (normal)
    ("mul", 0x00000005, 0x4B000000, 0x01A00000),                              # 5 * 2^-126 = 1.25 * 2^-124
    ("mul", 0x00800000, 0x3F000000, 0x00400000),                              # normal to subnormal, exact
    ("mul", 0x3F800800, 0x3F800800, 0x3F801000),                              # (1 + 2^-12)^2: tie to even
    ("mul", 0x3F800801, 0x3F800800, 0x3F801002),                              # 2^-24 + 2^-35 over: up
    ("mul", 0x0DA24260, 0x3F800000, 0x0DA24260), ("mul", 0x00000000, 0x00000000, 0x00000000),
]


@pytest.mark.parametrize("op,variant", [("add", {"mantissa": m}) for m in pa.MANTISSA]
                         + [("mul", {"multiplier": m}) for m in pa.MULTIPLIER])
def test_special_values_and_ties(op, variant):
    rows = [r for r in SPECIALS if r[0] == op]
    a = np.array([r[1] for r in rows], np.uint32)
    b = np.array([r[2] for r in rows], np.uint32)
    want = np.array([r[3] for r in rows], np.uint32)
    assert np.array_equal(golden(op, a, b), want)      # the hand-written values are IEEE (numpy agrees)
    got = run_bits(op, a, b, **variant).bits
    for x, y, w, g in zip(a, b, want, got):
        assert g == w, f"{x:#010x} {op} {y:#010x}: got {g:#010x}, want {w:#010x}"


def test_nan_payloads_become_canonical():
    a = np.array([0x7FC12345, 0xFFC00001, 0x7F800001, INF], np.uint32)
    b = np.array([0x3F800000, 0x3F800000, 0x3F800000, NINF], np.uint32)
    assert set(run_bits("add", a, b).bits.tolist()) == {NAN}                  # inf - inf as well
    assert np.array_equal(pa.ref_fp32("add", a.view(np.float32), b.view(np.float32)), np.full(4, NAN))
    b[3] = 0
    assert set(run_bits("mul", a, b).bits.tolist()) == {NAN}                  # inf * 0 as well


def test_chunks_shape_and_totals(seed):
    rng = np.random.default_rng(seed)
    a, b = random_operands(rng, 1100)
    run = pa.fp32_op("add", a.view(np.float32).reshape(100, 11), b.view(np.float32).reshape(100, 11))
    assert run.bits.shape == (100, 11) and run.pass_lanes == (1024, 76) and run.n == 1100
    assert np.array_equal(run.bits.ravel(), golden("add", a, b))
    assert run.total.write == 2 * run.per_op_steps["write"]
    assert run.total.energy_j(TABLE1) == pytest.approx(run.per_op_energy_j * 1100)
    assert run.per_op_time_s == pytest.approx(run.passes[0].time_s(TABLE1))


def test_fp32_op_refuses_bad_operands():
    x = np.ones(3, np.float32)
    with pytest.raises(ValueError, match="float32"):
        pa.fp32_op("add", x.astype(np.float64), x)
    with pytest.raises(ValueError, match="one shape"):
        pa.fp32_op("mul", x, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="empty"):
        pa.fp32_op("add", x[:0], x[:0])
    with pytest.raises(ValueError, match="op must be"):
        pa.fp32_op("sub", x, x)
    with pytest.raises(ValueError, match="lanes"):
        pa.fp32_op("add", x, x, lanes=2048)
    with pytest.raises(ValueError, match="mantissa"):
        pa.fp32_op("add", x, x, mantissa="three-chains")
    with pytest.raises(ValueError, match="multiplier"):
        pa.fp32_op("add", x, x, multiplier="booth")


# --------------------------------------------------------------------------------- counts against the formulas
def test_eq2_eq3_for_binary32():
    e2, e3 = pa.eq2_add(8, 23), pa.eq3_mul(8, 23)
    assert (e2["t_read"], e2["t_write"], e2["t_search"]) == (1 + 7 * 8 + 7 * 23, 7 * 8 + 7 * 23, 2 * 25)
    assert (e2["e_read"], e2["e_write"], e2["e_search"]) == (1 + 14 * 8 + 12 * 23, 14 * 8 + 12 * 23, 50)
    assert e3["t_read"] == e3["t_write"] == 2 * 23 ** 2 + 6.5 * 23 + 6 * 8 + 3 == 1258.5
    assert e3["e_read"] == e3["e_write"] == 4.5 * 23 ** 2 + 11.5 * 23 + 13.5 * 8 + 6.5 == 2759.5
    t, e = pa.eq_cost("mul", TABLE1)
    assert t == pytest.approx(1258.5 * (1e-9 + 2e-9)) and e == pytest.approx(2759.5 * (1e-15 + 12e-15))


def test_executed_phases_follow_the_fig3_adder():
    """4 steps per FA bit wherever the schedule adds: exponents (8 bits), mantissa (27), product (23 x 24)."""
    one = np.ones(4, np.float32)
    add, mul = pa.fp32_op("add", one, one), pa.fp32_op("mul", one, one)
    assert add.by_phase["exponent"].write == 4 * 8 + 2        # + a >= b copy and its complement
    # + 2 operand steps, 3 sign/carry steps, the prefix OR of 26 bits (copy + 5) and the negating XOR
    assert add.by_phase["mantissa"].write == 4 * 27 + 2 + 3 + 6 + 1
    assert add.by_phase["align"].search == 26                 # one search per shift amount 0 .. 25
    assert mul.by_phase["product"].write == 2 + 23 * 4 * 24   # clear / AND with bit 0, then 23 adds
    assert mul.by_phase["product"].search == 23               # one search (column enable) per multiplier bit
    old = pa.fp32_op("mul", one, one, multiplier="ungated")
    assert old.by_phase["product"].write == 23 * (4 * 24 + 2) + 3
    total = StepCounts()
    for c in mul.by_phase.values():
        total = total + c
    assert total == mul.passes[0]


def _sig(bits):
    """24-bit significands (hidden bit for a nonzero exponent) of binary32 patterns, as Python ints."""
    return [(int(w) & 0x7FFFFF) | (0x800000 if (int(w) >> 23) & 0xFF else 0) for w in bits]


@pytest.mark.parametrize("lanes", [1024, 150])
def test_multiplier_adds_are_gated_by_the_multiplier_bit(rng, lanes):
    """Per lane, the product phase writes 72 cells (copy of the multiplicand, clear of the upper half, AND with bit
    0) and 9 cells per bit of each 24-bit add (Fig. 3) for every multiplier bit 1 .. 23 that is 1, nothing for a 0
    bit; the ungated schedule writes for every bit. A regression to ungated adds or to adds in every column fails
    here (bit-exactness alone does not see it)."""
    a = random_operands(rng, 300)[0]
    b = rng.integers(0, 1 << 32, 300, dtype=np.uint64).astype(np.uint32)
    b[:3] = [0x3F800000, 0x00000000, 0x3FFFFFFF]              # 1.0 (hidden bit only), zero, all bits set
    ones = [bin(s >> 1).count("1") for s in _sig(b)]           # multiplier bits 1 .. 23 that are 1
    run = assert_exact("mul", a, b, lanes=lanes)
    writes = sum(ph["product"].cell_writes for ph in run.pass_phases)
    assert writes == sum(72 + 9 * 24 * k for k in ones)
    ungated = assert_exact("mul", a, b, lanes=lanes, multiplier="ungated")
    # copy and AND of bit 0, then per bit the partial product (copy, AND) and the add, 23 carry copies
    assert sum(ph["product"].cell_writes for ph in ungated.pass_phases) == 300 * (48 + 23 * (48 + 9 * 24) + 23)
    assert run.per_op_energy_j < ungated.per_op_energy_j
    # gated: no partial-product steps (2 per bit) and no carry copy, one search per bit
    assert run.per_op_steps == {k: v + 23 if k == "search" else v - 2 * 23 - 1
                                for k, v in ungated.per_op_steps.items()}


def test_skip_issues_only_the_set_bits_of_a_shared_multiplier(rng):
    """'skip' with one multiplier per pass: 2 + 96 steps per 1 bit among bits 1 .. 23 (eq. (3): 'added multiplier's
    bit times'); per-operation steps are the mean over operations of the passes' schedules."""
    w = np.array([0x3F800000, 0x3FC00000, 0x3FFFFFFF, 0x40490FDB], np.uint32)   # 1.0, 1.5, ~2, pi
    lanes = [5, 5, 5, 3]
    b = np.repeat(w, 5)[:18]
    a = random_operands(rng, 18)[0]
    run = assert_exact("mul", a, b, lanes=5, multiplier="skip")
    adds = [bin(s >> 1).count("1") for s in _sig(w)]
    assert adds == [1, 2, 23, bin(0x490FDB >> 1).count("1") + 1]   # the hidden bit 23 is always added
    got = [ph["product"].write for ph in run.pass_phases]
    assert got == [2 + 96 * k for k in adds]
    fixed = sum(c.write for ph, c in run.by_phase.items() if ph != "product")   # the same in every pass
    assert run.per_op_steps["write"] == pytest.approx(fixed + sum(n * g for n, g in zip(lanes, got)) / 18)
    assert run.per_op_time_s == pytest.approx(sum(n * c.time_s() for n, c in zip(lanes, run.passes)) / 18)


def test_one_mantissa_chain_and_a_conditional_negate(rng):
    """The mantissa phase writes 303 cells per lane (operand prep 28 + 27, one 27-bit chain 27 x 9, sign and
    carry 5) and 152 more where L - S < 0 and the result is negated (prefix OR 26 + 99, XOR 26, sign 1); the
    two-chain schedule writes 600 per lane. A second chain coming back fails here."""
    n = 256
    e = rng.integers(1, 254, n).astype(np.uint32) << 23
    a = e | rng.integers(0, 1 << 23, n).astype(np.uint32)
    b = e | rng.integers(0, 1 << 23, n).astype(np.uint32) | np.uint32(0x80000000)   # equal exponents, a - |b|
    neg = np.array([(int(y) & 0x7FFFFF) > (int(x) & 0x7FFFFF) for x, y in zip(a, b)])
    assert 50 < neg.sum() < n - 50
    run = assert_exact("add", a, b)
    assert run.by_phase["mantissa"].cell_writes == 303 * n + 152 * int(neg.sum())
    old = assert_exact("add", a, b, mantissa="two-chains")
    assert old.by_phase["mantissa"].cell_writes == 600 * n + 28 * int(neg.sum())
    assert run.per_op_energy_j < old.per_op_energy_j


def test_scopes_split_the_phases(seed):
    a, b = random_add_vectors(seed, 64)
    run = pa.fp32_op("add", a.view(np.float32), b.view(np.float32), lanes=40, mantissa="two-chains")
    core, ieee = run.scope_cost("core"), run.scope_cost("ieee")
    assert core["phases"] == list(pa.CORE_PHASES["add"]) and ieee["phases"] == list(run.by_phase)
    want = StepCounts()
    for ph in pa.CORE_PHASES["add"]:
        want = want + run.by_phase[ph]
    assert core["steps"] == want.steps and core["time_s"] == pytest.approx(want.time_s())
    assert ieee["steps"] == run.per_op_steps and ieee["energy_j"] == pytest.approx(run.per_op_energy_j)
    assert ieee["time_s"] == pytest.approx(run.per_op_time_s)
    assert run.variant == {"mantissa": "two-chains"}
    with pytest.raises(ValueError, match="scope"):
        run.scope_cost("all")
    p = type(TABLE1)(t_read=3e-9, t_search=0.5e-9, e_switch=20e-15)
    slow = pa.fp32_op("add", a.view(np.float32), b.view(np.float32), params=p, lanes=40, mantissa="two-chains")
    st = slow.scope_cost("core")
    assert st["steps"] == core["steps"]
    assert st["time_s"] == pytest.approx(want.read * 3e-9 + want.write * 2e-9 + want.search * 0.5e-9)
    assert st["energy_j"] == pytest.approx(core["cell_reads"] * 1e-15 + core["cell_writes"] * 20e-15
                                           + core["searches"] * 1e-15)


def test_cells_written_and_live(seed):
    a, b = random_add_vectors(seed, 16)
    run = pa.fp32_op("mul", a.view(np.float32), b.view(np.float32), lanes=16, multiplier="ungated")
    gated = pa.fp32_op("mul", a.view(np.float32), b.view(np.float32), lanes=16)
    assert run.cells_written <= run.rows_used - 64                   # rows written, operands excluded
    assert gated.rows_used == run.rows_used - 48 - 24 - 1             # one accumulator, no partial product, 3 caches
    assert gated.cells_written < run.cells_written
    assert run.cells_live_core < run.cells_live < run.cells_written
    assert gated.cells_live_core < run.cells_live_core                # the second accumulator was live


def test_floatpim_reconstruction_and_inverse():
    add, mul = pa.floatpim_add_cost(8, 23), pa.floatpim_mul_cost(8, 23)
    assert add["terms"]["alignment bit-by-bit shifts"] == (24 * 24, 24 * 24)     # O(N_m^2) (Section 3.3)
    assert mul["terms"]["mantissa accumulation"] == (13 * 24 * 24, 12 * 24 * 24)  # 13-step, 12-cell FA bits
    half = pa.floatpim_mul_cost(8, 23, add_fraction=0.25)
    assert half["terms"]["mantissa accumulation"] == (13 * 24 * 6, 12 * 24 * 6)
    assert half["terms"]["partial products"] == (24 * 6, 24 * 6)
    assert half["terms"]["exponent addition and bias"] == mul["terms"]["exponent addition and bias"]
    ours = pa.MacCost(t_mul=7e-6, e_mul=9e-11, t_add=1e-6, e_add=2e-11)
    p = pa.floatpim_params_for(3.3, 1.8, ours)
    fp = pa.floatpim_mac_cost(p=p)
    assert fp.energy_j / ours.energy_j == pytest.approx(3.3) and fp.time_s / ours.time_s == pytest.approx(1.8)
    other = pa.MacCost(t_mul=3e-6, e_mul=1e-10, t_add=2e-6, e_add=5e-11)
    base = pa.FloatPIMParams(t_cycle=2e-9, e_cell=5e-15)
    q = pa.floatpim_params_for(2.0, 1.5, ours, floatpim=other, p=base)   # scale a given FloatPIM cost instead
    assert q.t_cycle == pytest.approx(2e-9 * 1.5 * 8e-6 / 5e-6)
    assert q.e_cell == pytest.approx(5e-15 * 2.0 * 1.1e-10 / 1.5e-10)


def test_floatpim_translation_of_a_phase():
    """Every FA bit as FloatPIM's 13-cycle / 12-cell FA, every search and every other one-bit operation one cycle
    and one cell (the 9 writes of each of our FA bits replaced by its FA)."""
    tally = {"cell_ops": 9 * 2 + 5, "fa_bits": 2}
    assert pa.floatpim_translate(tally, 3) == (3 + 2 * 13 + 5, 3 + 2 * 12 + 5)
    p = pa.FloatPIMParams(fa_cycles=10, fa_cells=7)
    assert pa.floatpim_translate(tally, 0, p) == (20 + 5, 14 + 5)
    with pytest.raises(ValueError, match="fewer than 9 per FA bit"):
        pa.floatpim_translate({"cell_ops": 8, "fa_bits": 1}, 0)


@pytest.mark.parametrize("op", pa.OPS)
def test_floatpim_at_matched_scope(seed, op):
    a, b = random_add_vectors(seed, 32)
    run = pa.fp32_op(op, a.view(np.float32), b.view(np.float32))
    p = pa.FloatPIMParams(t_cycle=2e-9, e_cell=5e-15)
    core, ieee = pa.floatpim_scoped_cost(run, "core", p), pa.floatpim_scoped_cost(run, "ieee", p)
    base = (pa.floatpim_add_cost(p=p) if op == "add" else pa.floatpim_mul_cost(p=p))["terms"]
    own = {k: v for k, v in base.items() if k != "normalisation shift"}
    translated = [ph for ph in pa.CORE_PHASES[op] if ph not in pa.FLOATPIM_OWN[op]]
    assert core["terms"] == {**own, **{f"ours translated: {ph}": pa.floatpim_translate(
        run.tallies[ph], run.by_phase[ph].search) for ph in translated}}
    extra = [ph for ph in run.by_phase if ph not in pa.CORE_PHASES[op]]
    assert set(ieee["terms"]) - set(core["terms"]) == {f"ours translated: {ph}" for ph in extra}
    assert ieee["cycles"] - core["cycles"] == sum(
        pa.floatpim_translate(run.tallies.get(ph, {}), run.by_phase[ph].search)[0] for ph in extra)
    assert core["time_s"] == pytest.approx(core["cycles"] * 2e-9)
    assert core["energy_j"] == pytest.approx(core["cells"] * 5e-15)
    ours, fp = pa.scoped_mac(run if op == "mul" else pa.fp32_op("mul", a.view(np.float32), b.view(np.float32)),
                             run if op == "add" else pa.fp32_op("add", a.view(np.float32), b.view(np.float32)),
                             "core", p)
    assert (ours.t_add if op == "add" else ours.t_mul) == pytest.approx(run.scope_cost("core")["time_s"])
    assert (fp.e_add if op == "add" else fp.e_mul) == pytest.approx(core["energy_j"])
    if op == "mul":   # a shared multiplier's zero bits skipped on FloatPIM's side too: its products scale
        half = pa.floatpim_scoped_cost(run, "core", p, add_fraction=0.5)
        assert half["terms"]["mantissa accumulation"] == tuple(0.5 * v for v in core["terms"]["mantissa accumulation"])
        assert half["terms"]["ours translated: unpack"] == core["terms"]["ours translated: unpack"]
        _, fp_half = pa.scoped_mac(run, pa.fp32_op("add", a.view(np.float32), b.view(np.float32)), "core", p, 0.5)
        assert fp_half.t_mul == pytest.approx(half["time_s"])


def test_area_from_cells_per_lane():
    a = pa.mac_area(133)
    assert (a["ours_cells"], a["floatpim_cells"]) == (96 + 133, 455 + 96)
    assert a["ratio"] == pytest.approx(551 / 229)                 # equal cell areas: the cell ratio
    p = pa.AreaParams(storage_cells=64, floatpim_scratch=400, cell_area_ratio=2.0, periphery_share=0.5)
    b = pa.mac_area(100, p)
    # periphery per cell = 0.5 / (1 - 0.5) = 1 our cell area: (400 + 64)(2 + 1) / ((100 + 64)(1 + 1))
    assert b["ratio"] == pytest.approx(464 * 3 / (164 * 2))
    c = pa.mac_area(100, pa.AreaParams(floatpim_scratch_has_operands=True))
    assert c["floatpim_cells"] == 455 + 32
    r = pa.cell_area_ratio_for(2.5, 100, p)
    assert pa.mac_area(100, pa.AreaParams(64, 400, False, r, 0.5))["ratio"] == pytest.approx(2.5)
    with pytest.raises(ValueError, match="periphery_share"):
        pa.AreaParams(periphery_share=1.0)


def test_mac_scratch_cells(seed):
    a, b = random_add_vectors(seed, 8)
    add = pa.fp32_op("add", a.view(np.float32), b.view(np.float32))
    mul = pa.fp32_op("mul", a.view(np.float32), b.view(np.float32))
    assert pa.mac_scratch_cells(mul, add, "core") == max(mul.cells_live_core, add.cells_live_core)
    assert pa.mac_scratch_cells(mul, add, "ieee") == max(mul.cells_live, add.cells_live)
    assert pa.mac_scratch_cells(mul, add, "ieee", reuse=False) == max(mul.cells_written, add.cells_written)
    with pytest.raises(ValueError, match="without reuse"):
        pa.mac_scratch_cells(mul, add, "core", reuse=False)


def test_significand_ones():
    x = np.array([1.0, 1.5, 0.0, 1e-45, -3.0], np.float32)    # 1e-45: subnormal, fraction bit 0 only
    assert pa.significand_ones(x).tolist() == [1 / 24, 2 / 24, 0.0, 1 / 24, 2 / 24]


def test_switching_time_for_a_latency_cut():
    c = StepCounts(read=100, write=100, search=10)
    t_new = pa.switch_time_for_cut(c, 0.5)
    p = type(TABLE1)(t_switch=t_new)
    assert c.time_s(p) == pytest.approx(0.5 * c.time_s(TABLE1))
    assert pa.switch_share(c) == pytest.approx(100 * 2e-9 / (100e-9 + 200e-9 + 10e-9))
    assert math.isnan(pa.switch_time_for_cut(c, 0.9))


def test_lenet_parameters_and_epoch_macs():
    shapes = [(8, 1, 5, 5), (8,), (12, 8, 5, 5), (12,), (128, 48), (128,), (92, 128), (92,), (10, 92), (10,)]
    assert pa.lenet_params() == sum(int(np.prod(s)) for s in shapes) == 21690   # the paper's count
    fwd = 8 * 8 * 8 * 25 + 12 * 4 * 4 * 8 * 25 + 48 * 128 + 128 * 92 + 92 * 10
    m = pa.lenet_epoch_macs(1257, batch=32)
    assert m["forward_per_image"] == fwd
    assert m["total"] == 1257 * (3 * fwd - 8 * 8 * 8 * 25) + math.ceil(1257 / 32) * 21690
    assert pa.digits_train_size() == 1797 - 540     # the project's 70 / 30 split of load_digits


def test_bench_smoke():
    from scripts.bench.pim import main
    assert main(["--lanes", "8", "--repeat", "1"]) == 0
