"""Run the registered experiments and write ``report/index.md``.

Every module in :mod:`scripts.report.experiments` is imported; each registers its experiments with
:func:`scripts.report.lib.experiment`. Experiments run in ``order``; a failing experiment is shown
in the report with its error and makes the command exit non-zero, the others still run.
"""

from __future__ import annotations

import datetime
import importlib
import os
import pkgutil
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

from scripts.report import experiments as _experiments_pkg
from scripts.report.lib import EXPERIMENTS, Context, scorecard

__all__ = ["load_experiments", "run_report"]


def load_experiments() -> dict:
    """Import every module of :mod:`scripts.report.experiments` and return the registry."""
    for info in pkgutil.iter_modules(_experiments_pkg.__path__):
        importlib.import_module(f"{_experiments_pkg.__name__}.{info.name}")
    return EXPERIMENTS


def run_report(report_dir: Path | str = "report", only: list[str] | None = None, quick: bool = False,
               seed: int = 2026, show_progress: bool = True) -> tuple[Path, list[str]]:
    """Run the experiments (all, or those named in ``only``) and write ``report_dir/index.md``.

    Returns the path of the written index and the keys of the experiments that failed. ValueError (nothing
    written) for an empty or unknown ``only`` and a ``seed`` outside 0..2^32-1.
    """
    from model.checks import check_int
    from scripts.common.options import MAX_SEED

    check_int("seed", seed, min=0, max=MAX_SEED, type_error=False)
    registry = load_experiments()
    if only is not None:
        if not only:
            raise ValueError(f"--only: give at least one experiment key; known: {sorted(registry)}")
        unknown = sorted(set(only) - set(registry))
        if unknown:
            raise ValueError(f"--only: unknown experiment(s) {unknown}; known: {sorted(registry)}")
    selected = sorted((e for e in registry.values() if only is None or e.key in only),
                      key=lambda e: (e.order, e.key))
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(report_dir=report_dir, quick=quick, seed=seed, show_progress=show_progress)

    parts, failed, timings, done = [], [], [], []
    iterator = selected
    if show_progress:
        from tqdm import tqdm
        iterator = tqdm(selected, desc="report", unit="experiment")
    for exp in iterator:
        if show_progress:
            iterator.set_postfix_str(exp.key)
        t0 = time.perf_counter()
        try:
            section = exp.func(ctx)
            parts.append(section.markdown(exp.title, report_dir))
            done.append((exp.title, _anchor(exp.title), section))
        except Exception:  # shown in the report, and the command exits non-zero
            failed.append(exp.key)
            parts.append(f"## {exp.title}\n\n**FAILED**\n\n```\n{traceback.format_exc()}```\n")
        timings.append((exp.key, time.perf_counter() - t0))

    header = [
        "# MRAM accelerator co-verification report", "",
        f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} on "
        f"{platform.machine()} / Python {platform.python_version()}; seed {seed}"
        + ("; quick mode (reduced sweeps)" if quick else "") + ".", "",
        "Each section compares a paper's claim with our number: **ratio = ours / paper**; "
        "the note says why they differ where they do.", "",
        "Contents: " + ", ".join(f"[{e.title}](#{_anchor(e.title)})" for e in selected), "",
        "## Scorecard", "",
        "Every paper's headline claims, one row each, with the variant of ours closest to the paper's own scheme; "
        "the linked section shows the other variants and why each differs.", "",
        scorecard(done), "",
    ]
    footer = ["## Run times", "", "| experiment | seconds |", "|---|---|"]
    footer += [f"| {k} | {t:.1f} |" for k, t in timings]
    text = "\n".join(header) + "\n" + "\n".join(parts) + "\n" + "\n".join(footer) + "\n"

    index = report_dir / "index.md"
    fd, tmp = tempfile.mkstemp(dir=report_dir, prefix=".index.", suffix=".md")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, index)
    return index, failed


def _anchor(title: str) -> str:
    keep = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -")
    return keep.replace(" ", "-")


def main(args) -> int:
    index, failed = run_report(args.out, only=args.only, quick=args.quick, seed=args.seed,
                               show_progress=not args.no_progress)
    print(f"wrote {index}")
    if failed:
        print(f"experiments failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
