"""Report experiment ``verification``: how fast and how completely the RTL is verified.

Presents (does not run) the exhaustive records of the BF16 multiplier and of the FP32 adder over every pair of
bfloat16-representable values (``mram-accel exhaustive``, :mod:`scripts.rtl.exhaustive`: the shards done, the worker
time and the wall time of the run, pairs per second, the projected full run) and the packed-lane throughput benchmark
(``python scripts/bench/packed.py``: cocotb against a plain C++ harness on the same design). Each comes from this
checkout's ``build/`` when it has been run here, else from the copy of this project's own run committed under
``scripts/data/`` (date and machine shown). The coverage table comes from ``pytest tb/ --rtl-coverage``'s
``build/coverage/summary.json`` (:mod:`scripts.toolchain.coverage`), else ``scripts/data/coverage/summary.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from scripts.rtl.exhaustive import PAIRS_PER_SHARD, SHARDS, Record
from scripts.report.lib import Comparison, Section, Table, experiment
from scripts.toolchain.paths import BUILD, REPO

DATA = Path(__file__).resolve().parents[2] / "data"


def _record(block: str, ftz: bool) -> tuple[dict, str]:
    name = f"{block}{'_ftz' if ftz else ''}.jsonl"
    for path in (BUILD / "exhaustive" / name, DATA / "exhaustive" / name):
        done = Record(path).done(block, ftz)
        if done:
            return done, str(path.relative_to(REPO))
    return {}, "none"


#: The exhaustive runs shown: (block, ftz, what it checks).
RUNS = (("bf16_mul", False, "BF16 multiplier"), ("bf16_mul", True, "BF16 multiplier (ftz)"),
        ("fp32_add", False, "FP32 adder, bfloat16-representable pairs"),
        ("fp32_add", True, "FP32 adder, bfloat16-representable pairs (ftz)"))


def _wall_seconds(done: dict) -> float | None:
    """Wall time of the run: from the first completion minus its own task time to the last completion (records
    written on one day by one run; ``None`` without timestamps)."""
    import datetime
    stamps = []
    for r in done.values():
        try:
            stamps.append((datetime.datetime.strptime(r["when"], "%Y-%m-%d %H:%M:%S"), r["seconds"]))
        except (KeyError, TypeError, ValueError):
            return None
    if not stamps:
        return None
    first = min(stamps)
    return (max(t for t, _ in stamps) - first[0]).total_seconds() + first[1]


def _pct(c: dict) -> float | None:
    return 100 * c["covered"] / c["total"] if c["total"] else None


def coverage_table() -> Table | None:
    """Per block: Verilator line and toggle coverage, functional bins, what is not covered (None: no summary)."""
    from scripts.toolchain.coverage import uncovered_digest

    for path in (BUILD / "coverage" / "summary.json", DATA / "coverage" / "summary.json"):
        if path.exists():
            summary = json.loads(path.read_text())
            break
    else:
        return None
    from scripts.blocks import BLOCKS

    rows = []
    for block in BLOCKS:
        b = summary["blocks"].get(block, {"line": {"total": 0}})
        f = b.get("functional")
        if not b["line"]["total"] and not f:
            rows.append([block, "-", None, None, None, "-", "not run under --rtl-coverage (see its verified_by tests)"])
            continue
        builds = ", ".join(x.removeprefix(block + "_").removesuffix("_cov") for x in b["builds"]) or "-"
        explained = sum(1 for u in b["uncovered_lines"] if u["why"])
        rest = {"covered": b["line"]["covered"], "total": b["line"]["total"] - explained}
        rows.append([block, builds, _pct(b["line"]), _pct(rest), _pct(b["toggle"]),
                     f"{f['hit']} / {f['bins']}" if f else "-", uncovered_digest(b)])
    where = path.relative_to(REPO)
    return Table(["block", "builds (configurations)", "line %", "line % without explained points", "toggle %",
                  "functional bins hit", "not covered"],
                 rows, caption=f"Coverage of the co-simulation runs ({where}; regenerate: pytest tb/test_cosim.py "
                               "--rtl-coverage -n 1, then copy build/coverage/summary.json to scripts/data/coverage/). "
                               "Line = Verilator line and branch points, toggle = one point per bit and direction, "
                               "counted over every build of the block (packed lanes: every lane's copy); bf16_mul and "
                               "fp32_add are measured as the units inside the MAC and the PE")


@experiment("verification", "Verification throughput: packed lanes, exhaustive BF16 multiplier and FP32 adder, Dask",
            order=95)
def verification(ctx) -> Section:
    rows, comparisons = [], []
    for block, ftz, what in RUNS:
        done, where = _record(block, ftz)
        if block == "fp32_add" and ftz and not done:
            continue
        # median: the first tasks of a run also waited for the Verilator build
        per = float(np.median([r["seconds"] for r in done.values()])) if done else None
        hosts = sorted({r["host"] for r in done.values()})
        total = sum(r["seconds"] for r in done.values())
        wall = _wall_seconds(done) if done else None
        rows.append([f"{block}{' ftz' if ftz else ''}", f"{len(done)} / {SHARDS}", len(done) * PAIRS_PER_SHARD,
                     "all pass" if done else "not run", per, total / 60, per * SHARDS / 60 if per else None,
                     wall / 60 if wall else None, len(done) * PAIRS_PER_SHARD / wall if wall else None,
                     ", ".join(hosts) or "-", where])
        comparisons.append(Comparison(
            f"{what}: operand pairs checked bit-exactly", 1 << 32,
            len(done) * PAIRS_PER_SHARD, "pairs",
            "every pair of every shard done passes (a mismatch stops the run); " +
            (f"all 2^32, {total / 60:.0f} worker-minutes ({per:.1f} s per shard of 2^24 pairs, "
             f"{PAIRS_PER_SHARD / per / 1e6:.1f} M pairs/s per worker, 256 packed lanes)" if len(done) == SHARDS else
             f"{len(done)} of {SHARDS} shards (pytest -m exhaustive starts with a seeded sixteenth): the full run "
             f"projects to {per * SHARDS / 60:.0f} worker-minutes, limited by the cocotb cycle loop (benchmark "
             "below)" if done else
             f"not run yet: mram-accel exhaustive {block}" + (" --ftz" if ftz else ""))))
    ex_table = Table(["run", "shards done", "pairs", "result", "median s per shard (one worker)",
                      "worker-minutes spent", "full run (worker-minutes, from the median)", "wall minutes",
                      "pairs per second (wall)", "hosts", "record"], rows,
                     caption="Exhaustive runs (shard = first operand's high byte, 2^24 pairs; mram-accel exhaustive "
                             "bf16_mul|fp32_add [--ftz] on a Dask LocalCluster of this machine's 2 cores; the wall "
                             "time includes the Verilator build and whatever else ran on the machine)")
    tables = [ex_table]
    bench = None
    for path in (BUILD / "bench" / "packed.json", DATA / "bench_packed.json"):
        if path.exists():
            bench, bench_path = json.loads(path.read_text()), path
            break
    if bench:
        brow = []
        for key, b in bench["blocks"].items():
            block = b["block"]
            best_io = max(b["cocotb_per_s"], key=b["cocotb_per_s"].get)
            comparisons.append(Comparison(f"{block}, {b['lanes']} lanes: C++ harness / cocotb {b['unit']} per second "
                                          "(goal)", b["goal"], b["best_ratio"], "x",
                                          f"io={best_io}; build + start-up {b['build_and_startup_s']:.0f} s; "
                                          + ("goal met" if b["met"] else
                                             "goal missed: per cycle the model takes "
                                             f"{b['us_per_cycle']['model']:.1f} us, cocotb's scheduling and the VPI "
                                             f"transfers {b['us_per_cycle']['cocotb_vpi']:.1f} us, numpy "
                                             f"{b['us_per_cycle']['numpy']:.1f} us")))
            brow.append([block, b["lanes"], b["unit"], b["cpp_per_s"], *(b["cocotb_per_s"].get(io) for io in ("vpi", "cocotb")),
                         b["best_ratio"], b["us_per_cycle"]["model"], b["us_per_cycle"]["cocotb_vpi"],
                         b["us_per_cycle"]["numpy"]])
        tables.append(Table(["block", "lanes", "unit", "C++ /s", "cocotb io=vpi /s", "cocotb io=cocotb /s", "C++ / cocotb",
                             "us/cycle model", "us/cycle cocotb+VPI", "us/cycle numpy"], brow,
                            caption=f"python scripts/bench/packed.py --lanes {' '.join(map(str, bench['lanes']))}, "
                                    f"{bench['when']}, "
                                    f"{bench['cpus']} cores ({bench_path.name})"))
    cov = coverage_table()
    if cov is not None:
        tables.append(cov)
    text = ("Packed lanes put L unmodified copies of a block behind one wide input and one wide output port, so a "
            "cocotb cycle costs one write and one read (scripts/sim/packed.py); the default suite verifies 10^6 "
            "MAC and 10^6 PE vectors that way. Sweeps and the exhaustive shards run as Dask tasks "
            "(mram-accel sweep / exhaustive, --scheduler ADDRESS for a cluster).")
    return Section(source="issue: verification throughput near the Verilator limit", comparisons=comparisons,
                   tables=tables, text=text)
