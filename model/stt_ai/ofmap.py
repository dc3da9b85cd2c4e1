"""Bit-exact golden of the ofmap path (``hw/ofmap_post.py``): bias, ReLU, 2x2 max-pooling, FP32 -> bfloat16.

Source: ``stt-ai-mishty-sadi.txt``, eq. (1) (``Ofmap = ReLU(B[u] + sum ...)``, then MaxPooling: "Activation
functions (e.g., ReLU) operate on the results before they go to the MaxPooling layer") and Section III.B, eqs. (7),
(11): the ofmap of layer n-1 "goes through Maxpooling and Activation functions (e.g., ReLU) to serve as the input to
the following layer"; T_pool_relu is estimated "from hardware implementation of ReLU and MaxPool layers", which
:func:`ofmap_post_cycles` gives for the RTL. The paper states no rounding or ordering rule; we decide (and the RTL
implements exactly this):

* ``y = fl32(x + bias)`` by :func:`model.fp_golden.ref_fp32_add` (the adder of ``hw/fp32_add.py``: round to
  nearest-even, canonical NaN ``0x7FC00000``, ``ftz`` flushes subnormal operands and results). ``bias = -0`` is the
  identity (``x + (-0) = x`` for every ``x``, including ``-0``), so "no bias" needs no bypass.
* ReLU: a value with the sign bit set (negative, ``-0``, ``-inf``) becomes ``+0``; NaN passes (it is canonical,
  positive). ``ReLU(x) = max(x, +0)`` in the order below.
* Max-pooling (2x2, stride 2, no padding, floor as torch's ``MaxPool2d``: an odd last row / column is dropped) in
  the IEEE-754-2019 ``maximum`` order: a window holding a NaN gives the canonical NaN; otherwise the largest value,
  with ``-0 < +0`` (a window of ``-0`` and ``+0`` gives ``+0`` wherever they sit). This order is total on non-NaN
  values, so the result does not depend on the order the window is reduced in (the RTL reduces each row pair
  horizontally, then the two rows).
* The FP32 result is rounded to bfloat16 (its upper 16 bits) to nearest, ties to even; a carry out of the
  significand increments the exponent, so the largest finite values round to infinity as RNE implies; every NaN
  becomes the canonical bfloat16 NaN ``0x7FC0`` (the upper half of ``0x7FC00000``). Rounding is monotone in the
  order above, so it commutes with the pooling; we round last.

Stream convention (the block's ports): one ofmap element per transaction in row-major order, each 2-D map
(one channel of one image) starting with ``first``; ``pool`` and ``width`` are read from the ``first`` element
only and hold for the map; ``bias`` and ``relu`` are read per element. Without pooling each element gives one
result; with pooling the element at the bottom-right of each window (odd row, odd column) does, its
"anchor". Results come in anchor order.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from model import fp_golden as fp
from model.checks import check_bool, check_int

__all__ = ["BF16_CANONICAL_NAN", "order_key", "round_bf16", "relu_bits", "max_bits", "OfmapPostResult",
           "ref_ofmap_post", "ofmap_post", "stream_inputs", "pool_anchors", "ofmap_post_cycles"]

#: The one bfloat16 NaN the path writes: the upper half of :data:`model.fp_golden.CANONICAL_NAN`.
BF16_CANONICAL_NAN = fp.CANONICAL_NAN >> 16


def _u32(bits, name: str) -> np.ndarray:
    arr = np.asarray(bits)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold binary32 bit patterns (integers), not dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 0xFFFFFFFF):
        raise ValueError(f"{name} must hold binary32 bit patterns in 0 .. 0xffffffff")
    return arr.astype(np.uint32)


def _is_nan(b: np.ndarray) -> np.ndarray:
    return ((b & 0x7F800000) == 0x7F800000) & ((b & 0x007FFFFF) != 0)


def order_key(bits) -> np.ndarray:
    """An unsigned key whose integer order is the numeric order of non-NaN binary32 patterns, with ``-0 < +0``.

    Positive patterns get their sign bit set, negative patterns are inverted (sign-magnitude to an offset code):
    ``key(-0) = 0x7FFFFFFF < key(+0) = 0x80000000``. Returns ``uint32``.
    """
    b = _u32(bits, "bits")
    return np.where(b & 0x80000000, ~b, b | np.uint32(0x80000000)).astype(np.uint32)


def round_bf16(bits) -> np.ndarray:
    """binary32 patterns rounded to bfloat16 patterns (``uint16``): nearest, ties to even; NaN -> ``0x7FC0``.

    ``upper + (lower > 0x8000 or (lower == 0x8000 and upper odd))`` on the sign-magnitude pattern, where
    ``upper``/``lower`` are its 16-bit halves: the carry propagates into the exponent (``0x7F7F8000`` -> ``0x7F80``,
    infinity), and a subnormal rounds within the subnormals or up to the smallest normal.
    """
    b = _u32(bits, "bits")
    upper, lower = b >> 16, b & 0xFFFF
    up = (lower > 0x8000) | ((lower == 0x8000) & ((upper & 1) == 1))
    out = np.where(_is_nan(b), BF16_CANONICAL_NAN, upper + up)
    return out.astype(np.uint16)


def relu_bits(bits, relu=True) -> np.ndarray:
    """ReLU on binary32 patterns where ``relu`` (broadcast): sign bit set -> ``+0``; NaN is returned canonical."""
    b = fp.canonicalize_nan(_u32(bits, "bits"))
    neg = (b & 0x80000000) != 0
    return np.where(np.asarray(relu, bool) & neg, np.uint32(0), b).astype(np.uint32)


def max_bits(*operands) -> np.ndarray:
    """Elementwise maximum of binary32 patterns (broadcast): any NaN -> ``0x7FC00000``, else the largest value
    by :func:`order_key` (``-0 < +0``). Commutative and associative."""
    if not operands:
        raise ValueError("max_bits needs at least one operand")
    ops = np.broadcast_arrays(*(_u32(o, f"operand {i}") for i, o in enumerate(operands)))
    keys = np.stack([order_key(o) for o in ops])
    best = np.take_along_axis(np.stack(ops), np.argmax(keys, axis=0)[None], axis=0)[0]
    nan = np.any(np.stack([_is_nan(o) for o in ops]), axis=0)
    return np.where(nan, np.uint32(fp.CANONICAL_NAN), best).astype(np.uint32)


class OfmapPostResult(NamedTuple):
    """Results of :func:`ref_ofmap_post`, one per result in output order.

    Attributes
    ----------
    out : uint16 array
        The bfloat16 words (next layer's ifmap).
    out_fp32 : uint32 array
        The binary32 value before rounding (after bias, ReLU, pooling).
    anchors : int64 array
        Index of the input element each result is produced by (its latency is measured from it).
    """

    out: np.ndarray
    out_fp32: np.ndarray
    anchors: np.ndarray


def _flags(value, n: int, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have {n} entries (one per element), got shape {arr.shape}")
    if arr.dtype.kind not in "iub" or np.any((arr != 0) & (arr != 1)):
        raise ValueError(f"{name} must hold 0 or 1")
    return arr.astype(bool)


def ref_ofmap_post(data, bias, relu, pool, first, width, *, ftz: bool = False,
                   max_width: int | None = None) -> OfmapPostResult:
    """Golden of the block's stream (module docstring): ``round_bf16(pool(relu(fl32(data + bias))))``.

    Parameters
    ----------
    data, bias : arrays (N,) of binary32 patterns
        The ofmap elements in stream order, and the bias added to each.
    relu : array (N,) of 0/1
        Apply ReLU to the element.
    pool : array (N,) of 0/1
        2x2 max-pooling of the map; read on ``first`` elements only (other entries are ignored).
    first : array (N,) of 0/1
        The element starts a map (row 0, column 0). ``first[0]`` must be 1.
    width : int array (N,)
        The map's width (elements per row); read on ``first`` elements of pooled maps only, 1 .. ``max_width``.
    ftz : bool
        The adder's flush-to-zero (:func:`model.fp_golden.ref_fp32_add`).
    max_width : int, optional
        The block's line-buffer width; when given, pooled maps must fit.

    Returns
    -------
    OfmapPostResult
        ``out`` (bfloat16), ``out_fp32``, ``anchors``.
    """
    check_bool("ftz", ftz)
    data = _u32(data, "data")
    if data.ndim != 1:
        raise ValueError(f"data must be one-dimensional (the stream), got shape {data.shape}")
    n = data.shape[0]
    bias = _u32(bias, "bias")
    if bias.shape != (n,):
        raise ValueError(f"bias must have {n} entries (one per element), got shape {bias.shape}")
    relu, pool, first = (_flags(v, n, k) for v, k in ((relu, "relu"), (pool, "pool"), (first, "first")))
    width = np.asarray(width)
    if width.shape != (n,) or width.dtype.kind not in "iu":
        raise ValueError(f"width must be an integer array of {n} entries, got shape {width.shape}, "
                         f"dtype {width.dtype}")
    if n == 0:
        empty = np.zeros(0, np.int64)
        return OfmapPostResult(empty.astype(np.uint16), empty.astype(np.uint32), empty)
    if not first[0]:
        raise ValueError("first[0] must be 1: the stream starts with a map")
    starts = np.flatnonzero(first)
    seg = np.cumsum(first) - 1                       # map index of each element
    seg_pool = pool[starts][seg]
    seg_width = width[starts].astype(np.int64)
    top = None if max_width is None else check_int("max_width", max_width, min=2)
    bad = pool[starts] & ((seg_width < 1) | ((seg_width > top) if top is not None else False))
    if bad.any():
        i = int(starts[np.argmax(bad)])
        limit = "" if top is None else f" and <= {top}"
        raise ValueError(f"width[{i}] must be >= 1{limit} for a pooled map, got {int(width[i])}")
    k = np.arange(n) - starts[seg]                   # index inside the map
    w = seg_width[seg]
    y = relu_bits(fp.ref_fp32_add(data, bias, ftz=ftz), relu)
    col = np.where(seg_pool, k % np.maximum(w, 1), 0)   # (a map without pooling ignores its width)
    row = np.where(seg_pool, k // np.maximum(w, 1), 0)
    anchor = ~seg_pool | ((row % 2 == 1) & (col % 2 == 1))
    idx = np.flatnonzero(anchor)
    pooled = seg_pool[idx]
    wi = w[idx]
    left = np.where(pooled, idx - 1, idx)
    up = np.where(pooled, idx - wi, idx)
    corner = np.where(pooled, idx - wi - 1, idx)
    fp32 = max_bits(y[idx], y[left], y[up], y[corner])
    return OfmapPostResult(round_bf16(fp32), fp32, idx.astype(np.int64))


def ofmap_post(ofmap, bias, *, relu: bool = True, pool: bool = True, ftz: bool = False) -> tuple[np.ndarray,
                                                                                                  np.ndarray]:
    """The path on a whole tensor: ``round_bf16(maxpool2x2(relu(fl32(ofmap + bias[c]))))``.

    A tensor-level formulation (reshape and reduce), independent of the stream bookkeeping of
    :func:`ref_ofmap_post`; the tests check that the two agree on :func:`stream_inputs`.

    Parameters
    ----------
    ofmap : array (..., C, H, W) of binary32 patterns
    bias : array (C,) of binary32 patterns
    relu, pool : bool
    ftz : bool

    Returns
    -------
    (bf16, fp32) : arrays (..., C, H', W') of ``uint16`` / ``uint32``, ``H' = H // 2``, ``W' = W // 2`` with ``pool``.
    """
    x = _u32(ofmap, "ofmap")
    if x.ndim < 3:
        raise ValueError(f"ofmap must have shape (..., C, H, W), got {x.shape}")
    b = _u32(bias, "bias")
    c, h, w = x.shape[-3:]
    if b.shape != (c,):
        raise ValueError(f"bias must have shape ({c},) (one per channel), got {b.shape}")
    y = relu_bits(fp.ref_fp32_add(x, b[:, None, None], ftz=check_bool("ftz", ftz)), check_bool("relu", relu))
    if check_bool("pool", pool):
        h2, w2 = h // 2, w // 2
        t = y[..., :2 * h2, :2 * w2].reshape(*y.shape[:-2], h2, 2, w2, 2)
        y = max_bits(t[..., 0, :, 0], t[..., 0, :, 1], t[..., 1, :, 0], t[..., 1, :, 1])
    return round_bf16(y), y


def stream_inputs(ofmap, bias, *, relu: bool = True, pool: bool = True) -> dict:
    """The block's input stream for a tensor ``ofmap`` (..., C, H, W) (binary32 patterns) and ``bias`` (C,): its
    elements row-major, each (image, channel) map starting with ``first``; ``data``, ``bias``, ``relu``, ``pool``,
    ``first``, ``width`` arrays (N,) for :func:`ref_ofmap_post` and the block's ports."""
    x = _u32(ofmap, "ofmap")
    if x.ndim < 3:
        raise ValueError(f"ofmap must have shape (..., C, H, W), got {x.shape}")
    c, h, w = x.shape[-3:]
    b = _u32(bias, "bias")
    if b.shape != (c,):
        raise ValueError(f"bias must have shape ({c},) (one per channel), got {b.shape}")
    n = x.size
    first = np.zeros(n, np.uint8)
    first[::h * w] = 1
    images = n // (c * h * w) if n else 0
    return {"data": x.reshape(-1), "bias": np.tile(np.repeat(b, h * w), images),
            "relu": np.full(n, int(check_bool("relu", relu)), np.uint8),
            "pool": np.full(n, int(check_bool("pool", pool)), np.uint8), "first": first,
            "width": np.full(n, w, np.int64)}


def pool_anchors(height: int, width: int, *, pool: bool) -> np.ndarray:
    """Indices (row-major, inside one ``height x width`` map) of the elements that produce a result."""
    height = check_int("height", height, min=1)
    width = check_int("width", width, min=1)
    k = np.arange(height * width)
    if not check_bool("pool", pool):
        return k
    return k[((k // width) % 2 == 1) & ((k % width) % 2 == 1)]


def ofmap_post_cycles(channels: int, height: int, width: int, *, pool: bool, latency: int) -> int:
    """Cycles the ofmap path takes for ``channels`` maps of ``height x width`` elements: T_pool_relu of eqs. (7)
    and (11) (``stt-ai-mishty-sadi.txt``, Section III.B: "estimate T_pool_relu from hardware implementation of ReLU
    and MaxPool"), in clock cycles (divide by the clock, e.g. :data:`model.stt_ai.dse.CLOCK_HZ`, for seconds).

    The stored ofmap streams through the block at one element per cycle (no idle cycles, output always ready):
    the count runs from the first element's input cycle to the later of the last element's and the last result's
    cycles, inclusive: ``max(N, a_last + latency + 1)`` with ``N = channels * height * width`` and ``a_last`` the
    stream index of the last anchor (:func:`pool_anchors`); ``N + latency`` when the map has an even height and
    width or no pooling. A batch of images is more
    maps (``channels * images``). When the block sits on the engine's output path instead, it overlaps ofmap
    generation and adds only ``latency`` cycles after the last ofmap element.

    Parameters
    ----------
    channels, height, width : int
        Maps and their shape (>= 1).
    pool : bool
        2x2 max-pooling on.
    latency : int
        The block's latency (``hw.ofmap_post.OfmapPost.latency``), >= 0.
    """
    channels = check_int("channels", channels, min=1)
    latency = check_int("latency", latency, min=0)
    anchors = pool_anchors(height, width, pool=pool)
    n = channels * height * width
    if anchors.size == 0:
        return n
    return max(n, (channels - 1) * height * width + int(anchors[-1]) + latency + 1)
