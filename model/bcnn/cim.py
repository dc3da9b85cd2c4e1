"""Exact +/-1 matrix products in the dual-mode SOT-MRAM sub-array: the convolution-in-memory engine (CIM).

Source: ``sot-mram-bcnn-fan-angizi.txt``, Section III.A, Table I (Bin-AND, Bit-Count), Fig. 3d. The paper maps
+1 -> '1' and -1 -> '0' and computes ``I (*) W = BitCount(and(I(B), W(B)))``. That count is not the +/-1 dot
product: with bits ``a = (x + 1) / 2``, ``b = (w + 1) / 2`` of two length-n vectors,

    popcount(a AND b) = (x.w + sum(x) + sum(w) + n) / 4,

so the AND count alone is off by ``sum(x) + sum(w)``, which depends on both operands (for random +/-1 vectors of
length n its standard deviation is ``sqrt(2 n)``; :func:`and_only_error` measures it). The exact product needs a
second count (``x XOR w`` is ``(a OR b) - (a AND b)`` bit for bit):

* ``form="and_or"``: ``x.w = n - 2 (popcount(a OR b) - popcount(a AND b))``: two compute-mode senses per chunk,
  both in the array (the paper's dual-mode sub-array supports OR with a second reference);
* ``form="and_popcount"``: ``x.w = 4 popcount(a AND b) - 2 popcount(a) - 2 popcount(b) + n``: one sense per
  chunk, plus one memory-mode read per stored vector counted once (each input row and weight column is reused
  M or N times);
* ``form="and_dual"`` (dual rail): every vector is stored twice, its bits and their complements (``1 - a``), so
  ``x.w = 2 (popcount(a AND b) + popcount(~a AND ~b)) - n`` (matches counted as ones, XNOR = AND of the true
  rails OR AND of the complement rails, and the two never both hold): two compute-mode senses per chunk, both with
  the AND reference, whose nominal margin is larger than the OR reference's
  (:func:`model.bcnn.subarray.sense_margins`), counted as one bitcounter group of ``2 chunks`` rows. The
  complement rows are padded with '0' like the true ones, so padding adds nothing to either count.

Mapping (our decision; the paper says only that weights occupy "specific rows" and inputs "following rows"): K is
cut into chunks of ``cols`` bits (zero bits pad the last chunk: '0' AND/OR '0' = '0' adds nothing, and n is the
true K), each chunk of a weight column or an input vector is one sub-array row (two with ``and_dual``: the true
rail, then the complement rail). The array holds a tile of ``mb`` weight columns and ``nb`` inputs at a time (all M
weights stay if they fill at most half the rows), every (input, weight) pair of the tile is sensed chunk by
chunk, and the bitcounter sums a pair's chunks as one group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.checks import check_choice, check_int
from model.bcnn.subarray import SenseProgram, SOTDevice, SOTSubArray

__all__ = ["FORMS", "CimStats", "Tile", "plan_tiles", "rails_of", "cim_matmul", "bits_of", "and_only_error",
           "check_pm1"]

#: The exact forms (module docstring).
FORMS = ("and_or", "and_popcount", "and_dual")


def check_pm1(name: str, a) -> np.ndarray:
    """``a`` as int8 when every entry is -1 or +1; ValueError naming ``name`` and the first other index."""
    a = np.asarray(a)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold -1/+1 integers, got dtype {a.dtype}")
    bad = (a != 1) & (a != -1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}: entry at index {idx} is {a[idx].item()!r}; only -1 and +1 are allowed")
    return a.astype(np.int8)


def bits_of(pm1) -> np.ndarray:
    """The paper's encoding: +1 -> True ('1', R_AP), -1 -> False ('0', R_P)."""
    return np.asarray(pm1) > 0


@dataclass
class CimStats:
    """Operation counts of one product (the cost model of :mod:`model.bcnn.cost` prices them)."""

    sense_ops: int = 0        # compute-mode AND/OR row senses
    read_ops: int = 0         # memory-mode row reads (popcounts of the operands, form and_popcount)
    row_writes: int = 0       # rows written into the sub-array (inputs and weights, per tile)
    rows_counted: int = 0     # rows that went through the bitcounter
    groups: int = 0           # bitcounter groups (one total each)
    tiles: int = 0
    chunks: int = 0           # chunks of `cols` bits per vector

    def as_dict(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class Tile:
    """Inputs ``n0:n1`` and weight columns ``m0:m1`` resident in the sub-array at once."""

    n0: int
    n1: int
    m0: int
    m1: int


def plan_tiles(n: int, m: int, chunks: int, rows: int) -> list[Tile]:
    """Tiles covering the ``n x m`` products: weights stationary when they fill at most half of the rows.

    ``chunks`` is the number of sub-array rows one vector takes (``2 chunks`` for the dual-rail form)."""
    if 2 * chunks > rows:
        raise ValueError(f"K needs {chunks} rows per vector; a {rows}-row sub-array holds one input and one weight "
                         f"vector of at most {rows // 2} rows each")
    per = rows // chunks
    mb = m if m <= per // 2 else per // 2
    nb = per - mb
    return [Tile(n0, min(n, n0 + nb), m0, min(m, m0 + mb)) for m0 in range(0, m, mb) for n0 in range(0, n, nb)]


def rails_of(bits: np.ndarray, chunks: int, cols: int, dual: bool) -> np.ndarray:
    """``(V, K)`` bits as the sub-array rows of each vector, ``(V, chunks, cols)``, zero-padded; with ``dual`` the
    complement rail follows, ``(V, 2 chunks, cols)`` (its padding is '0' too)."""
    pad = ((0, 0), (0, chunks * cols - bits.shape[1]))
    true = np.pad(bits, pad).reshape(len(bits), chunks, cols)
    if not dual:
        return true
    return np.concatenate([true, np.pad(~bits, pad).reshape(len(bits), chunks, cols)], axis=1)


def cim_matmul(x, w, *, form: str = "and_or", device: SOTDevice = SOTDevice(), seed: int = 0, rows: int = 1024,
               cols: int = 256, counter=None, max_pairs: int = 1 << 16):
    """``x @ w`` for +/-1 matrices through the sub-array model: ``(y int32 (N, M), CimStats)``.

    Parameters
    ----------
    x : array (N, K) of -1/+1
    w : array (K, M) of -1/+1
    form : {"and_or", "and_popcount", "and_dual"}
        Exact form (module docstring).
    device : SOTDevice
        Device parameters and variation; ideal devices give exactly ``x @ w``.
    seed : int
        Seed of the sub-array's device-to-device draws.
    rows, cols : int
        Sub-array geometry (default the paper's 1024 x 256).
    counter : callable(program, addr, nrows) -> list of int, optional
        Counts groups of sensed rows: ``program`` is a :class:`model.bcnn.subarray.SenseProgram`, group ``g`` the
        rows ``addr[g] .. addr[g] + nrows[g] - 1``. Default: numpy popcount of the sensed rows. The ``--rtl``
        path passes the RTL bit-count reader under Verilator here.
    max_pairs : int
        Sense operations per program (memory bound).
    """
    x = check_pm1("x", x)
    w = check_pm1("w", w)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"x must be (N, K) and w (K, M) with the same K, got shapes {x.shape} and {w.shape}")
    check_choice("form", form, FORMS)
    check_int("max_pairs", max_pairs, min=1)
    n, k = x.shape
    m = w.shape[1]
    chunks = -(-k // cols)
    dual = form == "and_dual"
    rpv = (2 if dual else 1) * chunks                                   # sub-array rows per stored vector
    xb = rails_of(bits_of(x), chunks, cols, dual)
    wb = rails_of(bits_of(w).T, chunks, cols, dual)
    sub = SOTSubArray(rows, cols, device, seed=seed)
    stats = CimStats(chunks=chunks)
    count = counter if counter is not None else _numpy_counter
    and_count = np.zeros((n, m), np.int64)
    or_count = np.zeros((n, m), np.int64)
    pop_x = np.zeros(n, np.int64)
    pop_w = np.zeros(m, np.int64)
    codes = [1, 2] if form == "and_or" else [1]                         # AND (and OR) groups of rpv rows per pair
    for t in plan_tiles(n, m, rpv, rows):
        nw, nx = t.m1 - t.m0, t.n1 - t.n0
        sub.write_rows(0, wb[t.m0:t.m1].reshape(-1, cols))               # weight column j, row r: j*rpv + r
        sub.write_rows(nw * rpv, xb[t.n0:t.n1].reshape(-1, cols))        # input i, row r: (nw + i)*rpv + r
        stats.row_writes += (nw + nx) * rpv
        stats.tiles += 1
        snapshot = np.packbits(sub.state, axis=1, bitorder="little")
        if form == "and_popcount":   # memory-mode reads of the operands, each counted once per product
            if t.n0 == 0:
                pop_w[t.m0:t.m1] = _read_counts(sub, np.arange(nw * chunks), chunks, snapshot, count, stats)
            if t.m0 == 0:
                pop_x[t.n0:t.n1] = _read_counts(sub, nw * chunks + np.arange(nx * chunks), chunks, snapshot, count,
                                                stats)
        ii, jj = np.meshgrid(np.arange(nx), np.arange(nw), indexing="ij")
        ii, jj = ii.ravel(), jj.ravel()
        step = max(1, max_pairs // (len(codes) * rpv))
        for s in range(0, len(ii), step):
            i, j = ii[s:s + step], jj[s:s + step]
            c = np.arange(rpv)
            ra = ((nw + i)[:, None] * rpv + c).ravel()                    # input rows of each pair (both rails)
            rb = (j[:, None] * rpv + c).ravel()                           # weight rows, rail for rail
            p = len(i)
            ops = np.concatenate([np.stack([np.full(p * rpv, code), ra, rb, np.zeros(p * rpv, np.int64)], 1)
                                  for code in codes])
            program = SenseProgram(sub, ops, [snapshot])
            addr = np.arange(len(codes) * p) * rpv
            counts = np.asarray(count(program, addr, np.full(len(addr), rpv)), np.int64)
            stats.sense_ops += len(ops)
            stats.rows_counted += len(ops)
            stats.groups += len(addr)
            and_count[t.n0 + i, t.m0 + j] = counts[:p]
            if form == "and_or":
                or_count[t.n0 + i, t.m0 + j] = counts[p:]
    if form == "and_or":
        y = k - 2 * (or_count - and_count)
    elif dual:
        y = 2 * and_count - k                    # and_count = matches (true-rail ANDs + complement-rail ANDs)
    else:
        y = 4 * and_count - 2 * pop_x[:, None] - 2 * pop_w[None, :] + k
    return y.astype(np.int32), stats


def _numpy_counter(program: SenseProgram, addr, nrows) -> np.ndarray:
    sensed = program.sensed(np.arange(program.depth))
    per_row = sensed.sum(axis=1)
    starts = np.asarray(addr)
    return np.add.reduceat(per_row, starts) if len(starts) else np.zeros(0, np.int64)


def _read_counts(sub: SOTSubArray, rows, chunks: int, snapshot, count, stats: CimStats) -> np.ndarray:
    """Popcounts of stored vectors (``chunks`` consecutive rows each) by memory-mode reads through ``count``."""
    ops = np.stack([np.zeros(len(rows), np.int64), rows, rows, np.zeros(len(rows), np.int64)], 1)
    addr = np.arange(0, len(rows), chunks)
    counts = np.asarray(count(SenseProgram(sub, ops, [snapshot]), addr, np.full(len(addr), chunks)), np.int64)
    stats.read_ops += len(rows)
    stats.rows_counted += len(rows)
    stats.groups += len(addr)
    return counts


def and_only_error(x, w, fold_sum_w: bool = False) -> dict:
    """How far the paper's AND-only count is from the exact product, on data ``x`` (N, K), ``w`` (K, M).

    From ``popcount(a AND b) = (x.w + sum(x) + sum(w) + n) / 4`` (module docstring): the best the AND count can
    do alone is the affine map ``4 popcount(AND) - n`` (exact when ``sum(x) + sum(w) = 0``; any other fixed affine
    map is worse on average for zero-mean data), its error ``sum(x) + sum(w)``. With ``fold_sum_w`` the DPU also
    subtracts each weight column's ``sum(w)``, known offline (Table I's DPU holds the weights' scaling factors
    already): ``4 popcount(AND) - n - sum(w)``, whose error is ``sum(x)`` alone (input-dependent, so it cannot be
    folded). Returns the mean and maximum absolute error, the fraction of exact products, and the fraction of
    sign flips.
    """
    x = check_pm1("x", x).astype(np.int64)
    w = check_pm1("w", w).astype(np.int64)
    exact = x @ w
    a = bits_of(x).astype(np.int64) @ bits_of(w).astype(np.int64)
    approx = 4 * a - x.shape[1] - (w.sum(axis=0)[None, :] if fold_sum_w else 0)
    err = approx - exact
    return {"mean_abs_error": float(np.abs(err).mean()), "max_abs_error": int(np.abs(err).max()),
            "exact_fraction": float(np.mean(err == 0)),
            "sign_flips": float(np.mean(np.sign(approx) != np.sign(exact)))}
