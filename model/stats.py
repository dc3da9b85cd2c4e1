"""Interval estimates for Monte-Carlo results.

* :func:`t_interval` -- Student-t confidence interval of a mean over independent runs (seeds).
* :func:`normal_interval` -- normal-approximation interval ``est ± z·se`` of an estimate with a known
  standard error.

Both describe the sampled runs, not a guarantee: when every run gives the same value the t interval has
zero width.
"""

from __future__ import annotations

import math

import numpy as np

from model.checks import check_real

__all__ = ["Z_95", "t_interval", "normal_interval"]

#: Two-sided 95 % quantile of the standard normal used by :func:`normal_interval` (the usual 1.96).
Z_95 = 1.96


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and the Student-t confidence interval of that mean.

    ``mean ± t_{(1+confidence)/2, n-1} · s / sqrt(n)`` with ``s`` the sample standard deviation
    (``ddof=1``) of the ``n`` values: the one-sample t interval (Student, *Biometrika* 6, 1908).

    Parameters
    ----------
    values : array_like
        At least 2 numbers (flattened).
    confidence : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    tuple of float
        ``(mean, low, high)``.
    """
    from scipy.stats import t as student_t  # scipy comes with scikit-learn

    confidence = check_real("confidence", confidence, min=0, max=1, min_open=True, max_open=True, type_error=False)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size < 2:
        raise ValueError(f"values needs at least 2 entries for a t interval, got {v.size}")
    mean = float(v.mean())
    half = float(student_t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return mean, mean - half, mean + half


def normal_interval(estimate: float, variance: float, z: float = Z_95) -> tuple[float, float, float]:
    """``(estimate, estimate - z·sqrt(variance), estimate + z·sqrt(variance))``.

    The normal approximation of an estimator with the given (estimated) variance; ``z = 1.96`` is the
    two-sided 95 % level.
    """
    variance = check_real("variance", variance, min=0, type_error=False)
    half = float(z * math.sqrt(variance))
    est = float(estimate)
    return est, est - half, est + half
