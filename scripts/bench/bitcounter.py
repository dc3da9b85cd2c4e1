"""Benchmark: bitcounter rows checked per second, cocotb testbench against a plain Verilator C++ harness.

Both clock the same Verilog: the registry block ``bitcounter`` (``scripts/blocks/__init__.py``) built as
``BitCounter(width, max_rows=64)``, verilated with the same flags (cached builds under
``build/sim/bitcounter_custom`` for cocotb and ``build/bench/bitcounter_cpp_w<width>`` for C++).

* **cocotb**: the generic testbench ``tb/cocotb_block.py`` through ``scripts.rtl.cosim.cosim("bitcounter",
  params=..., bench=True)``: seeded random row groups (1..64 rows, ~32.5 on average, idle cycles between and
  inside groups) after the corner groups, driven by the stream driver, every count checked by the monitor and
  the in-order scoreboard against the numpy golden ``model.bcnn.bitcounter.ref_bitcounter``, every latency checked.
  The rate counts the rows driven over the simulation + scoreboard time (stimulus and golden excluded).
* **limit**: a C++ ``main`` that drives random rows (xorshift64) in groups of 4, computes each group's popcount
  with ``__builtin_popcountll`` and checks ``count`` at every ``count_valid``: no Python at all.

Prints both rates and their ratio, measured in one run, then where the cocotb time goes: stimulus + golden
model, simulation + scoreboard, the cost per clock cycle against the C++ harness' (the per-cycle Python cost of
cocotb and the agents is what the ratio measures), and the start-up (build check, simulator launch). Usage::

    python scripts/bench/bitcounter.py [--width 256] [--rows 20000] [--cpp-rows 2000000] [--seed 1]
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

#: Rows per group of the C++ harness; ``max_rows`` of the DUT in both runs.
MAX_ROWS = 64
#: Rows of the corner groups that ``model.bcnn.bitcounter.random_stream`` puts first (max_rows + 3 + 4 + 4).
CORNER_ROWS = MAX_ROWS + 11
#: Mean rows of a random group (uniform 1 .. min(max_rows, 64)).
MEAN_GROUP_ROWS = (1 + min(MAX_ROWS, 64)) / 2
#: Allowed flag ranges (the cocotb run stops at 10^6 cycles; a row costs ~1.25 cycles with the idle cycles).
RANGES = {"width": (1, 4096), "rows": (1, 500_000), "cpp_rows": (1, 10**10), "seed": (0, 2**32 - 1)}

CPP = r"""
#include "Vtop.h"
#include "verilated.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>

static uint64_t state = 88172645463325252ull;
static inline uint64_t xorshift() { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; }

int main(int argc, char** argv) {
    const uint64_t rows = argc > 1 ? strtoull(argv[1], nullptr, 10) : 1000000;
    const int WIDTH = %(width)d, WORDS = (WIDTH + 63) / 64, GROUP = 4;
    VerilatedContext ctx;
    Vtop top{&ctx};
    top.clk = 0; top.rst = 1; top.valid = 0; top.eval();
    for (int i = 0; i < 2; i++) { top.clk = 1; top.eval(); top.clk = 0; top.eval(); }
    top.rst = 0;
    std::deque<uint64_t> expected;
    uint64_t acc = 0, checked = 0, errors = 0, cycles = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < rows + %(latency)d + 1; i++) {
        bool drive = i < rows;
        top.valid = drive;
        if (drive) {
            uint64_t pc = 0;
            for (int w = 0; w < WORDS; w++) {
                uint64_t r = xorshift();
                int bits = WIDTH - 64 * w < 64 ? WIDTH - 64 * w : 64;
                if (bits < 64) r &= (1ull << bits) - 1;
                pc += __builtin_popcountll(r);
                %(assign)s
            }
            top.first = (i %% GROUP) == 0;
            top.last = (i %% GROUP) == GROUP - 1 || i == rows - 1;
            acc = top.first ? pc : acc + pc;
            if (top.last) expected.push_back(acc);
        }
        top.clk = 1; top.eval();
        if (top.count_valid) {
            if (expected.empty() || top.count != expected.front()) errors++;
            if (!expected.empty()) expected.pop_front();
            checked++;
        }
        top.clk = 0; top.eval();
        cycles++;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("{\"rows\": %%llu, \"seconds\": %%.6f, \"cycles\": %%llu, \"groups_checked\": %%llu, \"errors\": %%llu}\n",
           (unsigned long long)rows, s, (unsigned long long)cycles, (unsigned long long)checked,
           (unsigned long long)errors);
    return errors != 0 || !expected.empty();
}
"""


def cpp_harness(width: int) -> Path:
    """The C++ harness around the same ``BitCounter(width, MAX_ROWS)`` as the cocotb run (cached build)."""
    dut = BLOCKS["bitcounter"].build(width=width, max_rows=MAX_ROWS)
    if width <= 64:
        assign = "top.bits = r;"
    else:
        assign = ("top.bits[2 * w] = (uint32_t)r; "
                  "if (2 * w + 1 < (WIDTH + 31) / 32) top.bits[2 * w + 1] = (uint32_t)(r >> 32);")
    cpp = CPP % {"width": width, "latency": dut.latency, "assign": assign}
    return build_cpp_harness(dut, "bitcounter", cpp, BUILD / "bench" / f"bitcounter_cpp_w{width}")


def groups_for(rows: int) -> int:
    """Random groups (the testbench's ``n``) for about ``rows`` rows in all, corner groups included."""
    return max(1, round((rows - CORNER_ROWS) / MEAN_GROUP_ROWS))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=256, help="bits per row (1..4096, default 256)")
    parser.add_argument("--rows", type=int, default=20000,
                        help="rows through cocotb (about: whole random groups; 1..500000, default 20000)")
    parser.add_argument("--cpp-rows", type=int, default=2_000_000,
                        help="rows through the C++ harness (default 2000000)")
    parser.add_argument("--seed", type=int, default=1, help="cocotb stimulus seed (0..2^32-1, default 1)")
    args = parser.parse_args(argv)
    check_ranges(parser, args, RANGES)

    cpp = run_cpp_harness(cpp_harness(args.width), args.cpp_rows)
    params = {"config": {"width": args.width, "max_rows": MAX_ROWS}, "n": groups_for(args.rows)}
    t0 = time.perf_counter()
    coco = cosim("bitcounter", params=params, seed=args.seed, bench=True)
    wall = time.perf_counter() - t0

    rate_cpp = cpp["rows"] / cpp["seconds"]
    rate_coco = coco["vectors"] / coco["seconds"]
    us_coco = 1e6 * coco["seconds"] / coco["cycles"]
    us_cpp = 1e6 * cpp["seconds"] / cpp["cycles"]
    startup = wall - coco["golden_seconds"] - coco["seconds"]
    print(f"bitcounter width {args.width}, max_rows {MAX_ROWS} (the same Verilog in both runs)")
    print(f"  cocotb testbench : {coco['vectors']:>9} rows in {coco['seconds']:.3f} s = {rate_coco:>12,.0f} rows/s "
          f"({coco['results']} groups checked; seed {args.seed})")
    print(f"  C++ harness limit: {cpp['rows']:>9} rows in {cpp['seconds']:.3f} s = {rate_cpp:>12,.0f} rows/s "
          f"({cpp['groups_checked']} groups checked, {cpp['errors']} errors)")
    print(f"  ratio cocotb / C++ limit = {rate_coco / rate_cpp:.2e} (C++ is {rate_cpp / rate_coco:,.0f}x faster)")
    share = 100 * coco["seconds"] / (coco["seconds"] + coco["golden_seconds"])
    print("  where the cocotb time goes:")
    print(f"    stimulus + golden model (numpy, before the clock starts): {coco['golden_seconds']:8.3f} s")
    print(f"    simulation + scoreboard (the rate's time)                : {coco['seconds']:8.3f} s  "
          f"over {coco['cycles']:>8} cycles = {us_coco:9.4f} us/cycle")
    print(f"    C++ harness, for comparison                              : {cpp['seconds']:8.3f} s  "
          f"over {cpp['cycles']:>8} cycles = {us_cpp:9.4f} us/cycle")
    print(f"    start-up (build check or rebuild, simulator launch)      : {startup:8.3f} s  "
          f"(not in the rate; the whole cocotb run took {wall:.3f} s)")
    print(f"    cycles per row: cocotb {coco['cycles'] / coco['vectors']:.2f} (idle cycles in the stimulus), "
          f"C++ {cpp['cycles'] / cpp['rows']:.2f}")
    print(f"    -> simulation + scoreboard is {share:.0f}% of the measured cocotb time (golden model "
          f"{100 - share:.0f}%). A cocotb cycle costs {us_coco / us_cpp:,.0f}x a C++ cycle:\n       the Verilator "
          f"model itself is ~{100 * us_cpp / us_coco:.1f}% of it, the rest is cocotb and the Python driver, monitor "
          "and scoreboard.")
    return 0 if cpp["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
