"""Verilator co-simulation of the bitcounter: one pytest function per DUT configuration."""

from hw.bitcounter import BitCounter
from tb.cosim import run_cocotb


def _run(width, max_rows, groups, seed, waves):
    dut = BitCounter(width, max_rows)
    run_cocotb(config=f"bitcounter_w{width}_r{max_rows}", component=dut, toplevel="bitcounter",
               test_module="cocotb_bitcounter",
               params={"width": width, "max_rows": max_rows, "groups": groups, "latency": dut.latency},
               seed=seed, waves=waves)


def test_bitcounter_w8(seed, waves):
    _run(8, 16, 300, seed, waves)


def test_bitcounter_w64(seed, waves):
    _run(64, 64, 200, seed, waves)


def test_bitcounter_w256(seed, waves):
    """The paper's sub-array: 256 columns x 1024 rows (Fig. 3d)."""
    _run(256, 1024, 100, seed, waves)
