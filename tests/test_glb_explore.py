"""Tests of model.stt_ai.glb_explore: the glb-dse numbers by hand on two small networks, and consistency on the zoo.

TINY is the network of tests/test_dse.py (A conv 6x6x3 -> 4x4x4 3x3; B conv 4x4x4 -> 4x4x2 3x3 pad 1, BN(2);
C fc 32 -> 10; D fc 10 -> 5). At the paper's 42x42 MACs (H_A = 42, W_A = 14 PEs, W_SA = 42), batch 16,
17/11 cycles at 1 GHz, Eq. (2) gives one step for A (3*3*4*1 = 36 <= 588) and B (4*3*4 = 48), so
Eqs. (3)-(5): T_A = 17 ns * 4 * 16 * 4 = 4352 ns, T_B = 17 * 4 * 16 * 2 = 2176 ns; Eq. (8): T_C = T_D =
1 * 1 * 11 * 16 = 176 ns. Pairs (Eqs. (7), (11), (10), T_pool_relu = 0): A-B 6528, B-C 2352, C-D 352 ns.

BIG has one 1x1 conv 1024x1024x8 -> 8 (int8 batch b: ifmap = ofmap = 8 MiB * b, weights 64 B) and an fc 8 -> 2,
so it overflows the 12 MB GLB at every batch: the spill cases.
"""

import dataclasses

import numpy as np
import pytest

from model.stt_ai import dse
from model.stt_ai import glb_explore as ge
from model.zoo import MODEL_NAMES, model_from_dict
from tests.helpers import TINY

NS = 1e-9
MIB = 2 ** 20
BIG = {
    "name": "big",
    "layers": [
        {"name": "conv", "kind": "conv", "in_h": 1024, "in_w": 1024, "in_c": 8, "out_c": 8, "k": 1},
        {"name": "fc", "kind": "fc", "in_c": 8, "out_c": 2},
    ],
}


@pytest.fixture(scope="module")
def tiny():
    return model_from_dict(TINY, "TINY")


@pytest.fixture(scope="module")
def big():
    return dataclasses.replace(model_from_dict(BIG, "BIG"), approximate=True)


@pytest.fixture(scope="module")
def small(tiny, big):
    # 3x3 MACs: H_A = 3, W_A = 1 PE, W_SA = 3; 300 B of GLB is below TINY's 1484 B need at batch 8
    return ge.explore([tiny, big], batches=[1, 2], glb_sizes_mb=[300 / dse.MB, 12], arrays=[3, 42],
                      ret_batches=[1, 2, 16])


def test_fc_bytes_and_worst_layer_by_hand(tiny):
    assert ge.fc_weight_bytes(tiny, "bf16") == (32 * 10 + 10 * 5) * 2 == 740
    assert ge.fc_weight_bytes(tiny, "int8") == 370
    # int8 batch 2: A ifmap 6*6*3*2 = 216, weights 4*3*9 = 108, ofmap 4*4*4*2 = 128
    assert ge.glb_layer_breakdown(tiny, 2, "int8") == {"name": "A", "ifmap": 216, "weights": 108, "ofmap": 128,
                                                       "total": 452}


def test_explore_tiny_by_hand(small):
    ex = small
    assert ex.names == ["tiny", "big"]
    assert ex.size[("tiny", "int8")] == 573 and ex.size[("tiny", "bf16")] == 1146  # 112 + 76 + 330 + 55
    assert ex.fc_bytes["tiny"] == 740
    # GLB need, int8: batch 1 A = 108 + 108 + 64 = 280; batch 2 = 452; batch 8 (paper batch, always added)
    # A = 864 + 108 + 512 = 1484
    assert [ex.glb[("tiny", "int8", b)] for b in (1, 2, 8)] == [280, 452, 1484]
    assert ex.glb[("tiny", "bf16", 1)] == 560
    # extra DRAM at batch 8: A spills 1484 - 300 B, B (512 + 72 + 256 = 840 B) 540 B
    d = ex.dram_glb[("tiny", "int8", 300 / dse.MB)]
    assert d["bytes"] == pytest.approx(1184 + 540) and d["layers_spilling"] == 2
    assert d["joules"] == pytest.approx((1184 + 540) * 8 * 20e-12)
    assert ex.dram_glb[("tiny", "int8", 12)]["bytes"] == 0
    # retention (module docstring)
    r = ex.ret["tiny"]
    np.testing.assert_allclose(r.t_ret / NS, [6528, 2352, 352], rtol=1e-12)
    # int8 cycles (2 per step): A 2*4*16*4 = 512, B 256 ns -> 768 ns
    assert ex.ret_int8["tiny"] == pytest.approx(768 * NS, rel=1e-12)
    # 42x42 PEs: still one step for A and B, one FC tile: the same 6528 ns
    assert ex.ret_pe["tiny"] == pytest.approx(6528 * NS, rel=1e-12)
    # 3x3 MACs: A ceil(36/3) = 12 steps -> 12*17*4*16*4 = 52224 ns; B 16 steps -> 34816 ns; A-B = 87040 ns
    assert ex.ret_vs_array["tiny"][0] == pytest.approx(87040 * NS, rel=1e-12)
    # Eq. (3): t_step is proportional to the batch -> 6528 / 16 * b
    np.testing.assert_allclose(np.array(ex.ret_vs_batch["tiny"]) / NS, [408, 816, 6528], rtol=1e-12)
    assert ex.psum[("tiny", "bf16")] == 32 and ex.psum[("tiny", "int8")] == 16  # 4 x 4 elements


def test_summary_by_hand(small):
    s = ge.summarize(small)
    assert s.largest == "tiny" and s.fc_largest == "tiny"  # BIG holds only 64 + 16 weights
    assert s.total_size == {"int8": 573 + 80, "bf16": 2 * (573 + 80)}
    assert s.glb_int8_b2 == 32 * MIB + 64 and s.glb_int8_b2_model == "big"
    assert s.glb_int8_b2_layer == {"name": "conv", "ifmap": 16 * MIB, "weights": 64, "ofmap": 16 * MIB,
                                   "total": 32 * MIB + 64}
    assert s.glb_bf16_b1 == 32 * MIB + 128
    assert s.over_int8_b2 == s.over_bf16_b1 == s.over_int8_b8 == ["big"]
    # batch 8, 12 MB: int8 128 MiB + 64 B -> 116 MiB + 64 B extra; BF16 256 MiB + 128 B -> 244 MiB + 128 B
    assert s.latency_int8 == {"tiny": 0.0, "big": pytest.approx((116 * MIB + 64) / dse.DDR4_BANDWIDTH)}
    assert s.latency_bf16["big"] == pytest.approx((244 * MIB + 128) / dse.DDR4_BANDWIDTH)
    assert s.zero_latency_int8 == s.zero_energy_int8 == ["tiny"] and s.extra_dram_bf16 == ["big"]
    assert s.max_latency_bf16_exact == 0.0  # BIG is marked approximate
    assert s.worst_energy_bf16 == "big" and s.max_energy_bf16 == pytest.approx((244 * MIB + 128) * 8 * 20e-12)
    # BIG: Eq. (2) ceil(8 * 1 * 1024 * 1 / 588) = 14 steps -> 14 * 17 ns * 1024 * 16 * 8; fc 176 ns
    assert s.max_ret_model == "big" and s.max_ret_pair == ("conv", "fc")
    assert s.max_ret == pytest.approx((14 * 17 * 1024 * 16 * 8 + 176) * NS, rel=1e-12)
    assert s.below_half == ["tiny", "big"]
    assert s.max_ret_pe == max(small.ret_pe.values()) and s.max_ret_int8 == max(small.ret_int8.values())
    # BIG at 3x3 MACs: conv ceil(8192 / 3) = 2731 steps; fc ceil(2/3) * ceil(8/3) * 11 * 16 = 528 ns
    assert s.max_ret_vs_array == pytest.approx((2731 * 17 * 1024 * 16 * 8 + 528) * NS, rel=1e-12)
    assert s.max_ret_vs_batch == s.max_ret  # batch 16 is the largest of the Fig. 14 (b) grid
    assert s.fit_scratchpad_bf16 == s.fit_scratchpad_int8 == ["tiny"]  # BIG: 1 MiB elements per channel


def test_explore_accepts_zoo_names_and_reports_progress():
    seen = []

    def progress(it, desc=""):
        seen.append(desc)
        return it

    ex = ge.explore(["alexnet"], [1], [12], [42], [16], progress=progress)
    assert ex.names == ["alexnet"] and seen == ["zoo", "models"]


def test_explore_with_a_mapper_equals_serial():
    """The design-space sweep through a mapper (as on Dask: one task per model) gives the serial tables."""
    calls = []

    def mapper(func, items):
        calls.append(len(items))
        return [func(x) for x in reversed(items)][::-1]

    names = ["alexnet", "resnet18", "mobilenet_v2"]
    a = ge.explore(names, [1, 8], [12], [42], [16])
    b = ge.explore(names, [1, 8], [12], [42], [16], mapper=mapper)
    import pickle
    assert calls == [3] and pickle.dumps(a) == pickle.dumps(b)


def test_consistency_on_the_zoo():
    """Grid, paper points and summary agree with each other and with direct model.stt_ai.dse calls."""
    ex = ge.explore(MODEL_NAMES, batches=[1, 4, 8], glb_sizes_mb=[4, 12], arrays=[16, 42],
                    ret_batches=[1, 4, 16])
    s = ge.summarize(ex)
    names = list(MODEL_NAMES)
    assert ex.names == names
    for n in names:
        m = ex.models[n]
        assert ex.glb[(n, "int8", 2)] == dse.glb_required(n, 2, "int8")  # paper batch added to the grid
        assert ex.dram_glb[(n, "bf16", 12)] == ex.dram_batch[(n, "bf16", 8)]  # same GLB, same batch
        assert ex.ret_vs_array[n][1] == ex.ret[n].max == ex.ret_vs_batch[n][2]  # 42x42, batch 16
        b = np.array(ex.ret_batches)
        np.testing.assert_allclose(np.array(ex.ret_vs_batch[n]) / b, ex.ret[n].max / 16, rtol=1e-12)  # Eq. (3)
        assert ex.ret_vs_array[n][0] >= ex.ret_vs_array[n][1]  # a smaller array is never faster
        assert 2 * ex.psum[(n, "int8")] == ex.psum[(n, "bf16")]
        assert ex.size[(n, "bf16")] == 2 * ex.size[(n, "int8")] == 2 * m.params
    assert s.max_ret == max(dse.retention(n, "42x42", 16).max for n in names)
    assert set(s.over_int8_b8) == set(names) - set(s.zero_latency_int8)  # spills iff the need exceeds 12 MB
    assert s.zero_energy_int8 == s.zero_latency_int8
    assert s.fit_scratchpad_int8 == s.fit_scratchpad_bf16  # int8 halves partial ofmaps and the scratchpad
    assert s.total_size["bf16"] == sum(ex.size[(n, "bf16")] for n in names)
    assert s.glb_int8_b2 == max(dse.glb_required(n, b, "int8") for n in names for b in (1, 2))
    assert s.max_ret_vs_array == max(max(v) for v in ex.ret_vs_array.values()) >= s.max_ret
