"""Benchmark: BF16 MAC vectors verified per second, cocotb testbench against a plain Verilator C++ harness.

* **cocotb, 1 lane**: the real ``BF16MAC`` top, one vector per cycle, checked bit-exactly against
  ``model.fp_golden.ref_mac`` in numpy batches (``tb/cocotb_fp.py``).
* **cocotb, N lanes**: ``N`` copies side by side (``tb/lanes.py``): one cocotb cycle carries N vectors.
* **limit**: a C++ ``main`` clocking the same single-MAC Verilog with random operands (xorshift64), checking
  every result against C++ ``float`` arithmetic ``(float)((float)a * (float)b) + c`` (IEEE-754 binary32,
  round-to-nearest-even, gradual underflow: the same two roundings; NaNs compared as canonical NaN).

Timings of the cocotb runs start after stimulus generation and the golden model, and end after the check.
Prints the rates and the ratios, all measured in one run. Usage::

    python scripts/bench_fp.py [--vectors 100000] [--lanes 8] [--cpp-vectors 5000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root: tb/ is not installed

from hw.mac import BF16MAC  # noqa: E402
from scripts.flow import BUILD, build_cpp_harness  # noqa: E402
from tb.cosim import run_cocotb_bench  # noqa: E402
from tb.lanes import Lanes  # noqa: E402

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
    uint64_t head = 0, errors = 0, checked = 0;
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
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("{\"vectors\": %%llu, \"seconds\": %%.6f, \"checked\": %%llu, \"errors\": %%llu}\n",
           (unsigned long long)n, s, (unsigned long long)checked, (unsigned long long)errors);
    return errors != 0 || checked != n;
}
"""


def _cocotb_rate(config, component, toplevel, lanes, vectors, seed) -> dict:
    return run_cocotb_bench(config=config, component=component, toplevel=toplevel, test_module="cocotb_fp",
                            params={"kind": "mac", "lanes": lanes, "random": vectors, "latency": BF16MAC.latency},
                            seed=seed)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=100_000, help="random vectors through cocotb (default 1e5)")
    parser.add_argument("--lanes", type=int, default=8, help="MAC copies side by side (default 8)")
    parser.add_argument("--cpp-vectors", type=int, default=5_000_000, help="vectors through the C++ harness")
    parser.add_argument("--seed", type=int, default=1, help="cocotb stimulus seed")
    args = parser.parse_args(argv)
    for name in ("vectors", "lanes", "cpp_vectors"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")

    exe = build_cpp_harness(BF16MAC(), "bf16_mac", CPP % {"latency": BF16MAC.latency}, BUILD / "bench" / "bf16_mac_cpp")
    cpp = json.loads(subprocess.run([str(exe), str(args.cpp_vectors)], capture_output=True, text=True).stdout)
    one = _cocotb_rate("bf16_mac", BF16MAC(), "bf16_mac", 1, args.vectors // 4, args.seed)
    many = _cocotb_rate(f"bf16_mac_x{args.lanes}", Lanes(BF16MAC, args.lanes), f"bf16_mac_x{args.lanes}",
                        args.lanes, args.vectors, args.seed)
    rate = {k: v["vectors"] / v["seconds"] for k, v in (("cpp", cpp), ("one", one), ("many", many))}
    print("BF16 MAC vectors verified per second")
    print(f"  cocotb, 1 lane    : {one['vectors']:>9} vectors in {one['seconds']:.3f} s = {rate['one']:>12,.0f}/s")
    print(f"  cocotb, {args.lanes} lanes   : {many['vectors']:>9} vectors in {many['seconds']:.3f} s = "
          f"{rate['many']:>12,.0f}/s")
    print(f"  C++ harness limit : {cpp['vectors']:>9} vectors in {cpp['seconds']:.3f} s = {rate['cpp']:>12,.0f}/s "
          f"({cpp['checked']} checked, {cpp['errors']} errors)")
    print(f"  ratio cocotb 1 lane / limit   = {rate['one'] / rate['cpp']:.2e}")
    print(f"  ratio cocotb {args.lanes} lanes / limit = {rate['many'] / rate['cpp']:.2e}")
    print(f"  target >= 1e5 vectors/s through cocotb: {'met' if rate['many'] >= 1e5 else 'NOT met'} "
          f"({rate['many']:,.0f}/s with {args.lanes} lanes)")
    return 0 if cpp["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
