"""Energy, latency, area and storage of the SOT-MRAM BCNN accelerator from named per-operation parameters.

Source: ``sot-mram-bcnn-fan-angizi.txt``, Section IV, Table II (AlexNet-BCNN on ImageNet: 310.42 uJ/img,
5.28 mm^2, 10.7 ms/img) and Fig. 4 (39.7 MB of storage, 12x and 6x less than double and single precision). The
paper's numbers come from Spectre + a modified NVSim that it does not tabulate, so every parameter here is named
with its own source in :data:`SOURCES`; none is fitted to Table II (the report shows what each paper number would
require instead).

Operations are those of :func:`model.bcnn.cim.cim_matmul` (:class:`~model.bcnn.cim.CimStats`): compute-mode
senses and memory-mode reads of one sub-array row (``cols`` bits at once), row writes, rows through the
bitcounter; plus the DPU's real-valued operations (Table I: batch-norm, sign, scaling factors, multiplier,
pooling; the real first and last layers).

Mapping at network scale (our decision; the paper says only that weights sit in "specific rows" and inputs in
"following rows", Table I Bin-AND): every binary layer keeps its weights resident in ``S`` sub-arrays, whole
weight vectors per sub-array (a pair's chunks are one bitcounter group), and the rows left over hold the input
vectors written per image. How many input rows a sub-array reserves is a parameter, ``input_rows``:

* ``"layer"`` (default): sized per layer, the rows of one input vector (``chunks``, ``2 chunks`` for the dual-rail
  form): ``S = ceil(M / floor((rows - rpv) / rpv))`` with ``rpv`` rows per vector. Inputs are streamed through
  that slot one vector at a time; a layer with one input vector per image (fc6, fc7) wastes no rows on inputs.
* ``"half"``: half the rows for inputs in every layer, ``S = ceil(M rpv / (rows / 2))`` (this model's mapping
  before; it reserves 512 rows for fc6/fc7's single 36- or 16-row input vector).

The S sub-arrays sense in parallel, one row per ``t_sense``; each needs all N input vectors written (``S N rpv``
row writes). Weights are programmed once and not charged per image.

The DPU's precision is a parameter too (:data:`DPU_ENERGY`, :meth:`CostParams.with_dpu`): the paper does not
say how its DPU computes the real-valued first and last layers, which dominate the total at FP32.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from model.checks import check_choice, check_int, check_real
from model.zoo import Layer

__all__ = ["CostParams", "SOURCES", "BinaryLayer", "alexnet_bcnn", "binary_layer_ops", "cost_from_stats",
           "network_cost", "storage_bytes", "real_mac_energy_bound", "PAPER_TABLE2", "PAPER_TABLE2_OTHERS",
           "PAPER_FIG4", "DPU_ENERGY", "COST_FORMS", "INPUT_ROWS"]

#: Table II, "our work": energy per image, area, execution time per image (AlexNet-BCNN, ImageNet).
PAPER_TABLE2 = {"energy_uj": 310.42, "area_mm2": 5.28, "time_ms": 10.7}
#: Table II, the other accelerators (None: "-" in the table). Section IV.B compares against the RRAM BCNN [3]:
#: "~7x and 1.7x lower energy and area" (2275.34 / 310.42 = 7.33, 9.19 / 5.28 = 1.74).
PAPER_TABLE2_OTHERS = {
    "RRAM CNN [3]": {"energy_uj": 5444.85, "area_mm2": 21.25, "time_ms": None},
    "RRAM BCNN [3]": {"energy_uj": 2275.34, "area_mm2": 9.19, "time_ms": None},
    "FPGA [2]": {"energy_uj": 27918.0, "area_mm2": None, "time_ms": 5.94},
    "GPU1 [2]": {"energy_uj": 324000.0, "area_mm2": None, "time_ms": 90.0},
    "GPU2 [2]": {"energy_uj": 237250.0, "area_mm2": None, "time_ms": 0.73},
    "ASIC [1]": {"energy_uj": 352.0, "area_mm2": 1.9, "time_ms": None},
}
#: DPU energy per (multiply, add) in joules by precision: Horowitz, ISSCC 2014, 45 nm (FP32 mult 3.7 pJ, add
#: 0.9 pJ; FP16 mult 1.1 pJ, add 0.4 pJ; int8 mult 0.2 pJ, add 0.03 pJ).
DPU_ENERGY = {"fp32": (3.7e-12, 0.9e-12), "fp16": (1.1e-12, 0.4e-12), "int8": (0.2e-12, 0.03e-12)}
#: Forms the cost model prices: the three exact forms of :mod:`model.bcnn.cim` and the paper's AND-only count
#: (Table I; one AND sense per chunk, nothing else in the array; inexact, see model.bcnn.cim.and_only_error).
COST_FORMS = ("and_or", "and_popcount", "and_dual", "and_only")
#: Input rows per sub-array (module docstring).
INPUT_ROWS = ("layer", "half")
#: Fig. 4 / Section IV.A: storage of AlexNet-BCNN and how much less than double / single precision.
PAPER_FIG4 = {"bcnn_mb": 39.7, "vs_dp": 12.0, "vs_sp": 6.0}


@dataclass(frozen=True)
class CostParams:
    """Per-operation costs (see :data:`SOURCES` for where each comes from).

    Energies in joules, times in seconds, areas in square metres, per sub-array row (``cols`` bits) unless named
    per bit.
    """

    cols: int = 256
    rows: int = 1024
    e_sense_bit: float = 10e-15       # compute-mode AND/OR, per column
    e_read_bit: float = 8e-15         # memory-mode read, per column
    e_write_bit: float = 100e-15      # SOT write, per column
    e_row: float = 0.5e-12            # decoder + word-line drivers per row operation
    e_bitcount_row: float = 1.0e-12   # bitcounter per counted row
    e_dpu_mul: float = 3.7e-12        # DPU multiply (FP32)
    e_dpu_add: float = 0.9e-12        # DPU add / compare (FP32)
    t_sense: float = 2e-9             # one compute-mode or memory-mode row sense (SA + bitcounter stage)
    t_write: float = 2e-9             # one row write (SOT switching ~1 ns + margin)
    t_dpu: float = 1e-9               # one DPU operation per lane
    dpu_lanes: int = 256              # DPU operations in parallel
    a_cell: float = 0.081e-12         # 2T1R SOT-MRAM cell (40 F^2 at 45 nm)
    array_efficiency: float = 0.7     # cell area / sub-array area
    a_bitcounter: float = 1500e-12    # one 256-input bitcounter per sub-array
    a_dpu: float = 0.5e-6             # DPU (256 FP32 lanes would be larger; see SOURCES)

    def __post_init__(self):
        check_int("cols", self.cols, min=1)
        check_int("rows", self.rows, min=2)
        check_int("dpu_lanes", self.dpu_lanes, min=1)
        for k, v in asdict(self).items():
            if k not in ("cols", "rows", "dpu_lanes"):
                check_real(k, v, min=0, max_open=True)
        check_real("array_efficiency", self.array_efficiency, min=0, max=1, min_open=True)

    @property
    def subarray_area(self) -> float:
        return self.rows * self.cols * self.a_cell / self.array_efficiency

    def with_dpu(self, precision: str) -> "CostParams":
        """The same with the DPU at ``precision`` (``"fp32"``, ``"fp16"`` or ``"int8"``, :data:`DPU_ENERGY`)."""
        from dataclasses import replace
        check_choice("precision", precision, tuple(DPU_ENERGY))
        mul, add = DPU_ENERGY[precision]
        return replace(self, e_dpu_mul=mul, e_dpu_add=add)

    def int8_dpu(self) -> "CostParams":
        """The same with an 8-bit integer DPU (Horowitz: int8 multiply 0.2 pJ, int8 add 0.03 pJ)."""
        return self.with_dpu("int8")


SOURCES = {
    "cols, rows": "sot-mram-bcnn-fan-angizi.txt Section IV.B: 1024 x 256 sub-arrays",
    "e_sense_bit": "assumed 10 fJ/column: voltage-mode latch SA (~5 fJ at 45 nm) + I_read^2 R t = (20 uA)^2 x 5 kOhm "
                   "x 2 ns = 4 fJ + bit-line charging; NVSim-class SOT-MRAM read energy is 5-50 fJ/bit",
    "e_read_bit": "assumed 8 fJ/column: as e_sense_bit with one cell path (higher resistance, less current)",
    "e_write_bit": "assumed 100 fJ/column: SOT strip current ~100 uA at ~0.5 V for 2 ns incl. the WBL driver",
    "e_row": "assumed 0.5 pJ per row operation: row decoder + word-line drivers of a 1024 x 256 sub-array (NVSim)",
    "e_bitcount_row": "1 pJ per 256-bit row: our Yosys count of BitCounter(256, 1024), 2150 cells (report section "
                      "'CIM bitcounter'), x ~0.5 activity x ~1 fJ per 45 nm gate toggle (assumed)",
    "e_dpu_mul, e_dpu_add": "Horowitz, ISSCC 2014, 45 nm: FP32 multiply 3.7 pJ, FP32 add 0.9 pJ (FP16: 1.1 / 0.4 "
                            "pJ, int8: 0.2 / 0.03 pJ; DPU_ENERGY, CostParams.with_dpu)",
    "t_sense, t_write": "assumed 2 ns: SOT-MRAM read/switching times of 0.5-2 ns (Prenat et al. [10])",
    "t_dpu, dpu_lanes": "assumed: 1 GHz, 256 lanes (one per bitcounter column group)",
    "a_cell, array_efficiency": "assumed 40 F^2 per 2T1R cell at F = 45 nm, 70 % array efficiency (NVSim typical)",
    "a_bitcounter": "assumed ~1500 um^2: ~600 full-adder equivalents of a 256-input popcount at ~2.5 um^2 (45 nm)",
    "a_dpu": "assumed 0.5 mm^2",
}


@dataclass(frozen=True)
class BinaryLayer:
    """A layer as the CIM sees it, per image: ``n`` output positions, dot products of length ``k``, ``m`` outputs.

    ``binary`` False: a real-valued layer computed by the DPU (``n k m`` MACs). ``inputs`` = values entering
    the DPU's batch-norm / K computation (C x H x W of the layer input).
    """

    name: str
    n: int
    k: int
    m: int
    binary: bool = True
    inputs: int = 0
    kernel: int = 1          # kh * kw, for the K map's box filter

    @property
    def macs(self) -> int:
        return self.n * self.k * self.m


def alexnet_bcnn() -> list[BinaryLayer]:
    """AlexNet-BCNN of XNOR-Net [4] as in Fig. 3a: Krizhevsky's AlexNet [15] channel counts (96, 256, 384, 384,
    256; no groups), 224 x 224 input, Conv2-Conv7 binary (fc6, fc7 as convolutions), Conv1 and the last layer real.
    """
    specs = [("conv1", 224, 3, 96, 11, 4, 2, False, True), ("conv2", 27, 96, 256, 5, 1, 2, True, True),
             ("conv3", 13, 256, 384, 3, 1, 1, True, False), ("conv4", 13, 384, 384, 3, 1, 1, True, False),
             ("conv5", 13, 384, 256, 3, 1, 1, True, True), ("fc6", 6, 256, 4096, 6, 1, 0, True, False),
             ("fc7", 1, 4096, 4096, 1, 1, 0, True, False), ("fc8", 1, 4096, 1000, 1, 1, 0, False, False)]
    out = []
    for name, hw, c, m, k, s, p, binary, _pool in specs:
        layer = Layer(name, "conv", hw, hw, c, m, k, k, s, p, p)   # checks the shape arithmetic
        oh = (hw + 2 * p - k) // s + 1
        out.append(BinaryLayer(name, oh * oh, c * k * k, m, binary, inputs=c * hw * hw, kernel=k * k))
        del layer
    return out


def binary_layer_ops(layer: BinaryLayer, form: str = "and_or", p: CostParams = CostParams(),
                     input_rows: str = "layer") -> dict:
    """Operation counts of one binary layer per image under the resident-weights mapping (module docstring).

    ``form`` in :data:`COST_FORMS`, ``input_rows`` in :data:`INPUT_ROWS`. Returns ``subarrays``, ``chunks``,
    ``rows_per_vector``, ``input_rows`` (rows a sub-array reserves for inputs), ``sense_ops``, ``read_ops``,
    ``row_writes`` and ``rows_counted``.
    """
    check_choice("form", form, COST_FORMS)
    check_choice("input_rows", input_rows, INPUT_ROWS)
    chunks = -(-layer.k // p.cols)
    rpv = (2 if form == "and_dual" else 1) * chunks          # rows per stored vector (dual rail: both rails)
    if 2 * rpv > p.rows:
        raise ValueError(f"layer {layer.name}: K = {layer.k} needs {rpv} rows per vector, more than half a "
                         f"{p.rows}-row sub-array")
    if input_rows == "half":
        reserved = p.rows // 2
        s = -(-layer.m * rpv // (p.rows - reserved))         # sub-arrays holding the weights
    else:
        reserved = rpv                                       # one input vector at a time
        s = -(-layer.m // ((p.rows - reserved) // rpv))      # whole weight vectors per sub-array
    senses = (1 if form in ("and_popcount", "and_only") else 2) * layer.n * layer.m * chunks
    reads = (layer.n * chunks * s) if form == "and_popcount" else 0   # pop(x) in every sub-array; pop(w) stored
    writes = s * layer.n * rpv
    return {"subarrays": s, "chunks": chunks, "rows_per_vector": rpv, "input_rows": reserved, "sense_ops": senses,
            "read_ops": reads, "row_writes": writes, "rows_counted": senses + reads}


def _row_energy(p: CostParams, senses, reads, writes, counted) -> dict:
    return {"sense": senses * (p.cols * p.e_sense_bit + p.e_row),
            "read": reads * (p.cols * p.e_read_bit + p.e_row),
            "write": writes * (p.cols * p.e_write_bit + p.e_row),
            "bitcount": counted * p.e_bitcount_row}


def cost_from_stats(stats: dict, p: CostParams = CostParams(), outputs: int = 0) -> dict:
    """Energy (J) and latency (s) of one executed :func:`~model.bcnn.cim.cim_matmul` on one sub-array, from its
    counts (``CimStats.as_dict()``); ``outputs`` products each cost one DPU add (the exact form's combination)."""
    e = _row_energy(p, stats["sense_ops"], stats["read_ops"], stats["row_writes"], stats["rows_counted"])
    e["dpu"] = 2 * outputs * p.e_dpu_add
    t = (stats["sense_ops"] + stats["read_ops"]) * p.t_sense + stats["row_writes"] * p.t_write \
        + math.ceil(outputs / p.dpu_lanes) * p.t_dpu
    return {"energy_j": sum(e.values()), "latency_s": t, "energy_breakdown_j": e}


def network_cost(layers: list[BinaryLayer], form: str = "and_or", p: CostParams = CostParams(),
                 input_rows: str = "layer") -> dict:
    """Energy, latency and area per image of a network (list of :class:`BinaryLayer`), per layer and in total
    (``form`` and ``input_rows`` as in :func:`binary_layer_ops`)."""
    rows, total_e, total_t, subarrays = [], 0.0, 0.0, 0
    for layer in layers:
        dpu_mul = dpu_add = 0
        if layer.binary:
            ops = binary_layer_ops(layer, form, p, input_rows)
            e = _row_energy(p, ops["sense_ops"], ops["read_ops"], ops["row_writes"], ops["rows_counted"])
            # DPU per output: combine the counts into x.w (2 adds), multiply by K and alpha (2 mul); per input
            # value: batch-norm (1 mul, 1 add), sign (1 compare), |I| channel mean for K (1 add); K box filter per
            # output position (kernel adds).
            dpu_mul = 2 * layer.n * layer.m + layer.inputs
            dpu_add = 2 * layer.n * layer.m + 3 * layer.inputs + layer.n * layer.kernel
            t_cim = (ops["sense_ops"] + ops["read_ops"]) / ops["subarrays"] * p.t_sense \
                + ops["row_writes"] / ops["subarrays"] * p.t_write
            subarrays += ops["subarrays"]
        else:
            ops = {"subarrays": 0}
            e = {"sense": 0.0, "read": 0.0, "write": 0.0, "bitcount": 0.0}
            dpu_mul = dpu_add = layer.macs
            t_cim = 0.0
        e["dpu"] = dpu_mul * p.e_dpu_mul + dpu_add * p.e_dpu_add
        t = t_cim + math.ceil((dpu_mul + dpu_add) / p.dpu_lanes) * p.t_dpu
        rows.append({"layer": layer.name, "binary": layer.binary, "macs": layer.macs, **ops,
                     "energy_j": sum(e.values()), "energy_breakdown_j": e, "latency_s": t})
        total_e += sum(e.values())
        total_t += t
    area = subarrays * (p.subarray_area + p.a_bitcounter) + p.a_dpu
    return {"layers": rows, "energy_j": total_e, "latency_s": total_t, "area_m2": area, "subarrays": subarrays}


def real_mac_energy_bound(layers: list[BinaryLayer], total_j: float) -> float:
    """The most a DPU multiply-accumulate of the real-valued layers may cost (J) for a network total of
    ``total_j``: ``total_j`` over the real layers' MACs (an upper bound: the binary layers cost more than 0).
    A DPU precision whose multiply + add (:data:`DPU_ENERGY`) exceeds it is ruled out by that total."""
    check_real("total_j", total_j, min=0, min_open=True)
    macs = sum(layer.macs for layer in layers if not layer.binary)
    if macs == 0:
        raise ValueError("layers has no real-valued layer")
    return total_j / macs


def storage_bytes(layers: list[BinaryLayer], real_bits: int = 32) -> dict:
    """Weight storage in bytes (Fig. 4): every weight at 64 bits (DP), 32 bits (SP), and the BCNN (binary layers
    1 bit per weight plus one FP32 alpha per output channel; real layers at ``real_bits``)."""
    check_int("real_bits", real_bits, min=1)
    weights = sum(l.k * l.m for l in layers)
    bcnn_bits = sum(l.k * l.m + 32 * l.m if l.binary else real_bits * l.k * l.m for l in layers)
    return {"weights": weights, "dp": 8 * weights, "sp": 4 * weights, "bcnn": bcnn_bits / 8}
