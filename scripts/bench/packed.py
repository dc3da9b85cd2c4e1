"""Benchmark: vectors verified per second through cocotb in packed lanes, against a plain C++ harness on the same
design, in one run.

For each block (``bf16_mac``, ``reconfigurable_pe``: vectors; ``bitcounter``: rows), the same packed design
(:class:`scripts.sim.packed.PackedLanes`, ``L`` lanes, C++ at ``-O1``):

* **cocotb**: ``tb/cocotb_packed.py`` through :func:`scripts.rtl.cosim.packed_cosim`: seeded stimulus, packing, the
  numpy golden and the in-order, per-lane, per-cycle check all in the measured time; the port words move as VPI
  vector values (``io=vpi``) and, for comparison, as Python ints through cocotb's handles (``io=cocotb``);
* **C++ harness**: a ``main`` that clocks the same Verilated model with the same kind of stimulus (made by the
  same generator in this process and written to a file) and compares every ``dout`` word with the expected one
  (also precomputed: the golden's time is NOT in the C++ rate, which makes the ratio conservative).

Printed: rates, the ratio C++ / cocotb against the goals (3x for the MAC and the PE, 5x for the bitcounter), and
where the cocotb time goes per cycle: the Verilator model (the C++ harness' time per cycle), cocotb's scheduling
and the VPI transfers (the rest of the cycle loop), the numpy work (stimulus, golden, packing, checking), plus a
cProfile of the cycle loop. Build and start-up times are printed apart (not in the rates). Usage::

    python scripts/bench/packed.py [--blocks bf16_mac reconfigurable_pe bitcounter] [--lanes 64] [--vectors 2000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from scripts.blocks import BLOCKS
from scripts.common.options import check_ranges
from scripts.rtl.cosim import packed_cosim, packed_dut, packed_key, packed_name
from scripts.sim.packed_run import random_batches
from scripts.toolchain.paths import BUILD
from scripts.toolchain.verilator import build_cpp_harness

GOALS = {"bf16_mac": 3.0, "reconfigurable_pe": 3.0, "bitcounter": 5.0}
CONFIGS = {"bitcounter": {"width": 256, "max_rows": 1024}}

CPP = r"""
#include "Vtop.h"
#include "verilated.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

static std::vector<uint32_t> slurp(const char* path) {
    FILE* f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    std::vector<uint32_t> v(n / 4);
    if (fread(v.data(), 4, v.size(), f) != v.size()) { perror(path); exit(2); }
    fclose(f);
    return v;
}

int main(int argc, char** argv) {
    const int NIN = %(nin)d, NOUT = %(nout)d, VWORD = %(vword)d, VBIT = %(vbit)d;
    std::vector<uint32_t> din = slurp(argv[1]), dout = slurp(argv[2]);
    const uint64_t cycles = din.size() / NIN;
    VerilatedContext ctx;
    Vtop top{&ctx};
    top.clk = 0; top.rst = 1; top.eval();
    for (int i = 0; i < 2; i++) { top.clk = 1; top.eval(); top.clk = 0; top.eval(); }
    top.rst = 0;
    uint64_t errors = 0, first_error = ~0ull;
    auto t0 = std::chrono::steady_clock::now();
    for (uint64_t t = 0; t < cycles; t++) {
        for (int k = 0; k < NIN; k++) top.din[k] = din[t * NIN + k];
        top.clk = 1; top.eval();
        /* after the edge that ends cycle t the outputs are those of cycle t + 1 */
        if (t + 1 < cycles) {
            /* out_valid every cycle; the result fields only when valid (a block may hold them in between) */
            const uint32_t* want = &dout[(t + 1) * NOUT];
            const bool valid = (want[VWORD] >> VBIT) & 1;
            bool bad = ((top.dout[VWORD] >> VBIT) & 1) != valid;
            for (int k = 0; valid && !bad && k < NOUT; k++) bad = top.dout[k] != want[k];
            if (bad) { if (!errors) first_error = t + 1; errors++; }
        }
        top.clk = 0; top.eval();
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("{\"cycles\": %%llu, \"seconds\": %%.6f, \"errors\": %%llu, \"first_error\": %%lld}\n",
           (unsigned long long)cycles, s, (unsigned long long)errors, (long long)first_error);
    return errors != 0;
}
"""


def cpp_run(block: str, lanes: int, vectors: int, seed: int) -> dict:
    """The C++ harness on the packed design: build (cached), stimulus and expected words from the same generator
    as the cocotb run, then the timed loop. Returns cycles, seconds, vectors and results."""
    spec = BLOCKS[block]
    config = CONFIGS.get(block, {})
    params = {"block": block, "config": config, "lanes": lanes}
    top = packed_dut(params)
    lay = top.layout
    latency = spec.latency_of(top)
    din, expected_cycles, expected = [], [], {}
    cyc = results = 0
    for b in random_batches(spec, top, np.random.default_rng(seed), vectors, 0.0):
        din.append(lay.pack_words(b.inputs, b.valid))
        expected_cycles.append(cyc + np.asarray(b.anchors) + latency)
        for k, v in b.expected.items():
            expected.setdefault(k, []).append(np.asarray(v))
        results += len(b.anchors) * lanes
        cyc += len(b.valid)
    total = cyc + latency + 1
    din_w = np.zeros((total, din[0].shape[1]), np.uint64)
    din_w[:cyc] = np.concatenate(din)
    dout_w = lay.pack_outputs({k: np.concatenate(v) for k, v in expected.items()}, np.concatenate(expected_cycles),
                              total)
    nin, nout = -(-lay.din_width // 32), -(-lay.dout_width // 32)
    folder = BUILD / "bench" / f"{packed_name(block, lanes, config)}_cpp"
    cpp = CPP % {"nin": nin, "nout": nout, "vword": lay.out_valid_bit // 32, "vbit": lay.out_valid_bit % 32}
    exe = build_cpp_harness(lambda: packed_dut(params), f"{block}_p{lanes}", cpp,
                            folder, cxx_opt="-O1", source_key=packed_key(block, lanes, config))
    as32 = lambda w, n: np.ascontiguousarray(w.astype("<u8")).view("<u4").reshape(len(w), -1)[:, :n]
    (folder / "din.bin").write_bytes(as32(din_w, nin).tobytes())
    (folder / "dout.bin").write_bytes(as32(dout_w, nout).tobytes())
    proc = subprocess.run([str(exe), str(folder / "din.bin"), str(folder / "dout.bin")], capture_output=True,
                          text=True)
    res = json.loads(proc.stdout)
    if res["errors"]:
        raise SystemExit(f"{block}: the C++ harness saw {res['errors']} wrong cycles (first {res['first_error']})")
    return {**res, "vectors": cyc * lanes, "results": results}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", nargs="+", default=list(GOALS), choices=list(GOALS))
    ap.add_argument("--lanes", type=int, nargs="+", default=[64],
                    help="packed lanes; several values compare them (build and run time per L), default 64")
    ap.add_argument("--vectors", type=int, default=2_000_000, help="vectors (rows) per run (default 2000000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-cocotb-io", action="store_true", help="skip the run through cocotb's handles")
    ap.add_argument("--out", default=str(BUILD / "bench" / "packed.json"),
                    help="JSON of the measurements, read by the report; runs of other blocks or lane counts already in it "
                         "are kept (default build/bench/packed.json)")
    args = ap.parse_args(argv)
    for lanes in args.lanes:
        if not 1 <= lanes <= 1024:
            ap.error(f"--lanes must be in 1..1024, got {lanes}")
    check_ranges(ap, args, {"vectors": (1, 100_000_000), "seed": (0, 2**32 - 1)})
    saved = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "lanes": args.lanes,
             "vectors": args.vectors, "cpus": __import__("os").cpu_count(), "blocks": {}}
    for block, lanes in [(b, n) for b in args.blocks for n in args.lanes]:
        unit = "rows" if block == "bitcounter" else "vectors"
        config = CONFIGS.get(block, {})
        t0 = time.perf_counter()
        cpp = cpp_run(block, lanes, args.vectors, args.seed)
        t_cpp_all = time.perf_counter() - t0
        runs = {}
        for io in ("vpi",) + (() if args.no_cocotb_io else ("cocotb",)):
            t0 = time.perf_counter()
            r = packed_cosim(block, lanes, {"kind": "random", "n": args.vectors}, config=config, seed=args.seed,
                             io=io)
            runs[io] = {**r, "wall": time.perf_counter() - t0}
        prof = packed_cosim(block, lanes, {"kind": "random", "n": min(args.vectors, 200_000)}, config=config,
                            seed=args.seed, io="vpi", profile=True)
        rate_cpp = cpp["vectors"] / cpp["seconds"]
        us_cpp = 1e6 * cpp["seconds"] / cpp["cycles"]
        print(f"\n== {block}, {lanes} packed lanes, {cpp['vectors']:,} {unit} ==")
        print(f"  C++ harness          : {rate_cpp:>14,.0f} {unit}/s  ({cpp['cycles']:,} cycles in {cpp['seconds']:.3f} s, "
              f"{us_cpp:.2f} us/cycle; build + stimulus + golden files {t_cpp_all - cpp['seconds']:.1f} s)")
        best = None
        for io, r in runs.items():
            rate = r["vectors"] / r["seconds"]
            ratio = rate_cpp / rate
            best = ratio if best is None else min(best, ratio)
            print(f"  cocotb io={io:<7}    : {rate:>14,.0f} {unit}/s  ({r['results']:,} results checked; C++ is "
                  f"{ratio:.2f}x faster; start-up and build {r['wall'] - r['seconds']:.1f} s)")
        goal = GOALS[block]
        met = best <= goal
        print(f"  goal: C++ within {goal:g}x of cocotb -> {'MET' if met else 'MISSED'} (best {best:.2f}x)")
        r = runs["vpi"]
        us_loop = 1e6 * r["sim_seconds"] / r["cycles"]
        us_np = 1e6 * r["numpy_seconds"] / r["cycles"]
        us_total = 1e6 * r["seconds"] / r["cycles"]
        print("  where a cocotb cycle goes (io=vpi):")
        print(f"    Verilator model (the C++ harness' cycle) {us_cpp:8.2f} us  {100 * us_cpp / us_total:5.1f} %")
        print(f"    cocotb scheduling + VPI transfers       {us_loop - us_cpp:8.2f} us  "
              f"{100 * (us_loop - us_cpp) / us_total:5.1f} %")
        print(f"    numpy: stimulus, golden, pack, check     {us_np:8.2f} us  {100 * us_np / us_total:5.1f} %")
        print(f"    total                                    {us_total:8.2f} us per cycle of {lanes} lanes")
        saved["blocks"][f"{block}_p{lanes}"] = {
            "block": block, "lanes": lanes, "unit": unit, "build_and_startup_s": runs["vpi"]["wall"] - runs["vpi"]["seconds"], "cpp_per_s": rate_cpp, "goal": goal, "best_ratio": best, "met": met,
            "cocotb_per_s": {io: r["vectors"] / r["seconds"] for io, r in runs.items()},
            "us_per_cycle": {"model": us_cpp, "cocotb_vpi": us_loop - us_cpp, "numpy": us_np, "total": us_total}}
        print("    cProfile of the cycle loop (own time):")
        for line in prof["profile"].splitlines():
            if line.strip() and ("{" in line or ".py" in line) and "ncalls" not in line:
                print("     " + line.strip()[:150])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():                 # keep the other blocks / lane counts of earlier runs
        old = json.loads(out.read_text())
        saved["blocks"] = {**old.get("blocks", {}), **saved["blocks"]}
        saved["lanes"] = sorted({*old.get("lanes", []), *saved["lanes"]})
    out.write_text(json.dumps(saved, indent=1))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
