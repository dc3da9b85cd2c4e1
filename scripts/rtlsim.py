"""Amaranth-simulator runners of the ``hw/`` blocks on the golden models' stimulus (``rtl_*`` beside ``ref_*``).

Used by the unit tests in ``tests/`` and by the report to measure latency and throughput.
"""

from __future__ import annotations

from amaranth.sim import Simulator

from model.bitcounter import RowStream

__all__ = ["rtl_bitcounter"]


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
