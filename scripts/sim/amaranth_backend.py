"""Amaranth-simulator backend of the simulation contract (:mod:`scripts.sim.contract`).

:func:`run_amaranth` runs a list of agents against a component in ``amaranth.sim``: inputs are set with
``ctx.set`` before the edge, and the watched ports are sampled *at* the edge (``ctx.tick().sample``), so an agent
sees exactly what the cocotb backend shows it at ``RisingEdge`` (the values during the cycle that just ended).
"""

from __future__ import annotations

from typing import Sequence

from amaranth.hdl import Shape
from amaranth.sim import Simulator

from scripts.sim.contract import Agent, cycle_loop

__all__ = ["run_amaranth", "simulate_stream", "rtl_block", "AmaranthIO"]


class AmaranthIO:
    """The :class:`~scripts.sim.contract.IO` view of a component in an Amaranth testbench."""

    def __init__(self, dut):
        self.dut = dut
        self.ctx = None
        self.sampled: dict[str, int] = {}
        self._ports: dict[str, object] = {}

    def port(self, name: str):
        p = self._ports.get(name)
        if p is None:
            p = self._ports[name] = getattr(self.dut, name)
        return p

    def set(self, name: str, value: int) -> None:
        self.ctx.set(self.port(name), value)

    def get(self, name: str) -> int:
        try:
            return self.sampled[name]
        except KeyError:
            raise KeyError(f"port {name!r} is read by an agent that does not list it in `watches`") from None

    def width(self, name: str) -> int:
        return Shape.cast(self.dut.signature.members[name].shape).width


def run_amaranth(dut, agents: Sequence[Agent], *, max_cycles: int = 1_000_000, vcd: str | None = None) -> int:
    """Simulate ``dut`` with ``agents`` until all are done; return the number of cycles run.

    Parameters
    ----------
    dut : wiring.Component
    agents : sequence of Agent
        Called in order each cycle (drivers before monitors is the usual order; it does not change results).
    max_cycles : int
        Budget; :class:`~scripts.sim.contract.SimTimeout` when exceeded.
    vcd : str, optional
        Write a waveform file.
    """
    io = AmaranthIO(dut)
    watched = sorted({name for a in agents for name in a.watches})
    signals = [io.port(n) for n in watched]
    result = {}

    async def bench(ctx):
        io.ctx = ctx
        loop = cycle_loop(io, agents, max_cycles)
        try:
            next(loop)
            while True:
                _, _, *values = await ctx.tick().sample(*signals)
                io.sampled = dict(zip(watched, (int(v) for v in values)))
                loop.send(None)
        except StopIteration as stop:
            result["cycles"] = stop.value

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    return result["cycles"]


def simulate_stream(dut, ports, inputs: dict, *, gaps=None, rng=None, lanes: int = 1, max_cycles: int = 1_000_000):
    """Stream ``inputs`` (port -> N values) through ``dut`` in the Amaranth simulator and record the results.

    ``ports`` is the block's :class:`~scripts.sim.contract.StreamPorts` (from the registry). Idle cycles
    (``gaps``) carry garbage from ``rng`` when one is given, else hold the previous values. Returns a
    :class:`~scripts.sim.block.StreamResult`; the run ends once one result per input has come.
    """
    import numpy as np

    from scripts.sim.block import StreamResult
    from scripts.sim.contract import StreamDriver, StreamMonitor

    driver = StreamDriver(ports, inputs, gaps=gaps, rng=rng, idle="garbage" if rng is not None else "hold",
                          lanes=lanes)
    monitor = StreamMonitor(ports, driver.steps, lanes=lanes)
    run_amaranth(dut, [driver, monitor], max_cycles=max_cycles)
    return StreamResult({k: np.array(v, dtype=np.uint64) for k, v in monitor.outputs.items()},
                        np.array(driver.in_cycles), np.array(monitor.out_cycles))


def rtl_block(spec, dut, stimulus=None, *, rng=None, n: int = 100, **kwargs):
    """Run a registry block on ``stimulus`` (default: its own seeded stimulus) in the Amaranth simulator.

    Returns the :class:`~scripts.sim.block.BlockRun` after the run, not yet verified: ``run.monitor`` has the
    results and their cycles, ``run.driver.in_cycles`` the input cycles, ``run.verify()`` checks them against
    the golden. ``kwargs`` go to ``BlockRun``.
    """
    import numpy as np

    from scripts.sim.block import BlockRun

    run = BlockRun(spec, dut, rng if rng is not None else np.random.default_rng(0), n, stimulus=stimulus, **kwargs)
    run_amaranth(dut, run.agents)
    return run
