"""Verilator co-simulation of every registry block: one test per configuration of its ``cosim`` table, and one per
configuration of its ``packed`` table (packed lanes on the batch stream path, :mod:`scripts.sim.stream`: 10^7
random vectors of the MAC and of the PE and 10^6 bitcounter rows per run).

Each runs the generic cocotb testbench ``tb/cocotb_block.py`` (the same agents, scoreboard and golden as the
Amaranth-simulator tests in ``tests/test_blocks.py``); the memory-port blocks are served by the memory responder
from a behavioural array model. Replay a failure with the printed ``--seed``.
"""

import pytest

from scripts.blocks import BLOCKS
from scripts.rtl.cosim import cosim, cosim_cases, packed_cosim


def _marks(block, cfg):
    return [pytest.mark.slow] if BLOCKS[block].cosim[cfg].get("slow") else []


@pytest.mark.parametrize("block,cfg", [pytest.param(b, c, id=f"{b}-{c}", marks=_marks(b, c))
                                       for b, c in cosim_cases()])
def test_cosim(block, cfg, seed, waves):
    cosim(block, cfg, seed=seed, waves=waves)


def _packed_cases():
    return [pytest.param(spec.name, name, id=f"{spec.name}-{name}",
                         marks=[pytest.mark.slow] if cfg.get("slow") else [])
            for spec in BLOCKS.values() for name, cfg in spec.packed.items()]


@pytest.mark.parametrize("block,name", _packed_cases())
def test_packed(block, name, seed):
    """The block in packed lanes (``scripts/sim/packed.py``): every lane of every cycle bit-exact against the
    golden at the block's latency, with idle cycles (``gaps``) mixed in."""
    cfg = BLOCKS[block].packed[name]
    stats = packed_cosim(block, cfg["lanes"], {"kind": "random", "n": cfg["n"], "gaps": cfg.get("gaps", 0.0)},
                         config=cfg.get("config"), seed=seed, cxx_opt=cfg.get("cxx_opt", "-O1"))
    lanes = cfg["lanes"]
    assert stats["vectors"] == -(-cfg["n"] // lanes) * lanes and stats["results"] > 0
    if BLOCKS[block].packed_stimulus is None:              # elementwise: one result per vector
        assert stats["results"] == stats["vectors"]
    print(f"{block} x{lanes}: {stats['results']} vectors bit-exact in {stats['seconds']:.2f} s "
          f"({stats['results'] / stats['seconds']:,.0f}/s)")


@pytest.mark.parametrize("inject,message", [(None, None), ("golden", "is 0x"), ("drop", "came in cycle"),
                                            ("latency", "came in cycle")])
def test_stream_catches(inject, message, seed):
    """The stream path still fails on a wrong golden (one expected bit flipped), a dropped result (one
    ``out_valid`` cleared) and a wrong latency (checked one cycle late), each with its own message; without a
    fault the same run passes (so the failures come from the faults)."""
    job = {"kind": "random", "n": 64 * 3000, "gaps": 0.05}
    if inject is None:
        assert packed_cosim("bf16_mac", 64, job, seed=seed)["results"] == 64 * 3000
        return
    with pytest.raises(AssertionError) as err:
        packed_cosim("bf16_mac", 64, job, seed=seed, inject=inject)
    assert message in str(err.value), str(err.value)[-2000:]
