"""The one small numpy toolkit of the project's CNNs: im2col / col2im, max pooling and its gradient, in NCHW.

Every numpy network of the project (:mod:`model.digits_cnn`, :mod:`model.bcnn.net`, :mod:`model.dima.net`,
:mod:`model.aimc.net`) and every numpy trainer (``scripts/train/``) runs its convolutions and pooling through
these functions, so there is one tensor layout and one column order:

* feature maps are **NCHW** ``(N, C, H, W)``;
* a convolution is a matrix product of the **im2col** matrix ``(N * OH * OW, C * kh * kw)`` -- rows in
  ``(n, oh, ow)`` order, columns in ``(c, i, j)`` order, the order of ``W.reshape(M, C * kh * kw)`` for torch's
  weight layout ``W (M, C, kh, kw)`` -- with the weights;
* the result ``(N * OH * OW, M)`` ("rows": one row per output position) goes back to NCHW with
  :func:`from_rows`; :func:`to_rows` is its inverse (used for gradients).

A system whose hardware stores the rows of a layer in another order (the AiMC crossbars hold ``(ky, kx, c)``)
permutes the columns of :func:`im2col` explicitly (:mod:`model.aimc.net`); nothing here depends on a system.

Every function computes in a fixed order and copies values without arithmetic where it can, so equal inputs give
bit-identical outputs: :func:`im2col` and :func:`max_pool` only move (and compare) values, :func:`col2im` adds the
contributions of each pixel in kernel order ``(i, j)`` (``j`` fastest), starting from zero. NaN and infinities are
copied like any value (a network with corrupted weights must still run); argument errors raise ``ValueError``
naming the parameter.
"""

from __future__ import annotations

import numpy as np

from model.checks import check_choice, check_int

__all__ = ["conv_output_size", "check_window", "im2col", "col2im", "from_rows", "to_rows", "conv2d", "max_pool",
           "max_pool_backward", "POOL_TIES"]

#: how :func:`max_pool_backward` treats several maxima in one window
POOL_TIES = ("split", "all")


def _nchw(name: str, x) -> np.ndarray:
    """``x`` as a 4-d real numeric array (integer or float; bool, complex and objects are refused)."""
    a = np.asarray(x)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    if a.ndim != 4:
        raise ValueError(f"{name} must be a 4-d array, got shape {a.shape}")
    return a


def conv_output_size(size: int, k: int, stride: int, pad: int, name: str = "input") -> int:
    """Output length of a window ``k`` with ``stride`` over ``size`` padded by ``pad`` on each side.

    Parameters
    ----------
    size, k, stride, pad : int
        Input length, window (``>= 1``), stride (``>= 1``), zero padding per side (``>= 0``).
    name : str
        How the error message names the input (e.g. ``"x height"``).

    Returns
    -------
    int
        ``(size + 2 pad - k) // stride + 1`` (floor: a last partial window is dropped, as in torch).

    Raises
    ------
    ValueError
        If the window does not fit once (``size + 2 pad < k``).
    """
    if size + 2 * pad < k:
        raise ValueError(f"{name} {size} with pad {pad} must be >= the kernel size {k}")
    return (size + 2 * pad - k) // stride + 1


def check_window(kh, kw, stride, pad) -> tuple[int, int, int, int]:
    """``(kh, kw, stride, pad)`` as ints: ``kh, kw, stride >= 1``, ``pad >= 0`` (``ValueError`` naming the
    parameter otherwise; integral floats such as ``2.0`` are refused too)."""
    return (check_int("kh", kh, min=1, type_error=False), check_int("kw", kw, min=1, type_error=False),
            check_int("stride", stride, min=1, type_error=False), check_int("pad", pad, min=0, type_error=False))


def im2col(x, kh: int, kw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Unroll the windows of a 2-D convolution into rows.

    A convolution (torch ``Conv2d`` cross-correlation, no kernel flip) with weights ``W (M, C, kh, kw)`` is
    ``im2col(x, kh, kw, stride, pad) @ W.reshape(M, -1).T`` followed by :func:`from_rows`.

    Parameters
    ----------
    x : array_like
        NCHW input ``(N, C, H, W)``, any integer or float dtype (kept; NaN and infinities are copied).
    kh, kw : int
        Window height and width, ``>= 1``.
    stride : int
        ``>= 1``, the same along H and W.
    pad : int
        Zero padding ``>= 0`` on each of the four sides.

    Returns
    -------
    numpy.ndarray
        ``(N * OH * OW, C * kh * kw)``, C-contiguous, the dtype of ``x``, ``OH = (H + 2 pad - kh) // stride + 1``
        (:func:`conv_output_size`; likewise ``OW``). Row ``(n * OH + oh) * OW + ow`` holds the window of output
        position ``(oh, ow)`` of image ``n``; column ``(c * kh + i) * kw + j`` of that row holds
        ``x[n, c, oh * stride + i - pad, ow * stride + j - pad]`` (0 outside the image).
    """
    x = _nchw("x", x)
    kh, kw, stride, pad = check_window(kh, kw, stride, pad)
    n, c, h, w = x.shape
    oh = conv_output_size(h, kh, stride, pad, "x height")
    ow = conv_output_size(w, kw, stride, pad, "x width")
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))  # (N, C, H', W', kh, kw)
    win = win[:, :, :(oh - 1) * stride + 1:stride, :(ow - 1) * stride + 1:stride]
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * oh * ow, c * kh * kw)


def col2im(cols, shape, kh: int, kw: int, stride: int = 1, pad: int = 0, dtype=None) -> np.ndarray:
    """The adjoint of :func:`im2col`: scatter-add rows of window values back onto the input map.

    ``<im2col(x), d> == <x, col2im(d, x.shape, ...)>`` for every ``x`` and ``d`` (the gradient of a convolution
    with respect to its input is ``col2im(dY_rows @ W.reshape(M, -1), x.shape, ...)``).

    Parameters
    ----------
    cols : array_like
        ``(N * OH * OW, C * kh * kw)`` in :func:`im2col`'s row and column order.
    shape : tuple of int
        ``(N, C, H, W)``, the NCHW shape of the input of :func:`im2col`.
    kh, kw, stride, pad : int
        As for :func:`im2col`.
    dtype : numpy dtype, optional
        Dtype of the result, in which every addition is rounded (default: the dtype of ``cols``).

    Returns
    -------
    numpy.ndarray
        ``shape``, dtype ``dtype``: pixel ``x[n, c, r, q]`` receives the sum of every column entry that
        :func:`im2col` copied from it, added in kernel order ``(i, j)`` (``j`` fastest) starting from 0;
        contributions that fall on the padding are dropped. With ``pad > 0`` the result is a view of a padded
        buffer (not C-contiguous).
    """
    cols = np.asarray(cols)
    if cols.dtype.kind not in "iuf":
        raise ValueError(f"cols must be a real numeric array, got dtype {cols.dtype}")
    kh, kw, stride, pad = check_window(kh, kw, stride, pad)
    try:
        n, c, h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (N, C, H, W), got {shape!r}") from None
    oh = conv_output_size(h, kh, stride, pad, "shape height")
    ow = conv_output_size(w, kw, stride, pad, "shape width")
    if cols.shape != (n * oh * ow, c * kh * kw):
        raise ValueError(f"cols must have shape {(n * oh * ow, c * kh * kw)} (im2col of an input of shape "
                         f"{(n, c, h, w)}), got {cols.shape}")
    d = cols.reshape(n, oh, ow, c, kh, kw)
    out = np.zeros((n, c, h + 2 * pad, w + 2 * pad), cols.dtype if dtype is None else dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + (oh - 1) * stride + 1:stride, j:j + (ow - 1) * stride + 1:stride] += \
                d[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return out[:, :, pad:pad + h, pad:pad + w]


def from_rows(y, n: int, oh: int, ow: int) -> np.ndarray:
    """Rows of a convolution's matrix product back to a feature map.

    Parameters
    ----------
    y : numpy.ndarray
        ``(n * oh * ow, M)``, rows in :func:`im2col`'s ``(n, oh, ow)`` order.
    n, oh, ow : int
        Images and output height and width.

    Returns
    -------
    numpy.ndarray
        NCHW ``(n, M, oh, ow)``: a transposed view of ``y`` (not C-contiguous; callers that need contiguous
        memory copy it).
    """
    y = np.asarray(y)
    if y.ndim != 2 or y.shape[0] != n * oh * ow:
        raise ValueError(f"y must have shape ({n * oh * ow}, M) (n * oh * ow rows), got {y.shape}")
    return y.reshape(n, oh, ow, y.shape[1]).transpose(0, 3, 1, 2)


def to_rows(x) -> np.ndarray:
    """The inverse of :func:`from_rows`: NCHW ``(N, C, H, W)`` to rows ``(N * H * W, C)`` in ``(n, h, w)`` order
    (C-contiguous; a view when ``x`` is :func:`from_rows` of contiguous rows, else a copy)."""
    x = _nchw("x", x)
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def conv2d(x, w, b=None, stride: int = 1, pad: int = 0) -> np.ndarray:
    """A 2-D convolution (torch ``Conv2d`` cross-correlation) as one matrix product.

    Parameters
    ----------
    x : array_like
        NCHW input ``(N, C, H, W)``.
    w : array_like
        Weights ``(M, C, kh, kw)`` (torch layout).
    b : array_like, optional
        Bias ``(M,)``, added to the product rows.
    stride, pad : int
        As for :func:`im2col`.

    Returns
    -------
    numpy.ndarray
        NCHW ``(N, M, OH, OW)``, :func:`from_rows` of ``im2col(x) @ w.reshape(M, -1).T (+ b)`` (a transposed view;
        the dtype follows numpy's promotion of ``x``, ``w`` and ``b``).
    """
    x = _nchw("x", x)
    w = _nchw("w", w)
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"w must have {x.shape[1]} input channels (axis 1) to match x {x.shape}, got {w.shape}")
    m, _, kh, kw = w.shape
    y = im2col(x, kh, kw, stride, pad) @ w.reshape(m, -1).T
    if b is not None:
        y = y + b
    return from_rows(y, x.shape[0], conv_output_size(x.shape[2], kh, stride, pad),
                     conv_output_size(x.shape[3], kw, stride, pad))


def _pool_args(size, stride) -> tuple[int, int]:
    size = check_int("size", size, min=1, type_error=False)
    stride = size if stride is None else check_int("stride", stride, min=1, type_error=False)
    return size, stride


def max_pool(x, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Max pooling over ``size x size`` windows, no padding.

    Parameters
    ----------
    x : array_like
        NCHW input, any integer or float dtype.
    size : int
        Square window ``>= 1`` (2: the usual 2x2 pooling).
    stride : int, optional
        ``>= 1``; default ``size`` (non-overlapping windows). Rows/columns that do not fill a window are dropped
        (floor), as in torch's ``MaxPool2d``.

    Returns
    -------
    numpy.ndarray
        ``(N, C, (H - size) // stride + 1, (W - size) // stride + 1)``, the dtype of ``x`` (values are copied, not
        computed; a window holding NaN gives NaN).
    """
    x = _nchw("x", x)
    size, stride = _pool_args(size, stride)
    n, c, h, w = x.shape
    oh = conv_output_size(h, size, stride, 0, "x height")
    ow = conv_output_size(w, size, stride, 0, "x width")
    if size == stride and h % size == 0 and w % size == 0:
        return x.reshape(n, c, oh, size, ow, size).max(axis=(3, 5))
    win = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    return win.max(axis=(4, 5))[:, :, :oh, :ow]


def max_pool_backward(dy, x, y, size: int = 2, ties: str = "split") -> np.ndarray:
    """Gradient of :func:`max_pool` with non-overlapping windows (``stride == size``) with respect to its input.

    Parameters
    ----------
    dy : array_like
        NCHW gradient of the pooled output, ``(N, C, OH, OW)``.
    x : array_like
        NCHW input of the pooling, ``(N, C, H, W)``.
    y : array_like
        ``max_pool(x, size)``, the shape of ``dy``.
    size : int
        The window (and stride), ``>= 1``.
    ties : str
        Several maxima in one window: ``"split"`` shares the window's gradient evenly between them (each gets
        ``dy / k`` for ``k`` maxima; with one maximum, ``dy``), ``"all"`` gives each of them the full ``dy``.

    Returns
    -------
    numpy.ndarray
        ``(N, C, H, W)``, C-contiguous: ``dy`` times the share (``1 / k`` as float64, or the 0/1 mask for
        ``"all"``) at the maxima of each window, 0 elsewhere, including rows/columns that ``max_pool`` dropped.
        The dtype follows numpy's promotion (float64 for ``"split"``).
    """
    x, y, dy = _nchw("x", x), _nchw("y", y), _nchw("dy", dy)
    size, _ = _pool_args(size, None)
    ties = check_choice("ties", ties, POOL_TIES)
    n, c, h, w = x.shape
    oh, ow = h // size, w // size
    if y.shape != (n, c, oh, ow) or dy.shape != y.shape:
        raise ValueError(f"y and dy must have shape {(n, c, oh, ow)} (max_pool of x {x.shape} with size {size}), "
                         f"got {y.shape} and {dy.shape}")
    xr = x[:, :, :oh * size, :ow * size].reshape(n, c, oh, size, ow, size)
    hit = xr == y[:, :, :, None, :, None]
    share = hit / hit.sum(axis=(3, 5), keepdims=True) if ties == "split" else hit
    dx = (share * dy[:, :, :, None, :, None]).reshape(n, c, oh * size, ow * size)
    if (oh * size, ow * size) != (h, w):
        dx = np.pad(dx, ((0, 0), (0, 0), (0, h - oh * size), (0, w - ow * size)))
    return dx
