"""``mram-accel dima matvec`` (the model path; ``--rtl`` runs under Verilator in ``tb/test_dima.py``)."""

import json
import math
import re

import numpy as np
import pytest

from model.dima.array import ENCODINGS, MAPPINGS, DIMAParams, dima_matvec, weight_sigma_lsb
from scripts.cli import main


def _files(tmp_path, w, x):
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "x.npy", x)
    return str(tmp_path / "w.npy"), str(tmp_path / "x.npy"), str(tmp_path / "y.npy")


def _run(capsys, *argv):
    capsys.readouterr()                                   # drop the seed line printed by the fixture
    rc = main(["dima", "matvec", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("shape_x", [(37,), (6, 37)])
def test_exact_at_zero_sigma_with_enough_adc_bits(tmp_path, capsys, seed, shape_x):
    rng = np.random.default_rng(seed)
    w, x = rng.integers(-8, 8, (23, 37)), rng.integers(0, 16, shape_x)
    wf, xf, yf = _files(tmp_path, w, x)
    lossless = math.ceil(math.log2(37 + 1))
    rc, out, err = _run(capsys, "--w", wf, "--x", xf, "--bw", "4", "--ba", "4", "--out", yf, "--sigma", "0",
                        "--adc-bits", str(lossless), "--json")
    assert rc == 0, err
    s = json.loads(out)
    y = np.load(yf)
    assert y.dtype == np.int64 and y.shape == ((23,) if len(shape_x) == 1 else (6, 23))
    assert np.array_equal(y, x @ w.T)
    assert s["lossless_adc_bits"] == lossless and s["exact"] and s["max_abs_error"] == 0 and not s["rtl"]
    assert s["conversions"] == (1 if len(shape_x) == 1 else 6) * 23 * 4 * 4


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("mapping", MAPPINGS)
def test_every_encoding_and_mapping_exact_at_zero_sigma(tmp_path, capsys, seed, encoding, mapping):
    """Lossless bits per mode (bit-serial: ceil(log2(N+1)), +1 for the bipolar symmetric encodings; dima: the whole
    dot product, full scale 8·15·N (twos) or 7·15·N, plus a sign bit), one conversion per output in the dima mapping,
    Y = W x exactly, and weight_sigma_lsb = 0 for every weight of the encoding's range at σ = 0."""
    rng = np.random.default_rng(seed)
    lo = -8 if encoding == "twos" else -7
    w, x = rng.integers(lo, 8, (9, 37)), rng.integers(0, 16, (5, 37))
    w[0, 0] = lo
    wf, xf, yf = _files(tmp_path, w, x)
    fs = 37 if mapping == "bit-serial" else (8 if encoding == "twos" else 7) * 15 * 37
    lossless = math.ceil(math.log2(fs + 1)) + (0 if (encoding, mapping) == ("twos", "bit-serial") else 1)
    rc, out, err = _run(capsys, "--w", wf, "--x", xf, "--bw", "4", "--ba", "4", "--out", yf, "--sigma", "0",
                        "--adc-bits", str(lossless), "--encoding", encoding, "--mapping", mapping, "--json")
    assert rc == 0, err
    s = json.loads(out)
    assert np.array_equal(np.load(yf), x @ w.T) and s["exact"] and s["lossless_adc_bits"] == lossless
    per_output = 1 if mapping == "dima" else 4 * (4 if encoding == "twos" else 3)
    assert s["conversions_per_output"] == per_output and s["conversions"] == 5 * 9 * per_output
    assert (s["encoding"], s["mapping"], s["weight_range"]) == (encoding, mapping, [lo, 7])
    assert s["adc_offset"] == (0 if (encoding, mapping) == ("twos", "bit-serial") else 2 ** (lossless - 1))
    assert s["weight_sigma_lsb"] == {str(v): 0.0 for v in range(lo, 8)}


def test_json_weight_sigma_lsb_follows_the_cell_options(tmp_path, capsys):
    """--sigma, --tmr and --r-access reach weight_sigma_lsb: at TMR ∞ and no access resistance the two's-complement
    -1 (four P cells, the sign cell with weight 8) has σ·sqrt(85) and the sign-magnitude -1 (one magnitude cell) σ;
    with the defaults the zero weight's AP cells vary too."""
    w, x = np.zeros((2, 3), np.int64), np.zeros(3, np.int64)
    wf, xf, yf = _files(tmp_path, w, x)
    got = {}
    for enc in ("twos", "sign-magnitude"):
        rc, out, err = _run(capsys, "--w", wf, "--x", xf, "--bw", "4", "--ba", "2", "--out", yf, "--sigma", "0.05",
                            "--tmr", "inf", "--r-access", "0", "--encoding", enc, "--json")
        assert rc == 0, err
        got[enc] = json.loads(out)["weight_sigma_lsb"]
    assert got["twos"]["-1"] == pytest.approx(0.05 * math.sqrt(85), rel=1e-9)
    assert got["sign-magnitude"]["-1"] == pytest.approx(0.05, rel=1e-9) and got["twos"]["0"] == 0
    rc, out, _ = _run(capsys, "--w", wf, "--x", xf, "--bw", "3", "--ba", "2", "--out", yf, "--sigma", "0.2",
                      "--tmr", "2", "--r-access", "0.3", "--encoding", "differential", "--json")
    s = json.loads(out)["weight_sigma_lsb"]
    assert rc == 0 and set(s) == {"-3", "-2", "-1", "0", "1", "2", "3"} and s["0"] > 0
    assert s == pytest.approx(weight_sigma_lsb(3, DIMAParams(sigma=0.2, tmr=2.0, r_access=0.3,
                                                             encoding="differential")))


def test_text_output_names_the_lossless_bits(tmp_path, capsys, seed):
    rng = np.random.default_rng(seed)
    w, x = rng.integers(-2, 2, (5, 300)), rng.integers(0, 4, (3, 300))
    wf, xf, yf = _files(tmp_path, w, x)
    rc, out, err = _run(capsys, "--w", wf, "--x", xf, "--bw", "2", "--ba", "2", "--out", yf)   # default 8 bits
    assert rc == 0 and "9 lossless for N = 300" in out and "9 lossless bits for N = 300" in err
    rc, out, err = _run(capsys, "--w", wf, "--x", xf, "--bw", "2", "--ba", "2", "--out", yf, "--adc-bits", "9")
    assert rc == 0 and "equals W @ x exactly" in out and err == ""


def test_variation_and_lossy_adc_follow_the_model(tmp_path, capsys, seed):
    rng = np.random.default_rng(seed)
    w, x = rng.integers(-8, 8, (30, 64)), rng.integers(0, 16, (8, 64))
    wf, xf, yf = _files(tmp_path, w, x)
    args = ["--w", wf, "--x", xf, "--bw", "4", "--ba", "4", "--out", yf, "--sigma", "24%", "--adc-bits", "6",
            "--seed", "7", "--tmr", "2", "--r-access", "0.1", "--json"]
    rc, out, _ = _run(capsys, *args)
    assert rc == 0
    s = json.loads(out)
    y = np.load(yf)
    want = dima_matvec(w, x, 4, 4, DIMAParams(sigma=0.24, tmr=2.0, r_access=0.1, adc_bits=6), rng=7)
    assert np.array_equal(y, want) and not s["exact"] and s["adc_lsb"] == 2 and s["sigma"] == 0.24
    assert s["max_abs_error"] == int(np.abs(y - x @ w.T).max())
    rc, _, _ = _run(capsys, *args[:-2], "8", "--json")              # another chip
    assert rc == 0 and not np.array_equal(np.load(yf), y)
    w = np.clip(w, -7, 7)
    wf, xf, yf = _files(tmp_path, w, x)
    rc, out, _ = _run(capsys, "--w", wf, "--x", xf, "--bw", "4", "--ba", "4", "--out", yf, "--sigma", "24%",
                      "--adc-bits", "9", "--seed", "7", "--tmr", "2", "--r-access", "0.1", "--encoding",
                      "sign-magnitude", "--mapping", "dima", "--json")
    s = json.loads(out)
    want = dima_matvec(w, x, 4, 4, DIMAParams(sigma=0.24, tmr=2.0, r_access=0.1, adc_bits=9,
                                              encoding="sign-magnitude", mapping="dima"), rng=7)
    assert rc == 0 and np.array_equal(np.load(yf), want) and s["adc_lsb"] == 2 ** (14 - 9) and not s["exact"]


@pytest.mark.parametrize("change,message", [
    ({"w": 8}, r"--w .*w\.npy: value 8 at index \(2, 5\) is outside the signed 4-bit range \[-8, 7\]"),
    ({"x": 16}, r"--x .*x\.npy: value 16 at index \(1, 3\) is outside the unsigned 4-bit range \[0, 15\]"),
    ({"x": -1}, r"--x .*x\.npy: value -1 at index \(1, 3\)"),
    ({"xshape": (4, 9)}, r"must have N = 10 values per vector"),
    ({"wfloat": True}, r"--w: .*w\.npy must hold integers, got dtype float64"),
    ({"args": ["--bw", "1"]}, r"--bw must be an integer >= 2 and <= 16, got '1'"),
    ({"args": ["--adc-bits", "0"]}, r"--adc-bits must be an integer >= 1 and <= 48, got '0' \(4 bits are lossless "
                                    r"for N = 10\)"),
    ({"args": ["--adc-bits", "49", "--mapping", "dima"]},
     r"--adc-bits must be an integer >= 1 and <= 48, got '49' \(12 bits are lossless for N = 10, twos, dima mapping\)"),
    ({"args": ["--encoding", "ones"]},
     r"--encoding must be one of \('twos', 'sign-magnitude', 'differential'\), got 'ones'"),
    ({"args": ["--mapping", "analog"]}, r"--mapping must be one of \('bit-serial', 'dima'\), got 'analog'"),
    ({"w": -8, "args": ["--encoding", "sign-magnitude"]},
     r"--w .*w\.npy: value -8 at index \(2, 5\) is outside the sign-magnitude 4-bit range \[-7, 7\]"),
    ({"w": -8, "args": ["--encoding", "differential", "--mapping", "dima"]},
     r"--w .*w\.npy: value -8 at index \(2, 5\) is outside the differential 4-bit range \[-7, 7\]"),
    ({"args": ["--sigma", "1.2"]}, r"--sigma must be a fraction"),
    ({"args": ["--tmr", "0"]}, r"--tmr must be"),
    ({"out": "y.txt"}, r"--out: the output file must end in \.npy"),
    ({"wmissing": True}, r"--w: no such file"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, change, message):
    w, x = np.zeros((3, 10), np.int64), np.zeros((4, 10), np.int64)
    if "w" in change:
        w[2, 5] = change["w"]
    if "x" in change:
        x[1, 3] = change["x"]
    if "xshape" in change:
        x = np.zeros(change["xshape"], np.int64)
    if change.get("wfloat"):
        w = w.astype(np.float64)
    wf, xf, yf = _files(tmp_path, w, x)
    if change.get("wmissing"):
        wf = str(tmp_path / "missing.npy")
    out = str(tmp_path / change.get("out", "y.npy"))
    rc, stdout, err = _run(capsys, "--w", wf, "--x", xf, "--bw", "4", "--ba", "4", "--out", out,
                           *change.get("args", []))
    assert rc == 2 and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mram-accel dima: error: ")
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "y.npy").exists() and not (tmp_path / "y.txt").exists()
