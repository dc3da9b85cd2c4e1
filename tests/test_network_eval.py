"""model/stt_ai/network_eval.py: the digits CNN as a zoo model, occupancy against eqs. (5)-(11) by hand, the traffic
and the retention flip bound, on a hand-made run summary (no simulator).

Hand numbers. Our array 2 x 2 PEs = 2 x 6 MACs (H_A = 2, W_A = 2 PEs, W_SA = 6), batch 1, 1 cycle per step:
conv1 (3x3, 1 -> 8, 8x8 pad 1): eq. (2) ceil(1*3*8*1 / 4) = 6 steps, eq. (3)-(5) 6 * 8 * 8 = 384 cycles;
conv2 (3x3, 8 -> 16, 4x4 pad 1): ceil(8*3*4 / 4) = 24 steps, 24 * 4 * 16 = 1536; fc1 (64 -> 32): eq. (8)
ceil(32/2) * ceil(64/6) = 16 * 11 = 176; fc2 (32 -> 10): 5 * 6 = 30. The same numbers as the RTL run's
``formula_cycles`` on 2 x 2 PEs.
"""

from __future__ import annotations

import math

import pytest

from model.stt_ai import dse
from model.stt_ai import network_eval as ne
from model.stt_ai.stt_mram import TAU_ATTEMPT_S
from model.zoo import chain_error

NAMES = ("conv1", "conv2", "fc1", "fc2")
KINDS = ("conv", "conv", "fc", "fc")
FORMULA = {"conv1": 384, "conv2": 1536, "fc1": 176, "fc2": 30}


def _run(images=2, word_bits=192):
    """A run_network-like summary: per layer cycles, post cycles, GLB reads/writes, occupancy and read ages."""
    layers = []
    for i, (name, kind) in enumerate(zip(NAMES, KINDS)):
        ifmap = f"{NAMES[i - 1]}.ofmap" if i else "conv1.ifmap"
        layers.append({
            "name": name, "kind": kind, "cycles": 1000 * (i + 1), "post_cycles": 100 * (i + 1),
            "formula_cycles": FORMULA[name], "glb_reads": 10 * (i + 1), "glb_writes": i + 1,
            "occupancy_cycles": {f"{name}.weights": 50.0, f"{name}.ofmap": 500.0 * (i + 1), ifmap: 7.0},
            "max_read_age_cycles": {f"{name}.weights": 40, f"{name}.ofmap": 400 * (i + 1), ifmap: None},
        })
    return {"images": images, "glb_word_bits": word_bits, "cycles_per_image": 4321.4, "layers": layers}


def test_digits_cnn_zoo_model_shapes_chain_and_macs():
    m = ne.digits_cnn_model()
    assert [l.name for l in m.compute_layers] == list(NAMES)
    assert [l.name for l in m.layers] == ["conv1", "conv1.pool", "conv2", "conv2.pool", "fc1", "fc2"]
    assert chain_error(list(m.layers)) is None
    c1, p1, c2, p2, f1, f2 = m.layers
    assert (c1.in_h, c1.in_c, c1.out_c, c1.k_h, c1.pad_h, c1.out_h) == (8, 1, 8, 3, 1, 8)
    assert (p1.out_h, p1.out_c) == (4, 8)
    assert (c2.in_h, c2.in_c, c2.out_c, c2.out_h) == (4, 8, 16, 4)
    assert (p2.out_h, f1.in_c, f1.out_c, f2.in_c, f2.out_c) == (2, 64, 32, 32, 10)
    assert m.input_hw == 8
    # MACs: 8*8*8*9 + 4*4*16*72 + 64*32 + 32*10
    assert m.macs == 4608 + 18432 + 2048 + 320
    assert all(l.bias for l in m.compute_layers)


def test_eq_2_to_8_at_our_array_match_the_hand_numbers():
    m = ne.digits_cnn_model()
    t = dse.layer_times(m, "2x6", batch=1, conv_cycles=1, fc_cycles=1, clock_hz=1e9)
    assert [round(float(x) * 1e9) for x in t] == [FORMULA[n] for n in NAMES]


def test_retention_comparison_by_hand():
    run = _run()
    rows = ne.retention_comparison(run, ne.digits_cnn_model(), rows=2, cols=2, clock_hz=1e9)
    assert [(r["prev"], r["next"], r["kind"], r["tensor"]) for r in rows] == [
        ("conv1", "conv2", "conv-conv", "conv1.ofmap"), ("conv2", "fc1", "conv-fc", "conv2.ofmap"),
        ("fc1", "fc2", "fc-fc", "fc1.ofmap")]
    # ours: T_1 + T_pool_relu (measured post of prev, after a conv only) + T_2, eqs. (7), (11), (10)
    assert [r["ours"] for r in rows] == pytest.approx([384 + 100 + 1536, 1536 + 200 + 176, 176 + 30])
    # the paper's design point (42 x 42, batch 16, 17 / 11 cycles): conv1, conv2 one step each (2) ->
    # 17 * 8 * 16 * 8 = 17408 and 17 * 4 * 16 * 16 = 17408; fc1 1 * 2 * 11 * 16 = 352, fc2 176
    assert [r["paper"] for r in rows] == pytest.approx([17408 * 2, 17408 + 352, 352 + 176])
    assert [r["measured_times"] for r in rows] == [3000, 5000, 7000]
    assert [r["occupancy"] for r in rows] == [500, 1000, 1500]
    assert [r["max_read_age"] for r in rows] == [400, 800, 1200]
    for r in rows:
        for k in ("paper", "ours", "measured_times"):
            assert r[f"ratio_{k}"] == pytest.approx(r["occupancy"] / r[k])


def test_retention_comparison_scales_with_clock_and_checks_names():
    run = _run()
    m = ne.digits_cnn_model()
    a = ne.retention_comparison(run, m, rows=2, cols=2, clock_hz=1e9)
    b = ne.retention_comparison(run, m, rows=2, cols=2, clock_hz=2e8)
    assert [r["ours"] for r in a] == pytest.approx([r["ours"] for r in b])   # cycles do not depend on the clock
    bad = _run()
    bad["layers"][1]["name"] = "convX"
    with pytest.raises(ValueError, match="differ"):
        ne.retention_comparison(bad, m, rows=2, cols=2)
    gone = _run()
    del gone["layers"][0]["occupancy_cycles"]["conv1.ofmap"]
    with pytest.raises(ValueError, match="conv1.ofmap"):
        ne.retention_comparison(gone, m, rows=2, cols=2)
    with pytest.raises(ValueError, match="layers"):
        ne.retention_comparison({"layers": []}, m, rows=2, cols=2)
    with pytest.raises(ValueError):
        ne.retention_comparison(run, m, rows=0, cols=2)


def test_glb_traffic_by_hand():
    t = ne.glb_traffic(_run(word_bits=192))
    assert t["layers"] == {"conv1": (1920, 192), "conv2": (3840, 384), "fc1": (5760, 576), "fc2": (7680, 768)}
    assert (t["bits_read"], t["bits_written"], t["cycles"]) == (19200, 1920, 4321)
    with pytest.raises(ValueError):
        ne.glb_traffic({**_run(), "glb_word_bits": 0})


def test_retention_flip_bound_by_hand_and_monotone():
    run = _run(images=3)
    d, tau = 20.0, TAU_ATTEMPT_S

    def p(age):
        return 1 - math.exp(-(age * 1e-9) / (tau * math.exp(d)))

    want = 3 * 192 * sum(10 * (i + 1) * p(max(40, 400 * (i + 1))) for i in range(4))
    assert ne.retention_flip_bound(run, d, tau, 1e9) == pytest.approx(want, rel=1e-9)
    bounds = [ne.retention_flip_bound(run, x) for x in (10.0, 15.0, 20.0, 27.5)]
    assert all(a > b for a, b in zip(bounds, bounds[1:]))
    # τ = 1 s is τ = 1 ns with Δ lowered by ln(1e9)
    assert ne.retention_flip_bound(run, 27.5, 1.0) == pytest.approx(
        ne.retention_flip_bound(run, 27.5 + math.log(1e9), 1e-9), rel=1e-6)
    with pytest.raises(ValueError):
        ne.retention_flip_bound(run, 0.0)
    with pytest.raises(ValueError):
        ne.retention_flip_bound({**run, "images": 0}, 20.0)
