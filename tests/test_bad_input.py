"""No input can hurt a user: every command, run for real in a subprocess (``python -m scripts.cli``), refuses bad
input cleanly -- exit status 2, exactly one line on stderr naming the option (or variable) and the rule, no
traceback, nothing on stdout, nothing written, every input byte-identical with its mtime unchanged.

The classes of the issue, each a parametrised table: (1) output paths, (2) ``--out`` equal to an input, (3) forged
or hostile ``.npy`` files, (4) numbers without upper bounds, (5) files of the wrong kind, (6) scale-out, (7) pipes and
warnings, (8) silent surprises. Every case fails in parsing or pre-flight, so none starts a Verilator build or a long
computation. :func:`test_the_checker_fails_on_a_command_that_misbehaves` shows the checker itself catches a
traceback, a second line, output on stdout and a written file.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import TINY

REPO = Path(__file__).resolve().parents[1]


def run_cli(argv, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m scripts.cli ARGV`` in the repository, as a user runs it (no ``-W``, no PYTHONWARNINGS)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "MRAM_DASK_SCHEDULER")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "scripts.cli", *argv], capture_output=True, text=True, cwd=REPO,
                          env=full_env, timeout=timeout, stdin=subprocess.DEVNULL)


def snapshot(folder: Path) -> dict:
    """Every file (bytes, mtime in ns) and folder under ``folder``: equal snapshots mean nothing was written."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        out[rel] = (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() and not p.is_symlink() else \
            ("link" if p.is_symlink() else "dir")
    return out


def assert_refused(proc: subprocess.CompletedProcess, names, folder: Path, before: dict) -> None:
    """The clean refusal: exit 2, one stderr line containing every one of ``names``, no traceback, empty stdout,
    ``folder`` exactly as in ``before``."""
    names = [names] if isinstance(names, str) else list(names)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and proc.stderr.endswith("\n"), proc.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert proc.stdout == "", proc.stdout
    assert snapshot(folder) == before, "files were written or changed"


def _npy_header(descr: str, shape: tuple) -> bytes:
    """A version-1.0 ``.npy`` header (magic, length, dict padded to 64 bytes) claiming ``shape`` of ``descr``."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


@pytest.fixture
def d(tmp_path) -> Path:
    """A folder holding one valid input for every command, and the hostile files of the tables below."""
    def bf16(shape):              # small multiples of 1/2: exact in bfloat16
        return ((np.arange(int(np.prod(shape))) % 7 - 3) / 2).astype(np.float32).reshape(shape)
    np.save(tmp_path / "A.npy", np.array([1.5, -2.25, 3.0], np.float32))
    np.save(tmp_path / "B.npy", np.array([0.5, 1.0, -8.0], np.float32))
    np.save(tmp_path / "G.npy", np.full((4, 3), 1 / 6e6))
    np.save(tmp_path / "V.npy", np.full((2, 4), 0.2))
    np.save(tmp_path / "X.npy", np.array([[1, -1, 1], [1, 1, -1]], np.int8))
    np.save(tmp_path / "W.npy", np.array([[1, -1], [1, 1], [-1, 1]], np.int8))
    np.save(tmp_path / "DW.npy", np.array([[1, -2, 3], [0, 1, -1]], np.int64))
    np.save(tmp_path / "DX.npy", np.array([1, 2, 3], np.int64))
    np.save(tmp_path / "LX.npy", bf16((1, 2, 5, 5)))
    np.save(tmp_path / "LW.npy", bf16((3, 2, 3, 3)))
    np.save(tmp_path / "LXF.npy", bf16((2, 7)))
    np.save(tmp_path / "LWF.npy", bf16((4, 7)))
    (tmp_path / "forged.npy").write_bytes(_npy_header("<f8", (10**12,)) + bytes(64))   # 10^12 elements claimed
    (tmp_path / "short.npy").write_bytes(_npy_header("<f4", (100,)) + bytes(40))        # 100 claimed, 10 there
    np.save(tmp_path / "obj.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    (tmp_path / "text.npy").write_text("1 2 3\n")
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    big = json.loads(json.dumps(TINY))
    big["layers"][0]["in_h"] = 10**12
    (tmp_path / "big.json").write_text(json.dumps(big))
    nochain = json.loads(json.dumps(TINY))
    nochain["layers"][1]["in_c"] = 5
    (tmp_path / "nochain.json").write_text(json.dumps(nochain))
    (tmp_path / "nan.json").write_text(json.dumps(TINY).replace('"out_c": 4', '"out_c": NaN', 1))
    (tmp_path / "random.json").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "rec_corrupt.jsonl").write_text('{"block": "bf16_mul", "ftz": false, "shard": 3, "vec\n')
    (tmp_path / "rec_missing.jsonl").write_text('{"block": "bf16_mul", "ftz": false, "shard": 3}\n')
    (tmp_path / "rec_shard.jsonl").write_text('{"block": "bf16_mul", "ftz": false, "shard": 300, '
                                              '"vectors": 16777216, "seconds": 9.0}\n')
    (tmp_path / "folder").mkdir()
    os.link(tmp_path / "V.npy", tmp_path / "V_hardlink.npy")
    os.symlink(tmp_path / "W.npy", tmp_path / "W_symlink.npy")
    return tmp_path


PIM = ["pim", "fp32", "add", "--a", "{d}/A.npy", "--b", "{d}/B.npy"]
AIMC = ["aimc", "irdrop", "--g", "{d}/G.npy", "--v", "{d}/V.npy"]
BCNN = ["bcnn", "matmul", "--x", "{d}/X.npy", "--w", "{d}/W.npy"]
DIMA = ["dima", "matvec", "--w", "{d}/DW.npy", "--x", "{d}/DX.npy", "--bw", "4", "--ba", "2"]
# layer and report cases carry options that keep a regression (a check gone) short: the Amaranth simulator on a
# 2 x 1-PE array instead of a Verilator build, one quick report section instead of all of them
LAYER = ["layer", "conv", "--ifmap", "{d}/LX.npy", "--weights", "{d}/LW.npy", "--backend", "amaranth",
         "--array", "2x3"]
LAYER_FC = ["layer", "fc", "--ifmap", "{d}/LXF.npy", "--weights", "{d}/LWF.npy", "--backend", "amaranth",
            "--array", "2x3"]
REPORT = ["report", "--only", "stt-delta", "--quick", "--no-progress"]
DELTA = ["delta", "--retention", "3s", "--ber", "1e-8"]
NETWORK = ["network", "run", "--model", "digits_cnn"]

#: (id, argv, names the one line must contain, extra environment)
CASES = [
    # (1) output path: an unwritable (pseudo-filesystem) folder, a missing folder, a folder, a device -- refused
    # before any work, naming --out
    ("pim-out-proc", PIM + ["--out", "/proc/C.npy"], "--out", None),
    ("aimc-out-proc", AIMC + ["--r-wire", "1", "--out", "/proc/I.npy"], "--out", None),
    ("bcnn-out-proc", BCNN + ["--out", "/proc/Y.npy"], "--out", None),
    ("dima-out-proc", DIMA + ["--out", "/proc/Y.npy"], "--out", None),
    ("layer-out-proc", LAYER + ["--out", "/proc/Y.npy"], "--out", None),
    ("sweep-out-proc", ["sweep", "dse", "--serial", "--out", "/proc/s.json"], "--out", None),
    ("dima-out-no-folder", DIMA + ["--out", "{d}/nowhere/Y.npy"], "--out", None),
    ("aimc-out-is-folder", AIMC + ["--r-wire", "1", "--out", "{d}/folder"], "--out", None),
    ("pim-out-device", PIM + ["--out", "/dev/null"], "--out", None),
    ("report-out-is-file", REPORT + ["--out", "{d}/tiny.json"], "--out", None),
    ("report-out-proc", REPORT + ["--out", "/proc/report"], "--out", None),
    # (2) --out equal to an input (same path, hard link, symbolic link): the input would be overwritten
    ("pim-out-is-a", PIM + ["--out", "{d}/A.npy"], ["--out", "--a"], None),
    ("aimc-out-is-g", AIMC + ["--r-wire", "1", "--out", "{d}/G.npy"], ["--out", "--g"], None),
    ("aimc-out-hardlink-v", AIMC + ["--r-wire", "1", "--out", "{d}/V_hardlink.npy"], ["--out", "--v"], None),
    ("bcnn-out-is-x", BCNN + ["--out", "{d}/X.npy"], ["--out", "--x"], None),
    ("bcnn-out-symlink-w", BCNN + ["--out", "{d}/W_symlink.npy"], ["--out", "--w"], None),
    ("dima-out-is-w", DIMA + ["--out", "{d}/DW.npy"], ["--out", "--w"], None),
    ("layer-out-is-ifmap", LAYER + ["--out", "{d}/LX.npy"], ["--out", "--ifmap"], None),
    # (3) forged or hostile .npy: checked against the file size and the element limit before allocating
    ("aimc-forged-g", ["aimc", "irdrop", "--g", "{d}/forged.npy", "--v", "{d}/V.npy", "--r-wire", "1",
                       "--out", "{d}/I.npy"], ["--g", "forged.npy", "2^27"], None),
    ("bcnn-forged-x", ["bcnn", "matmul", "--x", "{d}/forged.npy", "--w", "{d}/W.npy", "--out", "{d}/Y.npy"],
     ["--x", "forged.npy"], None),
    ("dima-forged-w", ["dima", "matvec", "--w", "{d}/forged.npy", "--x", "{d}/DX.npy", "--bw", "4", "--ba", "2",
                       "--out", "{d}/Y.npy"], ["--w", "forged.npy"], None),
    ("layer-forged-ifmap", ["layer", "conv", "--ifmap", "{d}/forged.npy", "--weights", "{d}/LW.npy",
                            "--backend", "amaranth", "--out", "{d}/Y.npy"], ["--ifmap", "forged.npy"], None),
    ("pim-forged-b", ["pim", "fp32", "mul", "--a", "{d}/A.npy", "--b", "{d}/forged.npy", "--out", "{d}/C.npy"],
     ["--b", "forged.npy"], None),
    ("layer-short-weights", ["layer", "conv", "--ifmap", "{d}/LX.npy", "--weights", "{d}/short.npy",
                             "--backend", "amaranth", "--out", "{d}/Y.npy"],
     ["--weights", "short.npy", "400 bytes", "40 bytes"], None),
    ("aimc-object-v", ["aimc", "irdrop", "--g", "{d}/G.npy", "--v", "{d}/obj.npy", "--r-wire", "1",
                       "--out", "{d}/I.npy"], ["--v", "obj.npy", "object"], None),
    ("bcnn-text-w", ["bcnn", "matmul", "--x", "{d}/X.npy", "--w", "{d}/text.npy", "--out", "{d}/Y.npy"],
     ["--w", "text.npy"], None),
    ("aimc-folder-g", ["aimc", "irdrop", "--g", "{d}/folder", "--v", "{d}/V.npy", "--r-wire", "1",
                       "--out", "{d}/I.npy"], ["--g", "folder"], None),
    # (4) numbers: every option and every number read from a file has an upper bound
    ("glb-batch-1e15", ["glb", "vgg16", "--batch", str(10**15)], ["--batch", "65536"], None),
    ("glb-batch-1e30", ["glb", "vgg16", "--batch", str(10**30)], ["--batch", "65536"], None),
    ("retention-batch-1e30", ["retention", "vgg16", "--batch", str(10**30)], ["--batch", "65536"], None),
    ("retention-shapes-1e12", ["retention", "--shapes", "{d}/big.json"], ["--shapes", "big.json", "in_h", "65536"],
     None),
    ("glb-shapes-1e12", ["glb", "--shapes", "{d}/big.json"], ["--shapes", "in_h"], None),
    ("retention-cycles", ["retention", "vgg16", "--cycles", str(10**12)], "--cycles", None),
    ("retention-array", ["retention", "vgg16", "--array", "100000x42"], "--array", None),
    ("retention-clock", ["retention", "vgg16", "--clock", "1e30GHz"], "--clock", None),
    ("retention-t-pool", ["retention", "vgg16", "--t-pool-relu", "1e300y"], "--t-pool-relu", None),
    ("aimc-r-wire-1e308", AIMC + ["--r-wire", "1e308", "--out", "{d}/I.npy"], ["--r-wire", "1000000"], None),
    ("aimc-r-wire-1e50", AIMC + ["--r-wire", "1e50", "--out", "{d}/I.npy"], "--r-wire", None),
    ("delta-retention-1e300y", DELTA[:1] + ["1e300y"] + DELTA[2:], "--retention", None),
    ("delta-t-hot", DELTA + ["--t-hot", "5000K"], ["--t-hot", "1000"], None),
    ("report-seed-negative", REPORT + ["--seed=-1", "--out", "{d}/new_report"], "--seed", None),
    ("report-seed-huge", REPORT + ["--seed", str(2**40), "--out", "{d}/new_report"], "--seed", None),
    ("layer-fc-read-latency-0", LAYER_FC + ["--glb-read-latency", "0", "--out", "{d}/Y.npy"],
     "--glb-read-latency", None),
    ("layer-seed-huge", LAYER + ["--seed", str(10**30), "--out", "{d}/Y.npy"], "--seed", None),
    ("layer-fc-glb-ready-0", LAYER_FC + ["--glb-ready", "0", "--out", "{d}/Y.npy"], ["--glb-ready", "(0, 1]"],
     None),
    ("network-glb-ready-1.5", NETWORK + ["--glb-ready", "1.5"], ["--glb-ready", "(0, 1]"], None),
    ("network-images-0", NETWORK + ["--images", "0"], ["--images", "1"], None),
    ("network-images-541", NETWORK + ["--images", "541"], ["--images", "540"], None),
    ("network-array-2x7", NETWORK + ["--array", "2x7"], "--array", None),
    ("network-ultra-one", NETWORK + ["--ultra", "30"], "--ultra", None),
    ("network-batch-0", NETWORK + ["--batch", "0"], "--batch", None),
    ("sweep-seeds", ["sweep", "dse", "--serial", "--seeds", str(10**6)], "--seeds", None),
    ("sweep-seed", ["sweep", "dse", "--serial", "--seed", str(10**30)], "--seed", None),
    ("exhaustive-lanes", ["exhaustive", "bf16_mul", "--lanes", "4096", "--serial"], "--lanes", None),
    ("exhaustive-seed", ["exhaustive", "bf16_mul", "--fraction", "1/16", "--seed", "-3", "--serial"], "--seed",
     None),
    ("delta-write-ratio-1e300", DELTA + ["--write-ratio", "1e300"], "--write-ratio", None),
    ("bcnn-seed-1e30", BCNN + ["--seed", str(10**30), "--out", "{d}/Y.npy"], "--seed", None),
    # (5) files of the wrong kind: errors name the option, the file and the field
    ("retention-shapes-random-bytes", ["retention", "--shapes", "{d}/random.json"], ["--shapes", "random.json"],
     None),
    ("glb-shapes-no-chain", ["glb", "--shapes", "{d}/nochain.json"], ["--shapes", "layers[1]", "in_c"], None),
    ("glb-shapes-nan", ["glb", "--shapes", "{d}/nan.json"], ["--shapes", "layers[0]", "out_c"], None),
    ("retention-shapes-folder", ["retention", "--shapes", "{d}/folder"], ["--shapes", "folder"], None),
    ("exhaustive-record-corrupt", ["exhaustive", "bf16_mul", "--shards", "0", "--serial",
                                   "--record", "{d}/rec_corrupt.jsonl"], ["--record", "rec_corrupt.jsonl", "line 1"],
     None),
    ("exhaustive-record-missing-key", ["exhaustive", "bf16_mul", "--shards", "0", "--serial",
                                       "--record", "{d}/rec_missing.jsonl"], ["--record", "line 1", "'vectors'"],
     None),
    ("exhaustive-record-bad-shard", ["exhaustive", "bf16_mul", "--shards", "0", "--serial",
                                     "--record", "{d}/rec_shard.jsonl"], ["--record", "'shard'", "255"], None),
    ("exhaustive-record-folder", ["exhaustive", "bf16_mul", "--shards", "0", "--serial", "--record", "{d}/folder"],
     ["--record", "folder"], None),
    ("verilog-unknown-block", ["verilog", "no_such_block"], ["no_such_block", "bitcounter"], None),
    # (6) scale-out: an unreachable scheduler fails within seconds, naming where its address came from
    ("sweep-scheduler-refused", ["sweep", "dse", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler", None),
    ("sweep-env-scheduler-bogus", ["sweep", "dse"], "MRAM_DASK_SCHEDULER", {"MRAM_DASK_SCHEDULER": "bogus"}),
    ("exhaustive-scheduler-refused", ["exhaustive", "bf16_mul", "--shards", "0", "--record", "{d}/r.jsonl",
                                      "--scheduler", "tcp://127.0.0.1:1"], "--scheduler", None),
    # (7) warnings: a value whose equation overflows gives its one error line, no RuntimeWarning before it
    ("delta-overflow-no-warning", ["delta", "--retention", "1e6y", "--ber", "1e-300", "--tau", "1ps"],
     "--retention", None),
    # (8) silent surprises
    ("report-only-no-key", ["report", "--quick", "--out", "{d}/new_report", "--only"], "--only", None),
]


@pytest.mark.parametrize("case_id,argv,names,env", [c if hasattr(c, "marks") else pytest.param(*c, id=c[0])
                                                     for c in CASES])
def test_bad_input_is_refused_cleanly(d, case_id, argv, names, env):
    before = snapshot(d)
    t0 = time.perf_counter()
    proc = run_cli([a.format(d=d) for a in argv], env=env)
    assert_refused(proc, names, d, before)
    if "scheduler" in case_id:
        assert time.perf_counter() - t0 < 20, "an unreachable scheduler must fail within a few seconds"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_refused(d):
    ro = d / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        before = snapshot(d)
        assert_refused(run_cli(AIMC[:2] + ["--g", f"{d}/G.npy", "--v", f"{d}/V.npy", "--r-wire", "1",
                                           "--out", f"{ro}/I.npy"]), "--out", d, before)
    finally:
        ro.chmod(0o755)


def _broken_pipe(argv) -> tuple[int, str]:
    """Run a command whose reader goes away at once (``... | head -0``); its exit status and stderr."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.Popen([sys.executable, "-m", "scripts.cli", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, env=env, stdin=subprocess.DEVNULL)
    proc.stdout.close()                               # before the command, still importing, prints anything
    err = proc.stderr.read()
    return proc.wait(timeout=120), err


@pytest.mark.parametrize("argv", [["retention", "vgg16", "--json"], DELTA + ["--json"], DIMA + ["--json"]],
                         ids=["retention", "delta", "dima"])
def test_a_closed_pipe_ends_the_command_quietly(d, argv):
    argv = [a.format(d=d) for a in argv] + (["--out", str(d / "Y.npy")] if argv[0] == "dima" else [])
    code, err = _broken_pipe(argv)
    assert (code, err) == (0, ""), err
    if argv[0] == "dima":                             # the work was done: its output is there
        assert np.array_equal(np.load(d / "Y.npy"), np.load(d / "DW.npy") @ np.load(d / "DX.npy"))


def test_the_checker_fails_on_a_command_that_misbehaves(tmp_path):
    """The assertion helper itself: a traceback, two lines, text on stdout, a written file each fail it."""
    def py(code):
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    before = snapshot(tmp_path)
    traced = py("raise ValueError('--out: bad')")                       # exit 1 with a traceback naming --out
    assert "Traceback" in traced.stderr
    two = py("import sys; print('--out: first', file=sys.stderr); print('second', file=sys.stderr); sys.exit(2)")
    chatty = py("import sys; print('progress'); print('--out: bad', file=sys.stderr); sys.exit(2)")
    writes = py(f"import sys; open({str(tmp_path / 'x.npy')!r}, 'w').write('x'); "
                f"print('--out: bad', file=sys.stderr); sys.exit(2)")
    clean = py("import sys; print('mram-accel x: error: --out: bad', file=sys.stderr); sys.exit(2)")
    for proc, folder_state in ((traced, before), (two, before), (chatty, before)):
        with pytest.raises(AssertionError):
            assert_refused(proc, "--out", tmp_path, folder_state)
    with pytest.raises(AssertionError, match="files were written"):
        assert_refused(writes, "--out", tmp_path, before)
    (tmp_path / "x.npy").unlink()
    with pytest.raises(AssertionError):
        assert_refused(clean, "--scheduler", tmp_path, before)       # the line must name the option
    assert_refused(clean, "--out", tmp_path, before)                  # and a clean refusal passes


@pytest.mark.parametrize("argv", [
    pytest.param(DIMA + ["--seed", "7", "--json"], id="dima"),
    pytest.param(DELTA + ["--json"], id="delta"),
    pytest.param(BCNN + ["--seed", "3", "--json"], id="bcnn"),
])
def test_sigma_is_a_fraction_or_a_percentage_in_every_command(d, capsys, argv):
    """(8) ``--sigma 5%`` and ``--sigma 0.05`` are the same value for every command that takes a sigma."""
    from scripts.cli import main

    results = []
    for k, sigma in enumerate(("5%", "0.05")):
        out = ["--out", str(d / f"Y{k}.npy")] if argv[0] != "delta" else []
        assert main([a.format(d=d) for a in argv] + ["--sigma", sigma] + out) == 0, capsys.readouterr().err
        results.append(json.loads(capsys.readouterr().out))
    assert results[0] == {**results[1], **({"out": results[0]["out"]} if "out" in results[0] else {})}
    assert 0.05 in (results[0].get("sigma"), results[0].get("guard_band", {}).get("sigma_rel"))
    if argv[0] != "delta":
        assert np.array_equal(np.load(d / "Y0.npy"), np.load(d / "Y1.npy"))
