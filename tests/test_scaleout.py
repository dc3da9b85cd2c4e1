"""Scale-out on Dask (scripts/rtl/scaleout.py, mram-accel sweep / exhaustive): a sweep gives identical numbers
serially, on a LocalCluster and against a scheduler address; the exhaustive run's shards, record and resume."""

import json

import numpy as np
import pytest

from scripts.cli import main
from scripts.rtl import exhaustive as ex


def _json(argv, capsys):
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_sweep_on_a_local_cluster_equals_serial(capsys):
    d = _json(["sweep", "dse", "--workers", "2", "--check-serial", "--json"], capsys)
    assert d["mode"] == "dask" and d["identical_to_serial"] and d["digest"] == d["serial_digest"]


def test_sweeps_against_a_scheduler_address(capsys, monkeypatch):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        d = _json(["sweep", "bit-errors", "--seeds", "2", "--scheduler", cluster.scheduler_address,
                   "--check-serial", "--json"], capsys)
        assert d["mode"] == "scheduler" and d["identical_to_serial"]
        monkeypatch.setenv("MRAM_DASK_SCHEDULER", cluster.scheduler_address)
        d2 = _json(["sweep", "bcnn-variation", "--seeds", "2", "--check-serial", "--json"], capsys)
        assert d2["identical_to_serial"]
        assert len(d2["result"]["acc"]) == 2 and len(d2["result"]["acc"][0]) == 2


@pytest.mark.parametrize("argv,flag", [(["exhaustive", "bf16_mul", "--shards", "300"], "--shards"),
                                       (["exhaustive", "bf16_mul", "--fraction", "2"], "--fraction"),
                                       (["exhaustive", "bf16_mul", "--lanes", "3"], "--lanes"),
                                       (["exhaustive", "bf16_mul", "--shards", "1", "--fraction", "1/2"], "--shards"),
                                       (["sweep", "dse", "--seeds", "1"], "--seeds")])
def test_bad_flags_exit_2(argv, flag, capsys):
    assert main(argv) == 2
    assert flag in capsys.readouterr().err


def test_shards_cover_every_pair_once():
    assert ex.parse_shards("0-3,200,3") == [0, 1, 2, 3, 200]
    sample = ex.select_shards(1 / 16, 0)
    assert len(sample) == 16 and sample == ex.select_shards(1 / 16, 0) != ex.select_shards(1 / 16, 1)

    class Top:
        lanes, ftz = 256, False

    class Spec:
        name = "bf16_mul"

    seen = np.zeros(1 << 24, np.int64)
    for b in ex.mul_batches({"shards": [7], "batch_cycles": 4096}, Spec, Top):
        a, bb = b.inputs["a"].ravel(), b.inputs["b"].ravel()
        assert (a >> 8 == 7).all()
        np.add.at(seen, (a & 0xFF).astype(np.int64) << 16 | bb, 1)
        from model.fp_golden import ref_bf16_mul
        assert np.array_equal(b.expected["product"].ravel()[:1000],
                              ref_bf16_mul(a[:1000].astype(np.uint16), bb[:1000].astype(np.uint16)))
    assert (seen == 1).all()


def test_run_exhaustive_records_and_resumes(tmp_path, monkeypatch):
    calls = []

    def fake(block, shards, **kw):
        calls.append(list(shards))
        return {"shards": list(shards), "vectors": len(shards) << 24, "seconds": 1.0 * len(shards),
                "sim_seconds": 0.5, "host": "h", "io": "vpi"}

    monkeypatch.setattr(ex, "run_shards", fake)
    rec = ex.Record(tmp_path / "r.jsonl")
    s1 = ex.run_exhaustive("bf16_mul", [1, 2, 3], rec, per_task=2)
    assert calls == [[1, 2], [3]] and s1["ran"] == 3 and s1["done_total"] == 3
    s2 = ex.run_exhaustive("bf16_mul", [2, 3, 4], rec, per_task=2)
    assert calls[-1] == [4] and s2["skipped"] == 2 and s2["done_total"] == 4
    assert set(rec.done("bf16_mul", False)) == {1, 2, 3, 4} and rec.done("bf16_mul", True) == {}
    assert {r["io"] for r in rec.done("bf16_mul", False).values()} == {"vpi"}     # the path the task reported


# --- bad addresses, records and the sweep's table ---------------------------------------------------------------
def test_an_unreachable_scheduler_fails_fast_naming_its_source(monkeypatch):
    import socket
    import time

    from scripts.rtl import scaleout

    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"^--scheduler: cannot reach a Dask scheduler at 'tcp://127.0.0.1:1'"):
        scaleout.connect("tcp://127.0.0.1:1", "--scheduler", timeout_s=2)
    assert time.perf_counter() - t0 < 2.5
    monkeypatch.setenv("MRAM_DASK_SCHEDULER", "bogus")
    with pytest.raises(ValueError, match=r"^MRAM_DASK_SCHEDULER: .*'bogus'.*missing port"):
        with scaleout.mapper_for(None):
            pass
    with socket.socket() as silent:                         # something listens, but does not speak Dask
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match="no Dask answer within 1 s"):
            scaleout.connect(f"tcp://127.0.0.1:{silent.getsockname()[1]}", "--scheduler", timeout_s=1)
        assert time.perf_counter() - t0 < 4                 # the TCP probe, then at most 1 s for the answer


@pytest.mark.parametrize("line,match", [
    ('{"block": "bf16_mul", "ftz": false, "shard": 3', r"line 2 is not valid JSON"),
    ('{"block": "bf16_mul", "ftz": false, "shard": 3, "seconds": 1}', r"line 2: missing required field 'vectors'"),
    ('{"block": "bf16_mul", "ftz": 0, "shard": 3, "vectors": 1, "seconds": 1}', r"line 2: field 'ftz' must be true"),
    ('{"block": "bf16_mul", "ftz": false, "shard": 256, "vectors": 1, "seconds": 1}',
     r"line 2: field 'shard' must be an integer >= 0 and <= 255, got 256"),
    ('{"block": "fp16_mul", "ftz": false, "shard": 3, "vectors": 1, "seconds": 1}', r"line 2: field 'block' must be"),
    ('[1, 2]', r"line 2: top level must be"),
])
def test_a_bad_record_line_is_named(tmp_path, line, match):
    good = '{"block": "bf16_mul", "ftz": false, "shard": 1, "vectors": 16777216, "seconds": 9.5}'
    path = tmp_path / "r.jsonl"
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(ValueError, match=rf"^--record '{path}': {match}"):
        ex.Record(path, option="--record").done("bf16_mul", False)
    path.write_text(good + "\n")
    assert list(ex.Record(path).done("bf16_mul", False)) == [1]
    with pytest.raises(ValueError, match="is a folder"):
        ex.Record(tmp_path).done("bf16_mul", False)


def test_the_committed_records_follow_the_schema():
    from pathlib import Path

    data = Path(ex.__file__).resolve().parents[1] / "data" / "exhaustive"
    assert len(ex.Record(data / "bf16_mul.jsonl").done("bf16_mul", False)) == ex.SHARDS
    assert len(ex.Record(data / "bf16_mul_ftz.jsonl").done("bf16_mul", True)) == ex.SHARDS


def test_sweep_table_means_and_t_intervals():
    from scripts.cli.commands.scale import sweep_table

    lines = sweep_table("bcnn-variation", {"acc": [[0.5, 0.7], [0.2, 0.2]], "n": 3}).splitlines()
    # 2 seeds: mean 0.6, s = 0.1414, t_0.975,1 = 12.706 (t table): half-width 12.706 * 0.1414 / sqrt(2) = 1.2706
    row = lines[1].split()
    assert row[:4] == ["acc", "sigma", "0.08", "2"] and float(row[4]) == pytest.approx(0.6)
    lo, hi = (float(t.strip("[],")) for t in row[5:7])
    assert lo == pytest.approx(0.6 - 1.27062, abs=1e-4) and hi == pytest.approx(0.6 + 1.27062, abs=1e-4)
    assert lines[2].split()[:5] == ["acc", "sigma", "0.16", "2", "0.2"]        # zero spread: interval [0.2, 0.2]
    assert lines[3].split() == ["n", "1", "3", "-", "3", "3"]


def test_sweep_writes_its_json_with_out(tmp_path, capsys):
    import hashlib

    out = tmp_path / "s.json"
    assert main(["sweep", "dse", "--serial", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["sweep"] == "dse" and data["mode"] == "serial"
    assert data["digest"] == hashlib.sha256(json.dumps(data["result"], sort_keys=True).encode()).hexdigest()
    assert f"digest {data['digest'][:16]}" in text
    assert "retention_max_s vgg16 " in text and "95% interval of the mean" in text
    assert main(["sweep", "dse", "--serial", "--out", str(tmp_path / "s.txt")]) == 2
    assert "--out" in capsys.readouterr().err and not (tmp_path / "s.txt").exists()
