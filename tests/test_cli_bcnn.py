"""``mram-accel bcnn matmul``: the contract (files, exit 2 naming the file and index, nothing written) and runs
with the numpy bit count. The ``--rtl`` runs are in ``tb/test_bcnn.py``."""

import json

import numpy as np
import pytest

from scripts.cli import main


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    pm = lambda shape, dtype=np.int8: rng.choice(np.array([-1, 1], dtype), shape)
    paths = {}
    for name, arr in {"x": pm((9, 300)), "w": pm((300, 4)), "w5": pm((5, 4)), "xi32": pm((9, 300), np.int32),
                      "xf": pm((9, 300)).astype(np.float32), "x3": pm((2, 3, 4)),
                      "xbad": np.where(np.arange(9 * 300).reshape(9, 300) == 302, 2, 1).astype(np.int8),
                      "xk": pm((1, 8200)), "wk": pm((8200, 1))}.items():
        np.save(tmp_path / f"{name}.npy", arr)
        paths[name] = str(tmp_path / f"{name}.npy")
    (tmp_path / "junk.npy").write_text("not numpy")
    paths["junk"] = str(tmp_path / "junk.npy")
    paths["tmp"] = tmp_path
    return paths


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("form", ["and_or", "and_popcount", "and_dual"])
def test_matmul_json(files, capsys, form):
    out = files["tmp"] / "y.npy"
    code, text, _ = run(["bcnn", "matmul", "--x", files["x"], "--w", files["w"], "--out", str(out), "--json",
                         "--form", form], capsys)
    assert code == 0
    y = np.load(out)
    x, w = np.load(files["x"]), np.load(files["w"])
    assert y.dtype == np.int32 and y.shape == (9, 4)
    np.testing.assert_array_equal(y, x.astype(np.int32) @ w.astype(np.int32))
    d = json.loads(text)
    for key in ("sense_ops", "rows_counted", "energy_j", "latency_s"):
        assert key in d
    assert d["form"] == form
    assert d["sense_ops"] == (1 if form == "and_popcount" else 2) * 9 * 4 * 2       # K = 300: 2 chunks
    assert d["groups"] == {"and_or": 2 * 36, "and_popcount": 36 + 9 + 4, "and_dual": 36}[form]
    assert d["row_writes"] == (9 + 4) * 2 * (2 if form == "and_dual" else 1)       # the dual rail writes twice
    assert d["energy_j"] > 0 and d["latency_s"] > 0


def test_int32_input_is_accepted(files, capsys):
    out = files["tmp"] / "y.npy"
    assert run(["bcnn", "matmul", "--x", files["xi32"], "--w", files["w"], "--out", str(out)], capsys)[0] == 0


def test_variation_json_says_how_many_differ(files, capsys):
    out = files["tmp"] / "y.npy"
    code, text, _ = run(["bcnn", "matmul", "--x", files["x"], "--w", files["w"], "--out", str(out), "--json",
                         "--sigma", "0.15", "--sa-offset", "0.02", "--seed", "3"], capsys)
    assert code == 0
    d = json.loads(text)
    x, w = np.load(files["x"]), np.load(files["w"])
    assert d["products_differing_from_exact"] == np.count_nonzero(np.load(out) != x.astype(int) @ w) > 0


BAD = [
    (["--x", "{xbad}", "--w", "{w}"], r"--x: .*xbad.npy: entry at index \(1, 2\) is 2"),
    (["--x", "{x}", "--w", "{w5}"], "--x/--w"),
    (["--x", "{xf}", "--w", "{w}"], "--x: .*xf.npy has dtype float32"),
    (["--x", "{x3}", "--w", "{w}"], "--x: .*2-D"),
    (["--x", "{junk}", "--w", "{w}"], "--x: cannot read"),
    (["--x", "{tmp}/missing.npy", "--w", "{w}"], "--x: no such file"),
    (["--x", "{x}", "--w", "{w}", "--sigma", "0.5"], "--sigma"),
    (["--x", "{x}", "--w", "{w}", "--sa-offset", "-1"], "--sa-offset"),
    (["--x", "{x}", "--w", "{w}", "--seed", "-2"], "--seed"),
    (["--x", "{xk}", "--w", "{wk}", "--rtl", "--form", "and_dual"], "--rtl: K = 8200 is above the RTL path's 8192 "
                                                                    "for --form and_dual"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_input_exits_2_and_writes_nothing(files, capsys, argv, message):
    out = files["tmp"] / "y.npy"
    code, text, err = run(["bcnn", "matmul", *[a.format(**files) for a in argv], "--out", str(out)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    import re
    assert re.search(message, lines[0]), lines[0]
    assert not out.exists()
    assert list(files["tmp"].glob(".y.npy*")) == []


def test_bad_out_path(files, capsys):
    code, _, err = run(["bcnn", "matmul", "--x", files["x"], "--w", files["w"], "--out",
                        str(files["tmp"] / "y.txt")], capsys)
    assert code == 2 and "--out" in err
