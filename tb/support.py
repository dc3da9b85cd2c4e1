"""Helpers for the cocotb test modules in ``tb/`` (they run inside the simulator process).

Amaranth's Verilog names the clock ``clk`` and the synchronous reset ``rst``.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

__all__ = ["dut_params", "np_rng", "start", "Scoreboard"]

CLOCK_PERIOD_NS = 10


def dut_params() -> dict:
    """The DUT configuration that :func:`tb.cosim.run_cocotb` passed as ``$DUT_PARAMS``."""
    return json.loads(os.environ.get("DUT_PARAMS", "{}"))


def np_rng(salt: int = 0) -> np.random.Generator:
    """A numpy generator seeded from cocotb's random seed (printed by cocotb at start-up)."""
    seed = cocotb.RANDOM_SEED
    cocotb.log.info("numpy stimulus seeded from cocotb.RANDOM_SEED=%d, salt %d (replay: the pytest --seed "
                    "printed for this test, or COCOTB_RANDOM_SEED)", seed, salt)
    return np.random.default_rng([seed, salt])


async def start(dut, idle: dict[str, int] | None = None, reset_cycles: int = 2) -> None:
    """Start the clock, drive ``idle`` values on inputs and pulse reset."""
    cocotb.start_soon(Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start())
    for name, value in (idle or {}).items():
        getattr(dut, name).value = value
    dut.rst.value = 1
    await ClockCycles(dut.clk, reset_cycles)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


class Scoreboard:
    """In-order scoreboard: the monitor's observations must equal the model's expectations, in order."""

    def __init__(self, name: str, expected: list):
        self.name = name
        self.expected = list(expected)
        self.observed: list = []

    def add(self, value) -> None:
        self.observed.append(value)

    def check(self) -> None:
        n_exp, n_obs = len(self.expected), len(self.observed)
        for i, (e, o) in enumerate(zip(self.expected, self.observed)):
            if e != o:
                raise AssertionError(f"{self.name}: item {i}: expected {e}, got {o}")
        if n_exp != n_obs:
            raise AssertionError(f"{self.name}: expected {n_exp} items, observed {n_obs}")
        cocotb.log.info("%s: %d items matched", self.name, n_obs)
