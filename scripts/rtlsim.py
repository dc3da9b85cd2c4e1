"""Amaranth-simulator runners of the ``hw/`` blocks on the golden models' stimulus (``rtl_*`` beside ``ref_*``).

Used by the unit tests in ``tests/`` and by the report experiments to measure latency and throughput:
:func:`simulate_stream` drives any pipelined block one vector per cycle; :func:`rtl_bitcounter` drives the
bitcounter's row stream (valid gaps with garbage on the data lines).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from model.bitcounter import RowStream

__all__ = ["rtl_bitcounter", "StreamResult", "simulate_stream"]


def rtl_bitcounter(dut, stream: RowStream) -> tuple[list[int], list[int]]:
    """Drive ``stream`` into a :class:`hw.bitcounter.BitCounter`, one row per cycle.

    Returns the group totals and, for each, the index of the clock edge after which ``count_valid`` was seen
    (edge ``t`` samples the inputs driven in cycle ``t``).
    """
    rows = stream.packed()
    totals, out_cycles = [], []

    async def bench(ctx):
        for t in range(len(stream) + dut.latency + 2):
            if t < len(stream):
                ctx.set(dut.bits, rows[t])
                ctx.set(dut.valid, int(stream.valid[t]))
                ctx.set(dut.first, int(stream.first[t]))
                ctx.set(dut.last, int(stream.last[t]))
            else:
                ctx.set(dut.valid, 0)
            await ctx.tick()
            if ctx.get(dut.count_valid):
                totals.append(ctx.get(dut.count))
                out_cycles.append(t)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return totals, out_cycles


@dataclass
class StreamResult:
    """What :func:`simulate_stream` observed.

    Attributes
    ----------
    outputs : dict of name -> uint64 array (number of valid results,)
        Output port values in the cycles where the output-valid port was high, in order.
    in_cycles : int array
        Cycle in which each valid input vector was presented.
    out_cycles : int array
        Cycle in which each result was visible on the outputs (output-valid high).
    """

    outputs: dict
    in_cycles: np.ndarray
    out_cycles: np.ndarray

    @property
    def latencies(self) -> np.ndarray:
        """Per vector: cycles from presenting it to its result being visible (needs one result per input)."""
        if self.in_cycles.size != self.out_cycles.size:
            raise ValueError(f"{self.in_cycles.size} inputs but {self.out_cycles.size} results")
        return self.out_cycles - self.in_cycles

    @property
    def result_intervals(self) -> np.ndarray:
        """Cycles between consecutive results."""
        return np.diff(self.out_cycles)


def simulate_stream(dut, inputs: dict, valid: str, outputs: list[str], out_valid: str,
                    gaps=None, drain: int = 64) -> StreamResult:
    """Present ``inputs`` (name -> array of N values) one vector per cycle and record the valid outputs.

    Parameters
    ----------
    dut : wiring.Component
    inputs : dict
        Port name -> integer array, all of length N.
    valid, out_valid : str
        Names of the input- and output-valid ports.
    outputs : list of str
        Output ports to record.
    gaps : array of N ints, optional
        Idle cycles (``valid`` low, inputs set to 0) inserted before each vector; default none (full rate).
    drain : int
        Cycles to run after the last vector (must exceed the latency).
    """
    names = list(inputs)
    arrays = [np.asarray(inputs[k]).astype(np.uint64) for k in names]
    n = len(arrays[0]) if arrays else 0
    if any(len(a) != n for a in arrays):
        raise ValueError("all input arrays must have the same length")
    gaps = np.zeros(n, int) if gaps is None else np.asarray(gaps, int)
    ports_in = [getattr(dut, k) for k in names]
    port_valid = getattr(dut, valid)
    ports_out = [getattr(dut, k) for k in outputs]
    port_out_valid = getattr(dut, out_valid)
    columns = [[int(v) for v in a] for a in arrays]
    recorded = {k: [] for k in outputs}
    in_cycles, out_cycles = [], []

    async def bench(ctx):
        cycle = 0

        async def step():
            # The tick ends cycle `cycle`; what the outputs show now belongs to cycle `cycle + 1`.
            nonlocal cycle
            await ctx.tick()
            cycle += 1
            if ctx.get(port_out_valid):
                out_cycles.append(cycle)
                for k, p in zip(outputs, ports_out):
                    recorded[k].append(ctx.get(p))

        for i in range(n):
            for _ in range(int(gaps[i])):
                ctx.set(port_valid, 0)
                await step()
            for p, col in zip(ports_in, columns):
                ctx.set(p, col[i])
            ctx.set(port_valid, 1)
            in_cycles.append(cycle)
            await step()
        ctx.set(port_valid, 0)
        for _ in range(drain):
            await step()

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(bench)
    sim.run()
    return StreamResult({k: np.array(v, dtype=np.uint64) for k, v in recorded.items()},
                        np.array(in_cycles, int), np.array(out_cycles, int))
