"""``mram-accel layer``: argument and file checks (exit 2, one line naming the parameter, nothing written) and one
small run through the CLI in the Amaranth simulator. The Verilator runs of the command are in ``tb/test_layer.py``."""

import json

import numpy as np
import pytest

from scripts.cli import main


def _save(path, values):
    np.save(path, np.asarray(values, np.float32))
    return str(path)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    bf = lambda shape: ((rng.standard_normal(shape).astype(np.float32).view(np.uint32) >> 16) << 16).view(np.float32)
    return {"x": _save(tmp_path / "x.npy", bf((1, 2, 5, 5))), "w": _save(tmp_path / "w.npy", bf((3, 2, 3, 3))),
            "xf": _save(tmp_path / "xf.npy", bf((2, 7))), "wf": _save(tmp_path / "wf.npy", bf((4, 7))),
            "x0": _save(tmp_path / "x0.npy", np.zeros((1, 0, 5, 5))), "tmp": tmp_path}


BAD = [
    (["conv", "--ifmap", "{x}", "--weights", "{w}", "--stride", "0"], "--stride"),
    (["conv", "--ifmap", "{x}", "--weights", "{w}", "--pad", "-1"], "--pad"),
    (["conv", "--ifmap", "{x}", "--weights", "{w}", "--array", "4x10"], "--array"),
    (["conv", "--ifmap", "{x}", "--weights", "{w}", "--array", "0x12"], "--array"),
    (["conv", "--ifmap", "{x0}", "--weights", "{w}"], "--ifmap"),
    (["conv", "--ifmap", "{x}", "--weights", "{wf}"], "weights"),
    (["conv", "--ifmap", "{xf}", "--weights", "{w}"], "ifmap"),
    (["conv", "--ifmap", "{x}", "--weights", "{w}", "--pad", "0", "--stride", "1", "--array", "4x12",
      "--round", "--ber", "2"], "--ber"),
    (["fc", "--ifmap", "{xf}", "--weights", "{w}"], "weights"),
    (["fc", "--ifmap", "{xf}", "--weights", "{wf}", "--stride", "2"], "--stride"),
    (["conv", "--ifmap", "{tmp}/missing.npy", "--weights", "{w}"], "--ifmap"),
    # checked before the cycle estimate is printed: the error is the only line
    (["fc", "--ifmap", "{xf}", "--weights", "{wf}", "--glb-read-latency", "0"], "--glb-read-latency"),
    (["fc", "--ifmap", "{xf}", "--weights", "{wf}", "--glb-write-latency", "1001"], "--glb-write-latency"),
    (["conv", "--ifmap", "{x}", "--weights", "{w}", "--seed", str(2**32)], "--seed"),
    (["conv", "--ifmap", "{x}", "--weights", "{w}", "--delta", "40", "--retention", "2e6y"], "--retention"),
    (["conv", "--ifmap", "{x}", "--weights", "{x}"], "--out"),   # --out is set to x below: the input
]


@pytest.mark.parametrize("argv,name", BAD)
def test_bad_input_exits_2_naming_the_parameter(files, capsys, argv, name):
    out = files["tmp"] / "y.npy"
    target = files["x"] if name == "--out" else str(out)
    x_before = (files["tmp"] / "x.npy").read_bytes()
    rc = main(["layer", *[a.format(**files) for a in argv], "--out", target])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and name in err[0], err
    assert not out.exists() and (files["tmp"] / "x.npy").read_bytes() == x_before


def test_kernel_larger_than_padded_input(files, capsys):
    w = _save(files["tmp"] / "big.npy", np.ones((1, 2, 7, 3)))
    assert main(["layer", "conv", "--ifmap", files["x"], "--weights", w, "--pad", "0",
                 "--out", str(files["tmp"] / "y.npy")]) == 2
    assert "kernel" in capsys.readouterr().err


def test_values_not_bfloat16_are_refused_or_rounded(files, capsys):
    x = np.load(files["x"])
    x[0, 1, 2, 3] = 0.1                          # not a bfloat16
    xp = _save(files["tmp"] / "xb.npy", x)
    out = files["tmp"] / "y.npy"
    assert main(["layer", "conv", "--ifmap", xp, "--weights", files["w"], "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "xb.npy" in err and "(0, 1, 2, 3)" in err and not out.exists()
    assert main(["layer", "conv", "--ifmap", xp, "--weights", files["w"], "--array", "2x3", "--out", str(out),
                 "--round", "--backend", "amaranth", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bit_exact"]


def test_fc_through_the_cli_amaranth(files, capsys):
    from model.stt_ai.pe_array import ref_fc_dataflow
    out = files["tmp"] / "y.npy"
    assert main(["layer", "fc", "--ifmap", files["xf"], "--weights", files["wf"], "--array", "2x3",
                 "--out", str(out), "--json", "--backend", "amaranth"]) == 0
    s = json.loads(capsys.readouterr().out)
    for key in ("cycles", "formula_cycles", "macs", "utilisation", "glb_reads", "glb_writes", "spad_reads",
                "spad_writes"):
        assert key in s
    y = np.load(out)
    xb = (np.load(files["xf"]).view(np.uint32) >> 16).astype(np.uint16)
    wb = (np.load(files["wf"]).view(np.uint32) >> 16).astype(np.uint16)
    assert y.dtype == np.float32 and y.shape == (2, 4)
    assert np.array_equal(y.view(np.uint32), ref_fc_dataflow(xb, wb, rows=2))
    assert s["macs"] == 2 * 7 * 4 and s["utilisation"] == pytest.approx(s["macs"] / (s["cycles"] * 6))
