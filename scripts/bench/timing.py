"""Timing helper shared by the benchmarks."""

from __future__ import annotations

__all__ = ["best_time"]


def best_time(fn, repeat: int):
    """``(seconds, result)``: the best wall time of ``repeat`` calls of ``fn()`` and the last result (benchmarks)."""
    import time

    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result
