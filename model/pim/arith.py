"""The 4-step full adder of Fig. 3, multi-bit addition, and FP32 addition and multiplication executed only as
operations of the SOT-MRAM sub-array (:mod:`model.pim.subarray`); eqs. (2)-(3); FloatPIM comparison; LeNet training cost.

Source: ``sot-mram-fp-pim-training-wang.txt`` (Wang et al.), Sections 3.2-3.3, Figs. 3-4, eqs. (1)-(3), Section 4.

Full adder (Fig. 3, eq. (1))
----------------------------
Operands ``X``, ``Y``, carry ``Z``, sum cell ``S``, four cache cells ``c1 c2 c3 c4`` (the carry-out cell alternates
between ``c2`` and ``c4`` from bit to bit, so the caches are reused along a multi-bit addition)::

    Step 1  read Y, Z       c1 := Y, c2 := Y, c3 := Z, S := Z          (copies into the caches)
    Step 2  read X          c1 ^= X  (X xor Y),  c2 &= X  (XY)          (XOR and AND in parallel)
    Step 3  read c1         c3 &= c1 (Z(X xor Y))
    Step 4  read c1, c3     S ^= c1  (X xor Y xor Z),  c2 |= c3  (Z' = XY + Z(X xor Y))

Four steps, four cells, ``X`` and ``Y`` unchanged; per bit 9 cell writes and 8 cell reads (the XORs also sense their
target cell, see :mod:`model.pim.subarray`). FloatPIM [6] needs 13 NOR steps and 12 cells per bit (Section 2).

FP32 (binary32, N_e = 8, N_m = 23) policy
-----------------------------------------
IEEE-754 round to nearest, ties to even; gradual underflow exact (subnormal inputs and results, no flushing);
overflow to +-inf; signed zeros per IEEE (``x + (-x) = +0``, ``-0 + -0 = -0``, product sign = XOR of signs); any NaN
operand, ``inf - inf`` and ``0 * inf`` give the canonical quiet NaN ``0x7FC00000`` (sign 0, payload dropped). The
golden is numpy float32 (IEEE RNE with gradual underflow) with every NaN replaced by ``0x7FC00000``: numpy keeps a
NaN operand's payload and makes ``inf - inf`` ``0xFFC00000`` (x86 default NaN), which the policy deliberately does not
reproduce (:func:`ref_fp32`).

Addition (Fig. 4 (a)): classify both operands with searches (exponent all ones / zero, fraction zero); effective
exponents (``max(e, 1)``) and hidden bits; both exponent differences ``eA - eB`` and ``eB - eA`` at once (two 8-bit
subtractions in lockstep, one carry says which is larger); masked copies select the larger operand ``L`` and the
smaller ``S`` with its difference ``d``; **alignment by search**: for every shift amount ``k = 0 .. 25`` one search
of ``d == k`` and one masked step that moves the whole 27-bit ``(mantissa, guard, round, sticky)`` field by ``k``
bits at once, the sticky bit taken from a prefix OR (``k >= 26`` is the default written first: everything in
sticky); mantissa addition / subtraction ``L +- S`` with the Fig. 3 adder (27 bits); where ``L - S`` comes out
negative (equal exponents only) a conditional two's-complement negate, ``bit i ^= OR(bits 0 .. i-1)`` with a prefix
OR, in those lanes only (``mantissa="one-chain"``; the variant ``"two-chains"`` runs a second chain ``S - L`` in
lockstep instead: no extra steps, twice the cells); normalisation, subnormal clamp and rounding
(:func:`round_pack`): the leading one is found by searches, a marker row at ``27 - e_L`` limits the left shift so
results below ``2^-126`` come out subnormal, one masked step per position gathers fraction, round and sticky bits,
the exponent is ``e_L + q - 27`` plus the hidden bit (Fig. 3 adder), the round-up is an increment of the packed
word (half adders) so that a carry renormalises or overflows; overflow, zero and special values last (searches,
masked constant writes).

Multiplication (Fig. 4 (b)): exponent sum ``eA + eB`` (Fig. 3 adder); mantissa product by shift-and-add, one add
of the multiplicand per multiplier bit ``j`` ("added multiplier's bit times", Section 3.3). ``multiplier="gated"``
(default): a search of bit ``j`` latches the columns whose bit is 1 and only they run the add (the others keep
their sum and spend nothing), into one accumulator in place; every lane has its own multiplier, so the steps of
all 23 bits are issued. ``"skip"``: as gated, and a bit that no column of the pass has set is not issued (a pass
whose lanes share one multiplier, e.g. a weight times a batch of activations, takes as many adds as the
multiplier has 1 bits, the count eq. (3) assumes). ``"ungated"``: every column adds ``multiplicand AND bit j``, the
running sums alternating between two accumulators (Section 3.3's two columns). Then :func:`round_pack` as for the
addition with ``e = eA + eB + q - 174`` (``q``: leading-one position of the 48-bit product), products below half
the smallest subnormal flushed to zero (exactly what rounding gives) and the specials.

Scopes, FloatPIM, area
----------------------
Eqs. (2)-(3) and the FloatPIM reconstruction count no IEEE normalisation, rounding, subnormals or special values.
:data:`CORE_PHASES` names the phases of ours they do count (scope ``"core"``); scope ``"ieee"`` is every phase.
:func:`scoped_mac` compares the MAC at one scope on both sides: FloatPIM's own reconstructed arithmetic
(:func:`floatpim_add_cost`, :func:`floatpim_mul_cost`) plus our other phases of the scope executed with its
operations (:func:`floatpim_translate`). The abstract's area claim: :func:`mac_area` from the cells a MAC lane
needs on each design (:func:`mac_scratch_cells`: cells written, with or without reuse) and :class:`AreaParams`.

Step counts against eqs. (2)-(3): :func:`eq2_add`, :func:`eq3_mul` and the per-phase counters of a run
(:attr:`PimRun.by_phase`); the report names the terms that differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from model.checks import check_choice, check_int, check_real
from model.fp_golden import CANONICAL_NAN, canonicalize_nan
from model.pim.subarray import TABLE1, CellParams, StepCounts, SubArray

__all__ = ["NE", "NM", "LANES", "ripple_add", "full_adder", "full_adder_truth_table", "int_add", "fp32_add_rows",
           "fp32_mul_rows", "round_pack", "PimRun", "fp32_op", "ref_fp32", "eq2_add", "eq3_mul", "eq_cost",
           "FloatPIMParams", "FLOATPIM", "floatpim_add_cost", "floatpim_mul_cost", "floatpim_mac_cost",
           "floatpim_params_for", "MacCost", "mac_cost", "switch_share", "switch_time_for_cut", "Layer", "LENET",
           "lenet_params", "lenet_epoch_macs", "digits_train_size", "FA_STEPS", "FA_CELLS", "FLOATPIM_FA_STEPS",
           "FLOATPIM_FA_CELLS", "FLOATPIM_MUL_ROW_CELLS", "MANTISSA", "MULTIPLIER", "SCOPES", "CORE_PHASES",
           "FLOATPIM_OWN", "FA_WRITES", "floatpim_translate", "floatpim_scoped_cost", "scoped_mac", "AreaParams",
           "AREA", "mac_scratch_cells", "mac_area", "cell_area_ratio_for", "significand_ones"]

PAPER = "sot-mram-fp-pim-training-wang.txt"
NE, NM = 8, 23                 # binary32 exponent and fraction bits (N_e, N_m of eqs. (2)-(3))
LANES = 1024                   # columns of the 1024 x 1024 sub-array (Section 4.1): operations per pass
FA_STEPS, FA_CELLS = 4, 4      # Section 3.2: "4 steps of read and write using a total of 4 memory cells"
FLOATPIM_FA_STEPS, FLOATPIM_FA_CELLS = 13, 12   # Sections 2 and 3.2: FloatPIM [6] 1-bit FA
FLOATPIM_MUL_ROW_CELLS = 455   # Section 2: cells FloatPIM [6] writes in one row for a 32-bit multiplication

OPS = ("add", "mul")
MANTISSA = ("one-chain", "two-chains")        # fp32_add_rows(mantissa=...): default first
MULTIPLIER = ("gated", "skip", "ungated")     # fp32_mul_rows(multiplier=...): default first
SCOPES = ("ieee", "core")                     # PimRun.scope_cost: which phases are counted
#: Phases of the "core" scope: the arithmetic that eqs. (2)-(3) and the FloatPIM reconstruction count (operand
#: preparation, exponent arithmetic, selection and alignment, mantissa add / product); the other phases (constants,
#: classify, zero, normalise, exponent-out, round, overflow, special) are IEEE normalisation, rounding, subnormals
#: and special values.
CORE_PHASES = {"add": ("unpack", "exponent", "select", "align", "mantissa"),
               "mul": ("unpack", "exponent", "product")}


# ------------------------------------------------------------------------------------------------ helpers
def _key(value: int, width: int) -> np.ndarray:
    """Bits of ``value`` (LSB first) as a search key of ``width`` bits."""
    return np.array([(value >> i) & 1 for i in range(width)], dtype=bool)


def _planes(words: np.ndarray, nbits: int) -> np.ndarray:
    """``(nbits, n)`` bit planes (LSB first) of unsigned integers."""
    w = np.asarray(words, dtype=np.uint64)
    return ((w[None, :] >> np.arange(nbits, dtype=np.uint64)[:, None]) & np.uint64(1)).astype(bool)


def _words(planes: np.ndarray) -> np.ndarray:
    """Unsigned integers (uint64) from ``(nbits, n)`` bit planes (LSB first)."""
    p = np.asarray(planes, dtype=np.uint64)
    return (p << np.arange(p.shape[0], dtype=np.uint64)[:, None]).sum(axis=0, dtype=np.uint64)


def _constants(arr: SubArray) -> tuple[int, int]:
    """Two rows holding constant 0 and 1 (one write step)."""
    zero, one = arr.alloc(1, "ZERO")[0], arr.alloc(1, "ONE")[0]
    with arr.phase("constants"):
        arr.step([("set", zero, 0), ("set", one, 1)])
    return int(zero), int(one)


def _split_ops(pairs, kind="copy"):
    """Group ``(dst, src)`` pairs into one ``copy`` op and one ``set`` op (``src`` None = constant 0)."""
    cd = [d for d, s in pairs if s is not None]
    cs = [s for d, s in pairs if s is not None]
    zd = [d for d, s in pairs if s is None]
    ops = []
    if cd:
        ops.append((kind, np.array(cd), np.array(cs)))
    if zd:
        ops.append(("set", np.array(zd), 0))
    return ops


# -------------------------------------------------------------------------------------------- full adder
def ripple_add(arr: SubArray, chains, enable=None) -> list[int]:
    """Multi-bit additions with the 4-step full adder of Fig. 3, all ``chains`` in lockstep (same steps).

    Parameters
    ----------
    arr : SubArray
    chains : sequence of (x_rows, y_rows, cin_row, out_rows, caches)
        One addition ``out = x + y + cin`` per chain; ``x_rows``, ``y_rows``, ``out_rows`` bit 0 first and of one
        width for all chains; ``caches``: 4 rows reused by every bit (the carry alternates between caches 1 and 3).
    enable : None, "latch" or int
        Column gating passed to every step.

    Returns
    -------
    list of int
        Per chain, the cache row that holds the carry out of the top bit.
    """
    width = len(chains[0][0])
    for x, y, _, out, caches in chains:
        if not (len(x) == len(y) == len(out) == width):
            raise ValueError(f"every chain needs x, y and out of {width} rows, got {len(x)}, {len(y)}, {len(out)}")
        if len(caches) != FA_CELLS:
            raise ValueError(f"a chain needs {FA_CELLS} cache rows, got {len(caches)}")
    carry = [int(c[2]) for c in chains]
    arr.tally("fa_bits", width * len(chains))
    for i in range(width):
        s1, s2, s3, s4 = [], [], [], []
        for k, (x, y, _, out, caches) in enumerate(chains):
            c1, c3 = int(caches[0]), int(caches[2])
            cz = int(caches[1] if i % 2 == 0 else caches[3])
            z, xi, yi, si = carry[k], int(x[i]), int(y[i]), int(out[i])
            s1.append(("copy", [c1, cz, c3, si], [yi, yi, z, z]))
            s2 += [("xor", c1, xi), ("and", cz, xi)]
            s3.append(("and", c3, c1))
            s4 += [("xor", si, c1), ("or", cz, c3)]
            carry[k] = cz
        for ops in (s1, s2, s3, s4):
            arr.step(ops, enable)
    return carry


def full_adder(arr: SubArray, x: int, y: int, z: int, s: int, caches) -> int:
    """One 1-bit full addition (Fig. 3) of rows ``x``, ``y``, ``z`` into ``s``; returns the carry-out row."""
    return ripple_add(arr, [([x], [y], z, [s], caches)])[0]


def full_adder_truth_table(params: CellParams = TABLE1) -> dict:
    """Run the Fig. 3 adder once on 8 lanes that hold every ``(X, Y, Z)``; returns the inputs, ``s``, ``carry``,
    ``X`` and ``Y`` as read back afterwards, the step counters and ``cells`` (cells the adder writes: the caches
    ``c1``, ``c2``, ``c3`` and ``S``; a multi-bit addition adds ``c4`` for the alternating carry and a sum cell per
    bit)."""
    x = np.array([0, 0, 0, 0, 1, 1, 1, 1], bool)
    y = np.array([0, 0, 1, 1, 0, 0, 1, 1], bool)
    z = np.array([0, 1, 0, 1, 0, 1, 0, 1], bool)
    arr = SubArray(lanes=8, params=params)
    rx, ry, rz, rs, caches = (arr.alloc(1)[0], arr.alloc(1)[0], arr.alloc(1)[0], arr.alloc(1)[0], arr.alloc(4))
    arr.load([rx, ry, rz], np.stack([x, y, z]))
    cout = full_adder(arr, int(rx), int(ry), int(rz), int(rs), caches)
    xs, ys, s, c = arr.dump([rx, ry, rs, cout])
    return {"x": x, "y": y, "z": z, "s": s, "carry": c, "x_after": xs, "y_after": ys,
            "counts": StepCounts() + arr.counts, "cells": len(arr.written_rows),
            "rows_written": sorted(arr.written_rows)}


def int_add(a, b, bits: int = 32, carry_in: int = 0, params: CellParams = TABLE1):
    """``a + b + carry_in`` of unsigned ``bits``-bit integers, one lane per pair, on a fresh sub-array.

    Returns ``(sum mod 2**bits as uint64, carry out as bool array, StepCounts of the addition, SubArray)``.
    """
    bits = check_int("bits", bits, min=1, max=64)
    a = np.asarray(a, dtype=np.uint64).reshape(-1)
    b = np.asarray(b, dtype=np.uint64).reshape(-1)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"a and b must be non-empty and of one length, got {a.size} and {b.size}")
    if a.size > LANES:
        raise ValueError(f"at most {LANES} lanes per sub-array, got {a.size}")
    arr = SubArray(lanes=a.size, params=params)
    xa, xb, out, caches = (arr.alloc(bits, "A"), arr.alloc(bits, "B"), arr.alloc(bits, "S"), arr.alloc(4, "cache"))
    cin = arr.alloc(1, "cin")
    arr.load(xa, _planes(a, bits))
    arr.load(xb, _planes(b, bits))
    arr.load(cin, np.full((1, a.size), bool(carry_in)))
    before = StepCounts() + arr.counts
    with arr.phase("add"):
        cout = ripple_add(arr, [(xa, xb, int(cin[0]), out, caches)])[0]
    counts = StepCounts(*(getattr(arr.counts, f.name) - getattr(before, f.name) for f in fields(StepCounts)))
    return _words(arr.dump(out)), arr.dump([cout])[0], counts, arr


# ----------------------------------------------------------------------------------------- shared pieces
def _prefix_or(arr: SubArray, src, enable=None) -> np.ndarray:
    """Rows ``p[j] = OR(src[0..j])``: a copy, then log2(n) steps of ``p[j] |= p[j - 2^l]`` (Kogge-Stone); every
    step gated by ``enable`` (as :meth:`SubArray.step`)."""
    n = len(src)
    p = arr.alloc(n, "prefix-or")
    arr.step([("copy", p, np.asarray(src))], enable)
    span = 1
    while span < n:
        arr.step([("or", p[span:], p[:n - span])], enable)
        span *= 2
    return p


def _increment(arr: SubArray, src, cin: int) -> np.ndarray:
    """``src + cin`` (carry out dropped) with half adders: one preload step, then one step per bit
    (``r_i ^= c_i`` and ``q_i &= c_i`` where ``q_i`` was preloaded with ``src_i``, so ``q_i`` is the next carry)."""
    n = len(src)
    r, q = arr.alloc(n, "inc-sum"), arr.alloc(n, "inc-carry")
    s = np.asarray(src)
    arr.step([("copy", r, s), ("copy", q, s)])
    c = cin
    for i in range(n):
        arr.step([("xor", int(r[i]), c), ("and", int(q[i]), c)])
        c = int(q[i])
    return r


def _search_flags(arr: SubArray, a_rows, b_rows) -> dict:
    """Classification searches: exponent all ones (``em``), exponent zero (``ez``), fraction zero (``fz``) of both
    operands, each latched into a flag row."""
    flags = {}
    for name, x in (("a", a_rows), ("b", b_rows)):
        for fl, rows, key in (("em", x[23:31], np.ones(8, bool)), ("ez", x[23:31], np.zeros(8, bool)),
                              ("fz", x[0:23], np.zeros(23, bool))):
            arr.search(rows, key)
            r = int(arr.alloc(1, name + fl)[0])
            arr.step([("copy", r, "latch")])
            flags[name + fl] = r
    return flags


def _search_less_than(arr: SubArray, rows, const: int, flag: int) -> None:
    """``flag := 1`` in the lanes where the unsigned field ``rows`` is < ``const``: one ternary search per 1 bit
    of ``const`` (higher bits equal to ``const``, that bit 0, lower bits don't care) and one masked write each."""
    w = len(rows)
    for bit in range(w - 1, -1, -1):
        if (const >> bit) & 1:
            sel = np.asarray(rows)[bit:]
            key = _key(const >> bit, w - bit)
            key[0] = False
            arr.search(sel, key)
            arr.step([("set", flag, 1)], "latch")


def round_pack(arr: SubArray, t_rows, x_rows, c: int, q_max: int, kw: int, zero: int,
               x_min: int = 0) -> np.ndarray:
    """Normalise, clamp to the subnormal range, round to nearest even and pack; returns 31 rows (fraction and
    exponent of binary32, sign excluded) with overflow turned into infinity.

    The value is ``T * 2^(X - c - 22)`` in binary32 terms: with ``q`` the position of the leading one of ``T``, the
    biased exponent is ``X + q - c + 1``. ``q`` is clamped from below at ``c - X`` (exponent 1, subnormal result)
    by OR-ing a marker one into ``T`` at that position before the leading-one searches; positions ``0 .. q_max``.

    Parameters
    ----------
    t_rows : rows of the magnitude ``T`` (bit 0 first).
    x_rows : rows of the exponent base ``X`` (unsigned).
    c : the constant of ``exponent field = X + q - c + hidden``.
    q_max : highest leading-one position handled (above: not represented; the caller flushes those lanes).
    kw : width of the exponent arithmetic (>= 9 so that overflow is visible).
    zero : a row holding 0.
    x_min : smallest value ``X`` can hold (marker searches start there).
    """
    kw = check_int("kw", kw, min=9, max=16)
    t = np.asarray(t_rows)
    w = t.size
    n_tm = max(w, q_max + 1)
    with arr.phase("normalise"):
        mk = arr.alloc(n_tm, "marker")
        for v in range(max(x_min, c - q_max), c + 1):        # marker at p = c - v where X == v
            if v < (1 << len(x_rows)):
                arr.search(x_rows, _key(v, len(x_rows)))
                arr.step([("set", int(mk[c - v]), 1)], "latch")
        arr.step([("or", mk[:w], t)])                         # TM = T | marker
        po = _prefix_or(arr, t)
        fr, hid, rnd, stk = arr.alloc(23, "fraction"), arr.alloc(1)[0], arr.alloc(1)[0], arr.alloc(1)[0]
        k = arr.alloc(kw, "K")
        for q in range(n_tm - 1, -1, -1):                     # leading one of TM at q: one search, one gather
            key = np.zeros(n_tm - q, bool)
            key[0] = True
            arr.search(mk[q:], key)
            pairs = [(int(fr[i]), int(t[q - 23 + i]) if 0 <= q - 23 + i < w else None) for i in range(23)]
            pairs.append((int(hid), int(t[q]) if q < w else None))
            pairs.append((int(rnd), int(t[q - 24]) if 0 <= q - 24 < w else None))
            pairs.append((int(stk), int(po[min(q - 25, w - 1)]) if q >= 25 else None))
            ops = _split_ops(pairs)
            kbits = _key((q - c) % (1 << kw), kw)
            if kbits.any():
                ops.append(("set", k[kbits], 1))
            if (~kbits).any():
                ops.append(("set", k[~kbits], 0))
            arr.step(ops, "latch")
    with arr.phase("exponent-out"):
        xe = list(x_rows) + [zero] * (kw - len(x_rows))
        eo = arr.alloc(kw, "exponent")
        ripple_add(arr, [(xe, k, int(hid), eo, arr.alloc(4, "cache"))])
    with arr.phase("round"):
        ru = int(arr.alloc(1, "round-up")[0])
        arr.step([("copy", ru, int(stk))])
        arr.step([("or", ru, int(fr[0]))])                    # sticky | lsb
        arr.step([("and", ru, int(rnd))])                     # round & (sticky | lsb)
        r = _increment(arr, np.concatenate([fr, eo]), ru)     # carry renormalises / reaches infinity
    with arr.phase("overflow"):
        inf = [("set", r[0:23], 0), ("set", r[23:31], 1)]
        for bit in range(31, 23 + kw):                        # exponent field >= 256: infinity
            arr.search([r[bit]], [True])
            arr.step(inf, "latch")
        arr.search(r[23:31], np.ones(8, bool))                # exponent field == 255: fraction must be 0
        arr.step([("set", r[0:23], 0)], "latch")
    return r[:31]


def _specials(arr: SubArray, r, sign: int, flags: dict, inf_rules, nan_rules) -> None:
    """Masked overrides: infinity (fraction 0, exponent ones, optional sign copy), then the canonical NaN."""
    with arr.phase("special"):
        for rows, key, sign_src in inf_rules:
            arr.search([flags[x] for x in rows], key)
            ops = [("set", r[0:23], 0), ("set", r[23:31], 1)]
            if sign_src is not None:
                ops.append(("copy", sign, sign_src))
            arr.step(ops, "latch")
        nan = _key(CANONICAL_NAN, 32)
        for rows, key in nan_rules:
            arr.search([flags[x] if isinstance(x, str) else x for x in rows], key)
            arr.step([("set", r[:31][nan[:31]], 1), ("set", r[:31][~nan[:31]], 0), ("set", sign, 0)], "latch")


# -------------------------------------------------------------------------------------------------- FP32
def fp32_add_rows(arr: SubArray, a, b, mantissa: str = "one-chain") -> np.ndarray:
    """FP32 ``a + b`` of the binary32 words in rows ``a``, ``b`` (32 each, bit 0 first) of every lane, executed as
    sub-array operations; returns the 32 result rows (see the module docstring for the algorithm and policy).

    Parameters
    ----------
    mantissa : {"one-chain", "two-chains"}
        How the mantissa phase handles ``L - S < 0`` (equal exponents, ``|b| > |a|``): one 27-bit chain ``L +- S``
        and a conditional two's-complement negate in the lanes that came out negative (default), or a second
        chain ``S -+ L`` in lockstep whose result those lanes take (the schedule before issue 20).
    """
    mantissa = check_choice("mantissa", mantissa, MANTISSA)
    zero, one = _constants(arr)
    with arr.phase("classify"):
        f = _search_flags(arr, a, b)
    with arr.phase("unpack"):
        ea, eb, na, nb = (arr.alloc(8, n) for n in ("eA", "eB", "~eB", "~eA"))
        ma, mb = arr.alloc(24, "mA"), arr.alloc(24, "mB")
        sub, nsub, sl, sr = (int(arr.alloc(1, n)[0]) for n in ("sub", "~sub", "sL", "sR"))
        arr.step([("copy", np.concatenate([ea, eb, na, nb, ma[:23], mb[:23], [ma[23], mb[23], sub]]),
                   np.concatenate([a[23:31], b[23:31], a[23:31], b[23:31], a[:23], b[:23],
                                   [f["aez"], f["bez"], a[31]]]))])
        arr.step([("or", [ea[0], na[0]], f["aez"]), ("or", [eb[0], nb[0]], f["bez"]),
                  ("not", [ma[23], mb[23]], None), ("xor", sub, int(b[31]))])   # max(e, 1), hidden bit, sA ^ sB
        arr.step([("not", np.concatenate([na, nb]), None), ("copy", nsub, sub)])
        arr.step([("not", nsub, None)])
    with arr.phase("exponent"):                               # eA - eB and eB - eA in lockstep
        d1, d2 = arr.alloc(8, "eA-eB"), arr.alloc(8, "eB-eA")
        c1, _ = ripple_add(arr, [(ea, nb, one, d1, arr.alloc(4)), (eb, na, one, d2, arr.alloc(4))])
        ge, lt = int(arr.alloc(1, "a>=b")[0]), int(arr.alloc(1, "a<b")[0])
        arr.step([("copy", [ge, lt], c1)])
        arr.step([("not", lt, None)])
    with arr.phase("select"):
        el, ml, ms, ds = arr.alloc(8, "eL"), arr.alloc(24, "mL"), arr.alloc(24, "mS"), arr.alloc(8, "d")
        dst = np.concatenate([el, ml, ms, ds, [sl]])
        arr.step([("copy", dst, np.concatenate([ea, ma, mb, d1, [a[31]]]))], ge)
        arr.step([("copy", dst, np.concatenate([eb, mb, ma, d2, [b[31]]]))], lt)
    with arr.phase("align"):                                  # Fig. 4 (a): search d == k, shift by k at once
        po = _prefix_or(arr, ms)
        wsh = arr.alloc(27, "aligned")                        # bit 0 sticky, 1 round, 2 guard, 3.. mantissa
        arr.step([("set", wsh[1:], 0), ("copy", int(wsh[0]), int(po[23]))])   # k >= 26: all in sticky
        for k in range(26):
            arr.search(ds, _key(k, 8))
            pairs = [(int(wsh[i]), int(ms[i + k - 3]) if 3 <= i + k <= 26 else None) for i in range(1, 27)]
            pairs.append((int(wsh[0]), int(po[k - 3]) if k >= 3 else None))
            arr.step(_split_ops(pairs), "latch")
    with arr.phase("mantissa"):                               # L +- S with the Fig. 3 adder
        xl = np.concatenate([[zero] * 3, ml])
        y1, r1 = arr.alloc(27, "S^sub"), arr.alloc(27, "L+-S")
        if mantissa == "two-chains":                          # and S -+ L in lockstep
            x2, r2 = arr.alloc(27, "L^sub"), arr.alloc(27, "S-+L")
            arr.step([("copy", y1, wsh), ("copy", x2[3:], ml), ("set", x2[:3], 0), ("copy", sr, sl)])
            arr.step([("xor", y1, sub), ("xor", x2, sub)])
            co1, _ = ripple_add(arr, [(xl, y1, sub, r1, arr.alloc(4)), (wsh, x2, sub, r2, arr.alloc(4))])
        else:
            arr.step([("copy", y1, wsh), ("copy", sr, sl)])
            arr.step([("xor", y1, sub)])
            co1 = ripple_add(arr, [(xl, y1, sub, r1, arr.alloc(4))])[0]
        t27, neg = int(arr.alloc(1, "T27")[0]), int(arr.alloc(1, "neg")[0])
        arr.step([("copy", [t27, neg], co1)])
        arr.step([("not", neg, None), ("and", t27, nsub)])    # carry of an addition
        arr.step([("and", neg, sub)])                         # L - S < 0 (equal exponents only)
        if mantissa == "two-chains":
            arr.step([("copy", r1, r2), ("not", sr, None)], neg)   # take S - L and flip the sign
        else:                                                 # -r: bit i ^= OR(r[0 .. i-1]), only where neg
            po = _prefix_or(arr, r1[:-1], enable=neg)
            arr.step([("xor", r1[1:], po), ("not", sr, None)], neg)
        t = np.concatenate([r1, [t27]])
    with arr.phase("zero"):
        zf = int(arr.alloc(1, "zero")[0])
        arr.search(t, np.zeros(28, bool))                     # exact zero: +0 unless both operands were -0
        arr.step([("set", zf, 1), ("and", sr, nsub)], "latch")
    r = round_pack(arr, t, el, c=27, q_max=27, kw=9, zero=zero, x_min=1)
    with arr.phase("special"):
        arr.step([("set", r, 0)], zf)
    _specials(arr, r, sr, f,
              inf_rules=[(("aem", "afz"), [1, 1], int(a[31])), (("bem", "bfz"), [1, 1], int(b[31]))],
              nan_rules=[(("aem", "afz"), [1, 0]), (("bem", "bfz"), [1, 0]),
                         (("aem", "afz", "bem", "bfz", sub), [1, 1, 1, 1, 1])])
    return np.concatenate([r, [sr]])


def _product_ungated(arr: SubArray, ma, mb, zero: int) -> np.ndarray:
    """24 x 24-bit product, every multiplier bit added in every column: partial product ``ma AND mb[j]`` (two
    steps), added with the Fig. 3 adder, the running sums alternating between two accumulators (Section 3.3)."""
    acc = (arr.alloc(48, "acc0"), arr.alloc(48, "acc1"))
    pp = arr.alloc(24, "partial")
    caches = arr.alloc(4)
    arr.step([("copy", acc[1][:24], ma)])
    arr.step([("and", acc[1][:24], int(mb[0]))])
    carry = None
    for j in range(1, 24):
        old, new = acc[j % 2], acc[(j + 1) % 2]
        ops = [("copy", pp, ma)]
        if carry is not None:
            ops.append(("copy", int(acc[j % 2][j + 23]), carry))
        arr.step(ops)
        arr.step([("and", pp, int(mb[j]))])
        carry = ripple_add(arr, [(old[j:j + 24], pp, zero, new[j:j + 24], caches)])[0]
    arr.step([("copy", int(acc[0][47]), carry)])
    return np.array([acc[(k + 1) % 2][k] if k < 23 else acc[0][k] for k in range(48)])


def _product_gated(arr: SubArray, ma, mb, zero: int, skip: bool) -> np.ndarray:
    """24 x 24-bit product with the add of multiplier bit ``j`` gated by that bit: one search latches the columns
    whose ``mb[j]`` is 1 and only they run the Fig. 3 adder, ``acc[j .. j+23] += ma`` in place (Step 1 copies
    ``Y`` into the caches before ``S := Z`` overwrites it). The cache that holds the carry after the top bit is
    ``acc[j + 24]`` (0 until then), so the carry needs no copy; columns left out keep their sum. ``skip``: the
    controller issues no add for a bit that no column matched (the OR of the column match signals)."""
    acc = arr.alloc(48, "acc")
    caches = arr.alloc(3, "cache")
    arr.step([("copy", acc[:24], ma), ("set", acc[24:], 0)])
    arr.step([("and", acc[:24], int(mb[0]))])
    for j in range(1, 24):
        arr.search([mb[j]], [True])
        if skip and not arr.latch.any():
            continue
        ripple_add(arr, [(ma, acc[j:j + 24], zero, acc[j:j + 24], [*caches, acc[j + 24]])], "latch")
    return acc


def fp32_mul_rows(arr: SubArray, a, b, multiplier: str = "gated") -> np.ndarray:
    """FP32 ``a * b`` of the binary32 words in rows ``a``, ``b`` of every lane, executed as sub-array operations
    (shift-and-add, Fig. 4 (b)); returns the 32 result rows.

    Parameters
    ----------
    multiplier : {"gated", "skip", "ungated"}
        Schedule of the mantissa product (module docstring): ``"gated"`` (default) adds the multiplicand for
        multiplier bit ``j`` only in the columns whose bit ``j`` is 1 (a search of that bit latches the column
        enable), into one accumulator in place; ``"skip"`` as gated, and the add of a bit that no column of the
        pass has set is not issued (Section 3.3, eq. (3): "added multiplier's bit times"); ``"ungated"``: the
        partial product ``multiplicand AND bit j`` is added in every column, the sums alternating between two
        accumulators (Section 3.3; the schedule before issue 20).
    """
    multiplier = check_choice("multiplier", multiplier, MULTIPLIER)
    zero, one = _constants(arr)
    with arr.phase("classify"):
        f = _search_flags(arr, a, b)
    with arr.phase("unpack"):
        ea, eb = arr.alloc(8, "eA"), arr.alloc(8, "eB")
        ma, mb = arr.alloc(24, "mA"), arr.alloc(24, "mB")
        sr = int(arr.alloc(1, "sR")[0])
        arr.step([("copy", np.concatenate([ea, eb, ma[:23], mb[:23], [ma[23], mb[23], sr]]),
                   np.concatenate([a[23:31], b[23:31], a[:23], b[:23], [f["aez"], f["bez"], a[31]]]))])
        arr.step([("or", ea[0], f["aez"]), ("or", eb[0], f["bez"]), ("not", [ma[23], mb[23]], None),
                  ("xor", sr, int(b[31]))])
    with arr.phase("exponent"):
        s = arr.alloc(9, "eA+eB")
        cs = ripple_add(arr, [(ea, eb, zero, s[:8], arr.alloc(4))])[0]
        arr.step([("copy", int(s[8]), cs)])
    with arr.phase("product"):                                # Fig. 4 (b): shift-and-add
        prod = _product_ungated(arr, ma, mb, zero) if multiplier == "ungated" else \
            _product_gated(arr, ma, mb, zero, skip=multiplier == "skip")
    with arr.phase("zero"):
        zf = int(arr.alloc(1, "zero")[0])
        arr.search(prod, np.zeros(48, bool))
        arr.step([("set", zf, 1)], "latch")
        _search_less_than(arr, s, 103, zf)                    # eA + eB <= 102: product < 2^-150 rounds to +-0
    r = round_pack(arr, prod, s, c=174, q_max=71, kw=9, zero=zero, x_min=2)
    with arr.phase("special"):
        arr.step([("set", r, 0)], zf)
    _specials(arr, r, sr, f,
              inf_rules=[(("aem", "afz"), [1, 1], None), (("bem", "bfz"), [1, 1], None)],
              nan_rules=[(("aem", "afz"), [1, 0]), (("bem", "bfz"), [1, 0]),
                         (("aem", "afz", "bez", "bfz"), [1, 1, 1, 1]), (("aez", "afz", "bem", "bfz"), [1, 1, 1, 1])])
    return np.concatenate([r, [sr]])


# --------------------------------------------------------------------------------------- runs and golden
def ref_fp32(op: str, a, b) -> np.ndarray:
    """Golden binary32 patterns of ``a op b`` (float32 arrays): numpy float32 (IEEE round to nearest even,
    gradual underflow) with every NaN replaced by the canonical ``0x7FC00000`` (the policy of this module)."""
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    with np.errstate(all="ignore"):
        r = (np.add if op == "add" else np.multiply)(np.asarray(a, np.float32), np.asarray(b, np.float32))
    return canonicalize_nan(np.asarray(r, np.float32).view(np.uint32))


@dataclass(frozen=True)
class PimRun:
    """Result and costs of FP32 operations executed on sub-arrays, ``lanes`` column-parallel operations per pass.

    Attributes
    ----------
    op : "add" or "mul"
    bits : numpy.ndarray of uint32
        Result patterns, the shape of the inputs (:attr:`values` as float32).
    passes : tuple of StepCounts
        Counters of each pass (chunk of at most ``lanes`` operations, one after the other).
    pass_lanes : tuple of int
        Operations in each pass.
    by_phase : dict of str to StepCounts
        Counters of the first pass by phase of the algorithm.
    rows_used : int
        Sub-array rows the algorithm needs per lane (every row its own cell, no reuse).
    params : CellParams
    variant : dict
        The schedule choices of the run (``mantissa``, ``multiplier``).
    pass_phases : tuple of dict
        ``by_phase`` of every pass (they differ only with ``multiplier="skip"``).
    tallies : dict
        Schedule tallies of the first pass by phase (:attr:`SubArray.tallies`: ``cell_ops``, ``fa_bits``).
    cells_written : int
        Rows the operation writes (intermediate results and the result; operands excluded), no reuse.
    cells_live : int
        The same rows with reuse: their peak number live at once (:meth:`SubArray.peak_live`).
    cells_live_core : int
        ``cells_live`` of the core scope: rows first accessed in the ``constants`` or a :data:`CORE_PHASES` phase,
        live during the steps of those phases.
    """

    op: str
    bits: np.ndarray
    passes: tuple
    pass_lanes: tuple
    by_phase: dict
    rows_used: int
    params: CellParams = TABLE1
    variant: dict = field(default_factory=dict)
    pass_phases: tuple = ()
    tallies: dict = field(default_factory=dict)
    cells_written: int = 0
    cells_live: int = 0
    cells_live_core: int = 0

    @property
    def values(self) -> np.ndarray:
        return self.bits.view(np.float32)

    @property
    def n(self) -> int:
        return int(sum(self.pass_lanes))

    @property
    def total(self) -> StepCounts:
        """Counters summed over the passes."""
        out = StepCounts()
        for c in self.passes:
            out = out + c
        return out

    def _op_mean(self, values) -> float:
        """Mean over operations of a per-pass quantity (each pass counts once per operation in it)."""
        return sum(k * v for k, v in zip(self.pass_lanes, values)) / self.n

    @property
    def per_op_steps(self) -> dict:
        """Steps one operation goes through: the schedule of its pass; the same in every pass (integers) unless
        ``multiplier="skip"`` left out adds (then the mean over operations, floats)."""
        first = self.passes[0].steps
        if all(c.steps == first for c in self.passes):
            return first
        return {k: self._op_mean([c.steps[k] for c in self.passes]) for k in first}

    @property
    def per_op_time_s(self) -> float:
        """Latency of one operation: the time of its pass (mean over operations when passes differ)."""
        times = [c.time_s(self.params) for c in self.passes]
        return times[0] if all(t == times[0] for t in times) else self._op_mean(times)

    @property
    def per_op_energy_j(self) -> float:
        """Mean energy of one operation: all energy over all operations."""
        return self.total.energy_j(self.params) / self.n

    @property
    def per_op_cells(self) -> dict:
        """Mean cells read / written / searched per operation."""
        return self.total.per_lane(self.n)

    def scope_phases(self, scope: str) -> tuple:
        """Phases of the schedule in ``scope``: ``"ieee"`` every phase, ``"core"`` those of :data:`CORE_PHASES`."""
        scope = check_choice("scope", scope, SCOPES)
        return tuple(self.by_phase) if scope == "ieee" else tuple(p for p in CORE_PHASES[self.op]
                                                                   if p in self.by_phase)

    def _scope_sums(self, scope: str) -> tuple:
        """The phases of ``scope`` and their summed counters in every pass."""
        phases = self.scope_phases(scope)
        sums = []
        for by in self.pass_phases or (self.by_phase,) * len(self.passes):
            c = StepCounts()
            for ph in phases:
                c = c + by.get(ph, StepCounts())
            sums.append(c)
        return phases, sums

    def scope_cost(self, scope: str) -> dict:
        """Per-operation cost of the phases of ``scope``: ``phases``, ``steps`` (read, write, search), ``time_s``,
        ``energy_j`` and the cells read / written / searched (means over operations where passes differ)."""
        phases, sums = self._scope_sums(scope)
        tot = StepCounts()
        for c in sums:
            tot = tot + c
        steps = sums[0].steps if all(c.steps == sums[0].steps for c in sums) else \
            {k: self._op_mean([c.steps[k] for c in sums]) for k in sums[0].steps}
        times = [c.time_s(self.params) for c in sums]
        time_s = times[0] if all(t == times[0] for t in times) else self._op_mean(times)
        return {"phases": list(phases), "steps": steps, "time_s": time_s,
                "energy_j": tot.energy_j(self.params) / self.n, **tot.per_lane(self.n)}

    def scope_cost_per_pass(self, scope: str) -> list:
        """``(time_s, energy_j per operation)`` of the phases of ``scope`` in every pass (they differ only with
        ``multiplier="skip"``)."""
        _, sums = self._scope_sums(scope)
        return [(c.time_s(self.params), c.energy_j(self.params) / k) for c, k in zip(sums, self.pass_lanes)]

    def summary(self) -> dict:
        """Plain-data summary (the ``--json`` of ``mram-accel pim fp32``)."""
        tot = self.total
        per_op = {"steps": self.per_op_steps, "time_s": self.per_op_time_s, "energy_j": self.per_op_energy_j,
                  **self.per_op_cells}
        total = {"steps": tot.steps, "time_s": tot.time_s(self.params), "energy_j": tot.energy_j(self.params),
                 "cell_reads": tot.cell_reads, "cell_writes": tot.cell_writes, "searches": tot.searches}
        return {"op": self.op, "n": self.n, "shape": list(self.bits.shape), "passes": len(self.passes),
                "lanes_per_pass": max(self.pass_lanes), "rows_used": self.rows_used,
                "steps": per_op["steps"], "time_s": per_op["time_s"], "energy_j": per_op["energy_j"],
                "per_operation": per_op, "total": total,
                "params": {"t_read_s": self.params.t_read, "t_write_s": self.params.t_write,
                           "t_search_s": self.params.t_search, "e_read_j": self.params.e_read,
                           "e_write_j": self.params.e_write, "e_search_j": self.params.e_search},
                "variant": dict(self.variant),
                "scopes": {sc: self.scope_cost(sc) for sc in SCOPES},
                "cells": {"written": self.cells_written, "live": self.cells_live, "live_core": self.cells_live_core}}


def _check_operands(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    for name, x in (("a", a), ("b", b)):
        if x.dtype != np.float32:
            raise ValueError(f"{name} must be a float32 array, got dtype {x.dtype}")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have one shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError(f"a and b must not be empty, got shape {a.shape}")
    return a, b


def fp32_op(op: str, a, b, params: CellParams = TABLE1, lanes: int = LANES, progress=None,
            mantissa: str = MANTISSA[0], multiplier: str = MULTIPLIER[0]) -> PimRun:
    """``a op b`` (``op`` "add" or "mul") of float32 arrays of one shape, executed on 1024 x 1024 sub-arrays:
    ``lanes`` operations column-parallel per pass, more in further passes (chunks).

    Parameters
    ----------
    progress : callable, optional
        ``progress(iterable, desc=...)`` wrapper for the passes (e.g. tqdm).
    mantissa : str
        Mantissa schedule of the addition (:func:`fp32_add_rows`); checked for both operations.
    multiplier : str
        Product schedule of the multiplication (:func:`fp32_mul_rows`); checked for both operations.
    """
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    lanes = check_int("lanes", lanes, min=1, max=LANES)
    mantissa = check_choice("mantissa", mantissa, MANTISSA)
    multiplier = check_choice("multiplier", multiplier, MULTIPLIER)
    if not isinstance(params, CellParams):
        raise TypeError(f"params must be a CellParams, got {type(params).__name__}")
    a, b = _check_operands(a, b)
    fa, fb = a.reshape(-1).view(np.uint32), b.reshape(-1).view(np.uint32)
    out = np.empty(fa.size, np.uint32)
    starts = range(0, fa.size, lanes)
    if progress is not None:
        starts = progress(starts, desc=f"pim fp32 {op}")
    passes, sizes, phases, first = [], [], [], None
    if op == "add":
        routine, variant = (lambda arr, x, y: fp32_add_rows(arr, x, y, mantissa)), {"mantissa": mantissa}
    else:
        routine, variant = (lambda arr, x, y: fp32_mul_rows(arr, x, y, multiplier)), {"multiplier": multiplier}
    for s in starts:
        m = min(lanes, fa.size - s)
        arr = SubArray(lanes=m, params=params)
        ra, rb = arr.alloc(32, "a"), arr.alloc(32, "b")
        arr.load(ra, _planes(fa[s:s + m], 32))
        arr.load(rb, _planes(fb[s:s + m], 32))
        res = routine(arr, ra, rb)
        out[s:s + m] = _words(arr.dump(res)).astype(np.uint32)
        passes.append(StepCounts() + arr.counts)
        sizes.append(m)
        phases.append({k: StepCounts() + v for k, v in arr.by_phase.items()})
        if first is None:
            first = {"rows": arr.rows_used, "tallies": {k: dict(v) for k, v in arr.tallies.items()},
                     "written": len(arr.written_rows), "live": arr.peak_live(),
                     "core_live": arr.peak_live(phases=("constants",) + CORE_PHASES[op])}
    return PimRun(op, out.reshape(a.shape), tuple(passes), tuple(sizes), phases[0], first["rows"], params,
                  variant=variant, pass_phases=tuple(phases), tallies=first["tallies"],
                  cells_written=first["written"], cells_live=first["live"], cells_live_core=first["core_live"])


# ------------------------------------------------------------------------------------- eqs. (2) and (3)
def eq2_add(ne: int = NE, nm: int = NM) -> dict:
    """Eq. (2): coefficients of T_read, T_write, T_search (``t_*``) and of E_read, E_write, E_search (``e_*``)."""
    ne, nm = check_int("ne", ne, min=1), check_int("nm", nm, min=1)
    return {"t_read": 1 + 7 * ne + 7 * nm, "t_write": 7 * ne + 7 * nm, "t_search": 2 * (nm + 2),
            "e_read": 1 + 14 * ne + 12 * nm, "e_write": 14 * ne + 12 * nm, "e_search": 2 * (nm + 2)}


def eq3_mul(ne: int = NE, nm: int = NM) -> dict:
    """Eq. (3): coefficients of (T_read + T_write) and of (E_read + E_write) (no search term)."""
    ne, nm = check_int("ne", ne, min=1), check_int("nm", nm, min=1)
    steps = 2 * nm ** 2 + 6.5 * nm + 6 * ne + 3
    cells = 4.5 * nm ** 2 + 11.5 * nm + 13.5 * ne + 6.5
    return {"t_read": steps, "t_write": steps, "t_search": 0.0, "e_read": cells, "e_write": cells, "e_search": 0.0}


def eq_cost(op: str, params: CellParams = TABLE1, ne: int = NE, nm: int = NM) -> tuple[float, float]:
    """(T, E) of eq. (2) (``op="add"``) or eq. (3) (``"mul"``) with the costs of ``params``."""
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    c = eq2_add(ne, nm) if op == "add" else eq3_mul(ne, nm)
    t = c["t_read"] * params.t_read + c["t_write"] * params.t_write + c["t_search"] * params.t_search
    e = c["e_read"] * params.e_read + c["e_write"] * params.e_write + c["e_search"] * params.e_search
    return t, e


def switch_share(counts: StepCounts, params: CellParams = TABLE1) -> float:
    """Fraction of the latency of ``counts`` spent in write phases (cell switching)."""
    return counts.write * params.t_write / counts.time_s(params)


def switch_time_for_cut(counts: StepCounts, cut: float, params: CellParams = TABLE1) -> float:
    """Switching time that shortens the latency of ``counts`` by the fraction ``cut`` (Section 4.2: 56.7 % with
    the switching time of [15]); ``nan`` if even a zero switching time cannot."""
    cut = check_real("cut", cut, min=0, max=1, min_open=True, max_open=True)
    t_new = params.t_switch - cut * counts.time_s(params) / counts.write
    return t_new if t_new >= 0 else math.nan


def significand_ones(b) -> np.ndarray:
    """Share of 1 bits in the 24-bit significand (hidden bit included; 0 for zero and subnormal exponents) of each
    float32 in ``b``: the share of a multiplier's bits that need an add (:func:`floatpim_mul_cost` ``add_fraction``
    of a multiplier shared by all rows)."""
    w = np.asarray(b, np.float32).reshape(-1).view(np.uint32)
    sig = (w & np.uint32(0x7FFFFF)) | np.where((w >> np.uint32(23)) & np.uint32(0xFF), np.uint32(0x800000),
                                               np.uint32(0))
    return _planes(sig, 24).sum(axis=0) / 24


# ---------------------------------------------------------------------------------------------- FloatPIM
@dataclass(frozen=True)
class FloatPIMParams:
    """FloatPIM [6] (ReRAM, NOR-only digital PIM) for the MAC comparison.

    ``fa_cycles`` = 13 and ``fa_cells`` = 12 per bit are FloatPIM's full adder as the paper states it (Sections 2
    and 3.2). ``t_cycle`` (one MAGIC NOR evaluation, 1.1 ns) and ``e_cell`` (energy per switched output cell,
    30 fJ) are **our assumptions**: FloatPIM's own per-bit numbers are not among ``../shared/papers`` and could not be
    checked here; they are of the order of the VTEAM-ReRAM NOR figures of that line of work. The report also shows
    the values that would reproduce the paper's 3.3x / 1.8x.
    """

    fa_cycles: int = FLOATPIM_FA_STEPS
    fa_cells: int = FLOATPIM_FA_CELLS
    t_cycle: float = 1.1e-9
    e_cell: float = 30e-15

    def __post_init__(self):
        check_int("fa_cycles", self.fa_cycles, min=1)
        check_int("fa_cells", self.fa_cells, min=1)
        check_real("t_cycle", self.t_cycle, min=0, min_open=True)
        check_real("e_cell", self.e_cell, min=0, min_open=True)


FLOATPIM = FloatPIMParams()


def _floatpim(terms: dict, p: FloatPIMParams) -> dict:
    cycles = sum(c for c, _ in terms.values())
    cells = sum(e for _, e in terms.values())
    return {"terms": terms, "cycles": cycles, "cells": cells, "time_s": cycles * p.t_cycle,
            "energy_j": cells * p.e_cell}


def floatpim_add_cost(ne: int = NE, nm: int = NM, p: FloatPIMParams = FLOATPIM) -> dict:
    """Our reconstruction of FloatPIM's FP32 addition from what the paper says of [6]: exponent subtraction
    (N_e-bit FA), alignment by searches and **bit-by-bit** shifts (Section 3.3: O(N_m^2); N_m + 1 one-bit passes
    over the N_m + 1-bit mantissa, one cycle and one cell per bit, plus N_m + 2 searches at one cycle each),
    mantissa addition (N_m + 2-bit FA) and a one-bit normalising shift. ``terms``: name -> (cycles, cells)."""
    m = nm + 1
    terms = {"exponent subtraction": (p.fa_cycles * ne, p.fa_cells * ne),
             "alignment searches": (nm + 2, nm + 2),
             "alignment bit-by-bit shifts": (m * m, m * m),
             "mantissa addition": (p.fa_cycles * (m + 1), p.fa_cells * (m + 1)),
             "normalisation shift": (m, m)}
    return _floatpim(terms, p)


def floatpim_mul_cost(ne: int = NE, nm: int = NM, p: FloatPIMParams = FLOATPIM, add_fraction: float = 1.0) -> dict:
    """Our reconstruction of FloatPIM's FP32 multiplication: exponent addition and bias subtraction (N_e-bit FAs),
    N_m + 1 partial products of N_m + 1 bits (one NOR-equivalent per bit) accumulated by (N_m + 1)^2 FA bits,
    one normalising shift. ``add_fraction``: share of the N_m + 1 multiplier bits whose partial product is formed
    and added (1: every bit, FloatPIM's row-parallel products; less when zero bits of a multiplier shared by all
    rows are skipped). ``terms``: name -> (cycles, cells)."""
    f = check_real("add_fraction", add_fraction, min=0, max=1)
    m = nm + 1

    def scaled(n):   # whole counts stay integers
        x = f * n
        return int(x) if float(x).is_integer() else x

    terms = {"exponent addition and bias": (2 * p.fa_cycles * ne, 2 * p.fa_cells * ne),
             "partial products": (scaled(m * m), scaled(m * m)),
             "mantissa accumulation": (scaled(p.fa_cycles * m * m), scaled(p.fa_cells * m * m)),
             "normalisation shift": (m, m)}
    return _floatpim(terms, p)


@dataclass(frozen=True)
class MacCost:
    """Latency and energy of one FP32 MAC = one multiplication + one addition, from per-operation costs."""

    t_mul: float
    e_mul: float
    t_add: float
    e_add: float

    @property
    def time_s(self) -> float:
        return self.t_mul + self.t_add

    @property
    def energy_j(self) -> float:
        return self.e_mul + self.e_add


def mac_cost(mul: PimRun, add: PimRun) -> MacCost:
    """Our executed MAC cost from an FP32 multiplication run and an addition run."""
    return MacCost(mul.per_op_time_s, mul.per_op_energy_j, add.per_op_time_s, add.per_op_energy_j)


def floatpim_params_for(energy_ratio: float, latency_ratio: float, ours: MacCost, ne: int = NE,
                        nm: int = NM, floatpim: MacCost | None = None,
                        p: FloatPIMParams = FLOATPIM) -> FloatPIMParams:
    """FloatPIM ``t_cycle`` and ``e_cell`` that make its MAC ``latency_ratio`` times slower and ``energy_ratio``
    times more energy-hungry than ``ours`` (the paper's 1.8 and 3.3). ``floatpim``: its MAC cost computed with
    ``p`` (e.g. a matched scope, :func:`scoped_mac`); default the reconstructed MAC (:func:`floatpim_mac_cost`).
    Time and energy are linear in ``t_cycle`` and ``e_cell``."""
    energy_ratio = check_real("energy_ratio", energy_ratio, min=0, min_open=True)
    latency_ratio = check_real("latency_ratio", latency_ratio, min=0, min_open=True)
    fp = floatpim_mac_cost(ne, nm, p) if floatpim is None else floatpim
    return FloatPIMParams(p.fa_cycles, p.fa_cells, t_cycle=p.t_cycle * latency_ratio * ours.time_s / fp.time_s,
                          e_cell=p.e_cell * energy_ratio * ours.energy_j / fp.energy_j)


def floatpim_mac_cost(ne: int = NE, nm: int = NM, p: FloatPIMParams = FLOATPIM) -> MacCost:
    """FloatPIM MAC cost of :func:`floatpim_mul_cost` + :func:`floatpim_add_cost`."""
    m, a = floatpim_mul_cost(ne, nm, p), floatpim_add_cost(ne, nm, p)
    return MacCost(m["time_s"], m["energy_j"], a["time_s"], a["energy_j"])


#: Phases of ours for which the FloatPIM reconstruction has its own algorithm (:func:`floatpim_add_cost`,
#: :func:`floatpim_mul_cost`); every other phase of a scope is translated into FloatPIM operations
#: (:func:`floatpim_translate`).
FLOATPIM_OWN = {"add": ("exponent", "align", "mantissa"), "mul": ("exponent", "product")}
FA_WRITES = 9     # cell writes per bit of the Fig. 3 adder (module docstring: Steps 1-4 write 4 + 2 + 1 + 2 cells)


def floatpim_translate(tally: dict, searches: int, p: FloatPIMParams = FLOATPIM) -> tuple[int, int]:
    """(cycles, cells) of one phase of our schedule executed with FloatPIM's operations: every full-adder bit as
    FloatPIM's FA (``p.fa_cycles``, ``p.fa_cells``; Section 2), every search one cycle and one cell (as its
    alignment searches), every other one-bit cell operation of ours (copy, constant, NOT, AND, OR, XOR) one
    cycle and one cell, one after the other (FloatPIM evaluates one gate per cycle in all rows; our steps write
    many cells of a column at once). One NOR-equivalent per AND/OR/XOR undercounts FloatPIM (an XOR takes
    several NORs), so the translation favours FloatPIM.

    ``tally``: the phase's :attr:`SubArray.tallies` (``cell_ops``, ``fa_bits``); ``searches``: its search steps.
    """
    fa = int(tally.get("fa_bits", 0))
    other = int(tally.get("cell_ops", 0)) - FA_WRITES * fa
    if other < 0:
        raise ValueError(f"tally has {tally.get('cell_ops', 0)} cell_ops, fewer than {FA_WRITES} per FA bit "
                         f"({fa} FA bits)")
    return int(searches) + p.fa_cycles * fa + other, int(searches) + p.fa_cells * fa + other


def floatpim_scoped_cost(run: PimRun, scope: str, p: FloatPIMParams = FLOATPIM, add_fraction: float = 1.0) -> dict:
    """FloatPIM's cost of ``run.op`` in the scope ``scope`` of ours (:meth:`PimRun.scope_phases`): its own
    reconstructed exponent, alignment / product and mantissa terms (without the one-bit normalisation shift, which
    belongs to normalisation), plus every other phase of the scope translated (:func:`floatpim_translate`), so
    that both sides do the same work; ``add_fraction`` as :func:`floatpim_mul_cost`. ``terms``: name -> (cycles,
    cells)."""
    base = floatpim_add_cost(p=p) if run.op == "add" else floatpim_mul_cost(p=p, add_fraction=add_fraction)
    terms = {k: v for k, v in base["terms"].items() if k != "normalisation shift"}
    for ph in run.scope_phases(scope):
        if ph not in FLOATPIM_OWN[run.op]:
            terms[f"ours translated: {ph}"] = floatpim_translate(run.tallies.get(ph, {}), run.by_phase[ph].search, p)
    return _floatpim(terms, p)


def scoped_mac(mul: PimRun, add: PimRun, scope: str, p: FloatPIMParams = FLOATPIM,
               add_fraction: float = 1.0) -> tuple[MacCost, MacCost]:
    """(ours, FloatPIM) MAC costs in ``scope``: ours from the executed phases (:meth:`PimRun.scope_cost`), FloatPIM
    from :func:`floatpim_scoped_cost` (``add_fraction`` of its multiplier bits added)."""
    om, oa = mul.scope_cost(scope), add.scope_cost(scope)
    fm, fa = floatpim_scoped_cost(mul, scope, p, add_fraction), floatpim_scoped_cost(add, scope, p)
    return (MacCost(om["time_s"], om["energy_j"], oa["time_s"], oa["energy_j"]),
            MacCost(fm["time_s"], fm["energy_j"], fa["time_s"], fa["energy_j"]))


# ------------------------------------------------------------------------------------------------------ area
@dataclass(frozen=True)
class AreaParams:
    """Area model of the abstract's third claim (2.5x smaller area than FloatPIM), from cells per MAC lane.

    Both designs use the same 1024 x 1024 sub-array and architecture (Section 4.1) and run the same MACs in
    parallel, one per lane (ours: one per column; FloatPIM: one per row), so the area is ``lanes x cells per lane
    x cell area`` plus the periphery of the sub-arrays those cells fill (:func:`mac_area`).

    Parameters
    ----------
    storage_cells : int
        Cells a lane keeps on both designs: the two FP32 operands and the FP32 partial sum (ours: 3 x 32).
    floatpim_scratch : int
        Cells FloatPIM writes in its row for a 32-bit multiplication (Section 2: 455); its addition is taken to
        fit in the same cells (ours: favours FloatPIM).
    floatpim_scratch_has_operands : bool
        Read the 455 as including the two operands (then only the partial sum is added); the paper says
        "to store the intermediate results", so False.
    cell_area_ratio : float
        FloatPIM (ReRAM 1T1R) cell area over ours (SOT-MRAM 1T-1R). Ours: 1 (the paper prints neither cell area;
        both are one transistor and one resistive device in the same sub-array).
    periphery_share : float
        Share of a sub-array's area outside the cells, the same per sub-array on both designs (Section 4.1).
        Ours: 0.3 (70 % array efficiency, NVSim-typical; only matters when ``cell_area_ratio`` is not 1).
    """

    storage_cells: int = 3 * 32
    floatpim_scratch: int = FLOATPIM_MUL_ROW_CELLS
    floatpim_scratch_has_operands: bool = False
    cell_area_ratio: float = 1.0
    periphery_share: float = 0.3

    def __post_init__(self):
        check_int("storage_cells", self.storage_cells, min=0)
        check_int("floatpim_scratch", self.floatpim_scratch, min=1)
        check_real("cell_area_ratio", self.cell_area_ratio, min=0, min_open=True)
        check_real("periphery_share", self.periphery_share, min=0, max=1, max_open=True)


AREA = AreaParams()


def mac_scratch_cells(mul: PimRun, add: PimRun, scope: str = "ieee", reuse: bool = True) -> int:
    """Cells a MAC lane of ours writes for intermediate results: the larger of the multiplication's and the
    addition's (the addition runs after the product is done and reuses its cells). ``reuse``: a cell is freed
    after its last access (:attr:`PimRun.cells_live`, or ``cells_live_core`` in the core scope); otherwise every
    intermediate keeps its own cell (:attr:`PimRun.cells_written`, IEEE scope only)."""
    scope = check_choice("scope", scope, SCOPES)
    if not reuse:
        if scope != "ieee":
            raise ValueError("scope must be 'ieee' without reuse (the written cells are counted for the whole "
                             f"operation), got {scope!r}")
        return max(mul.cells_written, add.cells_written)
    if scope == "core":
        return max(mul.cells_live_core, add.cells_live_core)
    return max(mul.cells_live, add.cells_live)


def mac_area(ours_scratch: int, p: AreaParams = AREA) -> dict:
    """Area of FloatPIM over ours at the same number of MAC lanes, from cells per lane.

    ``area = cells x a_cell + (cells / 1024^2) x A_periph`` per design, with ``A_periph`` the same per sub-array
    on both and ``periphery_share`` of our sub-array's area (:class:`AreaParams`); returns the cells per lane of
    each design and ``ratio`` (FloatPIM / ours).
    """
    ours_scratch = check_int("ours_scratch", ours_scratch, min=1)
    ours = p.storage_cells + ours_scratch
    fp = p.floatpim_scratch + (32 if p.floatpim_scratch_has_operands else p.storage_cells)
    periph = p.periphery_share / (1 - p.periphery_share)      # periphery per cell, in our cell areas
    ratio = fp * (p.cell_area_ratio + periph) / (ours * (1 + periph))
    return {"ours_cells": ours, "floatpim_cells": fp, "cell_ratio": fp / ours, "ratio": ratio}


def cell_area_ratio_for(target: float, ours_scratch: int, p: AreaParams = AREA) -> float:
    """FloatPIM / ours cell-area ratio that makes :func:`mac_area` give ``target`` (e.g. the paper's 2.5)."""
    target = check_real("target", target, min=0, min_open=True)
    a = mac_area(ours_scratch, p)
    periph = p.periphery_share / (1 - p.periphery_share)
    return target * a["ours_cells"] * (1 + periph) / a["floatpim_cells"] - periph


# ------------------------------------------------------------------------------------ LeNet on the digits
@dataclass(frozen=True)
class Layer:
    """A LeNet layer: ``conv`` (k x k, stride 1, zero padding ``pad`` on an ``hw`` x ``hw`` input, then a
    ``pool`` x ``pool`` max-pool) or ``fc`` (``cin`` -> ``cout``)."""

    name: str
    kind: str
    cin: int
    cout: int
    k: int = 1
    pad: int = 0
    hw: int = 1
    pool: int = 1

    @property
    def out_hw(self) -> int:
        return self.hw + 2 * self.pad - self.k + 1

    @property
    def params(self) -> int:
        return self.cout * (self.cin * self.k * self.k + 1)

    @property
    def macs(self) -> int:
        """Forward multiply-accumulates per image (weights only; the bias is an addition)."""
        return self.cout * self.out_hw ** 2 * self.cin * self.k * self.k


#: LeNet-type network for 8 x 8 digits with exactly the paper's 21,690 parameters (Section 4.1 states only the
#: count). The LeNet-5 widths (6 and 16 maps, FC 120 and 84) give 21,386 on 8 x 8 inputs; this is the nearest layout
#: we found with two 5 x 5 conv + pool stages and three FC layers that has 21,690.
LENET = (
    Layer("conv1", "conv", 1, 8, k=5, pad=2, hw=8, pool=2),      # 8 x 8 -> 8 x 8 -> pool 4 x 4
    Layer("conv2", "conv", 8, 12, k=5, pad=2, hw=4, pool=2),     # 4 x 4 -> 4 x 4 -> pool 2 x 2 (48 features)
    Layer("fc1", "fc", 48, 128),
    Layer("fc2", "fc", 128, 92),
    Layer("fc3", "fc", 92, 10),
)


def lenet_params(layers=LENET) -> int:
    """Trainable parameters (weights and biases)."""
    return sum(layer.params for layer in layers)


def digits_train_size(test_fraction: float = 0.3) -> int:
    """Training images of scikit-learn's ``load_digits`` with the project's split (``train_test_split``,
    ``test_size=0.3``: the test set is ``ceil(0.3 n)``), as ``model/digits_cnn.py`` uses: 1257 of 1797."""
    from model import digits
    test_fraction = check_real("test_fraction", test_fraction, min=0, max=1, max_open=True)
    n = int(digits.load("pixels")[1].size)
    return n - math.ceil(test_fraction * n)


def lenet_epoch_macs(n_train: int, batch: int = 32, layers=LENET) -> dict:
    """FP32 MACs of one training epoch (SGD): per image the forward pass, the weight gradients (as many MACs as
    the forward pass) and the input gradients of every layer but the first; per batch one MAC per parameter for
    the update ``w -= lr * g``. Bias gradients, ReLU, pooling and the loss (O(activations), < 1 %) are not MACs."""
    n_train, batch = check_int("n_train", n_train, min=1), check_int("batch", batch, min=1)
    fwd = sum(layer.macs for layer in layers)
    bwd_w = fwd
    bwd_x = fwd - layers[0].macs
    updates = math.ceil(n_train / batch) * lenet_params(layers)
    per_image = fwd + bwd_w + bwd_x
    return {"forward_per_image": fwd, "weight_grad_per_image": bwd_w, "input_grad_per_image": bwd_x,
            "per_image": per_image, "images": n_train, "batch": batch, "updates": updates,
            "total": n_train * per_image + updates}
