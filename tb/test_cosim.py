"""Verilator co-simulation of every registry block: one test per configuration of its ``cosim`` table.

Each runs the generic cocotb testbench ``tb/cocotb_block.py`` (the same agents, scoreboard and golden as the
Amaranth-simulator tests in ``tests/test_blocks.py``); the memory-port blocks are served by the memory responder
from a behavioural array model. Replay a failure with the printed ``--seed``.
"""

import pytest

from scripts.blocks import BLOCKS
from scripts.cosim import cosim, cosim_cases


def _marks(block, cfg):
    return [pytest.mark.slow] if BLOCKS[block].cosim[cfg].get("slow") else []


@pytest.mark.parametrize("block,cfg", [pytest.param(b, c, id=f"{b}-{c}", marks=_marks(b, c))
                                       for b, c in cosim_cases()])
def test_cosim(block, cfg, seed, waves):
    cosim(block, cfg, seed=seed, waves=waves)
