"""The SOT-MRAM binary CNN under Verilator: sensed sub-array rows, served by the memory responder from the
sub-array model, counted by the RTL bit-count reader (``mram-accel bcnn matmul --rtl``), with ideal devices
(products equal X @ W) and with device variation (the RTL's counts equal the golden's on the same sensed rows,
checked inside the testbench)."""

import json

import numpy as np
import pytest

from scripts.cli import main


def _run(tmp_path, capsys, x, w, *extra):
    xp, wp, yp = tmp_path / "x.npy", tmp_path / "w.npy", tmp_path / "y.npy"
    np.save(xp, x)
    np.save(wp, w)
    capsys.readouterr()
    rc = main(["bcnn", "matmul", "--x", str(xp), "--w", str(wp), "--out", str(yp), "--rtl", "--json", *extra])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return np.load(yp), json.loads(captured.out)


@pytest.mark.parametrize("form", ["and_or", "and_popcount", "and_dual"])
def test_matmul_rtl_exact(tmp_path, capsys, rng, form):
    x = rng.choice(np.array([-1, 1], np.int8), (12, 600))     # 3 chunks of 256 bits per dot product
    w = rng.choice(np.array([-1, 1], np.int8), (600, 5))
    y, s = _run(tmp_path, capsys, x, w, "--form", form)
    np.testing.assert_array_equal(y, x.astype(np.int32) @ w.astype(np.int32))
    assert s["rtl"] and s["rtl_cycles"] > s["rows_counted"]   # one row per cycle at best
    assert s["sense_ops"] == (1 if form == "and_popcount" else 2) * 12 * 5 * 3
    assert s["groups"] == {"and_or": 2 * 60, "and_popcount": 60 + 12 + 5, "and_dual": 60}[form]


def test_matmul_rtl_with_variation(tmp_path, capsys, rng):
    from model.bcnn.cim import cim_matmul
    from model.bcnn.subarray import SOTDevice

    x = rng.choice(np.array([-1, 1], np.int8), (10, 256))
    w = rng.choice(np.array([-1, 1], np.int8), (256, 6))
    y, s = _run(tmp_path, capsys, x, w, "--sigma", "0.12", "--sa-offset", "0.015", "--seed", "4")
    y_np, _ = cim_matmul(x, w, device=SOTDevice().with_variation(0.12, 0.015), seed=4)
    np.testing.assert_array_equal(y, y_np)
    assert s["products_differing_from_exact"] > 0


@pytest.mark.parametrize("layer,images", [("bconv1", 3), ("bfc", 40)])
def test_binary_cnn_layer_through_the_rtl(layer, images):
    """One binary layer of the digits network with every bit count from the RTL under Verilator (the other layers
    in numpy): the logits are bit-identical to the numpy reference's."""
    from model.bcnn.accuracy import cim_matmuls
    from model.bcnn.net import BCNN, load_test_set
    from scripts.rtl.bcnn import RtlCounter

    net = BCNN.load()
    x, _ = load_test_set()
    counter = RtlCounter()
    stats = {}
    logits = net.forward(x[:images], matmul=cim_matmuls(counter=counter, layers=(layer,), stats=stats))
    np.testing.assert_array_equal(logits.view(np.uint32), net.forward(x[:images]).view(np.uint32))
    assert counter.groups == stats[layer].groups > 0
