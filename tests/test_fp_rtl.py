# amaranth: UnusedElaboratable=no
"""Amaranth-simulator tests of the BF16 multiplier, FP32 adder and MAC against the golden (rtl_* vs ref_*).

Each block is streamed one vector per cycle (full throughput) on the corner set plus seeded random vectors, and
again with random idle cycles; results must be bit-exact, one per input, ``latency`` cycles after their input.
Replay a failure with ``--seed N`` or ``MRAM_SEED=N`` (the seed is printed). The 1e5-vector runs are in tb/.
"""

import os

import numpy as np
import pytest
from amaranth.back import verilog

from hw.bf16_mul import BF16Multiplier
from hw.fp32_add import FP32Adder
from hw.mac import BF16MAC
from model import fp_golden as g
from scripts.blocks import BLOCKS
from tests.helpers import measured_latency, rtl_run

N_RANDOM = 4000


# block -> (class, registry entry, corner vectors, random vectors, golden); port groups come from the registry
CASES = {
    "mul": (BF16Multiplier, BLOCKS["bf16_mul"], g.corner_mul_vectors, g.random_mul_vectors, g.ref_bf16_mul),
    "add": (FP32Adder, BLOCKS["fp32_add"], g.corner_add_vectors, g.random_add_vectors, g.ref_fp32_add),
    "mac": (BF16MAC, BLOCKS["bf16_mac"], g.corner_mac_vectors, g.random_mac_vectors, g.ref_mac),
}


def assert_bits_equal(got, want, *operands, what=""):
    assert got.shape == want.shape, f"{what}: {got.shape[0]} results for {want.shape[0]} inputs"
    bad = np.flatnonzero(got != want)
    if bad.size:
        lines = [f"{what}: {bad.size} of {want.size} results differ; first ones:"]
        for i in bad[:8]:
            ops = ", ".join(f"{int(op[i]):#x}" for op in operands)
            lines.append(f"  ({ops}) -> rtl {int(got[i]):#010x}, golden {int(want[i]):#010x}")
        pytest.fail("\n".join(lines))


def check_timing(result, latency):
    assert np.all(result.latencies == latency), f"observed latencies {sorted(set(result.latencies))}"


@pytest.mark.parametrize("block", sorted(CASES))
@pytest.mark.parametrize("ftz", [False, True])
def test_corners_and_random(block, ftz, seed):
    cls, spec, corners, random_vectors, ref = CASES[block]
    operands = [np.concatenate([c, r]) for c, r in zip(corners(), random_vectors(seed, N_RANDOM))]
    dut = cls(ftz=ftz)
    got, r = rtl_run(dut, spec, operands)
    assert_bits_equal(got, ref(*operands, ftz=ftz), *operands, what=f"{block} ftz={ftz} seed={seed}")
    check_timing(r, dut.latency)
    assert np.all(r.result_intervals == 1)  # one result per cycle: initiation interval 1


def test_idle_cycles_do_not_disturb_the_stream(rng):
    """Random gaps with valid low: every result still arrives exactly ``latency`` after its input."""
    n = 600
    a, b, c = g.random_mac_vectors(int(rng.integers(1 << 31)), n)
    gaps = rng.integers(0, 4, n) * (rng.random(n) < 0.3)
    operands = {"mul": (a, b), "add": (c, g.ref_bf16_mul(a, b)), "mac": (a, b, c)}
    for block, (cls, spec, _, _, ref) in CASES.items():
        dut = cls()
        got, r = rtl_run(dut, spec, operands[block], gaps)
        assert_bits_equal(got, ref(*operands[block]), what=block)
        check_timing(r, dut.latency)


def test_mac_latency_is_multiplier_then_adder_measured():
    """Measured separately: the MAC takes as long as the multiplier and the adder in sequence (Fig. 3(a))."""
    mul = measured_latency(BF16Multiplier, BLOCKS["bf16_mul"], (0x3FC0, 0x4000))
    add = measured_latency(FP32Adder, BLOCKS["fp32_add"], (0x3F800000, 0x40400000))
    mac = measured_latency(BF16MAC, BLOCKS["bf16_mac"], (0x3FC0, 0x4000, 0x3F800000))
    assert mac == mul + add


def test_single_vector_latency_measured():
    """One isolated operation: 1.5 * 2 + 1 = 4; result_valid rises exactly ``latency`` cycles later, once."""
    dut = BF16MAC()
    got, r = rtl_run(dut, BLOCKS["bf16_mac"], (np.array([0x3FC0]), np.array([0x4000]), np.array([0x3F800000])))
    assert got.tolist() == [0x40800000]
    assert r.out_cycles.tolist() == [r.in_cycles[0] + dut.latency]


@pytest.mark.parametrize("cls", [BF16Multiplier, FP32Adder, BF16MAC])
def test_bad_parameters(cls):
    with pytest.raises(TypeError, match="ftz"):
        cls(ftz=1)
    with pytest.raises(TypeError, match="ftz"):
        cls(ftz="yes")
    with pytest.raises(TypeError):
        cls(True)  # keyword-only


@pytest.mark.parametrize("cls", [BF16Multiplier, FP32Adder, BF16MAC])
@pytest.mark.parametrize("ftz", [False, True])
def test_converts_to_verilog(cls, ftz, monkeypatch):
    monkeypatch.setenv("AMARANTH_USE_YOSYS", os.environ.get("AMARANTH_USE_YOSYS", "builtin"))
    text = verilog.convert(cls(ftz=ftz), name="top")
    assert "module top" in text


@pytest.mark.slow
def test_mul_every_bf16_against_sampled_operands(rng):
    """Every bfloat16 pattern times a handful of corner / random operands (slow: ~6e5 vectors)."""
    allb = g.all_bf16()
    others = np.concatenate([g.BF16_CORNERS[::3], g.random_bf16(rng, 4)])
    a = np.tile(allb, others.size)
    b = np.repeat(others, allb.size)
    got, _ = rtl_run(BF16Multiplier(), BLOCKS["bf16_mul"], (a, b))
    assert_bits_equal(got, g.ref_bf16_mul(a, b), a, b, what="exhaustive a")


@pytest.mark.slow
@pytest.mark.parametrize("ftz", [False, True])
def test_long_random(ftz, seed):
    n = 100_000
    a, b = g.random_add_vectors(seed, n)
    got, _ = rtl_run(FP32Adder(ftz=ftz), BLOCKS["fp32_add"], (a, b))
    assert_bits_equal(got, g.ref_fp32_add(a, b, ftz=ftz), a, b, what=f"add seed={seed}")
    a, b, c = g.random_mac_vectors(seed, n)
    got, _ = rtl_run(BF16MAC(ftz=ftz), BLOCKS["bf16_mac"], (a, b, c))
    assert_bits_equal(got, g.ref_mac(a, b, c, ftz=ftz), a, b, c, what=f"mac seed={seed}")
