"""The simulation layer: one driver/monitor/responder/scoreboard contract for the Amaranth simulator and cocotb.

* :mod:`scripts.sim.contract`: port groups, agents, scoreboard and the one cycle loop (the cycle convention).
* :mod:`scripts.sim.block`: registry entries (:class:`BlockSpec`) and one checked run of a block (:class:`BlockRun`).
* :mod:`scripts.sim.amaranth_backend`: :func:`run_amaranth`, :func:`simulate_stream`.
* :mod:`scripts.sim.cocotb_backend`: :func:`~scripts.sim.cocotb_backend.run_agents` (imported inside cocotb only).
* :mod:`scripts.sim.lanes`: several copies of a block side by side for throughput.
"""

from scripts.sim.amaranth_backend import rtl_block, run_amaranth, simulate_stream
from scripts.sim.block import BlockRun, BlockSpec, Expected, Stimulus, StreamResult, random_gaps
from scripts.sim.contract import (AccessCounters, Agent, MemoryPorts, MemoryResponder, Scoreboard, SimTimeout,
                                  StreamDriver, StreamMonitor, StreamPorts, gaps_from_valid)

__all__ = ["run_amaranth", "simulate_stream", "rtl_block", "BlockRun", "BlockSpec", "Expected", "Stimulus", "StreamResult",
           "random_gaps", "AccessCounters", "Agent", "MemoryPorts", "MemoryResponder", "Scoreboard", "SimTimeout",
           "StreamDriver", "StreamMonitor", "StreamPorts", "gaps_from_valid"]
