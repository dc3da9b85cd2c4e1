"""Timing helper shared by the benchmarks."""

from __future__ import annotations

__all__ = ["best_time", "profile_cocotb"]


def best_time(fn, repeat: int):
    """``(seconds, result)``: the best wall time of ``repeat`` calls of ``fn()`` and the last result (benchmarks)."""
    import time

    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def profile_cocotb(run, config: str, top: int = 10) -> tuple:
    """``(result, profile)``: ``run()`` (a cocotb run on the build ``config``) with cocotb's profiler
    (``COCOTB_ENABLE_PROFILING``); ``profile`` has the profile's ``total_seconds`` and its ``top`` functions by own
    time, or an ``error``."""
    import os
    import pstats
    import time
    from pathlib import Path

    from scripts.toolchain.cocotb_runner import SIM_BUILD

    pstat = SIM_BUILD / config / "cocotb.pstat"
    t_start = time.time()
    old = os.environ.get("COCOTB_ENABLE_PROFILING")
    os.environ["COCOTB_ENABLE_PROFILING"] = "1"
    try:
        result = run()
    finally:
        if old is None:
            del os.environ["COCOTB_ENABLE_PROFILING"]
        else:
            os.environ["COCOTB_ENABLE_PROFILING"] = old
    if not pstat.exists() or pstat.stat().st_mtime < t_start - 1:
        return result, {"error": f"no fresh profile at {pstat}"}
    stats = pstats.Stats(str(pstat))
    pstat.unlink()
    rows = []
    for (file, line, func), (_, calls, tt, ct, _) in stats.stats.items():
        rows.append({"function": f"{Path(file).name}:{line}({func})", "calls": calls, "own_seconds": tt,
                     "cumulative_seconds": ct})
    rows.sort(key=lambda r: -r["own_seconds"])
    agents = {}
    for cls, meth in _agent_methods():
        code = getattr(cls, meth).__code__
        key = f"{Path(code.co_filename).name}:{code.co_firstlineno}({meth})"
        hit = next((r for r in rows if r["function"] == key), None)
        if hit is not None:
            agents[f"{cls.__name__}.{meth}"] = {"calls": hit["calls"], "cumulative_seconds": hit["cumulative_seconds"]}
    return result, {"total_seconds": stats.total_tt, "top": rows[:top], "agents": agents}


def _agent_methods():
    """The per-cycle agent methods whose cumulative time a profile reports (the memory responder, the feeders)."""
    from scripts.sim.contract import MemoryResponder, StreamDriver, StreamMonitor
    from scripts.sim.layer import EngineFeeder

    return [(c, m) for c in (MemoryResponder, EngineFeeder, StreamDriver, StreamMonitor) for m in ("drive", "observe")
            if m in vars(c)]
