"""The BCNN cost model (model/bcnn/cost.py): AlexNet-BCNN shapes, operation counts, energy arithmetic, storage."""

import pytest

from model.bcnn.cost import (DPU_ENERGY, CostParams, BinaryLayer, alexnet_bcnn, binary_layer_ops, cost_from_stats,
                             network_cost, real_mac_energy_bound, storage_bytes)


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
    ops = binary_layer_ops(layer, "and_or", p, "half")
    assert ops["chunks"] == 3 and ops["subarrays"] == 2 and ops["input_rows"] == 512
    assert ops["sense_ops"] == 2 * 10 * 300 * 3
    assert ops["row_writes"] == 2 * 10 * 3
    ops = binary_layer_ops(layer, "and_popcount", p, "half")
    assert ops["sense_ops"] == 10 * 300 * 3 and ops["read_ops"] == 2 * 10 * 3
    # input rows sized per layer: 3 rows for the input, (1024 - 3) // 3 = 340 weight vectors >= 300: one sub-array
    ops = binary_layer_ops(layer, "and_popcount", p, "layer")
    assert ops["subarrays"] == 1 and ops["input_rows"] == 3
    assert ops["read_ops"] == 10 * 3 and ops["row_writes"] == 10 * 3
    # dual rail: 6 rows per vector; (1024 - 6) // 6 = 169 weight vectors per sub-array -> 2 sub-arrays
    ops = binary_layer_ops(layer, "and_dual", p, "layer")
    assert (ops["rows_per_vector"], ops["input_rows"], ops["subarrays"]) == (6, 6, 2)
    assert ops["sense_ops"] == 2 * 10 * 300 * 3 and ops["read_ops"] == 0 and ops["row_writes"] == 2 * 10 * 6
    assert binary_layer_ops(layer, "and_dual", p, "half")["subarrays"] == 4        # 1800 rows / 512
    # the paper's AND-only count: one AND sense per chunk, nothing else
    ops = binary_layer_ops(layer, "and_only", p, "layer")
    assert ops["sense_ops"] == 10 * 300 * 3 and ops["read_ops"] == 0 and ops["rows_counted"] == ops["sense_ops"]
    # a non-default geometry: 128 x 64 sub-arrays, K = 600 -> 10 chunks, (128 - 10) // 10 = 11 vectors per sub-array
    small = CostParams(cols=64, rows=128)
    assert binary_layer_ops(layer, "and_or", small, "layer")["subarrays"] == 28          # ceil(300 / 11)
    assert binary_layer_ops(layer, "and_or", small, "half")["subarrays"] == 47           # ceil(3000 / 64)


def test_alexnet_sub_arrays_per_layer_by_hand():
    """AlexNet-BCNN on 1024 x 256 sub-arrays. Half the rows for inputs: ceil(M C / 512) per layer (conv2 5, conv3 7,
    conv4 11, conv5 7, fc6 288, fc7 128 = 446). One input vector's rows per layer: ceil(M / floor((1024 - C) / C)):
    conv2 C = 10: 101 per sub-array -> 3; conv3 C = 9: 112 -> 4; conv4 C = 14: 72 -> 6; conv5 C = 14: 72 -> 4;
    fc6 C = 36: 27 -> 152; fc7 C = 16: 63 -> 66; 235 in all."""
    layers = alexnet_bcnn()
    half = network_cost(layers, "and_or", CostParams(), "half")
    per_layer = network_cost(layers, "and_or", CostParams(), "layer")
    assert [r["subarrays"] for r in half["layers"]] == [0, 5, 7, 11, 7, 288, 128, 0] and half["subarrays"] == 446
    assert [r["subarrays"] for r in per_layer["layers"]] == [0, 3, 4, 6, 4, 152, 66, 0]
    assert per_layer["subarrays"] == 235
    assert network_cost(layers)["subarrays"] == 235                     # per-layer input rows are the default
    p = CostParams()
    assert per_layer["area_m2"] == pytest.approx(235 * (p.subarray_area + p.a_bitcounter) + p.a_dpu)
    # fewer sub-arrays also means fewer input writes: each holds its own copy of every input vector
    fc6 = {r["layer"]: r for r in per_layer["layers"]}["fc6"]
    assert fc6["row_writes"] == 152 * 1 * 36


def test_dpu_precision():
    """Horowitz (ISSCC 2014, 45 nm) per-operation energies, and the bound the paper's total puts on them."""
    assert DPU_ENERGY == {"fp32": (3.7e-12, 0.9e-12), "fp16": (1.1e-12, 0.4e-12), "int8": (0.2e-12, 0.03e-12)}
    p = CostParams().with_dpu("fp16")
    assert (p.e_dpu_mul, p.e_dpu_add) == (1.1e-12, 0.4e-12) and p.e_sense_bit == CostParams().e_sense_bit
    assert CostParams().int8_dpu() == CostParams().with_dpu("int8")
    layers = alexnet_bcnn()
    # the real layers cost (mul + add) per MAC whatever the precision: conv1 3025 x 363 x 96 + fc8 4096 x 1000 MACs
    real_macs = 3025 * 363 * 96 + 4096 * 1000
    for q in ("fp32", "fp16"):
        c = network_cost(layers, "and_popcount", CostParams().with_dpu(q))
        real = sum(r["energy_j"] for r in c["layers"] if not r["binary"])
        assert real == pytest.approx(real_macs * sum(DPU_ENERGY[q]), rel=1e-12)
    # Table II's 310.42 uJ over those MACs: 2.83 pJ, below FP32's 4.6 pJ, above FP16's 1.5 pJ
    bound = real_mac_energy_bound(layers, 310.42e-6)
    assert bound == pytest.approx(310.42e-6 / real_macs, rel=1e-12)
    assert sum(DPU_ENERGY["fp16"]) < bound < sum(DPU_ENERGY["fp32"])
    with pytest.raises(ValueError, match="precision"):
        CostParams().with_dpu("fp8")
    with pytest.raises(ValueError, match="real-valued"):
        real_mac_energy_bound([l for l in layers if l.binary], 1e-4)


def test_cost_from_stats_arithmetic():
    p = CostParams()
    stats = {"sense_ops": 10, "read_ops": 2, "row_writes": 4, "rows_counted": 12}
    c = cost_from_stats(stats, p, outputs=5)
    e = 10 * (256 * p.e_sense_bit + p.e_row) + 2 * (256 * p.e_read_bit + p.e_row) \
        + 4 * (256 * p.e_write_bit + p.e_row) + 12 * p.e_bitcount_row + 10 * p.e_dpu_add
    assert c["energy_j"] == pytest.approx(e)
    assert c["latency_s"] == pytest.approx(12 * p.t_sense + 4 * p.t_write + p.t_dpu)


@pytest.mark.parametrize("form,input_rows", [("and_or", "half"), ("and_dual", "layer"), ("and_only", "layer")])
def test_network_cost_totals_are_the_sum_of_layers(form, input_rows):
    c = network_cost(alexnet_bcnn(), form, CostParams(), input_rows)
    assert c["energy_j"] == pytest.approx(sum(r["energy_j"] for r in c["layers"]))
    assert c["latency_s"] == pytest.approx(sum(r["latency_s"] for r in c["layers"]))
    # the first layer alone on an FP32 DPU: its MACs at (3.7 + 0.9) pJ
    conv1 = c["layers"][0]
    assert conv1["energy_j"] == pytest.approx(conv1["macs"] * 4.6e-12)
    p = CostParams()
    assert c["area_m2"] == pytest.approx(c["subarrays"] * (p.subarray_area + p.a_bitcounter) + p.a_dpu)
    # and_popcount senses half as often as and_or / and_dual (and reads rows the AND-only count does not)
    if form != "and_only":
        assert network_cost(alexnet_bcnn(), "and_popcount", CostParams(), input_rows)["energy_j"] < c["energy_j"]
    else:
        assert network_cost(alexnet_bcnn(), "and_popcount", CostParams(), input_rows)["energy_j"] > c["energy_j"]


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
    with pytest.raises(ValueError, match="input_rows"):
        binary_layer_ops(BinaryLayer("x", 1, 1, 1), "and_or", CostParams(), "quarter")
    with pytest.raises(ValueError, match="K = 70000 needs 548 rows"):   # 274 chunks x 2 rails > 512
        binary_layer_ops(BinaryLayer("x", 1, 70_000, 1), "and_dual")


def test_report_names_the_precision_the_paper_total_allows(tmp_path):
    """bcnn-cost: every variant side by side, one scorecard row per headline claim, the FP16 row (the most precise
    DPU the 310.42 uJ allows) carrying the energy headline and FP32 marked as ruled out."""
    from scripts.report.experiments.bcnn import bcnn_cost
    from scripts.report.lib import Context

    section = bcnn_cost(Context(report_dir=tmp_path, quick=True, show_progress=False))
    heads = [c for c in section.comparisons if c.headline]
    assert len({c.headline for c in heads}) == len(heads) == 6
    by = {c.quantity: c for c in section.comparisons}
    fp16 = by["energy per image, paper's AND-only count, FP16 DPU"]
    assert fp16.headline and fp16.status.startswith("differs: ")
    assert "ruled out" in by["energy per image, paper's AND-only count, FP32 DPU"].note
    assert "consistent" in fp16.note
    # both input-row variants stay side by side, the per-layer one is the headline
    assert by["area, input rows sized per layer"].headline and not by["area, half the rows for inputs (this model "
                                                                        "before)"].headline
    assert by["area, half the rows for inputs (this model before)"].ours > by["area, input rows sized per layer"].ours
    variants = section.tables[0]
    assert len(variants.rows) == 3 * 4 * 2                  # DPU precisions x forms x input-row sizings
    assert all(c.note for c in section.comparisons if c.ratio is not None and abs(c.ratio - 1) > 1e-9)
