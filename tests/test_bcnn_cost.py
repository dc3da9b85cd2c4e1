"""The BCNN cost model (model/bcnn/cost.py): AlexNet-BCNN shapes, operation counts, energy arithmetic, storage."""

import pytest

from model.bcnn.cost import (CostParams, BinaryLayer, alexnet_bcnn, binary_layer_ops, cost_from_stats,
                             network_cost, storage_bytes)


def test_alexnet_bcnn_shapes():
    layers = {l.name: l for l in alexnet_bcnn()}
    # Krizhevsky's AlexNet: 55x55x96 after conv1, 27x27x256 conv2, 13x13 conv3-5, fc6 from 6x6x256
    assert (layers["conv1"].n, layers["conv1"].k, layers["conv1"].m) == (55 * 55, 11 * 11 * 3, 96)
    assert (layers["conv2"].n, layers["conv2"].k) == (27 * 27, 5 * 5 * 96)
    assert (layers["fc6"].n, layers["fc6"].k, layers["fc6"].m) == (1, 6 * 6 * 256, 4096)
    assert [l.binary for l in alexnet_bcnn()] == [False] + [True] * 6 + [False]
    weights = sum(l.k * l.m for l in alexnet_bcnn())
    assert weights == 34848 + 614400 + 884736 + 1327104 + 884736 + 37748736 + 16777216 + 4096000


def test_binary_layer_ops_by_hand():
    p = CostParams()
    layer = BinaryLayer("x", n=10, k=600, m=300)        # 3 chunks; 900 weight rows -> 2 sub-arrays of 512
    ops = binary_layer_ops(layer, "and_or", p)
    assert ops["chunks"] == 3 and ops["subarrays"] == 2
    assert ops["sense_ops"] == 2 * 10 * 300 * 3
    assert ops["row_writes"] == 2 * 10 * 3
    ops = binary_layer_ops(layer, "and_popcount", p)
    assert ops["sense_ops"] == 10 * 300 * 3 and ops["read_ops"] == 2 * 10 * 3


def test_cost_from_stats_arithmetic():
    p = CostParams()
    stats = {"sense_ops": 10, "read_ops": 2, "row_writes": 4, "rows_counted": 12}
    c = cost_from_stats(stats, p, outputs=5)
    e = 10 * (256 * p.e_sense_bit + p.e_row) + 2 * (256 * p.e_read_bit + p.e_row) \
        + 4 * (256 * p.e_write_bit + p.e_row) + 12 * p.e_bitcount_row + 10 * p.e_dpu_add
    assert c["energy_j"] == pytest.approx(e)
    assert c["latency_s"] == pytest.approx(12 * p.t_sense + 4 * p.t_write + p.t_dpu)


def test_network_cost_totals_are_the_sum_of_layers():
    c = network_cost(alexnet_bcnn())
    assert c["energy_j"] == pytest.approx(sum(r["energy_j"] for r in c["layers"]))
    assert c["latency_s"] == pytest.approx(sum(r["latency_s"] for r in c["layers"]))
    # the first layer alone on an FP32 DPU: its MACs at (3.7 + 0.9) pJ
    conv1 = c["layers"][0]
    assert conv1["energy_j"] == pytest.approx(conv1["macs"] * 4.6e-12)
    p = CostParams()
    assert c["area_m2"] == pytest.approx(c["subarrays"] * (p.subarray_area + p.a_bitcounter) + p.a_dpu)
    # and_popcount senses half as often
    assert network_cost(alexnet_bcnn(), "and_popcount")["energy_j"] < c["energy_j"]


def test_storage_of_fig4():
    s = storage_bytes(alexnet_bcnn())
    assert s["dp"] == 8 * s["weights"] and s["sp"] == 4 * s["weights"]
    binary = sum(l.k * l.m + 32 * l.m for l in alexnet_bcnn() if l.binary)
    real = sum(l.k * l.m for l in alexnet_bcnn() if not l.binary)
    assert s["bcnn"] == (binary + 32 * real) / 8
    assert storage_bytes(alexnet_bcnn(), 64)["bcnn"] == (binary + 64 * real) / 8


def test_bad_parameters():
    with pytest.raises(ValueError, match="e_sense_bit"):
        CostParams(e_sense_bit=-1)
    with pytest.raises(ValueError, match="form"):
        binary_layer_ops(BinaryLayer("x", 1, 1, 1), "xor")
    with pytest.raises(ValueError, match="K = 200000"):
        binary_layer_ops(BinaryLayer("x", 1, 200_000, 1))
