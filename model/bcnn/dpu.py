"""The digital processing unit (DPU) operations of the SOT-MRAM BCNN accelerator, in numpy.

Paper: Fan and Angizi, "Energy Efficient In-Memory Binary Deep Neural Network Accelerator with Dual-Mode
SOT-MRAM" (``sot-mram-bcnn-fan-angizi.txt``), Table I ("Hardware Mapping of BCNN Computational Tasks") and
Fig. 3b: the CIM sub-arrays compute the binary dot products (Bin-AND + Bit-Count); the DPU does everything
else, one function per Table I row here:

==============================  =============================================================================
Table I row                     function
==============================  =============================================================================
Batch-Norm                      :func:`batch_norm`
Sign-Func                       :func:`sign`
Scaling-Fact (alpha, weights)   :func:`alpha`
Scaling-Fact (K, inputs)        :func:`k_map` (Table I only names K; its definition is XNOR-Net's, ref. [4])
Multiplier                      :func:`multiply` (and :func:`and_counts_to_dot` for the Bin-AND counts)
(pooling, Fig. 3a/3b)           :func:`max_pool` (:func:`model.nn.max_pool` on finite input)
(mapping, Fig. 3c/3d)           :func:`im2col`: unrolls a convolution into the rows the CIM sub-arrays hold
                                (:func:`model.nn.im2col` on finite input)
==============================  =============================================================================

XNOR-Net is M. Rastegari et al., ECCV 2016 (the paper's ref. [4]); its equations are cited as "XNOR-Net
eq. (n)". Tensors are NCHW (or NC for fully connected data); real values are float32 and every function
computes in a fixed order, so equal inputs give bit-identical outputs. Bad arguments raise ``ValueError``
naming the parameter and the value given.
"""

from __future__ import annotations

import numpy as np

from model import nn
from model.checks import check_int, check_real, check_real_array
from model.nn import check_window, conv_output_size

__all__ = ["batch_norm", "sign", "alpha", "k_map", "multiply", "and_counts_to_dot", "max_pool", "im2col",
           "conv_output_size"]


# --------------------------------------------------------------------------------------------------- helpers
def _array(name: str, x, ndims: tuple[int, ...], *, real: bool = True) -> np.ndarray:
    """``x`` as an array with one of ``ndims`` dimensions (numeric; finite when ``real``)."""
    a = np.asarray(x)
    if a.dtype.kind not in "iuf" or a.dtype == np.bool_:
        raise ValueError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    if a.ndim not in ndims:
        want = " or ".join(f"{d}-d" for d in ndims)
        raise ValueError(f"{name} must be a {want} array, got shape {a.shape}")
    if real and a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got an array with NaN or inf at flat index "
                         f"{int(np.flatnonzero(~np.isfinite(a))[0])}")
    return a


# ------------------------------------------------------------------------------------------------ Table I rows
def batch_norm(x, mean, var, gamma, beta, eps: float = 1e-5) -> np.ndarray:
    """Table I "Batch-Norm": ``I_o = (I_i - mu) / sqrt(sigma^2 + eps) * gamma + beta``, per channel.

    Parameters
    ----------
    x : array_like
        Input, NCHW (4-d) or NC (2-d); the channel axis is 1.
    mean, var, gamma, beta : array_like
        Per-channel statistics and affine parameters, shape ``(C,)``; ``var >= 0``.
    eps : float
        ``> 0``, added to the variance.

    Returns
    -------
    numpy.ndarray
        float32, the shape of ``x``; evaluated in float32 in exactly the order of the Table I equation.
    """
    x = _array("x", x, (2, 4)).astype(np.float32, copy=False)
    c = x.shape[1]
    params = {}
    for name, v in (("mean", mean), ("var", var), ("gamma", gamma), ("beta", beta)):
        a = check_real_array(name, v, min=0 if name == "var" else None, type_error=False)
        if a.shape != (c,):
            raise ValueError(f"{name} must have shape ({c},) (one value per channel of x), got shape {a.shape}")
        params[name] = a.astype(np.float32).reshape((1, c) + (1,) * (x.ndim - 2))
    eps = np.float32(check_real("eps", eps, min=0, min_open=True, type_error=False))
    p = params
    return ((x - p["mean"]) / np.sqrt(p["var"] + eps)) * p["gamma"] + p["beta"]


def sign(x) -> np.ndarray:
    """Table I "Sign-Func": ``I(B) = sign(I(R))``, ``W(B) = sign(W(R))`` as int8 +1/-1.

    ``sign(0) = +1`` (XNOR-Net's convention; the CIM's 1/0 encoding has no third value): the DPU reads
    the sign bit of the stored word, and +0.0 has sign bit 0. -0.0 also gives +1 here.

    Parameters
    ----------
    x : array_like
        Real values, any shape; NaN is rejected.

    Returns
    -------
    numpy.ndarray
        int8, the shape of ``x``, values in {-1, +1}.
    """
    a = np.asarray(x)
    if a.dtype.kind not in "iuf" or a.dtype == np.bool_:
        raise ValueError(f"x must be a real numeric array, got dtype {a.dtype}")
    if a.dtype.kind == "f" and np.isnan(a).any():
        raise ValueError(f"x must not contain NaN, got NaN at flat index {int(np.flatnonzero(np.isnan(a))[0])}")
    return np.where(a < 0, np.int8(-1), np.int8(1)).astype(np.int8, copy=False)


def alpha(w) -> np.ndarray:
    """Table I "Scaling-Fact" for the weights: ``alpha = ||W(R)||_l1 / n`` per output channel.

    XNOR-Net eq. (4): the optimal scale of ``W ~ alpha sign(W)`` is the mean absolute weight,
    ``n = C kh kw`` (or the fan-in of a fully connected layer). Our copy of Table I is truncated: it
    prints ``alpha = ||W(R)||_l1 / (empty)`` with the denominator missing; the text ("the average of
    absolute weight values") and XNOR-Net fix it as ``n``.

    Parameters
    ----------
    w : array_like
        Weights, ``(M, C, kh, kw)`` or ``(M, K)``; one scale per output ``M``.

    Returns
    -------
    numpy.ndarray
        float32 ``(M,)``: ``sum(|w|) / n`` (float32 sum, then one division).
    """
    w = _array("w", w, (2, 4)).astype(np.float32, copy=False)
    flat = np.abs(w.reshape(w.shape[0], -1))
    if flat.shape[1] == 0:
        raise ValueError(f"w must have at least one weight per output, got shape {w.shape}")
    return flat.sum(axis=1, dtype=np.float32) / np.float32(flat.shape[1])


def k_map(x, kh: int, kw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Table I "Scaling-Fact" for the inputs: XNOR-Net's ``K = A * k`` (XNOR-Net Sec. 3.2, Fig. 2).

    ``A = sum_c |I_c| / C`` (mean over channels of the absolute real input), ``k`` a ``kh x kw`` box filter
    of ``1 / (kh kw)``, ``*`` a 2-D convolution with the binary convolution's stride and padding; ``K``
    holds one scale per output position. Padding pads ``A`` with zeros (the average then includes the
    padded zeros, as XNOR-Net's convolution of ``A`` does). Table I only names ``K``; its definition is
    XNOR-Net's.

    Parameters
    ----------
    x : array_like
        The real input of the binary convolution (after batch norm), NCHW.
    kh, kw, stride, pad : int
        The binary convolution's window (``>= 1``), stride (``>= 1``) and padding (``>= 0``).

    Returns
    -------
    numpy.ndarray
        float32 ``(N, OH, OW)``: the window sum of ``A`` (float32, order of :func:`im2col`'s columns)
        times ``float32(1 / (kh kw))``.
    """
    x = _array("x", x, (4,)).astype(np.float32, copy=False)
    kh, kw, stride, pad = check_window(kh, kw, stride, pad)
    n, c, h, w = x.shape
    oh = conv_output_size(h, kh, stride, pad, "x height")
    ow = conv_output_size(w, kw, stride, pad, "x width")
    a = np.abs(x).sum(axis=1, dtype=np.float32, keepdims=True) / np.float32(c)
    cols = im2col(a, kh, kw, stride, pad)
    k = cols.sum(axis=1, dtype=np.float32) * np.float32(1.0 / (kh * kw))
    return k.reshape(n, oh, ow)


def and_counts_to_dot(counts, x_ones, w_ones, n: int) -> np.ndarray:
    """The +/-1 dot product from Table I "Bin-AND"/"Bit-Count" counts of the 1/0 encoding.

    The paper stores +1/-1 as 1/0 and computes ``BitCount(and(I(B), W(B)))``; with ``p = count``,
    ``a = ones(I)``, ``b = ones(W)`` over ``n`` bits the +/-1 dot product is ``4p - 2a - 2b + n``
    (each of the four bit pairs (1,1), (1,0), (0,1), (0,0) contributes +1, -1, -1, +1). Table I's
    "Multiplier" applies ``K alpha`` to the AND count directly, which is not the +/-1 dot product; the
    paper leaves this correction (a per-row and per-column offset the DPU knows) implicit.

    Parameters
    ----------
    counts : array_like of int
        ``(P, M)`` AND bit counts.
    x_ones : array_like of int
        ``(P,)`` number of 1 bits (+1 entries) of each input row.
    w_ones : array_like of int
        ``(M,)`` number of 1 bits of each weight column.
    n : int
        Bits per dot product (``>= 1``).

    Returns
    -------
    numpy.ndarray
        int32 ``(P, M)``.
    """
    n = check_int("n", n, min=1, type_error=False)
    c = _array("counts", counts, (2,))
    xo = _array("x_ones", x_ones, (1,))
    wo = _array("w_ones", w_ones, (1,))
    for name, a in (("counts", c), ("x_ones", xo), ("w_ones", wo)):
        if a.dtype.kind not in "iu":
            raise ValueError(f"{name} must be an integer array, got dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() > n):
            raise ValueError(f"{name} must be in [0, {n}] (n = {n}), got values in [{a.min()}, {a.max()}]")
    if xo.shape != (c.shape[0],) or wo.shape != (c.shape[1],):
        raise ValueError(f"x_ones and w_ones must have shapes ({c.shape[0]},) and ({c.shape[1]},) to match counts "
                         f"{c.shape}, got {xo.shape} and {wo.shape}")
    c, xo, wo = c.astype(np.int32), xo.astype(np.int32), wo.astype(np.int32)
    return 4 * c - 2 * xo[:, None] - 2 * wo[None, :] + np.int32(n)


def multiply(dot, k, alpha) -> np.ndarray:
    """Table I "Multiplier": ``I * W ~ dot . K alpha`` (XNOR-Net eq. (10)).

    Parameters
    ----------
    dot : array_like
        ``(..., M)`` +/-1 dot products ``sign(I) . sign(W)`` of each output position (from the CIM;
        use :func:`and_counts_to_dot` for raw AND counts). Integers (or exact integer floats); values
        must be exact in float32 (``|dot| <= 2**24``).
    k : array_like
        Input scales, the shape of ``dot`` without its last axis (e.g. :func:`k_map` flattened), or a
        scalar.
    alpha : array_like
        ``(M,)`` weight scales (:func:`alpha`).

    Returns
    -------
    numpy.ndarray
        float32 ``(..., M)``: ``(float32(dot) * K) * alpha`` in that order.
    """
    d = _array("dot", dot, tuple(range(1, 8)))
    if np.abs(d).max(initial=0) > 2 ** 24:
        raise ValueError(f"dot must satisfy |dot| <= 2**24 (exact in float32), got max |dot| {np.abs(d).max()}")
    kk = check_real_array("k", k, type_error=False).astype(np.float32)
    al = check_real_array("alpha", alpha, type_error=False).astype(np.float32)
    if al.shape != (d.shape[-1],):
        raise ValueError(f"alpha must have shape ({d.shape[-1]},) (the last axis of dot), got shape {al.shape}")
    if kk.shape not in ((), d.shape[:-1]):
        raise ValueError(f"k must be a scalar or have shape {d.shape[:-1]} (dot without its last axis), "
                         f"got shape {kk.shape}")
    return (d.astype(np.float32) * kk[..., None]) * al


def max_pool(x, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Max pooling (the "Pool" layer of Fig. 3a, a DPU task in Fig. 3b), NCHW, no padding.

    :func:`model.nn.max_pool` (which see for the parameters and the result) on a finite real ``x``.
    """
    return nn.max_pool(_array("x", x, (4,)), size, stride)


def im2col(x, kh: int, kw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Unroll the windows of a convolution into rows (the CIM's data layout, Fig. 3c/3d).

    :func:`model.nn.im2col` (which see for the parameters, the row order ``(n, oh, ow)`` and the column order
    ``(c, i, j)``, that of ``W.reshape(M, C * kh * kw)``) on a finite real ``x``. Binary (+/-1) data has no zero:
    binary layers use ``pad=0``.
    """
    return nn.im2col(_array("x", x, (4,)), kh, kw, stride, pad)
