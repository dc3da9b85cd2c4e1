"""Layers on the PE array: the mapping, the cycle-by-cycle operand program, the dataflow golden, the cycle terms.

Source: ``stt-ai-mishty-sadi.txt``, Sections III.A-C (Figs. 3-5, Table I, eqs. (2)-(9)) and IV.D. The RTL is
:class:`hw.layer_engine.LayerEngine` (:class:`hw.pe_array.PEArray` + :class:`hw.scratchpad.Scratchpad`).

Mapping (our decisions where the paper is not specific)
-------------------------------------------------------
Array: H_A = ``rows`` rows, W_A = ``cols`` PEs, W_SA = 3 ``cols`` MAC columns (Table I).

* **Convolution, row-stationary (Section III.B.1, Fig. 4).** A *segment* is up to P_s = 3 taps of one kernel
  row of one input channel; a kernel row of width ``kw`` is ``S = ceil(kw / 3)`` segments (the ``ceil(k_w/P_s)``
  of eq. (2)), so output channel ``k`` needs ``G = C * kh * S`` segments, in the order (channel, kernel row,
  segment). Segments stay in the PEs of one array row each (the same in every column: the kernel row is
  stationary), ``rows`` of them per *chunk*; the ``cols`` columns compute ``cols`` ofmap rows side by side. A
  pass streams every (image, output column) position, one per cycle: the PE at (row ``r``, column ``c``) gets
  the three ifmap values under its kernel row segment for ofmap row ``oh = g * cols + c`` (the window moves by
  the stride each cycle), multiplies and adds them to the partial sum from the PE above (mode 1), so a column
  delivers one chunk's sum for one output pixel per cycle. Chunks of the same outputs are accumulated in the
  scratchpad (the partial ofmaps of Section IV.D): chunk 0 is written, later chunks are added, the last one goes
  to the global buffer (GLB). Passes run output channel by output channel (the paper's scheduling assumption),
  ofmap-row group by group, chunk by chunk.
  The window's shift by the stride is done by this program (the feeder): every PE's three activations arrive on
  the array's ``act`` port each cycle. An in-array ifmap shift register (Eyeriss-style reuse) is not in the RTL;
  the GLB operand reads (``operand_reads``) are counted as if each fetched value were reused across the pass.
* **FC / matrix product, systolic (Section III.B.2, Fig. 5).** Partial sums move down the columns, so the
  reduction (input neurons) runs down the ``rows`` and the ``3 * cols`` MAC columns hold output neurons: an
  ``rows x 3 cols`` weight tile is loaded, the batch streams through (one input vector per cycle, broadcast along
  each row), and input tiles of the same outputs are accumulated in the scratchpad (Fig. 5 (b) divide and
  conquer). Eq. (8) puts m_fc (outputs) over H_A instead: both step counts are reported.
* **Partial-ofmap storage**: the partial of one (output channel, ofmap-row group) has ``N * OW`` words (FC:
  ``N`` words per output tile); word ``w`` lives in the scratchpad when ``w < 2 * bank_words``, else it is
  spilled to the GLB. ``spad_words = 0`` is the accelerator without scratchpad (every partial in the GLB).
* **Accumulation order** (what the golden reproduces bit for bit): within a chunk the PE column order, top row
  first, each PE ``fl32(fl32(m0 + psum) + fl32(m2 + m1))`` (mode 1) or ``fl32(m_i + psum_i)`` (mode 0), row 0
  starting from ``+0`` and unused rows adding ``+0`` products; across chunks ``fl32(chunk + stored)`` in chunk
  order.

Cycles (``cycles`` = clock edges from the first operand entering the array to the last result leaving it)::

    cycles = stream + bubbles + stalls + (11 * rows - 1)

``stream`` = passes x positions per pass (one operand set per cycle), ``bubbles`` = cycles the feeder waited for
the single weight-write port (a tile load not hidden behind the previous pass), ``stalls`` = cycles the
scratchpad held the array (read-after-write hazard or a busy GLB port), ``11 * rows - 1`` = fill and drain (the
last operand set enters row 0 and leaves the bottom row ``11 * rows`` cycles later). Eqs. (2)-(5) and (8) count
``N_steps x N_cyc_per_stp x positions``; with our measured N_cyc_per_stp = 1 (initiation interval) the terms
that differ are named by :func:`cycle_terms`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.checks import check_choice, check_int
from model.stt_ai.dse import PE_SIZE, SCRATCHPAD_PAPER_BYTES, ArrayConfig, ref_layer_time
from model.fp_golden import ref_bf16_mul, ref_fp32_add
from model.zoo import Layer

__all__ = ["PE_LATENCY", "SPAD_LATENCY", "LayerShape", "conv_shape", "fc_shape", "Mapping", "map_layer",
           "Program", "build_program", "ref_conv_dataflow", "ref_fc_dataflow", "ref_layer", "cycle_terms",
           "glb_writes_expected", "bank_words_for", "glb_addr_width", "tag_value", "output_from_glb",
           "PAPER_SPAD_BYTES", "zoo_layer_shape", "model_glb_writes"]

#: One ReconfigurablePE latency (3 multiply + 4 + 4 add); the row-to-row skew of the array.
PE_LATENCY = 11
#: Scratchpad read-modify-write latency (1 read + 4 add).
SPAD_LATENCY = 5
#: The paper's scratchpad (Section V.E): 2 banks x 26 KB.
PAPER_SPAD_BYTES = SCRATCHPAD_PAPER_BYTES
P_S = PE_SIZE


@dataclass(frozen=True)
class LayerShape:
    """A conv (``kind="conv"``) or FC layer: batch ``n``, channels ``c`` -> ``k``, input ``h x w``, kernel
    ``kh x kw``, ``stride``, ``pad``. FC: ``c`` inputs, ``k`` outputs, ``h = w = kh = kw = 1``."""

    kind: str
    n: int
    c: int
    k: int
    h: int = 1
    w: int = 1
    kh: int = 1
    kw: int = 1
    stride: int = 1
    pad: int = 0

    @property
    def oh(self) -> int:
        return (self.h + 2 * self.pad - self.kh) // self.stride + 1

    @property
    def ow(self) -> int:
        return (self.w + 2 * self.pad - self.kw) // self.stride + 1

    @property
    def macs(self) -> int:
        """Multiply-accumulates (padding included, the usual convention; :attr:`model.zoo.Layer.macs`)."""
        return self.n * self.k * self.oh * self.ow * self.c * self.kh * self.kw

    def zoo_layer(self) -> Layer:
        """The same layer as a :class:`model.zoo.Layer` (one image; the batch is ``n``)."""
        return Layer("layer", self.kind, self.h, self.w, self.c, self.k, self.kh, self.kw, self.stride,
                     self.pad, self.pad)


def conv_shape(x_shape, w_shape, stride: int = 1, pad: int = 0) -> LayerShape:
    """Check and combine ``X (N, C, H, W)`` and ``W (K, C, kh, kw)``; ValueError names the bad parameter."""
    if len(x_shape) != 4:
        raise ValueError(f"ifmap must have 4 dimensions (N, C, H, W), got shape {tuple(x_shape)}")
    if len(w_shape) != 4:
        raise ValueError(f"weights must have 4 dimensions (K, C, kh, kw), got shape {tuple(w_shape)}")
    for name, v in zip(("N", "C", "H", "W"), x_shape):
        if v < 1:
            raise ValueError(f"ifmap {name} must be >= 1, got shape {tuple(x_shape)}")
    for name, v in zip(("K", "C", "kh", "kw"), w_shape):
        if v < 1:
            raise ValueError(f"weights {name} must be >= 1, got shape {tuple(w_shape)}")
    stride = check_int("stride", stride, min=1, max=64, type_error=False)
    pad = check_int("pad", pad, min=0, max=64, type_error=False)
    n, c, h, w = (int(v) for v in x_shape)
    k, c2, kh, kw = (int(v) for v in w_shape)
    if c2 != c:
        raise ValueError(f"channels: weights have C = {c2} input channels, ifmap has C = {c}")
    if kh > h + 2 * pad or kw > w + 2 * pad:
        raise ValueError(f"kernel: {kh}x{kw} is larger than the padded input {h + 2 * pad}x{w + 2 * pad} "
                         f"(pad {pad})")
    return LayerShape("conv", n, c, k, h, w, kh, kw, stride, pad)


def fc_shape(x_shape, w_shape) -> LayerShape:
    """Check and combine ``X (N, IN)`` and ``W (OUT, IN)``."""
    if len(x_shape) != 2:
        raise ValueError(f"ifmap must have 2 dimensions (N, IN), got shape {tuple(x_shape)}")
    if len(w_shape) != 2:
        raise ValueError(f"weights must have 2 dimensions (OUT, IN), got shape {tuple(w_shape)}")
    if min(x_shape) < 1:
        raise ValueError(f"ifmap N and IN must be >= 1, got shape {tuple(x_shape)}")
    if min(w_shape) < 1:
        raise ValueError(f"weights OUT and IN must be >= 1, got shape {tuple(w_shape)}")
    if w_shape[1] != x_shape[1]:
        raise ValueError(f"IN: weights have IN = {w_shape[1]}, ifmap has IN = {x_shape[1]}")
    return LayerShape("fc", int(x_shape[0]), int(x_shape[1]), int(w_shape[0]))


def bank_words_for(bank_bytes: int, cols: int) -> int:
    """Words per scratchpad bank of ``bank_bytes`` bytes, a word being ``3 * cols`` binary32 values."""
    return max(1, int(bank_bytes) // (4 * P_S * cols))


@dataclass(frozen=True)
class Mapping:
    """How a layer is cut into passes on a ``rows x cols`` array (see the module docstring)."""

    shape: LayerShape
    rows: int
    cols: int
    spad_words: int

    @property
    def lanes(self) -> int:
        return P_S * self.cols

    @property
    def segments(self) -> int:
        """S = ceil(kw / P_s) segments per kernel row (conv)."""
        return -(-self.shape.kw // P_S)

    @property
    def chunks(self) -> int:
        """Q: chunks of ``rows`` along the reduction (conv: G = C kh S segments; FC: IN inputs)."""
        red = self.shape.c * self.shape.kh * self.segments if self.shape.kind == "conv" else self.shape.c
        return -(-red // self.rows)

    @property
    def groups(self) -> int:
        """Conv: ofmap-row groups of ``cols``; FC: output tiles of ``3 cols``."""
        if self.shape.kind == "conv":
            return -(-self.shape.oh // self.cols)
        return -(-self.shape.k // self.lanes)

    @property
    def positions(self) -> int:
        """Operand sets streamed per pass: N * OW (conv) or N (FC)."""
        return self.shape.n * (self.shape.ow if self.shape.kind == "conv" else 1)

    def segment(self, q: int, r: int):
        """(channel, kernel row, segment) that array row ``r`` holds in chunk ``q`` of a conv, or None (idle row)."""
        gi = q * self.rows + r
        if gi >= self.shape.c * self.shape.kh * self.segments:
            return None
        ch, rem = divmod(gi, self.shape.kh * self.segments)
        return (ch, *divmod(rem, self.segments))

    @property
    def passes(self) -> int:
        outer = self.shape.k if self.shape.kind == "conv" else 1
        return outer * self.groups * self.chunks

    @property
    def out_words(self) -> int:
        return self.passes // self.chunks * self.positions

    @property
    def spill_words(self) -> int:
        return max(0, self.positions - self.spad_words) if self.chunks > 1 else 0


def map_layer(shape: LayerShape, rows: int, cols: int, spad_words: int) -> Mapping:
    check_int("rows", rows, min=1, type_error=False)
    check_int("cols", cols, min=1, type_error=False)
    check_int("spad_words", spad_words, min=0, type_error=False)
    return Mapping(shape, rows, cols, spad_words)


def glb_addr_width(mp: Mapping, bank_words: int) -> int:
    """Address bits for the GLB words the run uses (outputs, then spills) and the scratchpad's 2 banks."""
    return max(1, (mp.out_words + mp.spill_words - 1).bit_length(), (2 * bank_words - 1).bit_length())


def tag_value(acc, in_spad, last, paddr, oaddr, addr_width: int):
    """Pack :func:`hw.scratchpad.tag_layout` fields (LSB first: acc, in_spad, last, paddr, oaddr)."""
    return (np.asarray(acc, np.int64) | (np.asarray(in_spad, np.int64) << 1) | (np.asarray(last, np.int64) << 2)
            | (np.asarray(paddr, np.int64) << 3) | (np.asarray(oaddr, np.int64) << (3 + addr_width)))


# --------------------------------------------------------------------------------------------- the pass list
def _passes(mp: Mapping):
    """Yield (pass index, k or output tile, group, chunk) in execution order."""
    j = 0
    outer = mp.shape.k if mp.shape.kind == "conv" else 1
    for k in range(outer):
        for g in range(mp.groups):
            for q in range(mp.chunks):
                yield j, k, g, q
                j += 1


def _pass_weights(mp: Mapping, wt: np.ndarray, k: int, g: int, q: int) -> np.ndarray:
    """(rows, lanes) bfloat16 weights of one pass."""
    s, rows, lanes = mp.shape, mp.rows, mp.lanes
    out = np.zeros((rows, lanes), np.uint16)
    for r in range(rows):
        if s.kind == "conv":
            where = mp.segment(q, r)
            if where is None:
                continue
            ch, kr, seg = where
            taps = np.zeros(P_S, np.uint16)
            for i in range(P_S):
                if P_S * seg + i < s.kw:
                    taps[i] = wt[k, ch, kr, P_S * seg + i]
            out[r] = np.tile(taps, mp.cols)
        else:
            ii = q * rows + r
            if ii >= s.c:
                continue
            o = g * lanes + np.arange(lanes)
            ok = o < s.k
            out[r, ok] = wt[o[ok], ii]
    return out


def _pass_acts(mp: Mapping, x: np.ndarray, g: int, q: int) -> np.ndarray:
    """(positions, rows, cols * 3) bfloat16 activations of one pass (zero for padding and idle PEs)."""
    s, rows, cols = mp.shape, mp.rows, mp.cols
    out = np.zeros((mp.positions, rows, cols * P_S), np.uint16)
    if s.kind == "fc":
        ii = q * rows + np.arange(rows)
        ok = ii < s.c
        out[:, ok, :] = x[:, ii[ok]][:, :, None]
        return out
    xp = np.zeros((s.n, s.c, s.h + 2 * s.pad, s.w + 2 * s.pad + P_S * mp.segments), np.uint16)
    xp[:, :, s.pad:s.pad + s.h, s.pad:s.pad + s.w] = x
    ow = np.arange(s.ow)
    for r in range(rows):
        where = mp.segment(q, r)
        if where is None:
            continue
        ch, kr, seg = where
        for c in range(cols):
            oh = g * cols + c
            if oh >= s.oh:
                continue
            ih = oh * s.stride + kr
            for i in range(P_S):
                j = P_S * seg + i
                if j >= s.kw:
                    continue
                vals = xp[:, ch, ih, ow * s.stride + j]          # (N, OW)
                out[:, r, c * P_S + i] = vals.reshape(-1)
    return out


# ------------------------------------------------------------------------------------------------- program
@dataclass
class Program:
    """The feeder's cycle-by-cycle inputs of :class:`hw.layer_engine.LayerEngine` (array time: a cycle's
    inputs are taken when ``ready`` is high), and what the runner needs to read the result back."""

    mapping: Mapping
    bank_words: int
    addr_width: int
    act: np.ndarray        # (T, rows, cols*3) uint16
    valid: np.ndarray      # (T, rows) bool
    mode: int
    wsel: np.ndarray       # (T, rows) uint8
    w_en: np.ndarray       # (T,) bool
    w_row: np.ndarray
    w_bank: np.ndarray
    w_data: np.ndarray     # (T, cols*3) uint16
    tag_valid: np.ndarray  # (T,) bool
    tag: np.ndarray        # (T,) int64
    tag_pass: np.ndarray   # (T,) pass index of each tag (-1: none)
    first_operand: int
    bubbles: int
    operand_reads: int = 0

    @property
    def cycles(self) -> int:
        return len(self.w_en)


def build_program(shape: LayerShape, x_bits: np.ndarray, w_bits: np.ndarray, rows: int, cols: int,
                  bank_words: int, spad_words: int | None = None, addr_width: int | None = None,
                  out_base: int = 0) -> Program:
    """The operand program of a layer (``x_bits``, ``w_bits``: bfloat16 patterns in the layer's layout).

    ``spad_words`` (default ``2 * bank_words``) words of each partial are kept in the scratchpad, the rest spill;
    ``addr_width`` is the engine's GLB address width (default: the least that holds the run's addresses);
    ``out_base`` is the GLB word of the first output (the spill area follows the outputs), 0 by default.
    Weight tiles go through the one write port, a row per cycle, into the bank the pass does not use; a pass
    starts as soon as the previous one has streamed and its own weights can be in place (``bubbles`` counts the
    cycles it had to wait).
    """
    spad_words = 2 * bank_words if spad_words is None else spad_words
    mp = map_layer(shape, rows, cols, spad_words)
    out_base = check_int("out_base", out_base, min=0, type_error=False)
    aw = max(glb_addr_width(mp, bank_words), (out_base + mp.out_words + mp.spill_words - 1).bit_length())
    if addr_width is not None:
        if addr_width < aw:
            raise ValueError(f"addr_width={addr_width} cannot address the {mp.out_words + mp.spill_words} GLB "
                             f"words of this layer")
        aw = addr_width
    lat, P, H = PE_LATENCY, mp.positions, rows
    passes = list(_passes(mp))

    # Schedule: stream start s_j of each pass; weight writes (pass j, row r) in cycles that are free, after pass
    # j-2's last use of the bank at row r and before pass j's first use.
    starts, writes, used = [], {}, set()
    s = 1
    for j, *_ in passes:
        if j > 0:
            s = max(s, starts[-1] + P)
        while True:
            trial, ok = {}, True
            taken = set()
            for r in range(H):
                lo = starts[j - 2] + P - 1 + lat * r if j >= 2 else 0
                hi = s + lat * r - 1
                t = lo
                while t <= hi and (t in used or t in taken):
                    t += 1
                if t > hi:
                    ok = False
                    break
                trial[r] = t
                taken.add(t)
            if ok:
                break
            s += 1
        starts.append(s)
        for r, t in trial.items():
            writes[t] = (j, r)
            used.add(t)
    T = starts[-1] + P + lat * (H - 1)
    first = starts[0]
    bubbles = starts[-1] - starts[0] - P * (len(passes) - 1)

    L = mp.lanes
    prog = Program(mp, bank_words, aw,
                   act=np.zeros((T, H, L), np.uint16), valid=np.zeros((T, H), bool),
                   mode=1 if shape.kind == "conv" else 0, wsel=np.zeros((T, H), np.uint8),
                   w_en=np.zeros(T, bool), w_row=np.zeros(T, np.int64), w_bank=np.zeros(T, np.int64),
                   w_data=np.zeros((T, L), np.uint16), tag_valid=np.zeros(T, bool), tag=np.zeros(T, np.int64),
                   tag_pass=np.full(T, -1, np.int64), first_operand=first, bubbles=bubbles)
    weights = {}
    reads = 0
    for j, k, g, q in passes:
        weights[j] = _pass_weights(mp, w_bits, k, g, q)
        acts = _pass_acts(mp, x_bits, g, q)
        reads += int(np.count_nonzero(weights[j].any(axis=1))) * (P_S if shape.kind == "conv" else L)
        reads += _distinct_inputs(mp, g, q)
        for r in range(H):
            t0 = starts[j] + lat * r
            prog.act[t0:t0 + P, r] = acts[:, r]
            prog.valid[t0:t0 + P, r] = True
            prog.wsel[t0:t0 + P, r] = j % 2
        # tags, with the bottom row's operands
        w = np.arange(P)
        in_spad = w < spad_words
        paddr = np.where(in_spad, w, out_base + mp.out_words + (w - spad_words))
        oaddr = out_base + (((k if shape.kind == "conv" else 0) * mp.groups + g) * P) + w
        tb = starts[j] + lat * (H - 1)
        prog.tag_valid[tb:tb + P] = True
        prog.tag_pass[tb:tb + P] = j
        prog.tag[tb:tb + P] = tag_value(q > 0, in_spad, q == mp.chunks - 1, np.where(mp.chunks > 1, paddr, 0),
                                        oaddr, aw)
    for t, (j, r) in writes.items():
        prog.w_en[t] = True
        prog.w_row[t] = r
        prog.w_bank[t] = j % 2
        prog.w_data[t] = weights[j][r]
    prog.operand_reads = reads
    return prog


def _distinct_inputs(mp: Mapping, g: int, q: int) -> int:
    """Ifmap elements a pass reads from the GLB, each once (a row-stationary array re-uses a fetched value for
    every kernel position that needs it): the union of the pass's windows, padding excluded."""
    s, rows = mp.shape, mp.rows
    if s.kind == "fc":
        return s.n * max(0, min(rows, s.c - q * rows))
    seen = set()
    for r in range(rows):
        where = mp.segment(q, r)
        if where is None:
            continue
        ch, kr, _ = where
        for c in range(mp.cols):
            oh = g * mp.cols + c
            if oh < s.oh:
                ih = oh * s.stride + kr - s.pad
                if 0 <= ih < s.h:
                    seen.add((ch, ih))
    return s.n * s.w * len(seen)


def output_from_glb(prog: Program, words) -> np.ndarray:
    """The layer's output (binary32 patterns, (N, K, OH, OW) or (N, OUT)) from the GLB words after the run."""
    mp, s = prog.mapping, prog.mapping.shape
    L, P = mp.lanes, mp.positions
    lanes = np.array([[(int(wd) >> (32 * i)) & 0xFFFFFFFF for i in range(L)] for wd in words[:mp.out_words]],
                     dtype=np.uint32).reshape(-1, mp.groups, P, L)
    if s.kind == "fc":
        y = lanes[0].transpose(1, 0, 2).reshape(s.n, mp.groups * L)[:, :s.k]
        return np.ascontiguousarray(y)
    # (K, groups, N*OW, lanes) -> lane c of group g is ofmap row g*cols + c
    y = lanes[..., :mp.cols].reshape(s.k, mp.groups, s.n, s.ow, mp.cols)
    y = y.transpose(2, 0, 1, 4, 3).reshape(s.n, s.k, mp.groups * mp.cols, s.ow)[:, :, :s.oh]
    return np.ascontiguousarray(y)


# ---------------------------------------------------------------------------------------------------- golden
def _chunk_acc(chunks):
    acc = chunks[0]
    for c in chunks[1:]:
        acc = ref_fp32_add(c, acc)
    return acc


def ref_conv_dataflow(x_bits, w_bits, stride: int, pad: int, rows: int, cols: int) -> np.ndarray:
    """Golden convolution in the array's accumulation order (module docstring), binary32 patterns
    (N, K, OH, OW). Written from the mapping's definition, not from :func:`build_program`."""
    x_bits = np.asarray(x_bits, np.uint16)
    w_bits = np.asarray(w_bits, np.uint16)
    s = conv_shape(x_bits.shape, w_bits.shape, stride, pad)
    S = -(-s.kw // P_S)
    G = s.c * s.kh * S
    Q = -(-G // rows)
    xp = np.zeros((s.n, s.c, s.h + 2 * pad, s.w + 2 * pad + P_S * S), np.uint16)
    xp[:, :, pad:pad + s.h, pad:pad + s.w] = x_bits
    oh, ow = np.arange(s.oh), np.arange(s.ow)
    shape = (s.k, s.n, s.oh, s.ow)
    chunks = []
    for q in range(Q):
        psum = np.zeros(shape, np.uint32)
        for r in range(rows):
            gi = q * rows + r
            acts = np.zeros((P_S,) + shape, np.uint16)
            wgts = np.zeros((P_S,) + shape, np.uint16)
            if gi < G:
                ch, kr, seg = gi // (s.kh * S), (gi // S) % s.kh, gi % S
                for i in range(P_S):
                    j = P_S * seg + i
                    if j < s.kw:
                        win = xp[:, ch][:, (oh * stride + kr)[:, None], (ow * stride + j)[None, :]]  # (N, OH, OW)
                        acts[i] = win[None]
                        wgts[i] = w_bits[:, ch, kr, j][:, None, None, None]
            m = [ref_bf16_mul(acts[i], wgts[i]) for i in range(P_S)]
            a1 = ref_fp32_add(m[0], psum)
            a3 = ref_fp32_add(m[2], m[1])
            psum = ref_fp32_add(a1, a3)
        chunks.append(psum)
    return np.ascontiguousarray(_chunk_acc(chunks).transpose(1, 0, 2, 3))


def ref_fc_dataflow(x_bits, w_bits, rows: int) -> np.ndarray:
    """Golden FC layer in the systolic array's accumulation order, binary32 patterns (N, OUT)."""
    x_bits = np.asarray(x_bits, np.uint16)
    w_bits = np.asarray(w_bits, np.uint16)
    s = fc_shape(x_bits.shape, w_bits.shape)
    Q = -(-s.c // rows)
    chunks = []
    for q in range(Q):
        psum = np.zeros((s.n, s.k), np.uint32)
        for r in range(rows):
            ii = q * rows + r
            if ii < s.c:
                a = np.broadcast_to(x_bits[:, ii][:, None], (s.n, s.k))
                b = np.broadcast_to(w_bits[:, ii][None, :], (s.n, s.k))
            else:
                a = b = np.zeros((s.n, s.k), np.uint16)
            psum = ref_fp32_add(ref_bf16_mul(a, b), psum)
        chunks.append(psum)
    return _chunk_acc(chunks)


def ref_layer(kind: str, x_bits, w_bits, *, rows: int, cols: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    check_choice("kind", kind, ("conv", "fc"))
    if kind == "conv":
        return ref_conv_dataflow(x_bits, w_bits, stride, pad, rows, cols)
    return ref_fc_dataflow(x_bits, w_bits, rows)


# ---------------------------------------------------------------------------------------- cycles and writes
#: Name of the term: our passes (chunks x row groups or tiles, each fully streamed) against the formula's steps,
#: which pack the work perfectly (eq. (2)) or tile it without remainders.
TILING = "tiling remainder (our passes vs the formula's steps)"


def cycle_terms(mp: Mapping, bubbles: int, stalls: int, cycles_per_step: int = 1) -> dict:
    """Eqs. (2)-(5) / (8) with ``cycles_per_step`` beside our cycle count, every difference named.

    Returns ``formula_cycles`` (the paper's equation), ``terms`` (name -> cycles) and ``predicted_cycles`` =
    formula + sum of terms, which equals the measured ``cycles`` of a run with these ``bubbles`` and ``stalls``.
    """
    s, H = mp.shape, mp.rows
    stream = mp.passes * mp.positions
    # The equations as the zoo analysis evaluates them (model.stt_ai.dse), at T_clk = 1 s: the time is in cycles.
    formula = round(ref_layer_time(s.zoo_layer(), ArrayConfig(H, mp.lanes), s.n, cycles_per_step, cycles_per_step,
                                   clock_hz=1.0))
    if s.kind == "conv":
        terms = {TILING: stream * cycles_per_step - formula}
    else:
        ours = math.ceil(s.c / H) * math.ceil(s.k / mp.lanes) * cycles_per_step * s.n
        terms = {"mapping (reduction down the columns: IN over H_A, OUT over W_SA; eq. (8) has OUT over H_A)":
                 ours - formula,
                 TILING: stream * cycles_per_step - ours}
    terms["weight-load bubbles (tile load not hidden)"] = bubbles
    terms["scratchpad stalls (read-after-write, GLB port)"] = stalls
    terms["fill and drain (11 x rows - 1)"] = PE_LATENCY * H - 1
    return {"formula_cycles": int(formula), "terms": {k: int(v) for k, v in terms.items()},
            "predicted_cycles": int(formula + sum(terms.values()))}


def glb_writes_expected(mp: Mapping) -> dict:
    """GLB and scratchpad accesses (words) the mapping implies: final outputs, spills and their read-backs."""
    groups = mp.passes // mp.chunks
    partial = mp.chunks - 1                      # partials written before the last chunk
    spill = mp.spill_words
    kept = mp.positions - spill if mp.chunks > 1 else 0
    return {"glb_writes": groups * (mp.positions + partial * spill), "glb_reads": groups * partial * spill,
            "spad_writes": groups * partial * kept, "spad_reads": groups * partial * kept}


def zoo_layer_shape(layer, batch: int = 1) -> LayerShape:
    """A :class:`model.zoo.Layer` (conv with ``groups == 1`` and square padding, or FC) as a :class:`LayerShape`."""
    if layer.kind == "fc":
        return LayerShape("fc", batch, layer.in_c, layer.out_c)
    if layer.kind != "conv" or layer.groups != 1 or layer.pad_h != layer.pad_w:
        raise ValueError(f"layer {layer.name!r}: only dense convs with square padding and FC layers map to the array")
    return LayerShape("conv", batch, layer.in_c, layer.out_c, layer.in_h, layer.in_w, layer.k_h, layer.k_w,
                      layer.stride, layer.pad_h)


def model_glb_writes(model, rows: int = 42, cols: int = 14, spad_bytes: int = PAPER_SPAD_BYTES,
                     batch: int = 1, step_partial: str = "block") -> dict:
    """Global-buffer writes (words of ``3 cols`` binary32) of every conv layer of a zoo model on our mapping, with
    a scratchpad of ``spad_bytes`` and without one (the Fig. 19 analogue, :func:`glb_writes_expected`).

    Also the paper-style count (``paper_*``, elements): eq. (2) steps per output channel, each step leaving a
    partial ofmap (Fig. 18's definition) in the buffer, all but the last contribution to every ofmap element. One
    input channel's ofmap row takes ``kh * ceil(kw / P_s)`` PEs (Section III.B.1), so a step of the ``rows x cols``
    PEs covers ``U = rows cols // (kh ceil(kw / P_s))`` ofmap rows (``paper_step_rows``):

    * ``U >= OH``: a step holds whole input channels, its partial is the whole ``OH x OW`` ofmap: ``steps OH OW``
      elements per output channel (``steps - 1`` partials and the final ofmap);
    * ``1 <= U < OH`` (one input channel needs more PEs than the array has, e.g. ResNet-50's conv1): a step covers
      a block of ``U`` rows of one input channel, so its partial is a block, not the whole ofmap; every (input
      channel, ofmap row) is produced once: ``C OH OW`` elements;
    * ``U = 0`` (one ofmap row needs more PEs than the array): each row of each channel takes
      ``ceil(kh ceil(kw / P_s) / (rows cols))`` steps of one-row partials.

    ``step_partial="whole"`` takes every step's partial as the whole ``OH x OW`` ofmap in all three cases (this
    count before; it overcounts the layers with ``U < OH``), kept to show the difference side by side.

    With the scratchpad the partials are not written when the accumulated partial ofmap (``OH x OW``, Fig. 18)
    fits in ``spad_bytes`` at 4 bytes (FP32) per element.
    """
    check_choice("step_partial", step_partial, ("block", "whole"))
    bank_words = bank_words_for(spad_bytes // 2, cols)
    rows_out = []
    for layer in model.conv_layers:
        if layer.groups != 1:
            continue
        shape = zoo_layer_shape(layer, batch)
        with_spad = glb_writes_expected(map_layer(shape, rows, cols, 2 * bank_words))["glb_writes"]
        without = glb_writes_expected(map_layer(shape, rows, cols, 0))["glb_writes"]
        # eq. (2) steps per output channel: eqs. (2)-(5) at one cycle per step, one image, T_clk = 1 s
        steps = round(ref_layer_time(layer, ArrayConfig(rows, P_S * cols), 1, 1, 1, clock_hz=1.0)) \
            // (shape.ow * shape.k)
        pes_per_row = shape.kh * -(-shape.kw // P_S)           # Section III.B.1: k_h ceil(k_w / P_s) PEs per row
        step_rows = rows * cols // pes_per_row
        if step_rows >= shape.oh or step_partial == "whole":
            rows_made = steps * shape.oh
        elif step_rows >= 1:
            rows_made = shape.c * shape.oh
        else:
            rows_made = shape.c * shape.oh * -(-pes_per_row // (rows * cols))
        partial = shape.oh * shape.ow
        final = shape.k * batch * partial
        paper_without = shape.k * batch * rows_made * shape.ow
        paper_with = final if partial * 4 <= spad_bytes else paper_without
        rows_out.append({"layer": layer.name, "with_spad": with_spad, "without_spad": without,
                         "paper_with_spad": paper_with, "paper_without_spad": paper_without,
                         "paper_steps": steps, "paper_step_rows": min(step_rows, shape.oh)})
    tot = {k: sum(r[k] for r in rows_out) for k in ("with_spad", "without_spad", "paper_with_spad",
                                                     "paper_without_spad")}
    return {"layers": rows_out, "total": tot}
