"""Helpers for the cocotb test modules in ``tb/`` (they run inside the simulator process).

Amaranth's Verilog names the clock ``clk`` and the synchronous reset ``rst``.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

__all__ = ["dut_params", "np_rng", "start", "Scoreboard", "pack_lanes", "unpack_lanes", "drive_stream",
           "monitor_stream", "check_vectors"]

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


def pack_lanes(values: np.ndarray, width: int) -> list[int]:
    """Rows of ``values`` (cycles, lanes) as integers, lane 0 in the least significant ``width`` bits."""
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    if width in (8, 16, 32, 64):
        raw = values.astype(f"<u{width // 8}")
        return [int.from_bytes(row.tobytes(), "little") for row in raw]
    shifts = [width * i for i in range(values.shape[1])]
    return [sum(int(v) << s for v, s in zip(row, shifts)) for row in values.tolist()]


def unpack_lanes(ints: list[int], width: int, lanes: int) -> np.ndarray:
    """Inverse of :func:`pack_lanes`: (len(ints), lanes) ``uint64`` array."""
    mask = (1 << width) - 1
    return np.array([[(v >> (width * i)) & mask for i in range(lanes)] for v in ints], dtype=np.uint64)


async def drive_stream(dut, inputs: dict[str, list[int]], valid: list[int], valid_name: str = "valid") -> None:
    """Driver: cycle ``t`` puts ``inputs[name][t]`` on each port and ``valid[t]`` on ``valid_name``."""
    ports = [(getattr(dut, name), values) for name, values in inputs.items()]
    valid_port = getattr(dut, valid_name)
    for t in range(len(valid)):
        for port, values in ports:
            port.value = values[t]
        valid_port.value = valid[t]
        await RisingEdge(dut.clk)
    valid_port.value = 0


async def monitor_stream(dut, outputs: list[str], out_valid: str, cycles: int) -> tuple[dict[str, list[int]], list[int]]:
    """Monitor: for ``cycles`` clock edges, sample ``outputs`` wherever ``out_valid`` is high.

    Returns the sampled integers per output and the edge index of each sample (edge ``t`` samples what the
    driver put on the inputs in cycle ``t``, so ``index - input_cycle`` is the latency in cycles).
    """
    ports = [getattr(dut, name) for name in outputs]
    valid_port = getattr(dut, out_valid)
    raw, at = [], []
    for t in range(cycles):
        await RisingEdge(dut.clk)
        if valid_port.value:
            raw.append([p.value for p in ports])
            at.append(t)
    samples = {name: [row[i].to_unsigned() for row in raw] for i, name in enumerate(outputs)}
    return samples, at


async def check_vectors(dut, inputs: dict[str, tuple[np.ndarray, int]], expected: dict[str, tuple[np.ndarray, int]],
                        *, lanes: int, latency: int, out_valid: str, rng: np.random.Generator,
                        gap_probability: float = 0.0, describe=None) -> dict:
    """Stream vectors through a (possibly multi-lane) DUT and check every output bit-exactly, in order.

    ``inputs[name] = (values, width)`` with ``values`` of shape (N,) per port; ``expected`` likewise for the
    outputs (from the golden model). N is padded to a multiple of ``lanes`` by repeating the first vector.
    With ``gap_probability`` > 0, ``valid`` drops at random cycles (the data lines then carry garbage).
    Checks the latency of every result. ``describe(i)`` names vector ``i`` in a mismatch report.
    Returns ``{"vectors", "cycles", "seconds"}`` (seconds: golden already done; drive + monitor + check).
    """
    n = len(next(iter(inputs.values()))[0])
    pad = (-n) % lanes
    def lanes_of(values):
        values = np.asarray(values)
        values = np.concatenate([values, np.repeat(values[:1], pad)]) if pad else values
        return values.reshape(-1, lanes)
    steps = (n + pad) // lanes
    valid = np.ones(steps, bool)
    if gap_probability > 0:
        gaps = rng.random(steps * 4) < gap_probability
        layout = []
        for g in gaps:
            layout.append(not g)
            if sum(layout) == steps:
                break
        while sum(layout) < steps:
            layout.append(True)
        valid = np.array(layout, bool)
    cycles = len(valid)
    drive = {}
    for name, (values, width) in inputs.items():
        per_step = pack_lanes(lanes_of(values), width)
        garbage = iter(rng.integers(0, 1 << min(width * lanes, 63), cycles).tolist())
        it = iter(per_step)
        drive[name] = [next(it) if v else next(garbage) for v in valid]
    input_cycles = np.flatnonzero(valid)

    t0 = time.perf_counter()
    mon = cocotb.start_soon(monitor_stream(dut, list(expected), out_valid, cycles + latency + 2))
    await drive_stream(dut, drive, valid.astype(int).tolist())
    samples, at = await mon
    if len(at) != steps:
        raise AssertionError(f"{out_valid}: expected {steps} results, saw {len(at)}")
    lat = np.array(at) - input_cycles
    if not np.all(lat == latency):
        raise AssertionError(f"latency {sorted(set(lat.tolist()))} cycles, expected {latency}")
    for name, (values, width) in expected.items():
        got = unpack_lanes(samples[name], width, lanes).reshape(-1)[:n]
        want = np.asarray(values).astype(np.uint64)
        bad = np.flatnonzero(got != want)
        if bad.size:
            lines = [f"  vector {i}: {describe(i) if describe else ''} expected {int(want[i]):#x}, got {int(got[i]):#x}"
                     for i in bad[:10]]
            raise AssertionError(f"{name}: {bad.size} of {n} mismatches; first ones:\n" + "\n".join(lines))
    seconds = time.perf_counter() - t0
    cocotb.log.info("%d vectors (%d lanes, %d cycles) checked bit-exactly in %.2f s: %.0f vectors/s",
                    n, lanes, cycles, seconds, n / seconds)
    return {"vectors": n, "cycles": cycles, "seconds": seconds}
