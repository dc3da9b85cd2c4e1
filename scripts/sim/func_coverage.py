"""Functional coverage of the FP blocks with cocotb-coverage: the bins of :mod:`model.stt_ai.fp_coverage`, sampled from the
stimulus a run checks, exported per run and merged by :mod:`scripts.toolchain.coverage`.

Off unless ``$MRAM_RTL_COVERAGE`` names a directory (``pytest tb/ --rtl-coverage``): then :func:`record` samples
and :func:`export` writes ``<dir>/func.<build>.<pid>.xml`` (cocotb-coverage's XML). Both are cheap no-ops otherwise,
so a testbench may call them unconditionally::

    record("bf16_mac", {"a": a, "b": b, "c": c}, ftz=False)    # once per batch, inputs (N,) or (cycles, lanes)
    export()                                                    # once, at the end of the cocotb test

Sampling is per distinct bin tuple: each distinct tuple goes once through the cocotb-coverage sampling function
(coverpoints and crosses decide which bins it hits), and the hit counters of those bins then get the tuple's
remaining occurrences added, so every reported count is the true number of sampled operations at one Python call
per distinct tuple (cocotb-coverage has no weighted sample; the counters are its ``_hits`` dictionaries).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np

from model.stt_ai import fp_coverage as fc

__all__ = ["enabled", "record", "export"]

#: Blocks with functional coverage and their coverpoints (:data:`model.stt_ai.fp_coverage.FUNCTIONAL`).
BLOCKS = fc.FUNCTIONAL


def enabled() -> Path | None:
    """The coverage directory (``$MRAM_RTL_COVERAGE``), or None when coverage is off."""
    value = os.environ.get("MRAM_RTL_COVERAGE", "").strip()
    return Path(value) if value else None

_SAMPLERS: dict = {}


def _sampler(block: str, group: str):
    """The cocotb-coverage sampling function of one group and its cover items (made once per process)."""
    key = (block, group)
    if key not in _SAMPLERS:
        from cocotb_coverage.coverage import CoverCross, CoverPoint

        points, crosses = fc.FUNCTIONAL[block][group]
        prefix = ".".join(p for p in (block, group) if p)
        items = [CoverPoint(f"{prefix}.{name}", xf=lambda *v, i=i, b=bins: b[v[i]], bins=list(bins))
                 for i, (name, _, bins) in enumerate(points)]
        items += [CoverCross(f"{prefix}.{x}_x_{y}", items=[f"{prefix}.{x}", f"{prefix}.{y}"]) for x, y in crosses]

        def sample(*values):
            return None

        for item in reversed(items):      # crosses innermost: they read the points' hits of the same call
            sample = item(sample)
        _SAMPLERS[key] = (sample, items, [k for _, k, _ in points])
    return _SAMPLERS[key]


def _sample_rows(block: str, group: str, codes: Mapping[str, np.ndarray], keep: np.ndarray | None = None) -> None:
    sample, items, keys = _sampler(block, group)
    table = np.stack([np.asarray(codes[k]).reshape(-1) for k in keys], axis=1)
    if keep is not None:
        table = table[np.asarray(keep).reshape(-1)]
    if not len(table):
        return
    rows, counts = np.unique(table, axis=0, return_counts=True)
    for row, count in zip(rows.tolist(), counts.tolist()):
        sample(*row)
        for item in items:                # the remaining occurrences of this tuple hit the same bins
            for hit in item.new_hits:
                item._hits[hit] += count - 1


def _kind(classes: np.ndarray) -> np.ndarray:
    return np.asarray(classes) // 2


def record(block: str, inputs: Mapping[str, np.ndarray], *, ftz: bool = False, valid=None) -> None:
    """Sample the operations of ``block`` on ``inputs`` (port -> array, ``(N,)`` in stream order or
    ``(cycles, lanes)``); ``valid`` (same shape) selects the vectors that were driven. No-op when coverage is off
    or ``block`` has no functional coverage. For the PE, mode switches are counted between consecutive vectors of
    one lane and call (the first vector of a call has no predecessor)."""
    if enabled() is None or block not in BLOCKS:
        return
    ins = {k: np.asarray(v) for k, v in inputs.items()}
    keep = None if valid is None else np.asarray(valid, bool)
    if block == "bf16_mul":
        from model.fp_golden import ref_bf16_mul
        codes = fc.classify_mul(ins["a"], ins["b"], ref_bf16_mul(ins["a"], ins["b"], ftz=ftz), ftz=ftz)
    elif block == "fp32_add":
        from model.fp_golden import ref_fp32_add
        codes = fc.classify_add(ins["a"], ins["b"], ref_fp32_add(ins["a"], ins["b"], ftz=ftz), ftz=ftz)
    elif block == "bf16_mac":
        from model.fp_golden import ref_bf16_mul
        codes = fc.classify_mac(ins["a"], ins["b"], ins["c"], ftz=ftz)
        product = ref_bf16_mul(ins["a"], ins["b"], ftz=ftz)     # the MAC's own units (no co-simulation of theirs)
        record("bf16_mul", {"a": ins["a"], "b": ins["b"]}, ftz=ftz, valid=valid)
        record("fp32_add", {"a": product, "b": ins["c"]}, ftz=ftz, valid=valid)
    else:
        _record_pe(ins, ftz, keep)
        return
    if "a" in codes:
        codes = {**codes, "a_kind": _kind(codes["a"]), "b_kind": _kind(codes["b"])}
    _sample_rows(block, "", codes, keep)


def _record_pe(ins: dict, ftz: bool, keep) -> None:
    mode = ins["mode"]
    lanes = mode.reshape(mode.shape[0], -1) if mode.ndim > 1 else mode.reshape(-1, 1)
    keep2 = np.ones(lanes.shape, bool) if keep is None else keep.reshape(lanes.shape)
    for lane in range(lanes.shape[1]):
        sel = keep2[:, lane]

        def col(name, lane=lane, sel=sel):
            x = ins[name]
            return (x.reshape(x.shape[0], -1)[:, lane] if x.ndim > 1 else x)[sel]

        acts, wgts, psums = (np.stack([col(f"{k}{i}") for i in range(3)], axis=1) for k in ("act", "wgt", "psum"))
        codes = fc.classify_pe(col("mode"), acts, wgts, psums, ftz=ftz)
        record("bf16_mul", {"a": acts, "b": wgts}, ftz=ftz)                 # the PE's units
        record("fp32_add", {"a": codes.pop("add_a"), "b": codes.pop("add_b")}, ftz=ftz)
        codes["mode3"] = np.repeat(codes["mode"][:, None], 3, axis=1)
        _sample_rows("reconfigurable_pe", "vector", codes)
        _sample_rows("reconfigurable_pe", "pair", codes, codes["switch"] >= 0)
        _sample_rows("reconfigurable_pe", "multiplier", codes)
        _sample_rows("reconfigurable_pe", "adder", {**codes, "mode": codes["mode3"]})


_EXPORTS = iter(range(1 << 30))


def export(path: str | Path | None = None) -> Path | None:
    """Write this process's functional coverage as cocotb-coverage XML to ``path`` (default
    ``<$MRAM_RTL_COVERAGE>/func.<build>.<pid>.<n>.xml``); None (and nothing written) when coverage is off or
    nothing was sampled."""
    folder = enabled()
    if (folder is None and path is None) or not _SAMPLERS:
        return None
    from cocotb_coverage.coverage import coverage_db

    if path is None:
        build = os.environ.get("MRAM_RTL_COVERAGE_CONFIG", "run")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"func.{build}.{os.getpid()}.{next(_EXPORTS)}.xml"
    coverage_db.export_to_xml(str(path))
    return Path(path)
