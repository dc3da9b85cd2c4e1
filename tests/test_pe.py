# amaranth: UnusedElaboratable=no
"""Amaranth-simulator tests of the reconfigurable PE (hw/pe.py) against ``ref_pe`` (rtl_pe vs ref_pe).

Both modes, mode switching on every cycle and in runs, corners and seeded random vectors streamed one per
cycle, random idle cycles, the latency attributes against the observed cycle counts. Replay: ``--seed N``.
"""

import os

import numpy as np
import pytest
from amaranth.back import verilog

from hw.bf16_mul import BF16Multiplier
from hw.fp32_add import FP32Adder
from hw.mac import BF16MAC
from hw.pe import ReconfigurablePE
from model import fp_golden as g
from scripts.blocks import BLOCKS, pe_inputs
from scripts.sim import simulate_stream

OUTPUTS = ["out0", "out1", "out2", "pe_out"]


def rtl_pe(dut, mode, acts, wgts, psums, gaps=None):
    r = simulate_stream(dut, BLOCKS["reconfigurable_pe"].stream, pe_inputs(mode, acts, wgts, psums), gaps=gaps)
    outs = np.stack([r.outputs[f"out{i}"] for i in range(3)], axis=1).astype(np.uint32)
    return outs, r.outputs["pe_out"].astype(np.uint32), r


def check(dut, mode, acts, wgts, psums, gaps=None, what=""):
    outs, pe, r = rtl_pe(dut, mode, acts, wgts, psums, gaps)
    want_outs, want_pe = g.ref_pe(mode, acts, wgts, psums, ftz=dut.ftz)
    assert outs.shape == want_outs.shape, f"{what}: {outs.shape[0]} results for {want_outs.shape[0]} vectors"
    bad = np.flatnonzero(np.any(outs != want_outs, axis=1) | (pe != want_pe))
    if bad.size:
        lines = [f"{what}: {bad.size} of {mode.size} vectors differ; first ones:"]
        for i in bad[:6]:
            lines.append(f"  mode={mode[i]} acts={[hex(x) for x in acts[i]]} wgts={[hex(x) for x in wgts[i]]} "
                         f"psums={[hex(x) for x in psums[i]]}: rtl {[hex(x) for x in outs[i]]} pe {pe[i]:#x}, "
                         f"golden {[hex(x) for x in want_outs[i]]} pe {want_pe[i]:#x}")
        pytest.fail("\n".join(lines))
    # latency per vector, by its mode (both modes have the same latency by design)
    lat = np.where(mode.astype(bool), dut.latency_conv, dut.latency_systolic)
    assert np.array_equal(r.latencies, lat), f"observed latencies {sorted(set(r.latencies))}"
    return r


@pytest.mark.parametrize("mode", [0, 1])
def test_single_mode_random_full_rate(mode, seed):
    dut = ReconfigurablePE()
    modes, acts, wgts, psums = g.random_pe_vectors(seed, 1500, mode=mode)
    r = check(dut, modes, acts, wgts, psums, what=f"mode={mode} seed={seed}")
    assert np.all(r.result_intervals == 1)


@pytest.mark.parametrize("ftz", [False, True])
def test_mixed_modes_every_cycle(ftz, seed):
    """The mode changes between consecutive vectors (random per vector): no bubble, every result exact."""
    dut = ReconfigurablePE(ftz=ftz)
    modes, acts, wgts, psums = g.random_pe_vectors(seed, 1500)
    assert np.count_nonzero(np.diff(modes.astype(int))) > 500
    r = check(dut, modes, acts, wgts, psums, what=f"mixed ftz={ftz} seed={seed}")
    assert np.all(r.result_intervals == 1)


def test_alternating_modes_strictly():
    modes, acts, wgts, psums = g.random_pe_vectors(12345, 300)
    modes = (np.arange(300) % 2).astype(np.uint8)
    check(ReconfigurablePE(), modes, acts, wgts, psums, what="alternating")


@pytest.mark.parametrize("ftz", [False, True])
def test_corners(ftz):
    modes, acts, wgts, psums = g.corner_pe_vectors()
    check(ReconfigurablePE(ftz=ftz), modes, acts, wgts, psums, what=f"corners ftz={ftz}")


def test_idle_cycles(rng):
    modes, acts, wgts, psums = g.random_pe_vectors(int(rng.integers(1 << 31)), 400)
    gaps = rng.integers(0, 6, 400) * (rng.random(400) < 0.3)
    check(ReconfigurablePE(), modes, acts, wgts, psums, gaps=gaps, what="gaps")


def test_small_dot_product_by_value():
    """Convolution mode computes psum + a0 w0 + a1 w1 + a2 w2 in the paper's adder order (exact here)."""
    acts = np.array([[0x3F80, 0x4040, 0x3F00]], np.uint16)   # 1, 3, 0.5
    wgts = np.array([[0x4000, 0x3F80, 0x4080]], np.uint16)   # 2, 1, 4
    psums = np.array([[0x41200000, 0, 0]], np.uint32)        # 10
    outs, pe, _ = rtl_pe(ReconfigurablePE(), np.array([1], np.uint8), acts, wgts, psums)
    assert pe.tolist() == [0x41880000]                       # 10 + 2 + 3 + 2 = 17
    assert outs[0].tolist() == [0x41400000, 0x41880000, 0x40A00000]


def test_latency_is_multiplier_and_two_adders_measured():
    """Multiplier, then adder1/adder3 in parallel, then adder2, measured against the multiplier and the adder
    simulated on their own; mode 0 is padded to the same depth."""
    from tests.helpers import measured_latency
    mul = measured_latency(BF16Multiplier, BLOCKS["bf16_mul"], (0x3FC0, 0x4000))
    add = measured_latency(FP32Adder, BLOCKS["fp32_add"], (0x3F800000, 0x40400000))
    modes, acts, wgts, psums = g.random_pe_vectors(5, 2)
    for mode in (0, 1):
        _, _, r = rtl_pe(ReconfigurablePE(), np.array([mode], np.uint8), acts[:1], wgts[:1], psums[:1])
        assert int(r.out_cycles[0] - r.in_cycles[0]) == mul + 2 * add, f"mode {mode}"


def test_bad_parameters():
    with pytest.raises(TypeError, match="ftz"):
        ReconfigurablePE(ftz=0)
    with pytest.raises(TypeError, match="ftz"):
        ReconfigurablePE(ftz=None)


@pytest.mark.parametrize("ftz", [False, True])
def test_converts_to_verilog(ftz, monkeypatch):
    monkeypatch.setenv("AMARANTH_USE_YOSYS", os.environ.get("AMARANTH_USE_YOSYS", "builtin"))
    text = verilog.convert(ReconfigurablePE(ftz=ftz), name="top")
    assert "module top" in text and "pe_out" in text


def test_report_experiment_quick(tmp_path):
    """The pe-latency experiment measures (not reads) the latencies and finds no golden mismatch."""
    from scripts.report.experiments.pe import pe_latency
    from scripts.report.lib import Context

    section = pe_latency(Context(report_dir=tmp_path, quick=True, seed=3, show_progress=False))
    rows = {c.quantity: c for c in section.comparisons}
    assert rows["systolic core (1 MAC) latency"].ours == BF16MAC.latency
    assert rows["systolic core (1 MAC) latency"].paper == 11  # Table II
    assert rows["convolution core (3 MAC) latency"].ours == ReconfigurablePE.latency_conv
    assert rows["convolution core (3 MAC) latency"].paper == 17  # Table II
    assert rows["initiation interval, mode switching every vector"].ours == 1.0
    assert all(row[-1] == 0 for row in section.tables[0].rows)  # no result differs from the golden
    assert "| convolution core (3 MAC) latency | 17 cycles | 11 cycles |" in section.markdown("t", tmp_path)


@pytest.mark.slow
def test_pe_long_random_mixed(seed):
    modes, acts, wgts, psums = g.random_pe_vectors(seed, 30000)
    check(ReconfigurablePE(), modes, acts, wgts, psums, what=f"long mixed seed={seed}")
