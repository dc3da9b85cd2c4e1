"""The pure helpers of the report experiment ``network`` (scripts/report/experiments/network.py), without Verilator:
the run list, the seed statistics, the consistency checks and the Table III rows on a hand-made traffic."""

from __future__ import annotations

import pytest

from model.stats import t_interval
from model.stt_ai import memory_cost as mc
from scripts.report.experiments import network as nx


def _result(key, seed, acc, flips, mismatches, images=4, golden=1.0, cycles=100.0):
    return {"task": {"key": key, "seed": seed}, "accuracy": acc, "golden_accuracy": golden, "bit_flips": flips,
            "mismatches": mismatches, "images": images, "cycles_per_image": cycles}


def test_errors_and_tasks():
    assert nx._errors(("clean", None, None)) == {}
    assert nx._errors(("ber", 1e-4, None)) == {"ber": 1e-4}
    assert nx._errors(("delta", 19.5, "1 s")) == {"delta": 19.5, "tau_s": 1.0}
    assert nx._errors(("ultra", (27.5, 17.5), "1 ns")) == {"ultra": (27.5, 17.5), "tau_s": 1e-9}
    keys = [("ber", 1e-4, None), ("delta", 20.0, "1 ns")]
    tasks = nx._tasks(nx.QUICK, keys, {keys[0]: 2, keys[1]: 1}, base_seed=7)
    assert [(t["key"], t["seed"]) for t in tasks] == [(keys[0], 7), (keys[0], 8), (keys[1], 7)]
    assert all(t["images"] == nx.QUICK.images and t["rows"] == nx.QUICK.rows for t in tasks)


def test_device_keys_cover_both_tau_and_ultra():
    keys = nx._device_keys(nx.FULL)
    assert ("delta", nx.D_GLB, "1 s") in keys and ("delta", nx.D_GLB, "1 ns") in keys
    assert ("ultra", (nx.D_GLB, nx.D_LSB), "1 s") in keys and ("ultra", (nx.D_GLB, nx.D_LSB), "1 ns") in keys
    assert len(keys) == len(set(keys))


def test_mean_hw_uses_the_t_interval():
    m, h = nx._mean_hw([90.0, 95.0, 100.0])
    mean, lo, hi = t_interval([90.0, 95.0, 100.0])
    assert (m, h) == pytest.approx((mean, hi - mean))
    assert nx._mean_hw([80.0]) == (80.0, None)
    assert nx._pm(80.0, None) == "80.0 (1 seed)"
    assert nx._pm(80.0, 1.25, 2) == "80.00 ± 1.25"


def test_summaries_and_checks():
    k = ("ultra", (27.5, 17.5), "1 ns")
    rs = [_result(k, 0, 0.75, {"robust": 0, "relaxed": 8, "total": 8}, 2),
          _result(k, 1, 1.0, {"robust": 4, "relaxed": 0, "total": 4}, 1)]
    s = nx._summaries(rs, 100.0)[k]
    assert s["seeds"] == 2
    assert s["acc"][0] == pytest.approx(87.5)
    assert s["loss"][0] == pytest.approx(12.5)
    assert s["flips"] == pytest.approx(1.5)             # (8 + 4) / 4 images / 2 runs
    assert s["banks"] == pytest.approx({"robust": 0.5, "relaxed": 1.0})
    clean = _result(("clean", None, None), 0, 1.0, 0, 0)
    nx._check(clean, rs)
    with pytest.raises(RuntimeError, match="no error injected"):
        nx._check({**clean, "mismatches": 1}, rs)
    with pytest.raises(RuntimeError, match="no flip drawn"):
        nx._check(clean, [_result(("delta", 27.5, "1 s"), 0, 1.0, 0, 1)])
    nx._check(clean, [_result(("ber", 1e-3, None), 0, 0.5, 0, 3)])   # a flat BER counts no cell flips


def test_table3_rows_are_valid_headlines_and_energy_table_has_every_delta():
    traffic = {"bits_read": 1_000_000, "bits_written": 100_000, "cycles": 5000, "layers": {}}
    rows, table = nx._table3_comparisons(traffic)
    heads = [c for c in rows if c.headline]
    assert len(heads) == 4
    assert [c.paper for c in heads] == pytest.approx([75.0, 3.0, 75.4, 3.5])
    want = mc.table3(1_000_000, 100_000, 5000)
    assert heads[0].ours == pytest.approx(100 * want["stt_ai"]["saving"]["area"])
    assert heads[3].ours == pytest.approx(100 * want["stt_ai_ultra"]["saving"]["power"])
    assert len(table.rows) == 3
    energy, runs = nx._energy(traffic, [15.0, 27.5], [(27.5, 17.5)])
    assert [r[1] for r in energy.rows] == ["—", 15.0, 27.5, "27.5 / 17.5"]
    assert energy.rows[0][-1] == 1                      # the SRAM baseline against itself
    assert runs[("mram", 27.5)]["stt_ai"]["energy"]["total_j"] == pytest.approx(want["stt_ai"]["energy"]["total_j"])
