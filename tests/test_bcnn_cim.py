"""Exact +/-1 products in the sub-array model (model/bcnn/cim.py): the three exact forms equal numpy's X @ W with
ideal devices on every tiling, the counts match the mapping, the AND-only approximation's error is as derived."""

import numpy as np
import pytest

from model.bcnn.cim import and_only_error, cim_matmul, plan_tiles, rails_of
from model.bcnn.cost import BinaryLayer, binary_layer_ops, CostParams
from model.bcnn.subarray import SOTDevice


def pm1(rng, shape):
    return rng.choice(np.array([-1, 1], np.int8), shape)


@pytest.mark.parametrize("form", ["and_or", "and_popcount", "and_dual"])
@pytest.mark.parametrize("n,k,m,rows,cols", [(1, 1, 1, 1024, 256), (7, 13, 5, 1024, 256), (30, 300, 20, 1024, 256),
                                             (25, 70, 9, 16, 32), (9, 64, 40, 24, 16), (40, 100, 3, 40, 8),
                                             (40, 100, 3, 56, 8)])
def test_exact_product_with_ideal_devices(form, n, k, m, rows, cols, rng):
    x, w = pm1(rng, (n, k)), pm1(rng, (k, m))
    chunks = -(-k // cols)
    rpv = (2 if form == "and_dual" else 1) * chunks          # the dual rail stores every vector twice
    if 2 * rpv > rows:                                       # 13 chunks x 2 rails do not fit twice in 40 rows
        with pytest.raises(ValueError, match=f"K needs {rpv} rows per vector"):
            cim_matmul(x, w, form=form, rows=rows, cols=cols)
        return
    y, stats = cim_matmul(x, w, form=form, rows=rows, cols=cols, max_pairs=97)   # several programs per tile
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, x.astype(np.int64) @ w.astype(np.int64))
    assert stats.chunks == chunks
    assert stats.sense_ops == (1 if form == "and_popcount" else 2) * n * m * chunks
    assert stats.rows_counted == stats.sense_ops + stats.read_ops
    # and_or: an AND and an OR group per pair; and_dual: one group holding both rails; and_popcount: one AND group
    # per pair plus one read group per operand
    assert stats.groups == {"and_or": 2 * n * m, "and_dual": n * m, "and_popcount": n * m + n + m}[form]
    assert stats.read_ops == ((n + m) * chunks if form == "and_popcount" else 0)   # each operand's popcount once
    tiles = plan_tiles(n, m, rpv, rows)
    assert stats.tiles == len(tiles)
    assert stats.row_writes == sum((t.n1 - t.n0 + t.m1 - t.m0) * rpv for t in tiles)
    covered = np.zeros((n, m), int)
    for t in tiles:
        covered[t.n0:t.n1, t.m0:t.m1] += 1
        assert (t.n1 - t.n0 + t.m1 - t.m0) * rpv <= rows
    assert (covered == 1).all()


@pytest.mark.parametrize("form", ["and_or", "and_popcount", "and_dual"])
def test_extreme_operands(form):
    for value in (-1, 1):
        x = np.full((3, 513), value, np.int8)
        w = np.full((513, 2), 1, np.int8)
        y, _ = cim_matmul(x, w, form=form, cols=128, rows=64)       # 5 chunks, the last one 1 bit + 127 padding
        assert (y == 513 * value).all()


def test_dual_rail_senses_and_only_and_both_rails():
    """and_dual: every sense is a compute-mode AND (op code 1: the AND reference, never OR or a memory read), a
    pair's group holds its true-rail rows then its complement-rail rows, and the count is the number of matches."""
    x = np.array([[1, -1, -1, 1, 1]], np.int8)
    w = np.array([[1], [1], [-1], [-1], [1]], np.int8)       # matches at 0, 2, 4: x.w = 3 - 2 = 1
    seen = []

    def counter(program, addr, nrows):
        seen.append((program.ops.copy(), np.asarray(addr), np.asarray(nrows)))
        sensed = program.sensed(np.arange(program.depth)).sum(axis=1)
        return [int(sensed[a:a + r].sum()) for a, r in zip(addr, nrows)]

    y, stats = cim_matmul(x, w, form="and_dual", rows=8, cols=4, counter=counter)   # K = 5: 2 chunks, 4 rows
    assert y.tolist() == [[1]]
    (ops, addr, nrows), = seen
    assert (ops[:, 0] == 1).all() and addr.tolist() == [0] and nrows.tolist() == [4]
    # weight rows 0-3 (true chunk 0, 1, complement chunk 0, 1), input rows 4-7 in the same order
    assert ops[:, 1].tolist() == [4, 5, 6, 7] and ops[:, 2].tolist() == [0, 1, 2, 3]
    assert stats.sense_ops == 4 and stats.row_writes == 8


def test_rails_pad_the_complement_with_zeros():
    bits = np.array([[True, False, True]])
    r = rails_of(bits, 2, 2, dual=True)
    assert r.tolist() == [[[True, False], [True, False], [False, True], [False, False]]]
    assert rails_of(bits, 2, 2, dual=False).tolist() == [[[True, False], [True, False]]]


@pytest.mark.parametrize("input_rows", ["layer", "half"])
def test_counts_agree_with_the_cost_models_mapping(input_rows):
    """When the weights fit one sub-array beside the inputs, the executed counts are the cost model's."""
    p = CostParams()
    layer = BinaryLayer("l", n=100, k=300, m=40)
    rng = np.random.default_rng(1)
    for form in ("and_or", "and_popcount", "and_dual"):
        _, stats = cim_matmul(pm1(rng, (100, 300)), pm1(rng, (300, 40)), form=form)
        ops = binary_layer_ops(layer, form, p, input_rows)
        rpv = 4 if form == "and_dual" else 2                 # K = 300: 2 chunks of 256, twice with both rails
        assert ops["subarrays"] == 1 and ops["rows_per_vector"] == rpv
        assert ops["sense_ops"] == stats.sense_ops
        # the cost model charges the inputs only (weights are programmed once): 40 weight vectors x rpv rows
        assert ops["row_writes"] == stats.row_writes - 40 * rpv
        assert ops["read_ops"] == stats.read_ops - (40 * 2 if form == "and_popcount" else 0)


def test_variation_changes_products_and_is_reproducible(rng):
    x, w = pm1(rng, (40, 256)), pm1(rng, (256, 16))
    dev = SOTDevice().with_variation(0.1, 0.01)
    y1, _ = cim_matmul(x, w, device=dev, seed=3)
    y2, _ = cim_matmul(x, w, device=dev, seed=3)
    np.testing.assert_array_equal(y1, y2)
    assert np.count_nonzero(y1 != x.astype(int) @ w) > 0
    assert ((y1 - (x.astype(int) @ w)) % 2 == 0).all()      # each bit error moves x.w by 2


def test_and_only_error_is_the_operand_sums(rng):
    x, w = pm1(rng, (50, 64)), pm1(rng, (64, 30))
    e = and_only_error(x, w)
    err = (x.sum(1)[:, None].astype(int) + w.sum(0)[None, :])
    assert e["max_abs_error"] == np.abs(err).max()
    assert e["mean_abs_error"] == pytest.approx(np.abs(err).mean())
    balanced = np.tile(np.array([[1, -1]], np.int8), (2, 4))
    assert and_only_error(balanced, balanced.T)["exact_fraction"] == 1.0


def test_and_only_error_with_the_weight_sums_folded_is_the_input_sums(rng):
    x, w = pm1(rng, (40, 48)), pm1(rng, (48, 20))
    e = and_only_error(x, w, fold_sum_w=True)
    err = np.broadcast_to(x.sum(1)[:, None].astype(int), (40, 20))      # sum(w) folded: sum(x) is all that is left
    assert e["max_abs_error"] == np.abs(err).max()
    assert e["mean_abs_error"] == pytest.approx(np.abs(err).mean())
    assert e["exact_fraction"] == pytest.approx(np.mean(err == 0))
    x0 = np.tile(np.array([[1, -1]], np.int8), (3, 24))                  # balanced inputs: exact whatever w is
    assert and_only_error(x0, w, fold_sum_w=True)["exact_fraction"] == 1.0
    assert and_only_error(x0, w)["exact_fraction"] == pytest.approx(np.mean(w.sum(0) == 0))


def test_bad_operands():
    with pytest.raises(ValueError, match=r"x: entry at index \(0, 1\) is 0"):
        cim_matmul(np.array([[1, 0]]), np.ones((2, 1)))
    with pytest.raises(ValueError, match="same K"):
        cim_matmul(np.ones((2, 3)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="form"):
        cim_matmul(np.ones((2, 3)), np.ones((3, 1)), form="xnor")
    with pytest.raises(ValueError, match="needs 3 rows per vector"):
        cim_matmul(np.ones((1, 600)), np.ones((600, 1)), rows=4, cols=256)


@pytest.mark.parametrize("form", ["and_or", "and_popcount", "and_dual"])
def test_sub_array_served_to_the_rtl_reader_in_the_amaranth_simulator(form, rng):
    """The sub-array model behind the memory responder, sensed rows counted by BitCountReader (Amaranth
    simulator), with device variation: the RTL's counts give the same products as the numpy count."""
    from scripts.rtl.bcnn import AmaranthCounter

    x, w = pm1(rng, (6, 40)), pm1(rng, (40, 3))
    dev = SOTDevice().with_variation(0.12, 0.015)
    counter = AmaranthCounter(read_latency=2)
    y_rtl, _ = cim_matmul(x, w, form=form, device=dev, seed=5, cols=16, rows=64, counter=counter)
    y_np, _ = cim_matmul(x, w, form=form, device=dev, seed=5, cols=16, rows=64)
    np.testing.assert_array_equal(y_rtl, y_np)
    assert counter.cycles > 0
    y_ideal, _ = cim_matmul(x, w, form=form, cols=16, rows=64, counter=AmaranthCounter())
    np.testing.assert_array_equal(y_ideal, x.astype(int) @ w)
