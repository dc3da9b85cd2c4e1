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


def _random_rows(rng, shape, words: int) -> np.ndarray:
    """Random bit rows as uint64 words ``shape + (words,)``, each row with its own density ``k / 16`` (``k`` uniform
    in 0..16): four random words combined by the binary digits of ``k`` (``r = w | r`` for a one, ``w & r`` for a
    zero, least significant digit first) give independent bits of probability ``k / 16``; ``k = 16`` is all ones."""
    k = rng.integers(0, 17, (*shape, 1), dtype=np.uint8)
    raw = rng.bit_generator.random_raw(4 * int(np.prod(shape)) * words).reshape(4, *shape, words)
    ones = lambda bit: (-bit.astype(np.int64)).view(np.uint64)          # 0 -> 0, 1 -> all ones
    r = np.zeros((*shape, words), np.uint64)
    for digit in range(4):
        w = raw[digit]
        r = (w & r) | (ones((k >> digit) & 1) & (w | r))
    return r | ones(k >> 4)


def _bitcounter_packed(dut, rng, cycles, lanes):
    """Packed-lane stimulus: groups of random length (1 .. min(max_rows, 64)) shared by all lanes (``first`` and
    ``last`` are carried once), each lane its own rows of random density (:func:`_random_rows`); the first group
    of every batch is a full ``max_rows`` group of all-ones rows in every lane (the count's maximum). Rows are
    uint64 words. Golden: per lane and group, the popcount of its rows
    (:func:`model.bcnn.bitcounter.ref_bitcounter`'s arithmetic, vectorised over lanes)."""
    width, max_rows = dut.width, dut.max_rows
    first_len = min(max_rows, cycles)
    more = rng.integers(1, min(max_rows, 64) + 1, cycles)           # enough group lengths for any batch
    ends = first_len + np.cumsum(more)
    k = int(np.searchsorted(ends, cycles))                           # groups until the batch is full
    lengths = [first_len] + more[:k + 1].tolist() if first_len < cycles else [first_len]
    lengths[-1] -= sum(lengths) - cycles
    words = -(-width // 64)
    bits = _random_rows(rng, (cycles, lanes), words)
    if width % 64:
        bits[..., -1] &= np.uint64((1 << (width % 64)) - 1)
    bits[:lengths[0]] = np.uint64(0xFFFFFFFFFFFFFFFF)
    bits[:lengths[0], :, -1] = np.uint64((1 << (width - 64 * (words - 1))) - 1)
    starts = np.cumsum([0] + lengths[:-1])
    first = np.zeros(cycles, bool)
    last = np.zeros(cycles, bool)
    first[starts] = True
    last[starts + np.array(lengths) - 1] = True
    per_row = np.bitwise_count(bits).sum(axis=2, dtype=np.int64)
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


def _layer_controller(rows=4, cols=4, addr_width=24):
    from hw.layer_controller import LayerController
    from hw.scratchpad import tag_layout
    return LayerController(rows, cols, addr_width=addr_width, tag_width=tag_layout(addr_width).size)


def _accelerator(rows=4, cols=4, bank_words=21, glb_addr_width=24):
    from hw.accelerator import Accelerator
    return Accelerator(rows, cols, bank_words=bank_words, glb_addr_width=glb_addr_width)


_ARRAY_SOURCE = "stt-ai-mishty-sadi.txt, Sections III.A-B, IV.D, Figs. 2-5"
_NETWORK_TESTS = ("tests/test_network.py", "tb/test_network.py")
_LAYER_TESTS = ("tests/test_pe_array.py", "tb/test_layer.py")


# --- MRAM-DIMA post-processing (hw/dima_post.py, golden model/dima/array.py: ref_dima_post) ---------------------------------

def _dima_post_factory(b_w=4, slice_bits=8, acc_width=32, b_out=8, encoding="twos", mapping="bit-serial",
                       lsb_shift=0):
    """The post-processor for an array in ``encoding`` and ``mapping``: its code weights and offset come from the
    array model (the block itself knows only numbers); ``encoding``/``mapping`` ride along for the golden."""
    from hw.dima_post import DIMAPostProcessor
    from model.dima.array import code_weights, is_bipolar

    weights = tuple(int(c) for c in code_weights(b_w, encoding, mapping))
    dut = DIMAPostProcessor(b_w, slice_bits, acc_width, b_out, code_weights=weights,
                            bipolar=is_bipolar(encoding, mapping), lsb_shift=lsb_shift)
    dut.encoding, dut.mapping = encoding, mapping
    return dut


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


# --- STT-AI ofmap path (hw/ofmap_post.py, golden model/stt_ai/ofmap.py: ref_ofmap_post) ----------------------------

def _ofmap_post_factory(max_width=256, ftz=False):
    from hw.ofmap_post import OfmapPost
    return OfmapPost(max_width, ftz=ftz)


#: -0: the identity bias (x + (-0) = x for every x).
_NO_BIAS = 0x80000000
#: Rounding corners of the FP32 -> bfloat16 step (passed through with bias -0): ties to even both ways (upper half
#: even: down, odd: up), just above / below a tie, carries into the exponent and to infinity, subnormal ties and the
#: carry into the smallest normal, both signs; NaNs of every kind.
_OFMAP_ROUNDING = np.array([
    0x3F808000, 0x3F818000, 0xBF808000, 0xBF818000,    # ties: even stays, odd rounds up (both signs)
    0x3F808001, 0x3F807FFF, 0xBF818001, 0xBF817FFF,    # just above / below a tie
    0x3FFF8000, 0x3F7F8000,                            # tie carrying into the exponent (odd upper half)
    0x7F7F8000, 0xFF7F8000, 0x7F7FFFFF, 0x7F7F7FFF,    # tie to +-inf, above -> inf, below -> max finite
    0x7F7E8000, 0x00008000, 0x00018000, 0x80018000,    # tie at max even; subnormal ties (to 0, up, negative)
    0x007FFFFF, 0x007F7FFF, 0x00000001, 0x80000001,    # subnormal carry into the normals; tiny -> +-0
    0x00807FFF, 0x00808000,                            # smallest normal, below / at a tie
], dtype=np.uint32)
#: (data, bias) pairs of the bias add: signed zeros, cancellation, inf - inf, NaN either side, overflow, subnormal.
_OFMAP_BIAS_PAIRS = np.array([
    (0x00000000, 0x00000000), (0x80000000, 0x80000000), (0x00000000, 0x80000000), (0x80000000, 0x00000000),
    (0x3F800000, 0xBF800000), (0x7F800000, 0xFF800000), (0x7FC00000, 0x3F800000), (0x3F800000, 0xFFC00001),
    (0x7F7FFFFF, 0x7F7FFFFF), (0xFF7FFFFF, 0xFF7FFFFF), (0x00000001, 0x80000002), (0x00800000, 0x80000001),
    (0x3F800000, 0x33800000), (0x3F800001, 0x33800000), (0x7F800000, 0x3F800000), (0x3F808000, 0x00000000),
], dtype=np.uint32)
#: 2x2 pooling windows (row-major: top-left, top-right, bottom-left, bottom-right), bias -0: equal maxima of
#: opposite-signed zeros in every position, all -0, NaN in every position, -inf only, +inf beside NaN, equal maxima,
#: the maximum in every position, negatives only, subnormals of both signs, a maximum that ties in the rounding.
_OFMAP_WINDOWS = [
    *[[0x80000000] * i + [0x00000000] + [0x80000000] * (3 - i) for i in range(4)],
    [0x80000000] * 4,
    *[[0x7F800000] * i + [0xFFC00000 if i % 2 else 0x7F800001] + [0x7F800000] * (3 - i) for i in range(4)],
    [0xFF800000] * 4, [0x7F800000, 0x7FC00000, 0xFF800000, 0x00000000],
    [0x40400000] * 4,
    *[[0x3F800000] * i + [0x40000000] + [0x3F800000] * (3 - i) for i in range(4)],
    [0xC0000000, 0xBF800000, 0xC0400000, 0xBF800001],
    [0x00000001, 0x80000001, 0x00000002, 0x80000000], [0x80000003, 0x80000002, 0x80000005, 0x80000004],
    [0x3F818000, 0x3F808000, 0x3F817FFF, 0xBF818000],
]


def _ofmap_maps_to_stimulus(dut, rng, maps) -> Stimulus:
    """A list of maps (``data``, ``bias``, ``relu`` arrays, ``pool``, ``width``, ``label``) as the block's stream; the
    ``pool``/``width`` inputs of every element but a map's ``first`` carry garbage (the block samples them with
    ``first`` only)."""
    wmax = (1 << len(dut.width)) - 1
    inputs = {k: [] for k in ("data", "bias", "relu", "pool", "first", "width")}
    where = []
    for j, mp in enumerate(maps):
        k = len(mp["data"])
        inputs["data"].append(np.asarray(mp["data"], np.uint32))
        inputs["bias"].append(np.broadcast_to(np.asarray(mp["bias"], np.uint32), (k,)))
        inputs["relu"].append(np.broadcast_to(np.asarray(mp["relu"], np.uint8), (k,)))
        first = np.zeros(k, np.uint8)
        first[0] = 1
        inputs["first"].append(first)
        pool = rng.integers(0, 2, k).astype(np.uint8)
        pool[0] = mp["pool"]
        inputs["pool"].append(pool)
        width = rng.integers(0, wmax + 1, k)
        width[0] = mp["width"]
        inputs["width"].append(width)
        w = max(int(mp["width"]), 1)
        where += [f"map {j} ({mp['label']}, width {mp['width']}, pool {mp['pool']}), row {i // w} col {i % w}"
                  for i in range(k)]
    inputs = {key: np.concatenate(v) for key, v in inputs.items()}
    return Stimulus(inputs, describe=lambda i: where[i])


def _ofmap_post_stimulus(dut, rng, n):
    """Maps of ofmap elements, corners first: the bfloat16 rounding corners and every FP32 corner through the add
    (bias -0), with and without ReLU; bias-add corners; 2x2 windows of signed zeros, NaNs, infinities, equal and
    placed maxima, subnormals; odd sides (dropped row / column), a one-column pooled map (no result), a map cut
    short by the next ``first``, the full line buffer (``max_width``, even and odd). Then random maps (width
    1 .. min(max_width, 12), 1 .. 5 rows, pooling or not, per-channel or per-element bias, ReLU per element) until
    ``n`` random elements: adder operands close in exponent / cancelling, and sums with rounding ties."""
    mw = dut.max_width
    maps = []
    corners = np.concatenate([_OFMAP_ROUNDING, fp.FP32_CORNERS])
    for relu in (0, 1):
        maps.append({"data": corners, "bias": _NO_BIAS, "relu": relu, "pool": 0, "width": 0, "label": "rounding"})
        maps.append({"data": _OFMAP_BIAS_PAIRS[:, 0], "bias": _OFMAP_BIAS_PAIRS[:, 1], "relu": relu, "pool": 0,
                     "width": 3, "label": "bias add"})
    for relu in (0, 1):
        for win in _OFMAP_WINDOWS:
            maps.append({"data": np.array(win, np.uint32), "bias": _NO_BIAS, "relu": relu, "pool": 1, "width": 2,
                         "label": "window"})
    odd = fp.random_fp32(rng, 45)
    maps += [{"data": odd[:15], "bias": _NO_BIAS, "relu": 0, "pool": 1, "width": 5, "label": "3x5"},
             {"data": odd[15:24], "bias": _NO_BIAS, "relu": 1, "pool": 1, "width": 3, "label": "3x3"},
             {"data": odd[24:27], "bias": _NO_BIAS, "relu": 0, "pool": 1, "width": 1, "label": "3x1: no result"},
             {"data": odd[27:33], "bias": _NO_BIAS, "relu": 0, "pool": 1, "width": 4, "label": "cut after 6"},
             {"data": odd[33:45], "bias": _NO_BIAS, "relu": 0, "pool": 1, "width": 4, "label": "3x4"}]
    for w, h in ((mw, 2), (mw - 1 if mw > 2 else mw, 3)):
        maps.append({"data": fp.random_fp32(rng, w * h), "bias": _NO_BIAS, "relu": int(rng.integers(0, 2)),
                     "pool": 1, "width": w, "label": f"full line buffer {h}x{w}"})
    count = 0
    while count < n:
        w = int(rng.integers(1, min(mw, 12) + 1))
        h = int(rng.integers(1, 6))
        k = w * h
        a, b = fp.random_add_vectors(_seed(rng), k)
        kind = rng.random()
        if kind < 0.3:                                   # bias -0 and ties in the data: the rounding step
            b = np.full(k, _NO_BIAS, np.uint32)
            a = np.where(rng.random(k) < 0.5, (a & np.uint32(0xFFFF0000)) | np.uint32(0x8000), a)
        elif kind < 0.7:                                 # one bias per map (a channel's)
            b = np.full(k, b[0], np.uint32)
        relu = rng.random(k) < 0.5 if rng.random() < 0.3 else np.full(k, rng.random() < 0.5)
        maps.append({"data": a, "bias": b, "relu": relu, "pool": int(rng.integers(0, 2)), "width": w,
                     "label": "random"})
        count += k
    return _ofmap_maps_to_stimulus(dut, rng, maps)


def _ofmap_post_golden(dut, stim):
    from model.stt_ai.ofmap import ref_ofmap_post

    s = stim.inputs
    r = ref_ofmap_post(s["data"], s["bias"], s["relu"], s["pool"], s["first"], s["width"], ftz=dut.ftz,
                       max_width=dut.max_width)
    return Expected({"out": r.out, "out_fp32": r.out_fp32}, anchors=r.anchors)


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
        packed={"w256_p16": {"lanes": 16, "n": 1_000_000}}),
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
        golden=_binary_golden(fp.ref_fp32_add, "sum"), lanes=True, source=_FP_SOURCE,
        cosim={"top": {"n": 3000, "gaps": 0.1}}),
    BlockSpec(
        name="bf16_mac", factory=_bf16_mac, config={},
        stream=StreamPorts(inputs=("a", "b", "c"), valid="valid", outputs=("result",), out_valid="result_valid"),
        latency="latency", stimulus=_binary_stimulus(fp.corner_mac_vectors, fp.random_mac_vectors),
        golden=_binary_golden(fp.ref_mac, "result"), lanes=True, source=_FP_SOURCE,
        cosim={"top": {"n": 20_000, "gaps": 0.2},
               "ftz": {"config": {"ftz": True}, "n": 20_000, "gaps": 0.1},
               "x8": {"lanes": 8, "n": 100_000, "slow": True}},
        packed={"p64": {"lanes": 64, "n": 10_000_000, "gaps": 0.02}}),
    BlockSpec(
        name="reconfigurable_pe", factory=_pe, config={},
        stream=StreamPorts(inputs=("mode", "act0", "act1", "act2", "wgt0", "wgt1", "wgt2", "psum0", "psum1",
                                   "psum2"), valid="valid", outputs=("out0", "out1", "out2", "pe_out"),
                           out_valid="out_valid"),
        latency="latency_conv", stimulus=_pe_stimulus, golden=_pe_golden, lanes=True, source=_FP_SOURCE,
        cosim={"top": {"n": 10_000, "gaps": 0.2},
               "x4": {"lanes": 4, "n": 100_000, "slow": True}},
        packed={"p16": {"lanes": 16, "n": 10_000_000, "gaps": 0.02}}),
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
    # The controller and the accelerator run whole networks (golden: model/stt_ai/network.py golden_network; the
    # controller's schedule is checked against model/stt_ai/pe_array.py build_program). Defaults: the 2 x 2-PE
    # accelerator of the default test suite (lint and Verilog of the 4 x 4 one take a minute more); `--config
    # 4x4`: the default array of `mram-accel network run`, 1 KB scratchpad banks (21 words).
    BlockSpec(
        name="layer_controller", factory=_layer_controller, config={"rows": 2, "cols": 2}, stream=None,
        latency="latency", stimulus=None, golden=None, source=_ARRAY_SOURCE + "; Section III.B (ofmap to next ifmap)",
        configs={"4x4": {"rows": 4, "cols": 4}}, verified_by=_NETWORK_TESTS),
    BlockSpec(
        name="accelerator", factory=_accelerator, config={"rows": 2, "cols": 2, "bank_words": 42}, stream=None,
        latency="latency", stimulus=None, golden=None, source=_ARRAY_SOURCE + "; Section III.B (ofmap to next ifmap)",
        configs={"4x4": {"rows": 4, "cols": 4, "bank_words": 21}}, verified_by=_NETWORK_TESTS),
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
    BlockSpec(
        name="ofmap_post", factory=_ofmap_post_factory, config={"max_width": 256, "ftz": False},
        stream=StreamPorts(inputs=("data", "bias", "relu", "pool", "first", "width"), valid="valid",
                           outputs=("out", "out_fp32"), out_valid="out_valid", ready="ready", out_ready="out_ready"),
        latency="latency", stimulus=_ofmap_post_stimulus, golden=_ofmap_post_golden,
        source="stt-ai-mishty-sadi.txt, eq. (1), Section III.B eqs. (7), (11) (T_pool_relu)",
        cosim={"w256": {"config": {}, "n": 400, "gaps": 0.2, "slow": True},
               "w7_ftz": {"config": {"max_width": 7, "ftz": True}, "n": 300, "gaps": 0.3, "out_ready": 0.6}}),
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
    top = PackedLanes(lambda: spec.build(**config), spec.stream, int(params["lanes"]), spec.packed_shared)
    for d in (top, *top._copies):       # most callers read only its layout; Amaranth would warn of each copy
        d._MustUse__silence = True
    return top
