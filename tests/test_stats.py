"""Tests of model.stats: the Student-t and normal intervals against closed forms.

Student-t quantiles with 1 and 2 degrees of freedom have closed forms (Cauchy for 1: ``tan(pi (p - 1/2))``;
for 2: ``(2p - 1) / sqrt(2 p (1 - p))``), so the expected intervals below are computed without scipy.
"""

import math

import numpy as np
import pytest

from model.stats import Z_95, normal_interval, t_interval


def test_t_interval_known_value():
    m, lo, hi = t_interval([1.0, 2.0, 3.0])
    half = 4.302652729749464 / math.sqrt(3)  # t_{0.975, 2} (tables: 4.303) * s / sqrt(n), s = 1
    assert m == 2.0 and lo == pytest.approx(2 - half, rel=1e-12) and hi == pytest.approx(2 + half, rel=1e-12)
    assert t_interval([5.0] * 4) == (5.0, 5.0, 5.0)
    with pytest.raises(ValueError, match="at least 2"):
        t_interval([1.0])


def test_t_interval_closed_forms_one_and_two_degrees_of_freedom():
    # n = 2: values 1, 3 -> mean 2, s = sqrt(2), s / sqrt(n) = 1, so the half width is the quantile itself
    m, lo, hi = t_interval([1.0, 3.0], confidence=0.90)
    q = math.tan(math.pi * (0.95 - 0.5))  # t_{0.95, 1} = 6.3138
    assert m == 2.0 and hi - m == pytest.approx(q, rel=1e-12) and m - lo == pytest.approx(q, rel=1e-12)
    # n = 3: values 0, 3, 6 -> mean 3, s = 3, s / sqrt(3) = sqrt(3)
    p = 0.5 + 0.99 / 2
    q2 = (2 * p - 1) / math.sqrt(2 * p * (1 - p))  # t_{0.995, 2} = 9.925
    m, lo, hi = t_interval(np.array([[0.0, 3.0, 6.0]]), confidence=0.99)  # any shape: flattened
    assert m == 3.0 and hi == pytest.approx(3 + q2 * math.sqrt(3), rel=1e-12)


def test_t_interval_width_shrinks_with_n_and_grows_with_confidence():
    def width(values, confidence=0.95):
        _, lo, hi = t_interval(values, confidence)
        return hi - lo

    v = np.random.default_rng(3).normal(size=40)
    assert width(v) < width(v[:10])
    assert width(v, 0.99) > width(v) > width(v, 0.5)


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5, True, "0.95"])
def test_t_interval_rejects_bad_confidence(confidence):
    with pytest.raises(ValueError, match=r"confidence must be a number in \(0, 1\)"):
        t_interval([1.0, 2.0], confidence)


def test_normal_interval():
    assert Z_95 == 1.96
    assert normal_interval(5.0, 4.0) == (5.0, 5.0 - 3.92, 5.0 + 3.92)
    assert normal_interval(1.0, 0.25, z=2.0) == (1.0, 0.0, 2.0)
    assert normal_interval(-2.0, 0.0) == (-2.0, -2.0, -2.0)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="variance must be a finite number >= 0"):
            normal_interval(0.0, bad)
