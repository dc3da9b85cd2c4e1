"""The binary CNN through the SOT-MRAM sub-array model (model/bcnn/accuracy.py): bit-identical to the numpy
reference with ideal devices, reproducible and degrading with variation."""

import numpy as np
import pytest

from model.bcnn.accuracy import accuracy_sweep, and_only_matmul, cim_matmuls
from model.bcnn.net import BCNN, load_test_set
from model.bcnn.subarray import SOTDevice


@pytest.fixture(scope="module")
def data():
    net = BCNN.load()
    x, y = load_test_set()
    return net, x, y, net.forward(x)


def test_whole_test_set_through_the_ideal_sub_array_is_bit_identical(data):
    net, x, y, ref = data
    stats = {}
    logits = net.forward(x, matmul=cim_matmuls(form="and_popcount", stats=stats))
    np.testing.assert_array_equal(logits.view(np.uint32), ref.view(np.uint32))
    assert set(stats) == {"bconv1", "bconv2", "bfc"}
    layer = net.binary_layer("bconv1")
    assert stats["bconv1"].sense_ops == len(x) * layer.n_per_image * layer.m * 1      # K = 144: one chunk


@pytest.mark.parametrize("form", ["and_or", "and_dual"])
def test_other_exact_forms_on_some_images(data, form):
    net, x, y, ref = data
    stats = {}
    logits = net.forward(x[:60], matmul=cim_matmuls(form=form, seed=7, stats=stats))
    # the reference on the same batch (BLAS may round a row differently in a differently sized product)
    np.testing.assert_array_equal(logits.view(np.uint32), net.forward(x[:60]).view(np.uint32))
    layer = net.binary_layer("bconv1")
    assert stats["bconv1"].sense_ops == 2 * 60 * layer.n_per_image * layer.m    # two senses per pair, one chunk


def test_and_only_is_the_affine_and_count(rng):
    xb = rng.choice(np.array([-1, 1], np.int8), (7, 33))
    wb = rng.choice(np.array([-1, 1], np.int8), (33, 5))
    a = ((xb > 0).astype(int) @ (wb > 0).astype(int))
    np.testing.assert_array_equal(and_only_matmul(xb, wb), 4 * a - 33)
    # the weights' sums folded in: popcount(AND) = (x.w + sum x + sum w + K) / 4 leaves sum(x) as the error
    folded = and_only_matmul(xb, wb, fold_sum_w=True)
    np.testing.assert_array_equal(folded, 4 * a - 33 - wb.astype(int).sum(0))
    np.testing.assert_array_equal(folded - xb.astype(int) @ wb, np.broadcast_to(xb.astype(int).sum(1)[:, None], (7, 5)))


@pytest.mark.parametrize("form", ["and_popcount", "and_dual"])
def test_sweep_is_reproducible_and_variation_hurts(data, form):
    net, x, y, _ = data
    devices = [SOTDevice(), SOTDevice().with_variation(0.2)]
    r1 = accuracy_sweep(net, x[:50], y[:50], devices, [1, 2], form)
    r2 = accuracy_sweep(net, x[:50], y[:50], devices, [1, 2], form)
    np.testing.assert_array_equal(r1["acc"], r2["acc"])
    assert r1["product_errors"][0] == 0 and r1["product_errors"][1] > 0.5
    assert np.all(r1["acc"][0] == np.mean(net.predict(x[:50]) == y[:50]))
    assert r1["mean"][1] < r1["mean"][0]
    assert r1["low"][1] <= r1["mean"][1] <= r1["high"][1]
