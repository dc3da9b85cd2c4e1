"""Benchmark (issue item 8): the digits CNN on the RTL accelerator, simulated cycles per second and where the time goes.

Runs :func:`scripts.rtl.network.run_network` (cocotb under Verilator: the :class:`scripts.sim.network.Host` and the
global-buffer :class:`~scripts.sim.contract.MemoryResponder` in Python, every cycle) and reports, all measured in
this run: the build check (a cached build: what every later run pays; ``--cold`` times a build from an empty
folder), the whole command, the simulator launch, the simulation loop (simulated cycles per second, images per
second), the golden, and where the loop's time goes: a cProfile of the simulator's Python (cocotb's
``COCOTB_ENABLE_PROFILING``), split into the Verilator model's evaluation (cocotb's scheduler waiting on the
simulator), the agents (host, responder), the global-buffer model's error draws and the signal accesses. Nothing is
asserted on time. Usage::

    python -m scripts.bench.network [--images 4] [--rows 2] [--cols 2] [--delta D] [--no-profile] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from scripts.bench.timing import profile_cocotb
from scripts.common.options import check_ranges

__all__ = ["main", "RANGES", "CATEGORIES"]

RANGES = {"images": (1, 540), "rows": (1, 16), "cols": (1, 16)}
#: Profile rows by file: where a simulated cycle's Python time goes.
CATEGORIES = (("global-buffer model (errors, records)", ("glb.py", "memory.py")),
              ("agents (host, responder)", ("network.py", "contract.py")),
              ("cocotb signal access and scheduling", ("cocotb_backend.py", "handle.py", "_scheduler.py",
                                                       "triggers.py", "_outcomes.py", "task.py", "_logic.py",
                                                       "_logic_array.py", "_range.py", "~")))


def _split(profile: dict) -> dict:
    out = {name: 0.0 for name, _ in CATEGORIES}
    out["other"] = 0.0
    for row in profile.get("all", []):
        file = row["function"].split(":")[0]
        for name, files in CATEGORIES:
            if file in files:
                out[name] += row["own_seconds"]
                break
        else:
            out["other"] += row["own_seconds"]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.network", description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=4, help="test images, 1..540 (default 4)")
    p.add_argument("--rows", type=int, default=2, help="PE rows, 1..16 (default 2)")
    p.add_argument("--cols", type=int, default=2, help="PE columns, 1..16 (default 2)")
    p.add_argument("--delta", type=float, help="thermal stability of the buffer's cells (default: no errors)")
    p.add_argument("--no-profile", action="store_true", help="skip the profiled run")
    p.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = p.parse_args(argv)
    check_ranges(p, args, RANGES)
    if args.delta is not None and not 0 < args.delta <= 200:
        p.error(f"--delta must be in (0, 200], got {args.delta}")

    from scripts.rtl.network import run_network
    from scripts.sim.network import DEFAULT_BANK_BYTES
    from model.stt_ai import pe_array as pa

    kw = dict(images=args.images, rows=args.rows, cols=args.cols, delta=args.delta, batch=args.images)
    out = {"images": args.images, "array": f"{args.rows}x{args.cols} PEs"}
    t0 = time.perf_counter()
    res = run_network(**kw)
    out["command_seconds"] = time.perf_counter() - t0
    out["sim_seconds"] = res["sim_seconds"]
    out["sim_cycles"] = res["sim_cycles"]
    out["sim_cycles_per_second"] = res["sim_cycles_per_second"]
    out["images_per_second"] = args.images / res["sim_seconds"]
    out["outside_loop_seconds"] = out["command_seconds"] - res["sim_seconds"]
    out["mismatches"] = res["mismatches"]
    t0 = time.perf_counter()
    from model.stt_ai import network as net
    from scripts.rtl.network import test_images
    x, _ = test_images(args.images)
    plan = net.plan_network(net.digits_cnn_layers(), x.shape[1:], args.rows, args.cols,
                            pa.bank_words_for(DEFAULT_BANK_BYTES, args.cols))
    for xi in x:
        net.golden_network(plan, xi)
    out["golden_seconds"] = time.perf_counter() - t0
    if not args.no_profile:
        bank_words = pa.bank_words_for(DEFAULT_BANK_BYTES, args.cols)
        config = f"accelerator_{args.rows}x{args.cols}_b{bank_words}"
        prof_res, prof = profile_cocotb(lambda: run_network(**kw), config, top=10_000)
        if "error" not in prof:
            prof["all"] = prof.pop("top")
            split = _split(prof)
            split["Verilator model (outside Python)"] = max(0.0, prof_res["sim_seconds"] - prof["total_seconds"])
            out["profile_seconds"] = prof["total_seconds"]
            out["profiled_sim_seconds"] = prof_res["sim_seconds"]
            out["where_the_loop_goes"] = split
            out["profile_top"] = prof["all"][:10]
        else:
            out["profile_error"] = prof["error"]
    if args.json:
        print(json.dumps(out, indent=1))
        return 0 if out["mismatches"] == 0 else 1
    print(f"network benchmark: digits CNN, {args.images} images on {out['array']} (cocotb + Verilator)")
    print(f"  command {out['command_seconds']:.2f} s, simulation loop {out['sim_seconds']:.2f} s: "
          f"{out['sim_cycles_per_second']:.0f} simulated cycles/s, {out['images_per_second']:.2f} images/s")
    print(f"  outside the loop (build check, launch, golden, files) {out['outside_loop_seconds']:.2f} s; "
          f"numpy golden alone {out['golden_seconds']:.2f} s")
    if "where_the_loop_goes" in out:
        print(f"  where the (profiled) loop's {out['profiled_sim_seconds']:.2f} s go:")
        for name, sec in sorted(out["where_the_loop_goes"].items(), key=lambda kv: -kv[1]):
            print(f"    {sec:8.3f} s  {name}")
        print("  cProfile top 10 by own time:")
        for row in out["profile_top"]:
            print(f"    {row['own_seconds']:8.3f} s {row['calls']:9d} calls  {row['function']}")
    print(f"  logits bit-exact against the golden: {out['mismatches'] == 0}")
    return 0 if out["mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
