"""A whole network on the STT-AI accelerator: layer plans, descriptors, the global-buffer layouts, the golden.

Source: ``stt-ai-mishty-sadi.txt``, Sections III-IV (the global buffer holds weights and every fmap; the ofmap of one
layer "goes through Maxpooling and Activation functions ... to serve as the input to the following layer"). The RTL
is :class:`hw.accelerator.Accelerator` (its :class:`hw.layer_controller.LayerController` documents the layouts and
the schedule); the simulation side is :mod:`scripts.sim.network`.

* :func:`plan_network` cuts a list of :class:`NetLayer` (bfloat16 weights and biases, conv or FC, ReLU / pool
  flags) into per-layer :class:`LayerPlan` objects: the array mapping (:func:`model.stt_ai.pe_array.map_layer`), the
  descriptor fields the controller reads (loop bounds derived here, so the RTL needs no divider) and the sizes of
  the tensors the global buffer (GLB) holds.
* :meth:`NetworkPlan.allocate` places every tensor (weights, biases, each layer's input, raw FP32 ofmap, spill,
  post-processed ofmap) in a :class:`model.stt_ai.glb.GlobalBuffer` and completes the descriptors' base addresses.
* The ``*_words`` encoders write the GLB layouts; :func:`decode_rows` reads an output back.
* :func:`golden_network` is the bit-exact reference: per layer the dataflow golden
  (:func:`model.stt_ai.pe_array.ref_layer`), then the ofmap path (:func:`model.stt_ai.ofmap.ofmap_post`: bias, ReLU,
  2x2 max-pool, bfloat16 rounding); the last layer keeps FP32 logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model.checks import check_int
from model.digits_cnn import DigitsCNN, classes
from model.stt_ai import pe_array as pa
from model.stt_ai.ofmap import ofmap_post

__all__ = ["NetLayer", "LayerPlan", "NetworkPlan", "plan_network", "digits_cnn_layers", "golden_network",
           "conv_input_words", "row_words", "conv_weight_words", "fc_weight_words", "bias_words", "decode_rows",
           "predict"]

P_S = pa.P_S


@dataclass(frozen=True)
class NetLayer:
    """One compute layer: ``kind`` ``"conv"`` (weights (K, C, kh, kw)) or ``"fc"`` (weights (OUT, IN)), bfloat16
    ``w_bits`` and ``b_bits`` (K,), ``stride``/``pad`` (conv), ReLU and 2x2 max-pool (conv) after the bias, and
    ``out_fp32``: keep the FP32 result (logits) instead of rounding to bfloat16."""

    name: str
    kind: str
    w_bits: np.ndarray
    b_bits: np.ndarray
    stride: int = 1
    pad: int = 0
    relu: bool = True
    pool: bool = False
    out_fp32: bool = False


def digits_cnn_layers(model: DigitsCNN | None = None) -> list[NetLayer]:
    """The committed digits CNN (:mod:`model.digits_cnn`) quantised to bfloat16 (round to nearest even)."""
    model = DigitsCNN.load() if model is None else model
    words, _ = model.encode("bf16")

    def bits(name):
        return np.ascontiguousarray(words[name]).view(np.uint16)

    return [NetLayer("conv1", "conv", bits("conv1.weight"), bits("conv1.bias"), 1, 1, True, True),
            NetLayer("conv2", "conv", bits("conv2.weight"), bits("conv2.bias"), 1, 1, True, True),
            NetLayer("fc1", "fc", bits("fc1.weight"), bits("fc1.bias"), relu=True),
            NetLayer("fc2", "fc", bits("fc2.weight"), bits("fc2.bias"), relu=False, out_fp32=True)]


@dataclass
class LayerPlan:
    """A layer on the array: its shape and mapping, the descriptor fields and the sizes of its GLB tensors."""

    layer: NetLayer
    shape: pa.LayerShape
    mapping: pa.Mapping
    in_shape: tuple            # (C, H, W) conv, (IN,) FC: the ifmap of one image
    out_shape: tuple           # after the ofmap path: (K, OH', OW') conv, (OUT,) FC
    x_row_len: int             # input elements per GLB word
    y_row_len: int             # output elements per GLB word
    desc: dict = field(default_factory=dict)
    tensors: dict = field(default_factory=dict)   # role -> (name, words)

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def y_elems(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def y_words(self) -> int:
        if self.shape.kind == "conv":
            return self.out_shape[0] * self.out_shape[1]
        return -(-self.y_elems // self.y_row_len)

    @property
    def x_words(self) -> int:
        if self.shape.kind == "conv":
            return self.in_shape[0] * self.in_shape[1]
        return -(-self.in_shape[0] // self.x_row_len)


@dataclass
class NetworkPlan:
    """Every layer's plan on a ``rows x cols`` array with scratchpad banks of ``bank_words`` words."""

    layers: list
    rows: int
    cols: int
    bank_words: int

    @property
    def lanes(self) -> int:
        return P_S * self.cols

    @property
    def word_bits(self) -> int:
        return 32 * self.lanes

    @property
    def words_needed(self) -> int:
        return sum(w for lp in self.layers for _, w in lp.tensors.values()) + self.layers[0].x_words

    def allocate(self, glb) -> dict:
        """Place every tensor in ``glb`` (:meth:`model.stt_ai.glb.GlobalBuffer.allocate`, ``ValueError`` naming
        the tensor when it does not fit) and complete the descriptors' bases. Returns ``{tensor name: base}``."""
        bases = {}

        def put(name, words, kind):
            bases[name] = glb.allocate(name, max(1, words), kind=kind)
            return bases[name]

        first = self.layers[0]
        xbase = put(f"{first.name}.ifmap", first.x_words, "ifmap")
        for lp in self.layers:
            d = lp.desc
            d["xbase"] = xbase
            for role, (name, words) in lp.tensors.items():
                if words:
                    put(name, words, role)
            d["wbase"] = bases[lp.tensors["weights"][0]]
            d["bbase"] = bases[lp.tensors["bias"][0]]
            d["obase"] = bases[lp.tensors["psum"][0]]
            d["sbase"] = bases.get(lp.tensors["spill"][0], 0)
            d["ybase"] = xbase = bases[lp.tensors["ofmap"][0]]
        return bases


def plan_network(layers, in_shape, rows: int, cols: int, bank_words: int) -> NetworkPlan:
    """Plan ``layers`` for one image of ``in_shape`` ((C, H, W), or (IN,) when the first layer is FC).

    Raises ``ValueError`` naming the layer when a shape does not fit the controller: a conv input or output row
    wider than one GLB word (``2 * 3 cols`` bfloat16), a kernel wider than 15, or mismatched channels.
    """
    rows = check_int("rows", rows, min=1, max=64)
    cols = check_int("cols", cols, min=1, max=64)
    bank_words = check_int("bank_words", bank_words, min=1)
    lanes = P_S * cols
    vpw = 2 * lanes
    plans = []
    shape_in = tuple(int(v) for v in in_shape)
    row_len_in = shape_in[-1] if len(shape_in) == 3 else min(vpw, shape_in[0])
    for layer in layers:
        w = np.asarray(layer.w_bits, np.uint16)
        if layer.kind == "conv":
            if len(shape_in) != 3:
                raise ValueError(f"layer {layer.name!r}: a conv needs a (C, H, W) input, got {shape_in}")
            s = pa.conv_shape((1, *shape_in), w.shape, layer.stride, layer.pad)
            if s.w > vpw or s.ow > vpw:
                raise ValueError(f"layer {layer.name!r}: rows of {max(s.w, s.ow)} elements exceed one GLB word "
                                 f"({vpw} bfloat16 on a {rows}x{cols} array); use more columns")
            if s.kw > 15 or s.kh > 15 or s.stride > 15 or s.pad > 15:
                raise ValueError(f"layer {layer.name!r}: kernel, stride and pad must be <= 15")
            ohp, owp = (s.oh // 2, s.ow // 2) if layer.pool else (s.oh, s.ow)
            out_shape = (s.k, ohp, owp)
            y_row_len = owp
        else:
            n_in = int(np.prod(shape_in))
            s = pa.fc_shape((1, n_in), w.shape)
            out_shape = (s.k,)
            y_row_len = min(s.k, lanes if layer.out_fp32 else vpw)
            if layer.pool:
                raise ValueError(f"layer {layer.name!r}: pooling applies to conv layers only")
        if layer.out_fp32 and layer.kind == "conv":
            raise ValueError(f"layer {layer.name!r}: FP32 output is for the last FC layer (logits)")
        b = np.asarray(layer.b_bits, np.uint16)
        if b.shape != (s.k,):
            raise ValueError(f"layer {layer.name!r}: bias must have shape ({s.k},), got {b.shape}")
        mp = pa.map_layer(s, rows, cols, 2 * bank_words)
        x_row_len = s.w if s.kind == "conv" else row_len_in
        d = {"conv": int(s.kind == "conv"), "relu": int(layer.relu), "pool": int(layer.pool),
             "out_fp32": int(layer.out_fp32), "c": s.c, "k": s.k, "h": s.h, "w": s.w, "oh": s.oh, "ow": s.ow,
             "kh": s.kh, "kw": s.kw, "stride": s.stride, "pad": s.pad, "segs": mp.segments,
             "red": s.c * s.kh * mp.segments if s.kind == "conv" else s.c, "chunks": mp.chunks,
             "groups": mp.groups, "spad_words": mp.spad_words, "x_row_len": x_row_len, "y_row_len": y_row_len,
             "y_elems": int(np.prod(out_shape))}
        lp = LayerPlan(layer, s, mp, shape_in, out_shape, x_row_len, y_row_len, d)
        n = layer.name
        w_words = s.k * d["red"] if s.kind == "conv" else mp.groups * s.c
        lp.tensors = {"weights": (f"{n}.weights", w_words), "bias": (f"{n}.bias", s.k),
                      "psum": (f"{n}.psum", mp.out_words), "spill": (f"{n}.spill", mp.spill_words),
                      "ofmap": (f"{n}.ofmap", lp.y_words)}
        plans.append(lp)
        shape_in = out_shape
        row_len_in = y_row_len
    return NetworkPlan(plans, rows, cols, bank_words)


# ------------------------------------------------------------------------------------------------ layouts
def _pack(values, bits: int) -> int:
    word = 0
    for i, v in enumerate(values):
        word |= int(v) << (bits * i)
    return word


def conv_input_words(x_bits) -> list:
    """(C, H, W) bfloat16 -> one word per (channel, row), the row's elements least significant first."""
    x = np.asarray(x_bits, np.uint16)
    return [_pack(x[c, h], 16) for c in range(x.shape[0]) for h in range(x.shape[1])]


def row_words(values, row_len: int, bits: int = 16) -> list:
    """A flat vector in rows of ``row_len`` elements of ``bits`` bits, one word each (FC inputs and outputs)."""
    v = np.asarray(values).reshape(-1)
    return [_pack(v[i:i + row_len], bits) for i in range(0, v.size, row_len)]


def conv_weight_words(w_bits) -> list:
    """(K, C, kh, kw) -> one word per (output channel, (channel, kernel row, segment)) with the segment's 3 taps
    (zero beyond ``kw``), in the controller's reduction-row order."""
    w = np.asarray(w_bits, np.uint16)
    k, c, kh, kw = w.shape
    segs = -(-kw // P_S)
    wp = np.zeros((k, c, kh, segs * P_S), np.uint16)
    wp[..., :kw] = w
    return [_pack(wp[o, ch, r, P_S * s:P_S * s + P_S], 16)
            for o in range(k) for ch in range(c) for r in range(kh) for s in range(segs)]


def fc_weight_words(w_bits, lanes: int) -> list:
    """(OUT, IN) -> one word per (output tile of ``lanes``, input) with the tile's weights (zero past OUT)."""
    w = np.asarray(w_bits, np.uint16)
    out, n_in = w.shape
    groups = -(-out // lanes)
    wp = np.zeros((groups * lanes, n_in), np.uint16)
    wp[:out] = w
    return [_pack(wp[g * lanes:(g + 1) * lanes, i], 16) for g in range(groups) for i in range(n_in)]


def bias_words(b_bits) -> list:
    """One bfloat16 bias per word."""
    return [int(v) for v in np.asarray(b_bits, np.uint16)]


def decode_rows(words, n_elems: int, row_len: int, bits: int = 16) -> np.ndarray:
    """The first ``n_elems`` elements of words holding ``row_len`` elements of ``bits`` bits each."""
    mask = (1 << bits) - 1
    out = [(int(wd) >> (bits * i)) & mask for wd in words for i in range(row_len)]
    return np.array(out[:n_elems], np.uint16 if bits == 16 else np.uint32)


# ------------------------------------------------------------------------------------------------- golden
def golden_network(plan: NetworkPlan, x_bits) -> list:
    """Bit-exact golden of one image through ``plan``: per layer ``{"name", "psum"`` (FP32 patterns of the array's
    output, before bias), ``"y"`` (after the ofmap path: bfloat16, or FP32 logits)``}``."""
    x = np.asarray(x_bits, np.uint16)
    out = []
    for lp in plan.layers:
        L = lp.layer
        s = lp.shape
        if s.kind == "conv":
            xin = x.reshape(1, *lp.in_shape)
            psum = pa.ref_layer("conv", xin, L.w_bits, rows=plan.rows, cols=plan.cols, stride=s.stride, pad=s.pad)
            bias32 = np.asarray(L.b_bits, np.uint32) << 16
            y16, y32 = ofmap_post(psum[0], bias32, relu=L.relu, pool=L.pool)
        else:
            xin = x.reshape(1, -1)
            psum = pa.ref_layer("fc", xin, L.w_bits, rows=plan.rows, cols=plan.cols)
            bias32 = np.asarray(L.b_bits, np.uint32) << 16
            y16, y32 = ofmap_post(psum[0].reshape(-1, 1, 1), bias32, relu=L.relu, pool=False)
            y16, y32 = y16.reshape(-1), y32.reshape(-1)
        y = y32 if L.out_fp32 else y16
        out.append({"name": lp.name, "psum": psum[0], "y": y})
        x = y16
    return out


def predict(logits_bits) -> int:
    """Class of one image's FP32 logit patterns (:func:`model.digits_cnn.classes`: -1 when a logit is NaN)."""
    return int(classes(np.asarray(logits_bits, np.uint32).view(np.float32)[None])[0])
