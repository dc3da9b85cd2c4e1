"""Tests of model.bcnn.dpu (Table I DPU operations) against independent math: loops in float64, the +/-1 algebra.

Floating-point comparisons: our functions compute in float32; the references loop in float64. A float32 sum
of ``n`` terms is within ``n * 2**-24 * sum|terms|`` of the exact value (Higham, eq. (3.5)), so the tolerances
below are a few ulps relative to the magnitudes involved, not fitted to the output.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.bcnn.dpu import (alpha, and_counts_to_dot, batch_norm, conv_output_size, im2col, k_map, max_pool,
                            multiply, sign)
from tests.helpers import conv_loop

U32 = 2.0 ** -24


# ------------------------------------------------------------------------------------------------ batch norm
@pytest.mark.parametrize("shape", [(5, 3, 4, 6), (7, 4)])
def test_batch_norm_matches_the_table_i_formula_per_channel(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32) * 3
    c = shape[1]
    # parameters exactly representable in float32, so the float64 reference sees the same values
    mean, var, gamma, beta = (a.astype(np.float32).astype(np.float64) for a in
                              (rng.standard_normal(c), rng.uniform(0.1, 4, c), rng.standard_normal(c),
                               rng.standard_normal(c)))
    eps = 1e-3
    y = batch_norm(x, mean, var, gamma, beta, eps)
    assert y.dtype == np.float32 and y.shape == x.shape
    for ch in range(c):
        xc = x[:, ch].astype(np.float64)
        ref = (xc - mean[ch]) / np.sqrt(var[ch] + eps) * gamma[ch] + beta[ch]
        scale = (np.abs(xc) + abs(mean[ch])) / np.sqrt(var[ch] + eps) * abs(gamma[ch]) + abs(beta[ch])
        assert np.all(np.abs(y[:, ch] - ref) <= 8 * U32 * scale + 1e-30), ch


def test_batch_norm_normalises_batch_statistics(rng):
    """With the batch's own mean/var (and eps -> tiny), each channel comes out with mean beta and std gamma."""
    x = (rng.standard_normal((64, 3, 5, 5)) * [[[[2.0]], [[0.5]], [[7.0]]]] + 3).astype(np.float32)
    mean, var = x.mean(axis=(0, 2, 3), dtype=np.float64), x.var(axis=(0, 2, 3), dtype=np.float64)
    y = batch_norm(x, mean, var, [1.0, 2.0, 0.5], [0.0, -1.0, 4.0], eps=1e-12).astype(np.float64)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), [0.0, -1.0, 4.0], atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), [1.0, 2.0, 0.5], rtol=1e-5)


# ------------------------------------------------------------------------------------------------ sign
def test_sign_is_plus_minus_one_int8_with_sign_of_zero_plus_one():
    x = np.array([-2.5, -1e-30, -0.0, 0.0, 1e-30, 3.0, -np.inf, np.inf], dtype=np.float32)
    s = sign(x)
    assert s.dtype == np.int8
    assert s.tolist() == [-1, -1, 1, 1, 1, 1, -1, 1]
    assert sign(np.array([[-3, 0, 5]])).tolist() == [[-1, 1, 1]]


# ------------------------------------------------------------------------------------------------ alpha
@pytest.mark.parametrize("shape", [(6, 3, 3, 3), (5, 17)])
def test_alpha_is_mean_absolute_weight_per_output(rng, shape):
    w = rng.standard_normal(shape).astype(np.float32)
    a = alpha(w)
    assert a.dtype == np.float32 and a.shape == (shape[0],)
    for m in range(shape[0]):
        wm = w[m].astype(np.float64).ravel()
        ref = sum(abs(v) for v in wm) / wm.size
        assert abs(a[m] - ref) <= (wm.size + 1) * U32 * ref


def test_alpha_sign_is_the_l2_optimal_binary_approximation(rng):
    """XNOR-Net eq. (4): alpha* = mean|W| minimises ||W - alpha sign(W)||^2; check against nearby alphas."""
    w = rng.standard_normal((4, 8, 3, 3))
    a = alpha(w).astype(np.float64)
    b = sign(w).astype(np.float64)
    for m in range(4):
        err = lambda s: np.sum((w[m] - s * b[m]) ** 2)  # noqa: E731
        assert err(a[m]) <= min(err(a[m] * 0.99), err(a[m] * 1.01))


# ------------------------------------------------------------------------------------------------ im2col
@pytest.mark.parametrize("n,c,h,w,m,kh,kw,stride,pad", [
    (2, 3, 6, 5, 4, 3, 3, 1, 0),
    (1, 2, 7, 7, 3, 3, 2, 2, 1),
    (3, 1, 8, 8, 2, 3, 3, 1, 1),
    (1, 4, 5, 6, 2, 1, 1, 1, 0),
    (2, 2, 4, 4, 5, 4, 4, 1, 0),   # window = whole input: one output position (FC as conv)
])
def test_im2col_convolution_matches_a_direct_loop(rng, n, c, h, w, m, kh, kw, stride, pad):
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((m, c, kh, kw))
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(w, kw, stride, pad)
    cols = im2col(x, kh, kw, stride, pad)
    assert cols.shape == (n * oh * ow, c * kh * kw) and cols.dtype == x.dtype and cols.flags.c_contiguous
    y = (cols @ wt.reshape(m, -1).T).reshape(n, oh, ow, m).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y, conv_loop(x, wt, stride, pad), rtol=1e-12, atol=1e-12)


def test_im2col_row_and_column_order_as_documented(rng):
    n, c, h, w, kh, kw, stride, pad = 2, 3, 7, 6, 3, 2, 2, 1
    x = rng.integers(-100, 100, (n, c, h, w)).astype(np.int16)
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    cols = im2col(x, kh, kw, stride, pad)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    for di in range(kh):
                        for dj in range(kw):
                            r, q = i * stride + di - pad, j * stride + dj - pad
                            want = x[b, ch, r, q] if 0 <= r < h and 0 <= q < w else 0
                            assert cols[(b * oh + i) * ow + j, (ch * kh + di) * kw + dj] == want


# ------------------------------------------------------------------------------------------------ K
@pytest.mark.parametrize("kh,kw,stride,pad", [(3, 3, 1, 0), (3, 3, 1, 1), (2, 3, 2, 0), (1, 1, 1, 0)])
def test_k_map_matches_a_loop(rng, kh, kw, stride, pad):
    x = rng.standard_normal((2, 5, 6, 7)).astype(np.float32)
    k = k_map(x, kh, kw, stride, pad)
    n, c, h, w = x.shape
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    assert k.shape == (n, oh, ow) and k.dtype == np.float32
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                total = 0.0
                for di in range(kh):
                    for dj in range(kw):
                        r, q = i * stride + di - pad, j * stride + dj - pad
                        if 0 <= r < h and 0 <= q < w:
                            total += sum(abs(float(x[b, ch, r, q])) for ch in range(c)) / c
                ref = total / (kh * kw)
                assert abs(k[b, i, j] - ref) <= (c + kh * kw + 2) * U32 * ref + 1e-30


def test_xnor_approximation_is_exact_for_rank_one_magnitudes(rng):
    """Table I "Multiplier" / XNOR-Net eq. (10): if |I| is one constant c and each filter's |W| one constant a_m,
    then I * W = (sign(I) . sign(W)) c a_m exactly, and K = c, alpha = a_m: multiply must reproduce the real conv."""
    n, c, h, w, m = 2, 4, 6, 6, 5
    mag_i = 0.75
    mag_w = rng.uniform(0.1, 2.0, m)
    x = mag_i * np.where(rng.random((n, c, h, w)) < 0.5, -1.0, 1.0)
    wt = mag_w[:, None, None, None] * np.where(rng.random((m, c, 3, 3)) < 0.5, -1.0, 1.0)
    exact = conv_loop(x, wt, 1, 0)  # (n, m, 4, 4)
    xb = im2col(sign(x), 3, 3)
    wb = sign(wt).reshape(m, -1).T
    dot = xb.astype(np.int32) @ wb.astype(np.int32)
    k = k_map(x, 3, 3).reshape(-1)
    y = multiply(dot, k, alpha(wt))
    assert y.dtype == np.float32
    y = y.reshape(n, 4, 4, m).transpose(0, 3, 1, 2)
    # float32 roundings: K (box sum, 1/9), alpha (36-term sum, 1/36), two products -> < 48 ulps relative;
    # the float64 loop itself is off by ~1e-16 where the exact value is 0
    np.testing.assert_allclose(y, exact, rtol=48 * U32, atol=1e-12)


def test_multiply_order_and_broadcast(rng):
    dot = rng.integers(-288, 289, (3, 4, 6)).astype(np.int32)
    k = rng.uniform(0, 2, (3, 4)).astype(np.float32)
    al = rng.uniform(0, 1, 6).astype(np.float32)
    y = multiply(dot, k, al)
    assert y.shape == dot.shape and y.dtype == np.float32
    ref = dot.astype(np.float64) * k[..., None].astype(np.float64) * al.astype(np.float64)
    assert np.all(np.abs(y - ref) <= 2 * U32 * np.abs(ref))
    assert np.array_equal(multiply(dot, 0.5, al), (dot.astype(np.float32) * np.float32(0.5)) * al)


def test_and_counts_to_dot_recovers_the_plus_minus_one_dot_product(rng):
    """Table I Bin-AND + Bit-Count on the 1/0 encoding -> the +/-1 dot product (bit pairs counted directly)."""
    p, m, n = 20, 7, 37
    xb = np.where(rng.random((p, n)) < 0.5, -1, 1).astype(np.int8)
    wb = np.where(rng.random((n, m)) < 0.5, -1, 1).astype(np.int8)
    x01, w01 = (xb > 0).astype(np.int64), (wb > 0).astype(np.int64)
    counts = x01 @ w01  # BitCount(and(I, W))
    dot = and_counts_to_dot(counts, x01.sum(1), w01.sum(0), n)
    assert dot.dtype == np.int32
    for i in range(p):
        for j in range(m):
            agree = sum(1 for t in range(n) if xb[i, t] == wb[t, j])
            assert dot[i, j] == agree - (n - agree)


# ------------------------------------------------------------------------------------------------ pooling
@pytest.mark.parametrize("size,stride,h,w", [(2, None, 6, 6), (2, None, 7, 5), (3, 2, 7, 8), (3, 1, 5, 5),
                                             (1, None, 3, 4)])
def test_max_pool_matches_a_loop(rng, size, stride, h, w):
    x = rng.standard_normal((2, 3, h, w)).astype(np.float32)
    y = max_pool(x, size, stride)
    s = size if stride is None else stride
    oh, ow = (h - size) // s + 1, (w - size) // s + 1
    assert y.shape == (2, 3, oh, ow) and y.dtype == x.dtype
    for b in range(2):
        for c in range(3):
            for i in range(oh):
                for j in range(ow):
                    assert y[b, c, i, j] == x[b, c, i * s:i * s + size, j * s:j * s + size].max()


# ------------------------------------------------------------------------------------------------ bad arguments
X4 = np.zeros((1, 2, 4, 4), np.float32)
ONES2 = np.ones(2)
ONE = np.array([1])


@pytest.mark.parametrize("call,match", [
    (lambda: batch_norm(np.zeros((2, 3, 4)), ONES2, ONES2, ONES2, ONES2),
     r"x must be a 2-d or 4-d array, got shape \(2, 3, 4\)"),
    (lambda: batch_norm(X4, np.ones(3), ONES2, ONES2, ONES2), r"mean must have shape \(2,\).*got shape \(3,\)"),
    (lambda: batch_norm(X4, ONES2, [1.0, -1.0], ONES2, ONES2), r"var must be .*>= 0.*-1"),
    (lambda: batch_norm(X4, ONES2, ONES2, ONES2, ONES2, eps=0.0), r"eps must be .*> 0, got 0.0"),
    (lambda: batch_norm(X4, ONES2, ONES2, [np.nan, 1.0], ONES2), r"gamma must be .*NaN"),
    (lambda: sign(np.array([1.0, np.nan])), r"x must not contain NaN, got NaN at flat index 1"),
    (lambda: sign(np.array(["a"])), r"x must be a real numeric array, got dtype <U1"),
    (lambda: alpha(np.zeros((2, 3, 3))), r"w must be a 2-d or 4-d array, got shape \(2, 3, 3\)"),
    (lambda: k_map(X4, 0, 3), r"kh must be an integer >= 1, got 0"),
    (lambda: k_map(X4, 3, 3, stride=0), r"stride must be an integer >= 1, got 0"),
    (lambda: k_map(X4, 5, 3), r"x height 4 with pad 0 must be >= the kernel size 5"),
    (lambda: im2col(X4, 3, 3, pad=-1), r"pad must be an integer >= 0, got -1"),
    (lambda: im2col(X4, 3, 2.0), r"kw must be an integer >= 1, got 2.0"),
    (lambda: im2col(np.zeros((4, 4)), 3, 3), r"x must be a 4-d array, got shape \(4, 4\)"),
    (lambda: max_pool(X4, 0), r"size must be an integer >= 1, got 0"),
    (lambda: max_pool(X4, 5), r"x height 4 with pad 0 must be >= the kernel size 5"),
    (lambda: multiply(np.zeros((3, 2)), np.ones(3), np.ones(4)), r"alpha must have shape \(2,\).*got shape \(4,\)"),
    (lambda: multiply(np.zeros((3, 2)), np.ones(2), np.ones(2)),
     r"k must be a scalar or have shape \(3,\).*got shape \(2,\)"),
    (lambda: multiply(np.full((1, 2), 2 ** 25), 1.0, np.ones(2)), r"dot must satisfy \|dot\| <= 2\*\*24.*33554432"),
    (lambda: multiply(np.array([[np.inf, 0.0]]), 1.0, np.ones(2)), r"dot must be finite"),
    (lambda: and_counts_to_dot(np.array([[5]]), ONE, ONE, 4), r"counts must be in \[0, 4\].*\[5, 5\]"),
    (lambda: and_counts_to_dot(np.array([[1.0]]), ONE, ONE, 4), r"counts must be an integer array"),
    (lambda: and_counts_to_dot(np.array([[1]]), np.array([1, 1]), ONE, 4), r"x_ones and w_ones must have shapes"),
])
def test_bad_arguments_raise_value_error_naming_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()
