"""The whole-network global buffer (model/stt_ai/glb.py) and the memory area/energy model (model/stt_ai/memory_cost.py).

Statistical tests: the flips of ``n`` independent Bernoulli(p) bits are Binomial(n, p); every bound below is
``|count - n p| <= Z * sqrt(n p (1 - p))`` with Z = 5 (two-sided normal tail 5.7e-7 per check; every n p used here
is >= 300, where the normal approximation of the binomial is accurate), so a correct model fails a check about once
in two million runs, while the bugs they target move the count by tens of standard deviations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import poisson

from model.stt_ai import memory_cost as mc
from model.stt_ai.glb import BankDevice, GlobalBuffer, analytic_retention_cycles
from model.zoo import Layer, Model

Z = 5.0


def _within(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= Z * math.sqrt(n * p * (1 - p))


def _p_ret(age_cycles: float, clock_hz: float, delta: float, tau_s: float) -> float:
    """Eq. (14) written out: 1 - exp(-t / (tau e^Delta))."""
    return 1 - math.exp(-(age_cycles / clock_hz) / (tau_s * math.exp(delta)))


def _popcount(x: int) -> int:
    return bin(x).count("1")


# ------------------------------------------------------------------------------------------------ allocator
def test_allocator_alignment_no_overlap_and_lookup(rng):
    g = GlobalBuffer(5000, 48)
    placed = []
    for i in range(40):
        words, align = int(rng.integers(1, 60)), int(rng.choice([1, 3, 8, 16]))
        base = g.allocate(f"t{i}", words, kind="ifmap", align=align)
        assert base % align == 0
        placed.append((base, words, f"t{i}"))
    spans = sorted(placed)
    for (b0, w0, _), (b1, _, _) in zip(spans, spans[1:]):
        assert b0 + w0 <= b1                                  # no overlap
    assert spans[-1][0] + spans[-1][1] <= 5000
    assert g.free_words == 5000 - max(b + w for b, w, _ in placed)
    for base, words, name in placed:                        # every word maps back to its tensor, ends included
        for addr in (base, base + words - 1):
            assert g.tensor_at(addr).name == name
    gaps = [b0 + w0 for (b0, w0, _), (b1, _, _) in zip(spans, spans[1:]) if b0 + w0 < b1]
    for addr in gaps:
        assert g.tensor_at(addr) is None                    # alignment padding belongs to nobody
    assert g.tensors["t3"].kind == "ifmap"


def test_allocator_capacity_and_errors():
    g = GlobalBuffer.of_bytes(64, 1000)                     # 1000 bytes of 8-byte words: 125 words
    assert g.depth == 125
    assert GlobalBuffer.of_bytes(32).depth == 12 * 2 ** 20 // 4   # the paper's 12 MB by default
    g.allocate("w", 100)
    with pytest.raises(ValueError, match="'ofmap'.*needs 30 words.*25 words left"):
        g.allocate("ofmap", 30)
    assert list(g.tensors) == ["w"] and g.free_words == 25      # nothing half-done
    with pytest.raises(ValueError, match="'x'.*overlaps tensor 'w'"):
        g.allocate("x", 4, base=98)
    with pytest.raises(ValueError, match="already allocated"):
        g.allocate("w", 1)
    assert g.allocate("x", 4, base=120) == 120                  # explicit base above the bump pointer
    with pytest.raises(ValueError, match="'y'"):
        g.allocate("y", 1, align=8)                             # next multiple of 8 after 124 is 128 > 125
    with pytest.raises(ValueError, match="words of tensor 'z'"):
        g.allocate("z", 0)
    assert g.words_for(33, 16) == 9                             # 4 bf16 per 64-bit word
    assert g.words_for(32, 16) == 8


# ------------------------------------------------------------------------------------------------ occupancy
def test_occupancy_and_ages_from_recorded_cycles(seed):
    g = GlobalBuffer(64, 32, seed=seed % 1000)
    a = g.allocate("conv1.ofmap", 4)
    b = g.allocate("conv2.weights", 2, align=8)
    g.load(b, [7, 9], cycle=3)                                  # before the run: not a port write
    assert g.writes == 0 and g.loaded_words == 2
    for k, t in enumerate((10, 11, 12, 13)):
        g.write(a + k, k, cycle=t)
    g.set_cycle(40)
    assert [g.read(a + k) for k in range(4)] == [0, 1, 2, 3]    # the cycle comes from set_cycle
    g.read(b + 1, cycle=45)
    g.write(a, 5, cycle=50)                                     # rewritten: ages restart
    assert g.read(a, cycle=57) == 5
    t = g.tensors["conv1.ofmap"]
    assert t.write_cycles == [10, 11, 12, 13, 50] and t.read_cycles == [40, 40, 40, 40, 57]
    assert t.occupancy_cycles == 57 - 10
    assert t.max_read_age == 40 - 10                            # word a read at 40, written at 10
    w = g.tensors["conv2.weights"]
    assert w.occupancy_cycles == 45 - 3 and w.max_read_age == 45 - 3
    assert g.occupancy() == {"conv1.ofmap": 47, "conv2.weights": 42}
    with pytest.raises(ValueError, match="cycle must not go back"):
        g.read(a, cycle=56)
    with pytest.raises(ValueError, match="cycle must be an integer >= 40"):
        g.set_cycle(39)
    assert g.counters() == {"reads": 6, "writes": 5, "injected_bits": 0}


def test_flat_ber_with_tensors_serves_what_todays_buffer_serves(seed):
    """``ber`` keeps today's injector (per read index) when tensors are allocated; the tensor counts its errors."""
    plain = GlobalBuffer(16, 24, ber=0.05, seed=seed)
    tracked = GlobalBuffer(16, 24, ber=0.05, seed=seed)
    tracked.allocate("a", 16)
    for g in (plain, tracked):
        for k in range(16):
            g.write(k, 0xABCDEF ^ k, cycle=k)
    served = [[g.read(k % 16, cycle=100 + k) for k in range(200)] for g in (plain, tracked)]
    assert served[0] == served[1]
    assert plain.counters() == tracked.counters() and plain.injected_bits > 0
    assert tracked.tensors["a"].error_bits == tracked.injected_bits == tracked.tensors["a"].bit_flips
    assert len(tracked.tensors["a"].read_cycles) == 200 and tracked.tensors["a"].occupancy_cycles == 299


def test_analytic_retention_cycles_hand_computed():
    """Eqs. (2)-(11) on a digits-CNN-shaped model, 4x6 MACs (W_A = 2 PEs of 3, H_A = 4), batch 2, 5 and 3 cycles
    per conv / FC step, 200 MHz, T_pool_relu = 100 ns = 20 cycles (hand-expanded below)."""
    m = Model("digits", (Layer("conv1", "conv", 8, 8, 1, 8, 3, 3, 1, 1, 1), Layer("p1", "pool", 8, 8, 8, 8, 2, 2, 2),
                         Layer("conv2", "conv", 4, 4, 8, 16, 3, 3, 1, 1, 1), Layer("p2", "pool", 4, 4, 16, 16, 2, 2, 2),
                         Layer("fc1", "fc", 1, 1, 64, 32), Layer("fc2", "fc", 1, 1, 32, 10)), 8)
    got = analytic_retention_cycles(m, clock_hz=2e8, array="4x6", batch=2, conv_cycles=5, fc_cycles=3,
                                    t_pool_relu=1e-7)
    conv1 = math.ceil(1 * 3 * 8 * 1 / 8) * (5 * 8 * 2) * 8      # 3 steps x 80 cycles x 8 out ch = 1920
    conv2 = math.ceil(8 * 3 * 4 * 1 / 8) * (5 * 4 * 2) * 16     # 12 x 40 x 16 = 7680
    fc1 = math.ceil(32 / 4) * math.ceil(64 / 6) * 3 * 2         # 8 x 11 x 6 = 528
    fc2 = math.ceil(10 / 4) * math.ceil(32 / 6) * 3 * 2         # 3 x 6 x 6 = 108
    want = {("conv1", "conv2"): conv1 + 20 + conv2, ("conv2", "fc1"): conv2 + 20 + fc1, ("fc1", "fc2"): fc1 + fc2}
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-12, abs=0)


# ------------------------------------------------------------------------------------------------ error rates
def test_retention_flips_follow_eq14_with_each_words_age(seed):
    """Bits flip with P_RF(age) of eq. (14), age = read cycle - that word's last write cycle (not cycle 0), and the
    failures persist: a later read of the same data sees a superset, with P_RF(longer age)."""
    clock, delta, tau = 5e8, 9.0, 2e-9
    dev = BankDevice(delta, tau_s=tau)
    n_words, width = 2500, 32
    g = GlobalBuffer(n_words, width, device=dev, clock_hz=clock, seed=seed)
    w0, age1, age2 = 200_000, 1000, 2600                        # w0 >> age: an age counted from cycle 0 is far off
    patterns = [int(x) for x in np.random.default_rng(seed).integers(0, 2 ** 32, n_words, dtype=np.uint64)]
    for a in range(n_words):
        g.write(a, 0, cycle=w0 // 2)
        g.write(a, patterns[a], cycle=w0)                       # the age counts from this last write
    first = [g.read(a, cycle=w0 + age1) ^ patterns[a] for a in range(n_words)]
    second = [g.read(a, cycle=w0 + age2) ^ patterns[a] for a in range(n_words)]
    n = n_words * width
    p1, p2 = _p_ret(age1, clock, delta, tau), _p_ret(age2, clock, delta, tau)
    assert 300 < n * p1 and n * p2 < n / 2
    c1, c2 = sum(map(_popcount, first)), sum(map(_popcount, second))
    assert _within(c1, n, p1), (c1, n * p1)
    assert _within(c2, n, p2), (c2, n * p2)
    assert all(f & s == f for f, s in zip(first, second))        # persistence: read 2 keeps read 1's failures
    c = g.counters()
    assert c["banks"]["main"]["flips"] == {"retention": c2, "read_disturb": 0, "write": 0}
    assert c["injected_bits"] == c1 + c2 and c["banks"]["main"]["error_bits"] == c1 + c2
    assert c["banks"]["main"]["reads"] == 2 * n_words and c["banks"]["main"]["writes"] == 2 * n_words
    # rewriting clears the failures: a read one cycle after a new write sees Poisson(n' P_RF(1 cycle)) flips, about
    # 0.8 here; the bound is that Poisson's upper tail at the module's 5.7e-7 (a count from cycle 0 or kept old
    # failures would give thousands)
    n_re = 200
    for a in range(n_re):
        g.write(a, patterns[a], cycle=w0 + 3000)
    fresh = sum(_popcount(g.read(a, cycle=w0 + 3001) ^ patterns[a]) for a in range(n_re))
    bound = int(poisson.isf(5.7e-7, n_re * width * _p_ret(1, clock, delta, tau)))
    assert fresh <= bound, (fresh, bound)


def test_read_disturb_and_write_errors_from_the_device_model(seed):
    """Read disturb of eq. (15) hits each not-yet-disturbed bit at every read (cumulative 1 - (1 - P_RD)^j after j
    reads; a model that can disturb a bit back would give the odd-count probability (1 - (1 - 2 P_RD)^j) / 2, 0.34
    instead of 0.41 at the 5th read); write errors of eq. (16) hit only the bits a write has to switch."""
    delta, tau, i_r, i_w, tau_w = 30.0, 1e-9, 0.55, 1.3, 2e-9
    t_r = -math.log(1 - 0.1) * tau * math.exp(delta * (1 - i_r))            # eq. (15) inverted: P_RD = 0.1
    lw = -math.log(1 - 0.02)                                                 # eq. (16) inverted: WER = 0.02
    t_w = tau_w / (i_w - 1) * math.log((1 + math.pi ** 2 * delta * (i_w - 1) / (4 * lw)) / i_w)
    dev = BankDevice(delta, tau_s=tau, read_pulse_s=t_r, i_read_ratio=i_r, write_pulse_s=t_w, i_write_ratio=i_w,
                     tau_write_s=tau_w)
    assert dev.p_read_disturb == pytest.approx(0.1, rel=1e-9, abs=0)
    assert dev.p_write_error == pytest.approx(0.02, rel=1e-9, abs=0)
    designed = BankDevice.designed(delta, rd_rate=0.1, wer=0.02, tau_s=tau, i_read_ratio=i_r, i_write_ratio=i_w,
                                   tau_write_s=tau_w)
    assert designed.read_pulse_s == pytest.approx(t_r, rel=1e-9, abs=0)
    assert designed.write_pulse_s == pytest.approx(t_w, rel=1e-9, abs=0)
    n_words, width, ones = 3000, 16, 0xFFFF
    g = GlobalBuffer(n_words, width, device=dev, clock_hz=1e9, seed=seed)   # Δ 30: retention ~1e-11 per bit here
    for a in range(n_words):
        g.write(a, 0, cycle=1)                                  # from power-up 0: nothing to switch, no errors
    assert g.counters()["banks"]["main"]["flips"]["write"] == 0
    for a in range(n_words):
        g.write(a, ones, cycle=2)                               # every bit switches
    stuck = sum(_popcount(g.words[a] ^ ones) for a in range(n_words))
    n = n_words * width
    assert _within(stuck, n, 0.02), (stuck, n * 0.02)
    assert g.counters()["banks"]["main"]["flips"]["write"] == stuck
    for a in range(n_words):                                    # rewrite cleanly for the read-disturb part
        g.write(a, 0, cycle=3)
        while g.words[a] != 0:
            g.write(a, 0, cycle=3)
    wrong = [0] * n_words
    for j in range(1, 6):
        wrong = [g.read(a, cycle=3 + j) for a in range(n_words)]
        total = sum(map(_popcount, wrong))
        assert _within(total, n, 1 - (1 - 0.1) ** j), (j, total)
    assert g.counters()["banks"]["main"]["flips"]["retention"] == 0


def test_replay_by_seed_is_per_word(seed):
    """The same accesses of a word at the same cycles give the same served words whatever order the words are
    visited in; another seed gives other flips."""
    dev = BankDevice(8.0, tau_s=1e-9)

    def run(order, s):
        g = GlobalBuffer(300, 24, device=dev, clock_hz=1e9, seed=s)
        for a in order:
            g.write(a, a * 12345 & 0xFFFFFF, cycle=100)
        out = {}
        for a in order:
            out[a] = (g.read(a, cycle=400), g.read(a, cycle=900))
        return out, g.counters()

    fwd, c_fwd = run(range(300), seed)
    rev, c_rev = run(range(299, -1, -1), seed)
    assert fwd == rev and c_fwd == c_rev and c_fwd["bit_flips"] > 0
    other, _ = run(range(300), seed + 1)
    assert other != fwd


def test_ultra_banks_have_their_own_rates_and_counters(seed):
    """STT-AI Ultra: the robust bits of each element (its top ``robust_bits``) flip at the robust bank's rate, the
    rest at the relaxed bank's; counters per bank."""
    clock, tau = 8e8, 5e-9
    robust, relaxed = BankDevice(11.0, tau_s=tau), BankDevice(7.5, tau_s=tau)
    width, element, r_bits = 32, 16, 5                         # two 16-bit elements per word, top 5 bits robust
    g = GlobalBuffer(3000, width, ultra=(robust, relaxed), element_bits=element, robust_bits=r_bits,
                     clock_hz=clock, seed=seed)
    mask_r = sum(1 << (k * element + b) for k in range(width // element) for b in range(element - r_bits, element))
    w0, age = 7_000, 30_000
    for a in range(3000):
        g.write(a, 0, cycle=w0)
    got = [g.read(a, cycle=w0 + age) for a in range(3000)]
    n_r, n_x = 3000 * _popcount(mask_r), 3000 * (width - _popcount(mask_r))
    p_r, p_x = _p_ret(age, clock, 11.0, tau), _p_ret(age, clock, 7.5, tau)
    c_r = sum(_popcount(v & mask_r) for v in got)
    c_x = sum(_popcount(v & ~mask_r) for v in got)
    assert n_r * p_r > 300 and n_x * p_x > 300
    assert _within(c_r, n_r, p_r), (c_r, n_r * p_r)
    assert _within(c_x, n_x, p_x), (c_x, n_x * p_x)
    banks = g.counters()["banks"]
    assert banks["robust"]["bit_flips"] == banks["robust"]["flips"]["retention"] == c_r
    assert banks["relaxed"]["bit_flips"] == c_x and g.counters()["bit_flips"] == c_r + c_x
    for name, bits in (("robust", 10), ("relaxed", 22)):
        b = banks[name]
        assert (b["bits_per_word"], b["reads"], b["writes"]) == (bits, 3000, 3000)
        assert (b["bits_read"], b["bits_written"]) == (3000 * bits, 3000 * bits)
    assert banks["robust"]["delta"] == 11.0 and banks["relaxed"]["delta"] == 7.5


def test_device_model_options_are_checked():
    dev = BankDevice(20.0)
    with pytest.raises(ValueError, match="ber and device"):
        GlobalBuffer(8, 16, ber=1e-3, device=dev)
    with pytest.raises(ValueError, match="device and ultra"):
        GlobalBuffer(8, 16, device=dev, ultra=(dev, dev))
    with pytest.raises(ValueError, match="element_bits must divide"):
        GlobalBuffer(8, 16, ultra=(dev, dev), element_bits=6)
    with pytest.raises(ValueError, match="robust_bits"):
        GlobalBuffer(8, 16, ultra=(dev, dev), element_bits=8, robust_bits=9)
    with pytest.raises(ValueError, match="ultra must be a pair"):
        GlobalBuffer(8, 16, ultra=(dev,))
    with pytest.raises(ValueError, match="delta"):
        BankDevice(0.0)
    with pytest.raises(ValueError, match="i_write_ratio"):
        BankDevice(20.0, i_write_ratio=1.0)
    with pytest.raises(ValueError, match="clock_hz"):
        GlobalBuffer(8, 16, device=dev, clock_hz=0)


def test_no_error_model_serves_what_was_written(rng):
    g = GlobalBuffer(64, 40, device=BankDevice(200.0))          # Δ 200: P_RF ~ 1e-78 per bit and second
    g.allocate("x", 64)
    data = [int(v) for v in rng.integers(0, 2 ** 40, 64)]
    for a, d in enumerate(data):
        g.write(a, d, cycle=a)
    assert [g.read(a, cycle=10 ** 9) for a in range(64)] == data
    assert g.counters()["bit_flips"] == 0 and g.tensors["x"].error_bits == 0


# ------------------------------------------------------------------------------------------------ memory cost
TECH = mc.MemoryTech(feature_nm=20.0, sram_cell_um2=0.1, mram_cell_scale=0.25, mram_min_cell_f2=8.0, delta_base=50.0,
                     area_delta_exponent=1.0, array_efficiency=0.5, sram_leak_w_per_bit=3e-12,
                     mram_leak_w_per_bit=1e-12, e_ref_j_per_bit=2e-12, e_ref_feature_nm=40.0, e_ref_bits=10 ** 6,
                     periphery_area_exponent=0.5, vdd_v=0.9, j_sw_a_per_m2=4e10, mtj_diameter_nm=50.0,
                     i_write_ratio=1.5, wer=1e-6, tau_write_s=2e-9, i_read_ratio=0.25, t_read_s=3e-9)


def test_memory_cost_hand_computed():
    bits = 4 * 10 ** 6
    # SRAM: 4e6 x 0.1 um^2 / 0.5 = 0.8 mm^2; periphery 2 pJ x 20/40 x sqrt(0.8 / (1e6 x 0.1 / 0.5 um^2 = 0.2)) = 2 pJ
    s = mc.sram_macro(bits, TECH)
    assert s.area_mm2 == pytest.approx(0.8, rel=1e-12, abs=0)
    assert s.read_j_per_bit == s.write_j_per_bit == pytest.approx(2e-12, rel=1e-12, abs=0)
    assert s.leakage_w == pytest.approx(4e6 * 3e-12, rel=1e-12, abs=0)
    # MRAM at Δ 25: cell 0.25 x 0.1 x 25/50 = 0.0125 um^2 (> 8 F^2 = 0.0032); area 0.1 mm^2
    m = mc.mram_macro(bits, 25.0, TECH)
    assert m.cell_um2 == pytest.approx(0.0125, rel=1e-12, abs=0)
    assert m.area_mm2 == pytest.approx(0.1, rel=1e-12, abs=0)
    i_c = 4e10 * math.pi * 25e-9 ** 2 * 25 / 50                 # J_SW x A_MTJ x Δ/Δ_base = 39.27 uA
    lw = -math.log(1 - 1e-6)
    t_w = 2e-9 / 0.5 * math.log((1 + math.pi ** 2 * 25 * 0.5 / (4 * lw)) / 1.5)      # eq. (16) inverted
    periph = 2e-12 * 0.5 * math.sqrt(0.1 / 0.2)
    assert m.write_j_per_bit == pytest.approx(periph + 0.9 * 1.5 * i_c * t_w, rel=1e-9, abs=0)
    assert m.read_j_per_bit == pytest.approx(periph + 0.9 * 0.25 * i_c * 3e-9, rel=1e-9, abs=0)
    assert m.leakage_w == pytest.approx(4e-6, rel=1e-12, abs=0)
    # the floor: at Δ 2 the scaled cell (0.001 um^2) is below 8 F^2 = 0.0032 um^2
    assert mc.mram_cell_um2(2.0, TECH) == pytest.approx(8 * 0.02 ** 2, rel=1e-12, abs=0)
    # energy over a run: 1e6 cycles at 250 MHz = 4 ms of leakage
    e = mc.inference_energy([s, m], [1000, 3000], [10, 20], 10 ** 6, clock_hz=2.5e8)
    want_s = 1000 * 2e-12 + 10 * 2e-12 + 1.2e-5 * 4e-3
    want_m = 3000 * m.read_j_per_bit + 20 * m.write_j_per_bit + 4e-6 * 4e-3
    assert e["seconds"] == pytest.approx(4e-3, rel=1e-12, abs=0)
    assert e["macros"]["sram"]["total_j"] == pytest.approx(want_s, rel=1e-12, abs=0)
    assert e["macros"]["mram"]["total_j"] == pytest.approx(want_m, rel=1e-12, abs=0)
    assert e["power_w"] == pytest.approx((want_s + want_m) / 4e-3, rel=1e-12, abs=0)


def test_ultra_macros_and_savings_hand_computed():
    # 1 MB buffer, 30 % robust at Δ 40, the rest relaxed at Δ 20
    u = mc.glb_macros("ultra", 2 ** 20, delta=40.0, delta_relaxed=20.0, robust_fraction=0.3, tech=TECH)
    bits = 8 * 2 ** 20
    nr = round(0.3 * bits)
    cell_r, cell_x = 0.25 * 0.1 * 40 / 50, 0.25 * 0.1 * 20 / 50
    area_r, area_x = nr * cell_r / 0.5e6, (bits - nr) * cell_x / 0.5e6
    assert [x.name for x in u] == ["robust", "relaxed"] and [x.bits for x in u] == [nr, bits - nr]
    assert u[0].area_mm2 == pytest.approx(area_r, rel=1e-12, abs=0)
    assert u[1].area_mm2 == pytest.approx(area_x, rel=1e-12, abs=0)
    periph = 2e-12 * 0.5 * math.sqrt((area_r + area_x) / 0.2)  # both banks: the whole buffer's wires
    assert u[0].parts["periphery_j_per_bit"] == pytest.approx(periph, rel=1e-12, abs=0)
    assert u[1].parts["periphery_j_per_bit"] == pytest.approx(periph, rel=1e-12, abs=0)
    core = mc.CoreCost(2.0, 0.5, 0.01)
    base = mc.accelerator_totals(core, mc.glb_macros("sram", 2 ** 20, tech=TECH), 0.04)
    design = mc.accelerator_totals(core, u, 0.015)
    sram_area = bits * 0.1 / 0.5e6
    assert base["area_mm2"] == pytest.approx(2.0 + sram_area, rel=1e-12, abs=0)
    sv = mc.savings(base, design)
    assert sv["area"] == pytest.approx(1 - (2.0 + area_r + area_x) / (2.0 + sram_area), rel=1e-12, abs=0)
    assert sv["power"] == pytest.approx(1 - 0.525 / 0.55, rel=1e-12, abs=0)


def test_memory_cost_against_the_paper_where_not_by_construction():
    # the scratchpad's leakage is not an input: 0.21 mW per 12 MB scaled to 52 KB vs Table III's printed 9E-4 mW
    sp = mc.scratchpad_macro()
    assert abs(sp.leakage_w * 1e3 - 9e-4) <= 0.5e-4
    # Table III's totals give the percentages the paper states (to its rounding)
    a, p = mc.paper_savings("stt_ai")
    assert round(a * 100) == 75 and round(p * 100) == 3
    a, p = mc.paper_savings("stt_ai_ultra")
    assert abs(a * 100 - 75.4) <= 0.1 and round(p * 100, 1) == 3.5
    with pytest.raises(ValueError, match="kind"):
        mc.glb_macros("dram")
    with pytest.raises(ValueError, match="array_efficiency"):
        mc.MemoryTech(array_efficiency=0.0)
    with pytest.raises(ValueError, match="one entry per macro"):
        mc.inference_energy([sp], [1, 2], [0], 10)


def test_table3_composition_for_a_run():
    """The baseline's SRAM buffer also serves the scratchpad traffic (it has no scratchpad); Ultra splits the buffer
    traffic between its banks by ``robust_fraction``."""
    core = mc.CoreCost(3.0, 0.2, 0.002)
    t = mc.table3(1000, 100, 10 ** 5, clock_hz=1e8, scratchpad_bits_read=50, scratchpad_bits_written=40,
                  capacity_bytes=2 ** 20, delta=30.0, delta_relaxed=15.0, robust_fraction=0.25, tech=TECH, core=core)
    seconds = 1e-3
    sram = 8 * 2 ** 20 * 0.1 / 0.5e6                                # 1.6777 mm^2
    e_sram = 2e-12 * 0.5 * math.sqrt(sram / 0.2)
    want = 1190 * e_sram + 8 * 2 ** 20 * 3e-12 * seconds
    assert t["baseline"]["energy"]["total_j"] == pytest.approx(want, rel=1e-12, abs=0)
    assert t["baseline"]["area_mm2"] == pytest.approx(3.0 + sram, rel=1e-12, abs=0)
    assert t["baseline"]["power_w"] == pytest.approx(0.202 + want / seconds, rel=1e-12, abs=0)
    main, sp = t["stt_ai"]["macros"]
    assert (main.name, main.delta, sp.name, sp.bits) == ("main", 30.0, "scratchpad", 8 * 52 * 1024)
    want = (1000 * main.read_j_per_bit + 100 * main.write_j_per_bit + 50 * sp.read_j_per_bit
            + 40 * sp.write_j_per_bit + (main.leakage_w + sp.leakage_w) * seconds)
    assert t["stt_ai"]["energy"]["total_j"] == pytest.approx(want, rel=1e-12, abs=0)
    rob, rel, _ = t["stt_ai_ultra"]["macros"]
    per = t["stt_ai_ultra"]["energy"]["macros"]
    assert per["robust"]["read_j"] == pytest.approx(250 * rob.read_j_per_bit, rel=1e-12, abs=0)
    assert per["relaxed"]["write_j"] == pytest.approx(75 * rel.write_j_per_bit, rel=1e-12, abs=0)
    for d in ("stt_ai", "stt_ai_ultra"):
        assert t[d]["saving"]["area"] == pytest.approx(1 - t[d]["area_mm2"] / t["baseline"]["area_mm2"], rel=1e-12,
                                                       abs=0)
