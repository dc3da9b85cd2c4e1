"""cocotb backend of the simulation contract (:mod:`scripts.sim.contract`); imported inside the simulator.

:func:`run_agents` runs the same agents as :func:`scripts.sim.amaranth_backend.run_amaranth`: inputs are written
after an edge (for the next cycle), outputs are read at ``RisingEdge`` (cocotb shows the values from before the
edge, i.e. during the cycle that just ended). Amaranth's Verilog names the clock ``clk`` and the reset ``rst``.
"""

from __future__ import annotations

import json
import os
from typing import Sequence

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from scripts.sim.contract import Agent, cycle_loop

__all__ = ["run_agents", "run_timed", "CocotbIO", "start", "dut_params", "np_rng", "write_bench_result"]

CLOCK_PERIOD_NS = 10


def dut_params() -> dict:
    """The configuration that :func:`scripts.toolchain.cocotb_runner.run_agents` passed as ``$DUT_PARAMS``."""
    return json.loads(os.environ.get("DUT_PARAMS", "{}"))


def np_rng(salt: int = 0) -> np.random.Generator:
    """A numpy generator seeded from cocotb's random seed (printed by cocotb at start-up) and ``salt``."""
    seed = cocotb.RANDOM_SEED
    cocotb.log.info("numpy stimulus seeded from cocotb.RANDOM_SEED=%d, salt %d (replay: the pytest --seed "
                    "printed for this test, or COCOTB_RANDOM_SEED)", seed, salt)
    return np.random.default_rng([seed, salt])


def write_bench_result(stats: dict) -> None:
    """Benchmarks (``scripts/bench_*.py``) read a test's measurements from the JSON file ``$BENCH_OUT``."""
    if os.environ.get("BENCH_OUT"):
        with open(os.environ["BENCH_OUT"], "w") as f:
            json.dump(stats, f)


async def start(dut, reset_cycles: int = 2) -> None:
    """Start the clock and pulse reset; cycle 0 of :func:`run_agents` is the cycle after this returns."""
    cocotb.start_soon(Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, reset_cycles)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


class CocotbIO:
    """The :class:`~scripts.sim.contract.IO` view of the cocotb ``dut`` handle."""

    def __init__(self, dut):
        self.dut = dut
        self._handles: dict[str, object] = {}
        self._widths: dict[str, int] = {}

    def _h(self, name: str):
        h = self._handles.get(name)
        if h is None:
            h = self._handles[name] = getattr(self.dut, name)
            self._widths[name] = len(h)
        return h

    def set(self, name: str, value: int) -> None:
        self._h(name).value = value

    def get(self, name: str) -> int:
        h = self._h(name)
        if self._widths[name] == 1:
            return 1 if str(h.value) == "1" else 0
        return h.value.to_unsigned()

    def width(self, name: str) -> int:
        self._h(name)
        return self._widths[name]


async def run_agents(dut, agents: Sequence[Agent], *, max_cycles: int = 1_000_000) -> int:
    """Run ``agents`` against the cocotb ``dut`` (after :func:`start`) until all are done; return the cycles."""
    io = CocotbIO(dut)
    edge = RisingEdge(dut.clk)
    loop = cycle_loop(io, agents, max_cycles)
    try:
        next(loop)
        while True:
            await edge
            loop.send(None)
    except StopIteration as stop:
        return stop.value


async def run_timed(dut, agents: Sequence[Agent], *, max_cycles: int) -> tuple[int, float]:
    """:func:`start`, then :func:`run_agents`: ``(cycles, seconds of the simulation loop)``."""
    import time
    await start(dut)
    t0 = time.perf_counter()
    cycles = await run_agents(dut, agents, max_cycles=max_cycles)
    return cycles, time.perf_counter() - t0
