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
                "sim_seconds": 0.5, "host": "h"}

    monkeypatch.setattr(ex, "run_shards", fake)
    rec = ex.Record(tmp_path / "r.jsonl")
    s1 = ex.run_exhaustive("bf16_mul", [1, 2, 3], rec, per_task=2)
    assert calls == [[1, 2], [3]] and s1["ran"] == 3 and s1["done_total"] == 3
    s2 = ex.run_exhaustive("bf16_mul", [2, 3, 4], rec, per_task=2)
    assert calls[-1] == [4] and s2["skipped"] == 2 and s2["done_total"] == 4
    assert set(rec.done("bf16_mul", False)) == {1, 2, 3, 4} and rec.done("bf16_mul", True) == {}
