"""model.nn (im2col / col2im, pooling and its gradient, NCHW) and model.digits (data, split, image check) against
independent math: loop convolutions, the adjoint identity, central differences, class counts.

Exactness: the adjoint identity is checked on small integers (every product and sum exact in float64, so both
sides must be equal, not close); the loop convolution in float64 against the matrix product differs only by the
summation order, a few ulps of the magnitudes involved.
"""

from __future__ import annotations

import numpy as np
import pytest

from model import digits
from model.nn import (col2im, conv2d, conv_output_size, from_rows, im2col, max_pool, max_pool_backward, to_rows)
from tests.helpers import conv_loop

# (n, c, h, w, m, kh, kw, stride, pad): non-default kernels, strides and paddings
CONV_CASES = [
    (2, 3, 7, 6, 4, 3, 2, 2, 1),
    (1, 2, 5, 5, 3, 2, 3, 1, 2),
    (3, 1, 9, 8, 2, 4, 4, 3, 0),
    (2, 4, 6, 7, 5, 1, 1, 2, 1),
    (1, 2, 4, 4, 3, 5, 5, 1, 1),    # window larger than the input, fits thanks to the padding
]


# ------------------------------------------------------------------------------------------------ im2col
@pytest.mark.parametrize("n,c,h,w,m,kh,kw,stride,pad", CONV_CASES)
def test_im2col_is_a_convolution(rng, n, c, h, w, m, kh, kw, stride, pad):
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((m, c, kh, kw))
    b = rng.standard_normal(m)
    oh, ow = conv_output_size(h, kh, stride, pad), conv_output_size(w, kw, stride, pad)
    cols = im2col(x, kh, kw, stride, pad)
    assert cols.shape == (n * oh * ow, c * kh * kw) and cols.dtype == x.dtype and cols.flags.c_contiguous
    ref = conv_loop(x, wt, stride, pad)
    tol = 1e-12 * (np.abs(x).max() * np.abs(wt).max() * c * kh * kw)
    np.testing.assert_allclose(from_rows(cols @ wt.reshape(m, -1).T, n, oh, ow), ref, rtol=0, atol=tol)
    np.testing.assert_allclose(conv2d(x, wt, b, stride, pad), ref + b[None, :, None, None], rtol=0, atol=tol)


def test_im2col_keeps_integers_and_nonfinite_values(rng):
    x = rng.integers(-9, 9, (2, 2, 5, 5)).astype(np.int16)
    cols = im2col(x, 3, 3, 2, 1)
    assert cols.dtype == np.int16
    # row (n, oh, ow), column (c, i, j): x[n, c, oh*2 + i - 1, ow*2 + j - 1]
    assert cols[(1 * 3 + 2) * 3 + 1, (1 * 3 + 1) * 3 + 0] == x[1, 1, 2 * 2 + 1 - 1, 1 * 2 + 0 - 1]
    assert cols[(1 * 3 + 2) * 3 + 1, (1 * 3 + 2) * 3 + 0] == 0           # row 2 * 2 + 2 - 1 = 5: padding
    assert cols[0, 0] == 0                                               # top-left tap of (0, 0) is padding
    f = np.zeros((1, 1, 3, 3))
    f[0, 0, 1, 1] = np.nan
    f[0, 0, 0, 0] = np.inf
    assert np.isnan(im2col(f, 3, 3, 1, 1)).sum() == 9 and np.isinf(im2col(f, 3, 3, 1, 1)).sum() == 4


def test_rows_round_trip(rng):
    x = rng.standard_normal((3, 4, 5, 2))
    rows = to_rows(x)
    assert rows.shape == (3 * 5 * 2, 4) and rows[(2 * 5 + 3) * 2 + 1, 1] == x[2, 1, 3, 1]
    np.testing.assert_array_equal(from_rows(rows, 3, 5, 2), x)


# ------------------------------------------------------------------------------------------------ col2im
@pytest.mark.parametrize("n,c,h,w,m,kh,kw,stride,pad", CONV_CASES)
def test_col2im_is_the_exact_adjoint_of_im2col(rng, n, c, h, w, m, kh, kw, stride, pad):
    """<im2col(x), d> == <x, col2im(d)>; small integers, so both sides are exact and must be equal."""
    x = rng.integers(-8, 9, (n, c, h, w)).astype(np.float64)
    cols = im2col(x, kh, kw, stride, pad)
    d = rng.integers(-8, 9, cols.shape).astype(np.float64)
    back = col2im(d, x.shape, kh, kw, stride, pad)
    assert back.shape == x.shape and back.dtype == d.dtype
    assert np.sum(cols * d) == np.sum(x * back)


def test_col2im_sums_each_pixel_in_kernel_order():
    """The 3x3, pad-1 count map: each pixel receives one contribution per window covering it."""
    ones = np.ones((9 * 4 * 4, 1 * 9))
    got = col2im(ones[:16], (1, 1, 4, 4), 3, 3, 1, 1)
    counts = np.array([[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])
    np.testing.assert_array_equal(got[0, 0], counts)
    # dtype: the sum is accumulated in it, rounded after every addition
    d = np.zeros((4, 4))                                   # 1 image, 1 channel, 3x3 input, 2x2 kernel, stride 1
    d[3, 0] = 1.0                                          # window (1, 1), tap (0, 0): pixel (1, 1), added first
    d[0, 3] = 2.0 ** -24                                   # window (0, 0), tap (1, 1): pixel (1, 1), added last
    out64 = col2im(d, (1, 1, 3, 3), 2, 2)
    out32 = col2im(d, (1, 1, 3, 3), 2, 2, dtype=np.float32)
    assert out64.dtype == np.float64 and out64[0, 0, 1, 1] == 1 + 2.0 ** -24
    assert out32.dtype == np.float32 and out32[0, 0, 1, 1] == np.float32(1.0)   # 1 + 2**-24 rounds to 1 (even)


# ------------------------------------------------------------------------------------------------ pooling
@pytest.mark.parametrize("size,stride,h,w", [(2, None, 6, 6), (2, None, 7, 5), (3, 2, 7, 8), (3, 1, 5, 5)])
def test_max_pool_matches_a_loop(rng, size, stride, h, w):
    x = rng.standard_normal((2, 3, h, w))
    y = max_pool(x, size, stride)
    s = size if stride is None else stride
    oh, ow = (h - size) // s + 1, (w - size) // s + 1
    assert y.shape == (2, 3, oh, ow)
    for b in range(2):
        for c in range(3):
            for i in range(oh):
                for j in range(ow):
                    assert y[b, c, i, j] == x[b, c, i * s:i * s + size, j * s:j * s + size].max()


@pytest.mark.parametrize("h,w", [(6, 8), (7, 5)])
def test_max_pool_backward_against_central_differences(rng, h, w):
    """d/dx sum(g * max_pool(x)) numerically; continuous random x has no ties (almost surely), and a step much
    smaller than the gap between a window's two largest values keeps the argmax."""
    x = rng.standard_normal((2, 2, h, w))
    g = rng.standard_normal((2, 2, h // 2, w // 2))
    got = max_pool_backward(g, x, max_pool(x, 2), 2)
    assert got.shape == x.shape
    eps = 1e-7
    num = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = (np.sum(g * max_pool(xp, 2)) - np.sum(g * max_pool(xm, 2))) / (2 * eps)
    # max_pool is piecewise linear, so the central difference has no truncation error, only the rounding of the
    # two sums: each of n terms carries at most n unit roundoffs of sum|g y|, divided by the step 2 eps (a wrong
    # gradient is off by O(|g|) ~ 1)
    n = g.size
    bound = 2 * n * 2.0 ** -53 * np.sum(np.abs(g * max_pool(x, 2))) / (2 * eps) * 2
    np.testing.assert_allclose(got, num, rtol=0, atol=bound)
    assert bound < 1e-4
    if h % 2:
        assert np.all(got[:, :, -1] == 0)                  # the row max_pool drops gets no gradient


def test_max_pool_backward_ties():
    x = np.array([[[[1.0, 3.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0]]]])   # window 0: three maxima; window 1: four
    dy = np.array([[[[6.0, 2.0]]]])
    y = max_pool(x, 2)
    split = max_pool_backward(dy, x, y, 2)
    np.testing.assert_array_equal(split, [[[[0, 2, 0.5, 0.5], [2, 2, 0.5, 0.5]]]])
    everyone = max_pool_backward(dy, x, y, 2, ties="all")
    np.testing.assert_array_equal(everyone, [[[[0, 6, 2, 2], [6, 6, 2, 2]]]])
    with pytest.raises(ValueError, match="ties must be one of"):
        max_pool_backward(dy, x, y, 2, ties="first")


@pytest.mark.parametrize("call,match", [
    (lambda: im2col(np.zeros((1, 1, 4, 4)), 3, 3, pad=-1), r"pad must be an integer >= 0, got -1"),
    (lambda: im2col(np.zeros((1, 1, 4, 4)), 3, 2.0), r"kw must be an integer >= 1, got 2.0"),
    (lambda: im2col(np.zeros((4, 4)), 3, 3), r"x must be a 4-d array, got shape \(4, 4\)"),
    (lambda: im2col(np.zeros((1, 1, 4, 4), bool), 3, 3), r"x must be a real numeric array, got dtype bool"),
    (lambda: im2col(np.zeros((1, 1, 2, 4)), 5, 3, pad=1), r"x height 2 with pad 1 must be >= the kernel size 5"),
    (lambda: col2im(np.zeros((5, 9)), (1, 1, 4, 4), 3, 3), r"cols must have shape \(4, 9\).*got \(5, 9\)"),
    (lambda: from_rows(np.zeros((5, 2)), 1, 2, 2), r"y must have shape \(4, M\)"),
    (lambda: max_pool(np.zeros((1, 1, 4, 4)), 0), r"size must be an integer >= 1, got 0"),
    (lambda: max_pool_backward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3))),
     r"y and dy must have shape \(1, 1, 2, 2\)"),
    (lambda: conv2d(np.zeros((1, 2, 4, 4)), np.zeros((3, 1, 3, 3))), r"w must have 2 input channels"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------------------------------ digits
def test_digits_forms():
    x, y = digits.load()
    p, y2 = digits.load("pixels")
    assert x.shape == (digits.N_IMAGES, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    assert p.shape == (digits.N_IMAGES, 8, 8) and p.dtype == np.int64 and p.min() == 0 and p.max() == 16
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(x[:, 0] * 16, p)                     # pixels / 16, exact
    x64, _ = digits.load(dtype=np.float64)
    np.testing.assert_array_equal(x64, x)
    x[0, 0, 0, 0] = 99                                                  # a copy: the cache is untouched
    assert digits.load()[0][0, 0, 0, 0] == p[0, 0, 0] / 16


def test_digits_split_is_stratified_and_reproducible(seed):
    s = seed % 10_000
    train, test = digits.split_indices(s)
    again = digits.split_indices(s)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(test, again[1])
    other = digits.split_indices(s + 1)[1]
    assert not np.array_equal(test, other)                              # the seed matters
    assert len(test) == 540 and len(train) == 1257
    assert np.all(np.diff(test) > 0) and np.all(np.diff(train) > 0)      # sorted, distinct
    np.testing.assert_array_equal(np.union1d(train, test), np.arange(digits.N_IMAGES))
    _, y = digits.load()
    per_class, in_test = np.bincount(y, minlength=10), np.bincount(y[test], minlength=10)
    assert np.all(np.abs(in_test - len(test) * per_class / len(y)) < 1)  # stratified: each class's share, +-1
    unsorted, test2 = digits.split_indices(s, sort_train=False)
    np.testing.assert_array_equal(test2, test)
    np.testing.assert_array_equal(np.sort(unsorted), train)
    assert not np.array_equal(unsorted, train)                          # the split's own order
    tr3, te3 = digits.split_indices(test_indices=test[::-1])             # a stored test set defines the split
    np.testing.assert_array_equal(te3, test)
    np.testing.assert_array_equal(tr3, train)


def test_digits_load_split_and_stored_test_set(tmp_path):
    xtr, ytr, xte, yte, te = digits.load_split(3)
    x, y = digits.load()
    tr, te2 = digits.split_indices(3)
    np.testing.assert_array_equal(te, te2)
    np.testing.assert_array_equal(xtr, x[tr])
    np.testing.assert_array_equal(yte, y[te])
    ptr, _, pte, _, _ = digits.load_split(3, kind="pixels")
    assert ptr.shape == (len(tr), 8, 8) and pte.dtype == np.int64
    path = tmp_path / "w.npz"
    np.savez(path, test_indices=te)
    xs, ys = digits.load_test_set(path)
    np.testing.assert_array_equal(xs, xte)
    np.testing.assert_array_equal(ys, yte)
    np.savez(tmp_path / "none.npz", a=np.zeros(1))
    with pytest.raises(ValueError, match="holds no 'test_indices'"):
        digits.load_test_set(tmp_path / "none.npz")
    with pytest.raises(ValueError, match="test_indices must be distinct"):
        digits.split_indices(test_indices=[1, 1, 2])
    with pytest.raises(ValueError, match="kind must be one of"):
        digits.load("rgb")


def test_check_images():
    x = np.zeros((3, 8, 8), np.float64)
    assert digits.check_images(x).shape == (3, 1, 8, 8) and digits.check_images(x).dtype == np.float32
    assert digits.check_images(x, dtype=None).dtype == np.float64
    assert digits.check_images(x.astype(np.float32), dtype=None).dtype == np.float32
    assert digits.check_images(np.zeros((2, 8, 8), np.int64), dtype=None).dtype == np.float64
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 8, 8\) or \(N, 8, 8\).*got shape \(2, 8, 8, 1\)"):
        digits.check_images(np.zeros((2, 8, 8, 1)))
    with pytest.raises(ValueError, match="x must be a real numeric array, got dtype complex128"):
        digits.check_images(np.zeros((2, 8, 8), complex))
