"""The block registry: one :class:`~scripts.sim.block.BlockSpec` per ``hw/`` block drives every flow.

Verilog (``mram-accel verilog``), lint, synthesis, the Verilator co-simulation (``tb/test_cosim.py``), the
Amaranth-simulator checks (``tests/test_blocks.py``) and the lane wrapper all read :data:`BLOCKS`. Adding a
block is ``hw/x.py``, its golden in ``model/``, one entry here and its tests: an entry names the factory and its
default (paper) configuration, the port groups, the latency attribute, a seeded stimulus and the golden.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from model import fp_golden as fp
from model.bcnn.bitcounter import random_stream, ref_bitcount_reader, ref_bitcounter, RowStream
from model.memory import ArrayModel, unpack_rows
from scripts.sim.block import BlockSpec, Expected, Stimulus
from scripts.sim.contract import MemoryPorts, StreamPorts, gaps_from_valid
from scripts.sim.lanes import Lanes
from scripts.sim.packed import PackedLanes

__all__ = ["BLOCKS", "select", "dut_for", "packed_dut", "pe_inputs", "pe_outputs", "bitcounter_stimulus_from", "rtl_bitcounter"]


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(1 << 31))


# --- bitcounter ------------------------------------------------------------------------------------------------

def _bitcounter_factory(width=256, max_rows=1024, levels_per_stage=2):
    from hw.bitcounter import BitCounter
    return BitCounter(width, max_rows, levels_per_stage=levels_per_stage)


def bitcounter_stimulus_from(stream: RowStream) -> Stimulus:
    """A cycle-by-cycle :class:`~model.bcnn.bitcounter.RowStream` as transactions (its valid rows) and gaps."""
    rows = np.array(stream.packed(), dtype=object)[stream.valid]
    return Stimulus({"bits": rows, "first": stream.first[stream.valid].astype(np.uint8),
                     "last": stream.last[stream.valid].astype(np.uint8)},
                    gaps=gaps_from_valid(stream.valid))


def rtl_bitcounter(dut, stream: RowStream, rng: np.random.Generator | None = None) -> tuple[list[int], list[int]]:
    """``stream`` through a :class:`hw.bitcounter.BitCounter` in the Amaranth simulator, cycle for cycle (idle
    rows carry garbage from ``rng``): the group totals and the cycle each was visible in (latency = that cycle
    minus the cycle of the group's valid ``last`` row)."""
    from scripts.sim.amaranth_backend import rtl_block

    run = rtl_block(BLOCKS["bitcounter"], dut, bitcounter_stimulus_from(stream),
                    rng=rng if rng is not None else np.random.default_rng(0))
    return [int(v) for v in run.monitor.outputs["count"]], run.monitor.out_cycles


def _bitcounter_stimulus(dut, rng, n):
    return bitcounter_stimulus_from(random_stream(rng, dut.width, dut.max_rows, groups=n))


def _bitcounter_packed(dut, rng, cycles, lanes):
    """Packed-lane stimulus: groups of random length (1 .. min(max_rows, 64)) shared by all lanes (``first`` and
    ``last`` are carried once), each lane its own rows of random density; the first group of every batch is a full
    ``max_rows`` group of all-ones rows in every lane (the count's maximum). Golden: per lane and group, the
    popcount of its rows (:func:`model.bcnn.bitcounter.ref_bitcounter`'s arithmetic, vectorised over lanes)."""
    width, max_rows = dut.width, dut.max_rows
    lengths = [min(max_rows, cycles)]
    while sum(lengths) < cycles:
        lengths.append(int(rng.integers(1, min(max_rows, 64) + 1)))
    lengths[-1] -= sum(lengths) - cycles
    density = rng.random((cycles, lanes, 1))
    bits = rng.random((cycles, lanes, width)) < density
    bits[:lengths[0]] = True
    starts = np.cumsum([0] + lengths[:-1])
    first = np.zeros(cycles, bool)
    last = np.zeros(cycles, bool)
    first[starts] = True
    last[starts + np.array(lengths) - 1] = True
    per_row = bits.sum(axis=2)
    counts = np.add.reduceat(per_row, starts, axis=0) % (1 << dut.count_width)
    return ({"bits": bits, "first": first, "last": last},
            {"count": counts.astype(np.uint64), "_anchors": np.flatnonzero(last)})


def _bitcounter_golden(dut, stim):
    first = np.asarray(stim.inputs["first"], bool)
    last = np.asarray(stim.inputs["last"], bool)
    stream = RowStream(unpack_rows(stim.inputs["bits"], dut.width), np.ones(len(first), bool), first, last)
    return Expected({"count": np.array(ref_bitcounter(stream, dut.max_rows), dtype=object)},
                    anchors=np.flatnonzero(last))


# --- floating point ----------------------------------------------------------------------------------------------

def _bf16_mul(ftz=False):
    from hw.bf16_mul import BF16Multiplier
    return BF16Multiplier(ftz=ftz)


def _fp32_add(ftz=False):
    from hw.fp32_add import FP32Adder
    return FP32Adder(ftz=ftz)


def _bf16_mac(ftz=False):
    from hw.mac import BF16MAC
    return BF16MAC(ftz=ftz)


def _pe(ftz=False):
    from hw.pe import ReconfigurablePE
    return ReconfigurablePE(ftz=ftz)


def _binary_stimulus(corners, random):
    def stimulus(dut, rng, n):
        ops = [np.concatenate([c, r]) for c, r in zip(corners(), random(_seed(rng), n))]
        return Stimulus(dict(zip("abc", ops)),
                        describe=lambda i: " ".join(f"{k}={int(op[i]):#x}" for k, op in zip("abc", ops)))
    return stimulus


def _binary_golden(ref, out):
    def golden(dut, stim):
        ops = [stim.inputs[k] for k in "abc" if k in stim.inputs]
        return Expected({out: ref(*ops, ftz=dut.ftz)})
    return golden


def pe_inputs(mode, acts, wgts, psums) -> dict:
    """The PE's input ports from ``ref_pe``'s arrays: ``mode`` (N,), ``acts``/``wgts``/``psums`` (N, 3)."""
    inputs = {"mode": np.asarray(mode)}
    for i in range(3):
        inputs[f"act{i}"] = np.asarray(acts)[:, i]
        inputs[f"wgt{i}"] = np.asarray(wgts)[:, i]
        inputs[f"psum{i}"] = np.asarray(psums)[:, i]
    return inputs


def pe_outputs(outs, pe_out) -> dict:
    """The PE's output ports from ``ref_pe``'s results ``outs`` (N, 3) and ``pe_out`` (N,)."""
    return {**{f"out{i}": np.asarray(outs)[:, i] for i in range(3)}, "pe_out": np.asarray(pe_out)}


def _pe_stimulus(dut, rng, n):
    parts = [np.concatenate([c, r]) for c, r in zip(fp.corner_pe_vectors(), fp.random_pe_vectors(_seed(rng), n))]
    mode, acts, wgts, psums = parts
    return Stimulus(pe_inputs(mode, acts, wgts, psums),
                    describe=lambda i: (f"mode={int(mode[i])} acts={[hex(int(x)) for x in acts[i]]} "
                                        f"wgts={[hex(int(x)) for x in wgts[i]]} psums={[hex(int(x)) for x in psums[i]]}"))


def _pe_golden(dut, stim):
    s = stim.inputs
    acts, wgts, psums = (np.stack([s[f"{k}{i}"] for i in range(3)], axis=1) for k in ("act", "wgt", "psum"))
    return Expected(pe_outputs(*fp.ref_pe(s["mode"], acts, wgts, psums, ftz=dut.ftz)))


# --- sub-array reader + bitcounter ------------------------------------------------------------------------------

def _reader_factory(width=256, depth=1024, max_rows=None):
    from hw.bitcount_reader import BitCountReader
    return BitCountReader(width, depth, max_rows)


def _reader_stimulus(dut, rng, n):
    """A random array (row densities vary) and ``n`` commands, after the corners: the whole array, a group that
    wraps past the last row, a zero-row command, one-row groups back to back."""
    depth, width, max_rows = dut.depth, dut.width, dut.max_rows
    density = rng.random((depth, 1))
    array = ArrayModel.from_bits(rng.random((depth, width)) < density)
    addr = [0, depth - 1, 0, 1, 2]
    rows = [max_rows, min(2, max_rows), 0, 1, 1]
    addr += rng.integers(0, depth, n).tolist()
    rows += rng.integers(1, min(max_rows, 48) + 1, n).tolist()
    return Stimulus({"cmd_addr": np.array(addr), "cmd_rows": np.array(rows)}, memories={"mem": array},
                    describe=lambda i: f"command {i}: addr {addr[i]}, rows {rows[i]}")


def _reader_golden(dut, stim):
    counts = ref_bitcount_reader(stim.memories["mem"].words, stim.inputs["cmd_addr"], stim.inputs["cmd_rows"],
                                 dut.width, dut.max_rows, inject=stim.inject)
    return Expected({"count": np.array(counts, dtype=object)}, anchors=np.flatnonzero(stim.inputs["cmd_rows"]))


# --- PE array, scratchpad, layer engine (verified by whole layers: tests/test_pe_array.py, tb/test_layer.py) --------

def _pe_array(rows=4, cols=4, tag_width=51):
    from hw.pe_array import PEArray
    return PEArray(rows, cols, tag_width=tag_width)


def _scratchpad(lanes=12, bank_words=554, glb_addr_width=24):
    from hw.scratchpad import Scratchpad
    return Scratchpad(lanes, bank_words, glb_addr_width=glb_addr_width)


def _layer_engine(rows=4, cols=4, bank_words=554, glb_addr_width=24):
    from hw.layer_engine import LayerEngine
    return LayerEngine(rows, cols, bank_words=bank_words, glb_addr_width=glb_addr_width)


_ARRAY_SOURCE = "stt-ai-mishty-sadi.txt, Sections III.A-B, IV.D, Figs. 2-5"
_LAYER_TESTS = ("tests/test_pe_array.py", "tb/test_layer.py")


# --- MRAM-DIMA post-processing (hw/dima_post.py, golden model/dima/array.py: ref_dima_post) ---------------------------------

def _dima_post_factory(b_w=4, slice_bits=8, acc_width=32, b_out=8, encoding="twos", mapping="bit-serial",
                       lsb_shift=0):
    from hw.dima_post import DIMAPostProcessor
    return DIMAPostProcessor(b_w, slice_bits, acc_width, b_out, encoding, mapping, lsb_shift)


def _dima_post_stimulus(dut, rng, n):
    """Vectors of input-bit planes (MSB first), corners first: saturation both ways, ReLU (negative and saturating),
    shifts 0 and max (floor of negatives), bias extremes, one-plane vectors, accumulator wraps both ways; then ``n``
    random vectors of 1..8 planes (codes uniform, 0, full scale or the offset code of an analog 0), one plane for
    half of them in the dima mapping (its vectors are one code). The corners follow the block's mode: the largest
    positive plane value has the full-scale code where a code's weight is positive and 0 where negative, the zero
    plane the offset code everywhere. ``bias``/``shift``/``relu`` carry garbage on every plane but the last (the
    block must sample them with ``last`` only)."""
    from model.dima.array import pack_codes

    k, top, aw = dut.n_codes, (1 << dut.slice_bits) - 1, dut.acc_width
    off, weights = dut.code_offset, dut.code_weights
    smax, bmin, bmax = (1 << dut.shift_width) - 1, -(1 << (aw - 1)), (1 << (aw - 1)) - 1
    pos = [top if c > 0 else 0 for c in weights]
    neg = [0 if c > 0 else top for c in weights]
    zero = [off] * k
    vectors = [([pos], bmax, 0, 0), ([neg], bmin, 0, 0), ([pos], bmax, 0, 1), ([neg], 0, 0, 1),
               ([neg] * 3, 0, smax, 0), ([pos] * 3, 0, smax, 0), ([neg] * 2, -1, 1, 0), ([zero], bmin, 0, 0),
               ([zero], bmax, 0, 0), ([zero], bmin, smax, 0), ([zero], bmax, smax, 1), ([zero], 0, 0, 0),
               ([pos, neg, pos], -1, 0, 0), ([pos] * (aw + 2), 0, 0, 0), ([neg] * (aw + 2), 0, 0, 0),
               ([[top] * k] * (aw + 2), bmax, 0, 1)]
    one_plane = dut.mapping == "dima"
    for _ in range(n):
        planes = 1 if one_plane and rng.random() < 0.5 else int(rng.integers(1, 9))
        codes = rng.integers(0, top + 1, (planes, k))
        u = rng.random(codes.shape)
        codes = np.where(u < 0.12, top, np.where(u < 0.24, 0, np.where(u < 0.32, off, codes)))
        kind = rng.random()
        bias = 0 if kind < 0.25 else int(rng.integers(bmin, bmax + 1)) if kind < 0.5 else \
            int(rng.integers(-(1 << min(aw - 1, dut.slice_bits + 4)), 1 << min(aw - 1, dut.slice_bits + 4)))
        shift = int(rng.integers(0, min(smax, 3) + 1)) if rng.random() < 0.5 else int(rng.integers(0, smax + 1))
        vectors.append((codes.tolist(), bias, shift, int(rng.integers(0, 2))))
    slices, first, last, bias, shift, relu, where = [], [], [], [], [], [], []
    for v, (planes, b, s, r) in enumerate(vectors):
        npl = len(planes)
        slices += planes
        first += [1] + [0] * (npl - 1)
        last += [0] * (npl - 1) + [1]
        bias += rng.integers(0, 1 << min(aw, 62), npl - 1).tolist() + [b]     # garbage patterns, then the bias
        shift += rng.integers(0, smax + 1, npl - 1).tolist() + [s]
        relu += rng.integers(0, 2, npl - 1).tolist() + [r]
        where += [f"vector {v} ({npl} planes, bias {b}, shift {s}, relu {r}), plane {j}" for j in range(npl)]
    mask = (1 << aw) - 1
    return Stimulus({"codes": pack_codes(np.array(slices).reshape(-1, k), dut.slice_bits),
                     "first": np.array(first, np.uint8), "last": np.array(last, np.uint8),
                     "bias": np.array([b & mask for b in bias], dtype=object),
                     "shift": np.array(shift, np.int64), "relu": np.array(relu, np.uint8)},
                    describe=lambda i: where[i])


def _dima_post_golden(dut, stim):
    from model.dima.array import ref_dima_post

    s = stim.inputs
    out = ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], s["shift"], s["relu"], dut.b_w,
                        dut.slice_bits, dut.acc_width, dut.b_out, dut.encoding, dut.mapping, dut.lsb_shift)
    return Expected({"out": out}, anchors=np.flatnonzero(np.asarray(s["last"])))


# --- the registry ---------------------------------------------------------------------------------------------------

_FP_SOURCE = "stt-ai-mishty-sadi.txt, Section III.A, Fig. 3, Table II"
_BCNN_SOURCE = "sot-mram-bcnn-fan-angizi.txt, Fig. 3d, Table I (Bit-Count)"

BLOCKS: dict[str, BlockSpec] = {spec.name: spec for spec in [
    BlockSpec(
        name="bitcounter", factory=_bitcounter_factory, config={"width": 256, "max_rows": 1024},
        stream=StreamPorts(inputs=("bits", "first", "last"), valid="valid", outputs=("count",),
                           out_valid="count_valid"),
        latency="latency", stimulus=_bitcounter_stimulus, golden=_bitcounter_golden, source=_BCNN_SOURCE,
        packed_shared=("first", "last"), packed_stimulus=_bitcounter_packed,
        cosim={"w8_r16": {"config": {"width": 8, "max_rows": 16}, "n": 300},
               "w64_r64": {"config": {"width": 64, "max_rows": 64}, "n": 200},
               "w256_r1024": {"config": {}, "n": 100}},
        packed={"w256_p16": {"lanes": 16, "n": 200_000, "slow": True}}),
    BlockSpec(
        name="bitcount_reader", factory=_reader_factory, config={"width": 256, "depth": 1024},
        stream=StreamPorts(inputs=("cmd_addr", "cmd_rows"), valid="cmd_valid", ready="cmd_ready",
                           outputs=("count",), out_valid="count_valid"),
        memories={"mem": MemoryPorts(addr="mem_addr", req="mem_req", ready="mem_ready", rdata="mem_rdata",
                                     rvalid="mem_rvalid")},
        latency=None, stimulus=_reader_stimulus, golden=_reader_golden, source=_BCNN_SOURCE,
        cosim={"w64_d128": {"config": {"width": 64, "depth": 128, "max_rows": 64}, "n": 60, "gaps": 0.3,
                            "read_latency": 3, "ready": 0.7},
               "w256_d1024": {"config": {}, "n": 40, "read_latency": 2},
               "w64_d128_ber": {"config": {"width": 64, "depth": 128, "max_rows": 64}, "n": 40, "read_latency": 1,
                                "ber": 0.01}}),
    BlockSpec(
        name="bf16_mul", factory=_bf16_mul, config={},
        stream=StreamPorts(inputs=("a", "b"), valid="valid", outputs=("product",), out_valid="product_valid"),
        latency="latency", stimulus=_binary_stimulus(fp.corner_mul_vectors, fp.random_mul_vectors),
        golden=_binary_golden(fp.ref_bf16_mul, "product"), lanes=True, source=_FP_SOURCE),
    BlockSpec(
        name="fp32_add", factory=_fp32_add, config={},
        stream=StreamPorts(inputs=("a", "b"), valid="valid", outputs=("sum",), out_valid="sum_valid"),
        latency="latency", stimulus=_binary_stimulus(fp.corner_add_vectors, fp.random_add_vectors),
        golden=_binary_golden(fp.ref_fp32_add, "sum"), lanes=True, source=_FP_SOURCE),
    BlockSpec(
        name="bf16_mac", factory=_bf16_mac, config={},
        stream=StreamPorts(inputs=("a", "b", "c"), valid="valid", outputs=("result",), out_valid="result_valid"),
        latency="latency", stimulus=_binary_stimulus(fp.corner_mac_vectors, fp.random_mac_vectors),
        golden=_binary_golden(fp.ref_mac, "result"), lanes=True, source=_FP_SOURCE,
        cosim={"top": {"n": 20_000, "gaps": 0.2},
               "ftz": {"config": {"ftz": True}, "n": 20_000, "gaps": 0.1},
               "x8": {"lanes": 8, "n": 100_000, "slow": True}},
        packed={"p64": {"lanes": 64, "n": 1_000_000, "gaps": 0.02}}),
    BlockSpec(
        name="reconfigurable_pe", factory=_pe, config={},
        stream=StreamPorts(inputs=("mode", "act0", "act1", "act2", "wgt0", "wgt1", "wgt2", "psum0", "psum1",
                                   "psum2"), valid="valid", outputs=("out0", "out1", "out2", "pe_out"),
                           out_valid="out_valid"),
        latency="latency_conv", stimulus=_pe_stimulus, golden=_pe_golden, lanes=True, source=_FP_SOURCE,
        cosim={"top": {"n": 10_000, "gaps": 0.2},
               "x4": {"lanes": 4, "n": 100_000, "slow": True}},
        packed={"p16": {"lanes": 16, "n": 1_000_000, "gaps": 0.02}}),
    # Defaults: the 4 x 4-PE array (4 x 12 MACs) of `mram-accel layer`; banks of 26 KB (the paper's 2 x 26 KB).
    # `--config paper`: the paper's 42 x 42 MACs = 42 rows x 14 PEs.
    BlockSpec(
        name="pe_array", factory=_pe_array, config={"rows": 4, "cols": 4}, stream=None, latency="latency",
        stimulus=None, golden=None, source=_ARRAY_SOURCE, configs={"paper": {"rows": 42, "cols": 14},
                                                                   "2x2": {"rows": 2, "cols": 2}},
        verified_by=_LAYER_TESTS),
    BlockSpec(
        name="scratchpad", factory=_scratchpad, config={"lanes": 12, "bank_words": 554}, stream=None,
        latency="latency", stimulus=None, golden=None, source="stt-ai-mishty-sadi.txt, Sections IV.D, V.E",
        configs={"paper": {"lanes": 42, "bank_words": 158}}, verified_by=_LAYER_TESTS),
    BlockSpec(
        name="layer_engine", factory=_layer_engine, config={"rows": 4, "cols": 4, "bank_words": 554}, stream=None,
        latency="latency", stimulus=None, golden=None, source=_ARRAY_SOURCE,
        configs={"2x2": {"rows": 2, "cols": 2, "bank_words": 1109}}, verified_by=_LAYER_TESTS),
    BlockSpec(
        name="dima_post", factory=_dima_post_factory,
        config={"b_w": 4, "slice_bits": 8, "acc_width": 32, "b_out": 8},
        stream=StreamPorts(inputs=("codes", "first", "last", "bias", "shift", "relu"), valid="valid",
                           outputs=("out",), out_valid="out_valid"),
        latency="latency", stimulus=_dima_post_stimulus, golden=_dima_post_golden,
        source="mram-dima-patil-iscas2019.txt, eq. (1), Fig. 1; DIMA digital processing (Kang et al., JSSC 2018)",
        cosim={"w4_s8_a32_o8": {"config": {}, "n": 300, "gaps": 0.2},
               "sm_w4_s9_a30_o8": {"config": {"b_w": 4, "slice_bits": 9, "acc_width": 30, "b_out": 8,
                                              "encoding": "sign-magnitude", "lsb_shift": 1}, "n": 300, "gaps": 0.2},
               "dima_s17_a40_o12": {"config": {"b_w": 4, "slice_bits": 17, "acc_width": 40, "b_out": 12,
                                               "mapping": "dima", "lsb_shift": 3}, "n": 300, "gaps": 0.2}}),
]}


def select(names=None) -> list[BlockSpec]:
    """The registry entries ``names`` (all when empty); ValueError naming the unknown and the known blocks."""
    if not names:
        return list(BLOCKS.values())
    unknown = [n for n in names if n not in BLOCKS]
    if unknown:
        raise ValueError(f"unknown block(s) {unknown}; known blocks: {sorted(BLOCKS)}")
    return [BLOCKS[n] for n in names]


def dut_for(spec: BlockSpec, params: Mapping):
    """The component a configuration simulates (a ``Lanes`` wrapper when ``params["lanes"]`` > 1)."""
    config = dict(params.get("config", {}))
    lanes = int(params.get("lanes", 1))
    if lanes == 1:
        return spec.build(**config)
    if not spec.lanes:
        raise ValueError(f"block {spec.name!r} cannot be wrapped in lanes (one result per input and a fixed "
                         "latency are needed)")
    return Lanes(lambda: spec.build(**config), lanes, spec.stream.shared)


def packed_dut(params: Mapping) -> PackedLanes:
    """The :class:`~scripts.sim.packed.PackedLanes` of ``params["block"]`` (``config``, ``lanes``)."""
    spec = select([params["block"]])[0]
    if not (spec.lanes or spec.packed_stimulus):
        raise ValueError(f"block {spec.name!r} cannot run in packed lanes (one result per input and a fixed "
                         "latency are needed)")
    config = dict(params.get("config", {}))
    return PackedLanes(lambda: spec.build(**config), spec.stream, int(params["lanes"]), spec.packed_shared)
