"""cocotb testbench of the CIM bitcounter: driver -> DUT -> monitor, golden model -> in-order scoreboard.

Parameters come from ``$DUT_PARAMS`` (``width``, ``max_rows``, ``groups``); stimulus is seeded from cocotb's
random seed. Checks every group total bit-exactly against :func:`model.bitcounter.ref_bitcounter` and the
latency of every result against ``latency`` from ``$DUT_PARAMS``.
"""

import json
import os
import time

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge

from model.bitcounter import random_stream, ref_bitcounter
from support import Scoreboard, dut_params, np_rng, start


async def drive(dut, stream, last_cycles: list) -> None:
    """Driver: one row per cycle, as given (idle cycles keep garbage on ``bits``)."""
    rows = stream.packed()
    valid, first, last = stream.valid.tolist(), stream.first.tolist(), stream.last.tolist()
    for t in range(len(rows)):
        dut.bits.value = rows[t]
        dut.valid.value = valid[t]
        dut.first.value = first[t]
        dut.last.value = last[t]
        if valid[t] and last[t]:
            last_cycles.append(t)
        await RisingEdge(dut.clk)
    dut.valid.value = 0


async def monitor(dut, scoreboard: Scoreboard, out_cycles: list, cycles: int) -> None:
    """Monitor: sample ``count`` at every edge where ``count_valid`` is high."""
    for t in range(cycles):
        await RisingEdge(dut.clk)
        if dut.count_valid.value:
            scoreboard.add(dut.count.value.to_unsigned())
            out_cycles.append(t)


@cocotb.test()
async def random_groups_and_corners(dut):
    """Seeded random groups plus corners (max_rows all-ones, all-zeros, one-row groups, valid gaps)."""
    p = dut_params()
    rng = np_rng()
    stream = random_stream(rng, p["width"], p["max_rows"], groups=p.get("groups", 200))
    t0 = time.perf_counter()  # rows checked per second: golden model + simulation + scoreboard
    expected = ref_bitcounter(stream, p["max_rows"])
    scoreboard = Scoreboard("count", expected)
    await start(dut, idle={"valid": 0, "first": 0, "last": 0, "bits": 0})

    last_cycles, out_cycles = [], []
    mon = cocotb.start_soon(monitor(dut, scoreboard, out_cycles, len(stream) + p["latency"] + 2))
    await drive(dut, stream, last_cycles)
    await mon
    scoreboard.check()
    elapsed = time.perf_counter() - t0
    # The driver's cycle t row is sampled at edge t+1; the monitor's index t is edge t+1 as well.
    latencies = np.array(out_cycles) - np.array(last_cycles)
    assert np.all(latencies == p["latency"]), f"latencies {sorted(set(latencies.tolist()))} != {p['latency']}"
    dut._log.info("%d rows, %d groups checked, %.0f rows/s through cocotb", len(stream), len(expected),
                  len(stream) / elapsed)
    if os.environ.get("BENCH_OUT"):  # scripts/bench_bitcounter.py
        with open(os.environ["BENCH_OUT"], "w") as f:
            json.dump({"rows": len(stream), "seconds": elapsed}, f)


@cocotb.test()
async def back_to_back_one_row_groups(dut):
    """Every cycle a one-row group: one total per cycle, no bubble."""
    p = dut_params()
    rng = np_rng(1)
    n, width = 100, p["width"]
    rows = rng.integers(0, 2, size=(n, width), dtype=np.uint8)
    await start(dut, idle={"valid": 0, "first": 0, "last": 0, "bits": 0})
    out_cycles, scoreboard = [], Scoreboard("count", [int(r.sum()) for r in rows])
    mon = cocotb.start_soon(monitor(dut, scoreboard, out_cycles, n + p["latency"] + 2))
    packed = [int("".join(map(str, r[::-1])), 2) for r in rows]
    for value in packed:
        dut.bits.value, dut.valid.value, dut.first.value, dut.last.value = value, 1, 1, 1
        await RisingEdge(dut.clk)
    dut.valid.value = 0
    await mon
    scoreboard.check()
    assert np.all(np.diff(out_cycles) == 1)
    await ClockCycles(dut.clk, 1)
