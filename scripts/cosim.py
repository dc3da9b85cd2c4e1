"""Verilator co-simulation of a registry block: one configuration of :attr:`BlockSpec.cosim` through cocotb.

The DUT is the block built with the configuration's ``config`` (wrapped in :class:`~scripts.sim.lanes.Lanes`
when ``lanes`` > 1), built once under ``build/sim/<block>_<config>/``; the cocotb side is the one generic test
module ``tb/cocotb_block.py``, which rebuilds the same :class:`~scripts.sim.block.BlockRun` from the parameters
and runs it with :func:`scripts.sim.cocotb_backend.run_cocotb`. Used by ``tb/test_cosim.py`` and the benchmarks.
"""

from __future__ import annotations

from typing import Mapping

from scripts.blocks import BLOCKS, select
from scripts.sim.block import BlockSpec
from scripts.sim.lanes import Lanes
from scripts.toolchain.cocotb_runner import run_cocotb, run_cocotb_bench

__all__ = ["TEST_MODULE", "cosim_cases", "dut_for", "cosim"]

#: The generic cocotb test module (``tb/cocotb_block.py``), imported by name inside the simulator.
TEST_MODULE = "tb.cocotb_block"

_KEYS = {"config", "n", "gaps", "lanes", "read_latency", "ready", "ber", "slow"}


def cosim_cases() -> list[tuple[str, str]]:
    """(block, configuration) pairs of every registry entry's ``cosim`` table."""
    return [(spec.name, cfg) for spec in BLOCKS.values() for cfg in spec.cosim]


def dut_for(spec: BlockSpec, params: Mapping):
    """The component a configuration simulates (a ``Lanes`` wrapper when ``params["lanes"]`` > 1)."""
    config = dict(params.get("config", {}))
    lanes = int(params.get("lanes", 1))
    if lanes == 1:
        return spec.build(**config)
    if not spec.lanes:
        raise ValueError(f"block {spec.name!r} cannot be wrapped in lanes (one result per input and a fixed "
                         "latency are needed)")
    return Lanes(lambda: spec.build(**config), lanes, spec.stream.shared)


def cosim(block: str, config: str | None = None, *, params: Mapping | None = None, seed: int | None = None,
          waves: bool = False, bench: bool = False):
    """Run ``block``'s co-simulation configuration ``config`` (or explicit ``params``); AssertionError on a failure.

    With ``bench=True`` returns the cocotb test's measurements (``vectors``, ``results``, ``cycles``, ``seconds``
    of simulation + checking, ``golden_seconds``).
    """
    spec = select([block])[0]
    if params is None:
        if config not in spec.cosim:
            raise ValueError(f"unknown configuration {config!r} of block {block!r}; known: {sorted(spec.cosim)}")
        params = spec.cosim[config]
    unknown = set(params) - _KEYS
    if unknown:
        raise ValueError(f"unknown co-simulation parameter(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    lanes = int(params.get("lanes", 1))
    toplevel = spec.name if lanes == 1 else f"{spec.name}_x{lanes}"
    name = f"{block}_{config}" if config else (f"{block}_custom" if lanes == 1 else f"{block}_custom_x{lanes}")
    kwargs = dict(config=name, component=lambda: dut_for(spec, params), toplevel=toplevel,
                  test_module=TEST_MODULE, params={"block": block, **params}, seed=seed, waves=waves)
    return run_cocotb_bench(**kwargs) if bench else run_cocotb(**kwargs)
