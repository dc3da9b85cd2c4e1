"""``mram-accel pim fp32 add|mul``: results bit-exact against numpy through the CLI, the JSON contract, chunks of
1024 lanes, and bad input (exit 2, one line naming the option, nothing written)."""

import json

import numpy as np
import pytest

from scripts.cli import main

NAN = 0x7FC00000
SPECIAL = np.array([0.0, -0.0, 1.0, -1.5, np.inf, -np.inf, np.nan, 1e-45, -3e-39, 3.4e38, 2.0 ** -75, 1e-8],
                   np.float32)


def _golden(op, a, b):
    with np.errstate(all="ignore"):
        r = (a + b) if op == "add" else (a * b)
    r = np.asarray(r, np.float32).view(np.uint32).copy()
    r[np.isnan(r.view(np.float32))] = NAN
    return r


@pytest.fixture
def files(tmp_path, rng):
    a, b = np.meshgrid(SPECIAL, SPECIAL)
    a = np.concatenate([a.ravel(), rng.standard_normal(48).astype(np.float32) * 1e3]).reshape(12, 16)
    b = np.concatenate([b.ravel(), rng.standard_normal(48).astype(np.float32)]).reshape(12, 16)
    paths = {"tmp": tmp_path}
    for name, arr in (("a", a), ("b", b), ("b3", b[:3]), ("f64", a.astype(np.float64)),
                      ("i32", np.arange(192, dtype=np.int32).reshape(12, 16)), ("empty", np.zeros((0, 4), np.float32))):
        np.save(tmp_path / f"{name}.npy", arr)
        paths[name] = str(tmp_path / f"{name}.npy")
    np.savez(tmp_path / "z.npz", a=a)
    paths["npz"] = str(tmp_path / "z.npz")
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    paths["junk"] = str(tmp_path / "junk.npy")
    return paths


@pytest.mark.parametrize("op", ["add", "mul"])
def test_fp32_through_the_cli_is_bit_exact(files, capsys, op):
    out = files["tmp"] / "c.npy"
    capsys.readouterr()
    assert main(["pim", "fp32", op, "--a", files["a"], "--b", files["b"], "--out", str(out), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    c = np.load(out)
    a, b = np.load(files["a"]), np.load(files["b"])
    assert c.dtype == np.float32 and c.shape == a.shape == (12, 16)
    assert np.array_equal(c.view(np.uint32), _golden(op, a, b))
    assert s["bit_exact"] and s["n"] == 192 and s["passes"] == 1
    for d in (s, s["per_operation"], s["total"]):
        assert set(d["steps"]) == {"read", "write", "search"} and d["time_s"] > 0 and d["energy_j"] > 0
    assert s["steps"] == s["per_operation"]["steps"] == s["total"]["steps"]      # one pass
    assert s["total"]["energy_j"] == pytest.approx(192 * s["energy_j"])
    assert s["equation"]["name"] == ("eq. (2)" if op == "add" else "eq. (3)")
    assert s["variant"] == ({"mantissa": "one-chain"} if op == "add" else {"multiplier": "gated"})
    assert set(s["scopes"]) == {"ieee", "core"} and s["scopes"]["ieee"]["steps"] == s["steps"]
    assert s["scopes"]["core"]["time_s"] < s["time_s"] and s["scopes"]["core"]["energy_j"] < s["energy_j"]
    for sc in ("ieee", "core"):
        assert set(s["floatpim"][sc]) == {"cycles", "cells", "time_s", "energy_j"}
    assert s["floatpim"]["core"]["cycles"] < s["floatpim"]["ieee"]["cycles"]
    assert 0 < s["cells"]["live_core"] <= s["cells"]["live"] <= s["cells"]["written"] < s["rows_used"]


@pytest.mark.parametrize("op,flag,value", [("add", "--mantissa", "two-chains"), ("mul", "--multiplier", "ungated"),
                                           ("mul", "--multiplier", "skip")])
def test_schedule_flags(files, capsys, tmp_path, op, flag, value):
    """Every schedule is bit-exact; the old ones cost more energy per operation than the defaults."""
    out = files["tmp"] / "c.npy"
    capsys.readouterr()
    base = ["pim", "fp32", op, "--a", files["a"], "--b", files["b"], "--out", str(out), "--json", "--lanes", "100"]
    assert main(base) == 0
    default = json.loads(capsys.readouterr().out)
    assert main(base + [flag, value]) == 0
    s = json.loads(capsys.readouterr().out)
    assert np.array_equal(np.load(out).view(np.uint32), _golden(op, np.load(files["a"]), np.load(files["b"])))
    assert s["variant"] == {flag[2:]: value} and s["passes"] == 2 and s["lanes_per_pass"] == 100
    if value == "skip":   # a bit 1 .. 23 that no lane of a pass has set costs no add (96 steps); energy unchanged
        w = np.load(files["b"]).ravel().view(np.uint32).astype(np.int64)
        sig = (w & 0x7FFFFF) | np.where((w >> 23) & 0xFF, 0x800000, 0)
        unset = [sum(not (np.bitwise_or.reduce(sig[k:k + 100]) >> j) & 1 for j in range(1, 24)) for k in (0, 100)]
        want = default["steps"]["write"] - 96 * (100 * unset[0] + 92 * unset[1]) / 192
        assert unset[0] > 0 and s["steps"]["write"] == pytest.approx(want)
        assert s["energy_j"] == pytest.approx(default["energy_j"])
    else:
        assert s["energy_j"] > default["energy_j"]


def test_more_than_1024_values_go_in_passes(tmp_path, capsys, rng):
    a = rng.standard_normal(1300).astype(np.float32)
    b = rng.standard_normal(1300).astype(np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    out = tmp_path / "c.npy"
    capsys.readouterr()                                   # drop the seed line of the fixture
    assert main(["pim", "fp32", "add", "--a", str(tmp_path / "a.npy"), "--b", str(tmp_path / "b.npy"),
                 "--out", str(out), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["passes"] == 2 and s["lanes_per_pass"] == 1024
    assert {k: 2 * v for k, v in s["steps"].items()} == s["total"]["steps"]
    assert s["total"]["time_s"] == pytest.approx(2 * s["time_s"])
    assert np.array_equal(np.load(out).view(np.uint32), _golden("add", a, b))


def test_text_output(files, capsys):
    out = files["tmp"] / "c.npy"
    assert main(["pim", "fp32", "mul", "--a", files["a"], "--b", files["b"], "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bit-exact" in text and "per operation:" in text and "eq. (3):" in text


BAD = [
    (["add", "--a", "{a}", "--b", "{b3}"], "--b"),              # shapes differ
    (["mul", "--a", "{f64}", "--b", "{b}"], "--a"),             # not float32
    (["add", "--a", "{a}", "--b", "{i32}"], "--b"),
    (["add", "--a", "{tmp}/missing.npy", "--b", "{b}"], "--a"),  # unreadable
    (["add", "--a", "{junk}", "--b", "{b}"], "--a"),
    (["add", "--a", "{a}", "--b", "{npz}"], "--b"),
    (["mul", "--a", "{empty}", "--b", "{empty}"], "--a"),
    (["add", "--a", "{a}", "--b", "{b}", "--mantissa", "three-chains"], "--mantissa"),
    (["mul", "--a", "{a}", "--b", "{b}", "--multiplier", "booth"], "--multiplier"),
    (["mul", "--a", "{a}", "--b", "{b}", "--lanes", "0"], "--lanes"),
    (["add", "--a", "{a}", "--b", "{b}", "--lanes", "2048"], "--lanes"),
    (["add", "--a", "{a}", "--b", "{b}", "--lanes", "many"], "--lanes"),
]


@pytest.mark.parametrize("argv,name", BAD)
def test_bad_input_exits_2_naming_the_option(files, capsys, argv, name):
    out = files["tmp"] / "c.npy"
    rc = main(["pim", "fp32", *[x.format(**files) for x in argv], "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and name in err[0], err
    assert not out.exists()


@pytest.mark.parametrize("out,name", [("c.txt", "--out"), ("nofolder/c.npy", "--out")])
def test_bad_output_path(files, capsys, out, name):
    rc = main(["pim", "fp32", "add", "--a", files["a"], "--b", files["b"], "--out", str(files["tmp"] / out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and name in err[0]
    assert not (files["tmp"] / out).exists()


def test_missing_option_and_unknown_op_exit_2(files):
    for argv in (["pim", "fp32", "add", "--a", files["a"], "--out", "c.npy"],
                 ["pim", "fp32", "div", "--a", files["a"], "--b", files["b"], "--out", "c.npy"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
