"""``mram-accel network run`` under Verilator: the digits CNN on the RTL accelerator, every tensor in the STT-MRAM
global buffer, the controller fetching its own operands.

The default suite runs the two-image smoke test, under global-buffer back-pressure, on the 2 x 6-MAC (2 x 2-PE)
array (the smallest build); the error
runs (their Amaranth-simulator twin, ``tests/test_network.py``, is in the default suite) and the issue's 20-image run
on the default 4 x 12 array are marked ``slow``.
"""

import json

import numpy as np
import pytest

from scripts.cli import main

KEYS = {"accuracy", "golden_accuracy", "mismatches", "cycles", "bit_flips", "layers"}
LAYER_KEYS = {"name", "cycles", "formula_cycles", "glb_reads", "glb_writes", "occupancy_cycles", "bit_flips"}


def _run(capsys, *args):
    capsys.readouterr()
    rc = main(["network", "run", "--model", "digits_cnn", *args, "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


def _check_clean(r, images):
    assert KEYS <= set(r) and r["images"] == images
    assert r["mismatches"] == 0 and r["bit_flips"] == 0
    assert r["accuracy"] == r["golden_accuracy"]
    assert [lay["name"] for lay in r["layers"]] == ["conv1", "conv2", "fc1", "fc2"]
    for lay in r["layers"]:
        assert LAYER_KEYS <= set(lay)
        assert lay["array_cycles"] == lay["predicted_array_cycles"]     # every cycle has a named term
        assert lay["glb_reads"] > 0 and lay["glb_writes"] > 0 and lay["bit_flips"] == 0
        assert all(v is None or v > 0 for v in lay["occupancy_cycles"].values())
    assert r["cycles"] >= sum(lay["cycles"] for lay in r["layers"]) * images


STALLS = "scratchpad stalls (read-after-write, GLB port)"


def test_network_smoke_two_images(capsys):
    """Two images with the buffer busy a fifth of the cycles (``--glb-ready 0.8``): the controller, the array and
    the scratchpad hold (their hold paths run under Verilator), the logits stay bit-exact and every stall cycle is
    counted. The report's network experiment runs the same build without back-pressure."""
    r = _run(capsys, "--images", "2", "--array", "2x6", "--glb-ready", "0.8")
    _check_clean(r, 2)
    assert sum(lay["terms"][STALLS] for lay in r["layers"]) > 0


@pytest.mark.slow
def test_network_errors_only_through_the_buffer(capsys):
    """A relaxed buffer (Δ = 8 at the physical τ of 1 ns: P_RF over a microsecond is about 0.3) flips bits in the
    served data, which reaches the logits; the same seed replays the same run."""
    a = _run(capsys, "--images", "2", "--array", "2x6", "--delta", "8", "--seed", "5")
    b = _run(capsys, "--images", "2", "--array", "2x6", "--delta", "8", "--seed", "5", "--batch", "1")
    assert a["bit_flips"] > 0 and a["mismatches"] > 0
    assert a["bit_flips"] == b["bit_flips"] and a["predictions"] == b["predictions"]   # batches do not matter
    assert sum(lay["bit_flips"] for lay in a["layers"]) <= a["bit_flips"]


@pytest.mark.slow
def test_network_twenty_images_default_array(capsys):
    _check_clean(_run(capsys, "--images", "20"), 20)


@pytest.mark.slow
def test_network_ultra_counts_flips_per_bank(capsys):
    r = _run(capsys, "--images", "2", "--array", "2x6", "--ultra", "30,9")
    assert set(r["bit_flips"]) == {"robust", "relaxed", "total"}
    assert r["bit_flips"]["relaxed"] > r["bit_flips"]["robust"]
    assert np.isclose(r["bit_flips"]["total"], r["bit_flips"]["robust"] + r["bit_flips"]["relaxed"])
