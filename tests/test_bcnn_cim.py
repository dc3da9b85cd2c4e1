"""Exact +/-1 products in the sub-array model (model/bcnn/cim.py): both exact forms equal numpy's X @ W with ideal
devices on every tiling, the counts match the mapping, the AND-only approximation's error is as derived."""

import numpy as np
import pytest

from model.bcnn.cim import and_only_error, cim_matmul, plan_tiles
from model.bcnn.cost import BinaryLayer, binary_layer_ops, CostParams
from model.bcnn.subarray import SOTDevice


def pm1(rng, shape):
    return rng.choice(np.array([-1, 1], np.int8), shape)


@pytest.mark.parametrize("form", ["and_or", "and_popcount"])
@pytest.mark.parametrize("n,k,m,rows,cols", [(1, 1, 1, 1024, 256), (7, 13, 5, 1024, 256), (30, 300, 20, 1024, 256),
                                             (25, 70, 9, 16, 32), (9, 64, 40, 24, 16), (40, 100, 3, 40, 8)])
def test_exact_product_with_ideal_devices(form, n, k, m, rows, cols, rng):
    x, w = pm1(rng, (n, k)), pm1(rng, (k, m))
    y, stats = cim_matmul(x, w, form=form, rows=rows, cols=cols, max_pairs=97)   # several programs per tile
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, x.astype(np.int64) @ w.astype(np.int64))
    chunks = -(-k // cols)
    assert stats.chunks == chunks
    assert stats.sense_ops == (2 if form == "and_or" else 1) * n * m * chunks
    assert stats.rows_counted == stats.sense_ops + stats.read_ops
    if form == "and_popcount":
        assert stats.read_ops == (n + m) * chunks      # every operand's popcount read once
    tiles = plan_tiles(n, m, chunks, rows)
    assert stats.tiles == len(tiles)
    covered = np.zeros((n, m), int)
    for t in tiles:
        covered[t.n0:t.n1, t.m0:t.m1] += 1
        assert (t.n1 - t.n0 + t.m1 - t.m0) * chunks <= rows
    assert (covered == 1).all()


def test_extreme_operands():
    for value in (-1, 1):
        x = np.full((3, 513), value, np.int8)
        w = np.full((513, 2), 1, np.int8)
        y, _ = cim_matmul(x, w)
        assert (y == 513 * value).all()


def test_counts_agree_with_the_cost_models_mapping():
    """When the weights fit half the sub-array and the inputs the rest, the executed counts are the cost model's."""
    p = CostParams()
    layer = BinaryLayer("l", n=100, k=300, m=40)
    rng = np.random.default_rng(1)
    for form in ("and_or", "and_popcount"):
        _, stats = cim_matmul(pm1(rng, (100, 300)), pm1(rng, (300, 40)), form=form)
        ops = binary_layer_ops(layer, form, p)
        assert ops["subarrays"] == 1
        assert ops["sense_ops"] == stats.sense_ops
        # the cost model charges the inputs only (weights are programmed once): 40 weight vectors x 2 chunks
        assert ops["row_writes"] == stats.row_writes - 40 * 2
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


def test_bad_operands():
    with pytest.raises(ValueError, match=r"x: entry at index \(0, 1\) is 0"):
        cim_matmul(np.array([[1, 0]]), np.ones((2, 1)))
    with pytest.raises(ValueError, match="same K"):
        cim_matmul(np.ones((2, 3)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="form"):
        cim_matmul(np.ones((2, 3)), np.ones((3, 1)), form="xnor")
    with pytest.raises(ValueError, match="needs 3 rows per vector"):
        cim_matmul(np.ones((1, 600)), np.ones((600, 1)), rows=4, cols=256)


@pytest.mark.parametrize("form", ["and_or", "and_popcount"])
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
