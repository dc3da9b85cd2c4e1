"""Benchmark: BF16 MAC vectors verified per second, cocotb testbench against a plain Verilator C++ harness.

* **cocotb, 1 lane**: the registry block ``bf16_mac`` (``scripts/blocks/__init__.py``, the real ``BF16MAC``), one vector
  per cycle, through the generic testbench ``tb/cocotb_block.py`` via ``scripts.rtl.cosim.cosim(..., bench=True)``:
  the MAC corners, then ``vectors / 4`` random vectors, every result checked bit-exactly against
  ``model.fp_golden.ref_mac`` by the in-order scoreboard, every latency checked.
* **cocotb, N lanes**: the same with ``N`` copies side by side (``scripts/sim/lanes.py``) and ``vectors`` random
  vectors: one cocotb cycle carries N vectors. The runs build once under ``build/sim/bf16_mac_custom`` (1 lane)
  and ``build/sim/bf16_mac_custom_xN`` (N lanes).
* **limit**: a C++ ``main`` clocking the same single-MAC Verilog with random operands (xorshift64), checking
  every result against C++ ``float`` arithmetic ``(float)((float)a * (float)b) + c`` (IEEE-754 binary32,
  round-to-nearest-even, gradual underflow: the same two roundings; NaNs compared as canonical NaN).

The cocotb rates count the vectors driven over the simulation + scoreboard time (stimulus and golden
excluded). Prints the rates and the ratios, all measured in one run, then where the cocotb time goes: stimulus
+ golden model, simulation + scoreboard, the cost per clock cycle against the C++ harness' (the per-cycle Python
cost of cocotb and the agents is what the ratios measure; lanes divide it among N vectors), and the start-up
(build check, simulator launch). Usage::

    python scripts/bench/fp.py [--vectors 100000] [--lanes 8] [--cpp-vectors 5000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scripts.blocks import BLOCKS
from scripts.common.options import check_ranges
from scripts.rtl.cosim import cosim
from scripts.toolchain.paths import BUILD
from scripts.toolchain.verilator import build_cpp_harness, run_cpp_harness

BLOCK = "bf16_mac"
#: Allowed flag ranges (a cocotb run stops at 10^6 cycles; the C++ harness keeps 4 bytes per vector).
RANGES = {"vectors": (1, 2_000_000), "lanes": (1, 32), "cpp_vectors": (1, 100_000_000), "seed": (0, 2**32 - 1)}
#: What ``tb/cocotb_block.py`` uses for a parameter that a configuration leaves out.

CPP = r"""
#include "Vtop.h"
#include "verilated.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>

static uint64_t state = 0x9E3779B97F4A7C15ull;
static inline uint64_t xorshift() { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; }
static inline float f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t u32(float f) { uint32_t u; memcpy(&u, &f, 4); return std::isnan(f) ? 0x7FC00000u : u; }

int main(int argc, char** argv) {
    const uint64_t n = argc > 1 ? strtoull(argv[1], nullptr, 10) : 1000000;
    const int LAT = %(latency)d;
    VerilatedContext ctx;
    Vtop top{&ctx};
    top.clk = 0; top.rst = 1; top.valid = 0; top.eval();
    for (int i = 0; i < 2; i++) { top.clk = 1; top.eval(); top.clk = 0; top.eval(); }
    top.rst = 0;
    uint32_t* expected = new uint32_t[n];
    uint64_t head = 0, errors = 0, checked = 0, cycles = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < n + LAT + 1; i++) {
        if (i < n) {
            uint64_t r = xorshift();
            uint16_t a = r, b = r >> 16;
            uint32_t c = r >> 32;
            top.a = a; top.b = b; top.c = c; top.valid = 1;
            float p = f32((uint32_t)a << 16) * f32((uint32_t)b << 16);
            expected[i] = u32(p + f32(c));
        } else {
            top.valid = 0;
        }
        top.clk = 1; top.eval();
        if (top.result_valid) {
            if (top.result != expected[head]) errors++;
            head++; checked++;
        }
        top.clk = 0; top.eval();
        cycles++;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("{\"vectors\": %%llu, \"seconds\": %%.6f, \"cycles\": %%llu, \"checked\": %%llu, \"errors\": %%llu}\n",
           (unsigned long long)n, s, (unsigned long long)cycles, (unsigned long long)checked,
           (unsigned long long)errors);
    return errors != 0 || checked != n;
}
"""


def cpp_harness() -> Path:
    """The C++ harness around the default ``BF16MAC`` (cached build)."""
    dut = BLOCKS[BLOCK].build()
    return build_cpp_harness(dut, BLOCK, CPP % {"latency": dut.latency}, BUILD / "bench" / "bf16_mac_cpp")


def cocotb_run(params: dict, seed: int) -> dict:
    """``cosim(..., bench=True)`` on ``params``: the measurements plus ``wall`` (seconds of the whole call)."""
    t0 = time.perf_counter()
    result = cosim(BLOCK, params=params, seed=seed, bench=True)
    return {**result, "wall": time.perf_counter() - t0}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=100_000,
                        help="random vectors through the N-lane cocotb run, a quarter through the 1-lane run "
                             "(1..2000000, default 100000)")
    parser.add_argument("--lanes", type=int, default=8, help="MAC copies side by side (1..32, default 8)")
    parser.add_argument("--cpp-vectors", type=int, default=5_000_000,
                        help="vectors through the C++ harness (default 5000000)")
    parser.add_argument("--seed", type=int, default=1, help="cocotb stimulus seed (0..2^32-1, default 1)")
    args = parser.parse_args(argv)
    check_ranges(parser, args, RANGES)

    cpp = run_cpp_harness(cpp_harness(), args.cpp_vectors)
    many_label = f"{args.lanes} lanes" if args.lanes > 1 else "1 lane, 4x"
    runs = {"1 lane": cocotb_run({"config": {}, "n": args.vectors // 4}, args.seed),
            many_label: cocotb_run({"config": {}, "n": args.vectors, "lanes": args.lanes}, args.seed)}
    rate_cpp = cpp["vectors"] / cpp["seconds"]
    us_cpp = 1e6 * cpp["seconds"] / cpp["cycles"]
    rate = {label: r["vectors"] / r["seconds"] for label, r in runs.items()}
    us = {label: 1e6 * r["seconds"] / r["cycles"] for label, r in runs.items()}
    golden = sum(r["golden_seconds"] for r in runs.values())
    sim = sum(r["seconds"] for r in runs.values())

    print("BF16 MAC vectors verified per second")
    for label, r in runs.items():
        print(f"  cocotb, {label:<10}: {r['vectors']:>9} vectors in {r['seconds']:.3f} s = {rate[label]:>12,.0f}/s "
              f"({r['results']} checked; seed {args.seed})")
    print(f"  C++ harness limit : {cpp['vectors']:>9} vectors in {cpp['seconds']:.3f} s = {rate_cpp:>12,.0f}/s "
          f"({cpp['checked']} checked, {cpp['errors']} errors)")
    for label in runs:
        print(f"  ratio cocotb {label:<10} / C++ limit = {rate[label] / rate_cpp:.2e} "
              f"(C++ is {rate_cpp / rate[label]:,.0f}x faster)")
    print(f"  target >= 1e5 vectors/s through cocotb: {'met' if rate[many_label] >= 1e5 else 'NOT met'} "
          f"({rate[many_label]:,.0f}/s, {many_label})")
    print("  where the cocotb time goes:")
    print(f"    {'run':<10}  {'golden s':>9}  {'sim+sb s':>9}  {'start-up s':>10}  {'cycles':>8}  "
          f"{'us/cycle':>9}  {'us/vector':>9}  {'x C++ cycle':>11}")
    for label, r in runs.items():
        startup = r["wall"] - r["golden_seconds"] - r["seconds"]
        print(f"    {label:<10}  {r['golden_seconds']:>9.3f}  {r['seconds']:>9.3f}  {startup:>10.3f}  "
              f"{r['cycles']:>8}  {us[label]:>9.2f}  {1e6 / rate[label]:>9.2f}  {us[label] / us_cpp:>11,.0f}")
    print(f"    {'C++':<10}  {'-':>9}  {cpp['seconds']:>9.3f}  {'-':>10}  {cpp['cycles']:>8}  {us_cpp:>9.4f}  "
          f"{1e6 / rate_cpp:>9.4f}  {1:>11}")
    print("    golden: stimulus + golden model (numpy, before the clock starts); sim+sb: simulation + scoreboard "
          "(the rates' time);\n    start-up: build check or rebuild, simulator launch, imports (not in the rates)")
    print(f"    -> simulation + scoreboard is {100 * sim / (sim + golden):.0f}% of the measured cocotb time (golden "
          f"model {100 * golden / (sim + golden):.0f}%). A cocotb cycle costs "
          f"{min(us.values()) / us_cpp:,.0f}..{max(us.values()) / us_cpp:,.0f}x a C++ cycle:\n       the Verilator "
          f"model itself is ~{100 * us_cpp / min(us.values()):.1f}% of it, the rest is cocotb and the Python driver, "
          "monitor and scoreboard.")
    if args.lanes > 1:
        print(f"       {args.lanes} lanes make a cycle {us[many_label] / us['1 lane']:.1f}x dearer but carry "
              f"{args.lanes} vectors: {rate[many_label] / rate['1 lane']:.1f}x the vectors/s of 1 lane.")
    return 0 if cpp["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
