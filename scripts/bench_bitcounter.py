"""Benchmark: bitcounter rows checked per second, cocotb testbench against a plain Verilator C++ harness.

Both clock the same Verilog (``BitCounter(width)``) built by Verilator with the same flags:

* **cocotb**: the ``random_groups_and_corners`` test of ``tb/cocotb_bitcounter.py`` (driver, monitor, numpy
  golden model, in-order scoreboard); timed inside the simulator from the golden model to the scoreboard's
  verdict (stimulus generation excluded).
* **limit**: a C++ ``main`` that drives random rows (xorshift64) in groups of 4, computes each group's popcount
  with ``__builtin_popcountll`` and checks ``count`` at every ``count_valid``: no Python at all.

Prints both rates and their ratio, measured in one run. Usage::

    python scripts/bench_bitcounter.py [--width 256] [--rows 20000] [--cpp-rows 2000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root: tb/ is not installed

from hw.bitcounter import BitCounter  # noqa: E402
from scripts.flow import BUILD, build_cpp_harness  # noqa: E402
from tb.cosim import run_cocotb_bench  # noqa: E402

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
    uint64_t acc = 0, checked = 0, errors = 0;
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
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("{\"rows\": %%llu, \"seconds\": %%.6f, \"groups_checked\": %%llu, \"errors\": %%llu}\n",
           (unsigned long long)rows, s, (unsigned long long)checked, (unsigned long long)errors);
    return errors != 0 || !expected.empty();
}
"""


def cpp_harness(width: int) -> Path:
    dut = BitCounter(width, 1024)
    if width <= 64:
        assign = "top.bits = r;"
    else:
        assign = ("top.bits[2 * w] = (uint32_t)r; "
                  "if (2 * w + 1 < (WIDTH + 31) / 32) top.bits[2 * w + 1] = (uint32_t)(r >> 32);")
    cpp = CPP % {"width": width, "latency": dut.latency, "assign": assign}
    return build_cpp_harness(dut, "bitcounter", cpp, BUILD / "bench" / f"bitcounter_cpp_w{width}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=256, help="bits per row (default 256)")
    parser.add_argument("--rows", type=int, default=20000, help="rows through cocotb (about; default 20000)")
    parser.add_argument("--cpp-rows", type=int, default=2_000_000, help="rows through the C++ harness")
    parser.add_argument("--seed", type=int, default=1, help="cocotb stimulus seed")
    args = parser.parse_args(argv)
    for name in ("width", "rows", "cpp_rows"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")

    exe = cpp_harness(args.width)
    cpp = json.loads(subprocess.run([str(exe), str(args.cpp_rows)], check=True, capture_output=True,
                                    text=True).stdout)
    dut = BitCounter(args.width, 64)
    groups = max(1, args.rows // 33)  # random groups average ~32.5 rows plus gaps
    coco = run_cocotb_bench(config=f"bench_bitcounter_w{args.width}", component=dut, toplevel="bitcounter",
                            test_module="cocotb_bitcounter", testcase="random_groups_and_corners",
                            params={"width": args.width, "max_rows": 64, "groups": groups, "latency": dut.latency},
                            seed=args.seed)
    rate_cpp = cpp["rows"] / cpp["seconds"]
    rate_coco = coco["rows"] / coco["seconds"]
    print(f"bitcounter width {args.width}")
    print(f"  cocotb testbench : {coco['rows']:>9} rows in {coco['seconds']:.3f} s = {rate_coco:>12,.0f} rows/s")
    print(f"  C++ harness limit: {cpp['rows']:>9} rows in {cpp['seconds']:.3f} s = {rate_cpp:>12,.0f} rows/s "
          f"({cpp['groups_checked']} groups checked, {cpp['errors']} errors)")
    print(f"  ratio cocotb / C++ limit = {rate_coco / rate_cpp:.2e} (C++ is {rate_cpp / rate_coco:,.0f}x faster)")
    return 0 if cpp["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
