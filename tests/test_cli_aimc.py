"""``mram-accel aimc irdrop``: the contract's node layout solved independently (dense, edge list written here from the
contract text), ``--r-wire 0`` equal to ``V @ G``, and every bad input exiting 2 with one line naming the parameter
and nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scripts.cli import main


def contract_dense_solve(g: np.ndarray, v: np.ndarray, r: float) -> np.ndarray:
    """The contract's circuit, built from its sentences: nodes ('r', i, j), ('c', i, j), fixed sources and sense."""
    rows, cols = g.shape
    nodes = [(k, i, j) for k in "rc" for i in range(rows) for j in range(cols)]
    index = {n: p for p, n in enumerate(nodes)}
    edges = []                                                        # (node, node or fixed, conductance)
    for i in range(rows):
        for j in range(cols):
            edges.append((("r", i, j), ("c", i, j), g[i, j]))         # cell (i, j)
        edges.append((("src", i), ("r", i, 0), 1 / r))                 # driver segment of row i
        for j in range(cols - 1):
            edges.append((("r", i, j), ("r", i, j + 1), 1 / r))
    for j in range(cols):
        for i in range(rows - 1):
            edges.append((("c", i, j), ("c", i + 1, j), 1 / r))
        edges.append((("c", rows - 1, j), ("sense", j), 1 / r))        # last segment into the 0 V sense node
    n = len(nodes)
    out = np.zeros((v.shape[0], cols))
    for b in range(v.shape[0]):
        y = np.zeros((n, n))
        rhs = np.zeros(n)
        fixed = {("src", i): v[b, i] for i in range(rows)} | {("sense", j): 0.0 for j in range(cols)}
        for a, c, w in edges:
            for p, q in ((a, c), (c, a)):
                if p in index:
                    y[index[p], index[p]] += w
                    if q in index:
                        y[index[p], index[q]] -= w
                    else:
                        rhs[index[p]] += w * fixed[q]
        x = np.linalg.solve(y, rhs)
        out[b] = [x[index[("c", rows - 1, j)]] / r for j in range(cols)]   # current through the sense segment
    return out


@pytest.fixture
def files(tmp_path, rng):
    g = rng.uniform(0.3, 1.0, (5, 4)) / 6e3                 # small R so the IR drop is large and visible
    v = rng.uniform(-0.2, 0.3, (3, 5))
    paths = {"g": tmp_path / "G.npy", "v": tmp_path / "V.npy", "out": tmp_path / "I.npy", "tmp": tmp_path}
    np.save(paths["g"], g)
    np.save(paths["v"], v)
    return paths, g, v


def _run(paths, *extra, r_wire="25"):
    return main(["aimc", "irdrop", "--g", str(paths["g"]), "--v", str(paths["v"]), "--r-wire", r_wire,
                 "--out", str(paths["out"]), *extra])


def test_matches_independent_dense_solve(files, capsys):
    paths, g, v = files
    assert _run(paths, "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    got = np.load(paths["out"])
    assert got.dtype == np.float64 and got.shape == (3, 4) and summary["out_shape"] == [3, 4]
    ref = contract_dense_solve(g, v, 25.0)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    ideal = v @ g
    assert np.abs(got - ideal).max() > 1e-3 * np.abs(ideal).max()     # the check is not vacuous: IR drop is there
    assert summary["max_rel_deviation_from_ideal"] == pytest.approx(np.abs(got - ideal).max() / np.abs(ideal).max())


@pytest.mark.parametrize("method", ["direct", "transfer"])
def test_methods_match_dense(files, capsys, method):
    paths, g, v = files
    assert _run(paths, "--method", method, r_wire="3.5") == 0
    ref = contract_dense_solve(g, v, 3.5)
    np.testing.assert_allclose(np.load(paths["out"]), ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_zero_wire_resistance_equals_v_at_g(files, capsys):
    paths, g, v = files
    assert _run(paths, r_wire="0") == 0
    got, ideal = np.load(paths["out"]), v @ g
    assert np.abs(got - ideal).max() <= 1e-12 * np.abs(ideal).max()


def test_command_as_written_in_the_contract(files):
    """The console script itself, exactly as the contract writes it (one subprocess)."""
    paths, g, v = files
    exe = Path(sys.executable).with_name("mram-accel")
    prog = [str(exe)] if exe.is_file() else [sys.executable, "-c",
                                             "from scripts.cli import main; raise SystemExit(main())"]
    cmd = [*prog, "aimc", "irdrop", "--g", str(paths["g"]), "--v", str(paths["v"]), "--r-wire", "0",
           "--out", str(paths["out"]), "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows"] == 5
    assert np.abs(np.load(paths["out"]) - v @ g).max() <= 1e-12 * np.abs(v @ g).max()


BAD = [  # (what to save as G, as V, --r-wire, the name the message must contain)
    ("neg", None, "1", "--g"),
    (None, None, "-1", "--r-wire"),
    (None, None, "-0.5e-3", "--r-wire"),
    (None, None, "nan", "--r-wire"),
    (None, None, "inf", "--r-wire"),
    (None, None, "two", "--r-wire"),
    (None, None, "-inf", "--r-wire"),
    ("nan", None, "1", "--g"),
    (None, "nan", "1", "--v"),
    (None, "inf", "1", "--v"),
    ("f32", None, "1", "--g"),
    (None, "int", "1", "--v"),
    ("1d", None, "1", "--g"),
    (None, "3d", "1", "--v"),
    ("empty", None, "1", "--g"),
    (None, "empty", "1", "--v"),
    (None, "mismatch", "1", "--v"),
    ("missing", None, "1", "--g"),
    (None, "text", "1", "--v"),
    (None, None, "1.000001e6", "--r-wire"),          # above the 1e6-ohm bound
    (None, None, "1e308", "--r-wire"),
    ("big", None, "1", "--g"),                       # a conductance above 1 S
    (None, "big", "1", "--v"),                       # a voltage above 100 V
    ("forged", None, "1", "--g"),                    # a header claiming 10^12 elements
]


def _bad_array(kind, good):
    a = good.copy()
    if kind == "neg":
        a[1, 2] = -1e-9
    elif kind == "nan":
        a[0, 1] = np.nan
    elif kind == "inf":
        a[0, 0] = np.inf
    elif kind == "f32":
        a = a.astype(np.float32)
    elif kind == "int":
        a = np.ones(a.shape, np.int64)
    elif kind == "1d":
        a = a[0]
    elif kind == "3d":
        a = a[None]
    elif kind == "empty":
        a = a[:0]
    elif kind == "mismatch":
        a = a[:, :-1]
    elif kind == "big":
        a[-1, -1] = 100.5
    return a


@pytest.mark.parametrize("g_kind,v_kind,r_wire,name", BAD)
def test_bad_input_exits_2_naming_the_parameter(files, capsys, g_kind, v_kind, r_wire, name):
    paths, g, v = files
    for key, kind, good in (("g", g_kind, g), ("v", v_kind, v)):
        if kind == "missing":
            paths[key] = paths["tmp"] / "absent.npy"
        elif kind == "text":
            paths[key].write_text("not an array")
        elif kind == "forged":
            head = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }".ljust(117) + "\n"
            paths[key].write_bytes(b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head.encode() + bytes(64))
        elif kind is not None:
            np.save(paths[key], _bad_array(kind, good))
    rc = _run(paths, r_wire=r_wire)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and name in err[0], err
    assert not paths["out"].exists()
    assert not list(paths["tmp"].glob("tmp*"))


def test_bad_out_path(files, capsys):
    paths, g, v = files
    before = {p.name: p.read_bytes() for p in paths["tmp"].iterdir()}
    for out in (paths["tmp"] / "I.txt", paths["tmp"] / "nodir" / "I.npy", paths["tmp"], paths["g"], paths["v"],
                "/proc/I.npy", "/dev/null"):
        paths["out"] = out
        assert _run(paths) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and "--out" in err[0], err
    assert {p.name: p.read_bytes() for p in paths["tmp"].iterdir()} == before      # the inputs are untouched


@pytest.mark.parametrize("failure", ["singular", "nan"])
def test_a_failed_solve_exits_2_naming_r_wire(files, capsys, monkeypatch, failure):
    """A solve that fails (SuperLU refuses the factorisation) or returns non-finite currents: one line naming
    --r-wire, exit 2, nothing written (the ranges keep both from happening; the guard is checked here)."""
    from model.aimc import irdrop

    if failure == "singular":
        def init(self, g, r_wire):
            raise RuntimeError("Factor is exactly singular")
        monkeypatch.setattr(irdrop.Crossbar, "__init__", init)
    else:
        real = irdrop.Crossbar.currents
        monkeypatch.setattr(irdrop.Crossbar, "currents", lambda self, v, method="auto": real(self, v, method) * np.nan)
    paths, g, v = files
    assert _run(paths) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "--r-wire 25" in err[0], err
    assert not paths["out"].exists()
