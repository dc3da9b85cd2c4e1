"""Verilator co-simulation of the BF16 MAC and the reconfigurable PE: one pytest function per configuration.

The single-copy tops are checked with ``valid`` gaps; the multi-lane configurations (``tb/lanes.py``) carry the
10^5+ seeded random vectors per run.
"""

from hw.mac import BF16MAC
from hw.pe import ReconfigurablePE
from tb.cosim import run_cocotb
from tb.lanes import Lanes


def _run(config, component, toplevel, params, seed, waves):
    run_cocotb(config=config, component=component, toplevel=toplevel, test_module="cocotb_fp",
               params=params, seed=seed, waves=waves)


def test_mac_top(seed, waves):
    """The real BF16MAC top level, valid gaps, corners + 20 000 random vectors."""
    _run("bf16_mac", BF16MAC(), "bf16_mac",
         {"kind": "mac", "lanes": 1, "random": 20_000, "latency": BF16MAC.latency, "gaps": 0.2}, seed, waves)


def test_mac_ftz_top(seed, waves):
    """ftz=True: subnormal operands read as zero, subnormal results flushed; the golden flushes the same way."""
    _run("bf16_mac_ftz", BF16MAC(ftz=True), "bf16_mac",
         {"kind": "mac", "lanes": 1, "random": 20_000, "latency": BF16MAC.latency, "ftz": True, "gaps": 0.1},
         seed, waves)


def test_mac_lanes8(seed, waves):
    """8 MACs side by side: corners + 100 000 random vectors, one vector per lane per cycle."""
    _run("bf16_mac_x8", Lanes(BF16MAC, 8), "bf16_mac_x8",
         {"kind": "mac", "lanes": 8, "random": 100_000, "latency": BF16MAC.latency}, seed, waves)


def test_pe_top(seed, waves):
    """The real ReconfigurablePE top level: both modes, mode switching every vector, valid gaps."""
    _run("reconfigurable_pe", ReconfigurablePE(), "reconfigurable_pe",
         {"kind": "pe", "lanes": 1, "random": 10_000, "latency": ReconfigurablePE.latency_conv, "gaps": 0.2},
         seed, waves)


def test_pe_lanes4(seed, waves):
    """4 PEs side by side: corners + 100 000 random PE vectors (random mode per vector)."""
    _run("reconfigurable_pe_x4", Lanes(ReconfigurablePE, 4), "reconfigurable_pe_x4",
         {"kind": "pe", "lanes": 4, "random": 100_000, "latency": ReconfigurablePE.latency_conv}, seed, waves)
