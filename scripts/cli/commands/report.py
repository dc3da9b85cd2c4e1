"""``mram-accel report [--only KEY ...] [--quick] [--seed N] [--out DIR] [--no-progress]``: run the registered
experiments (:mod:`scripts.report.runner`) and write ``DIR/index.md`` with its PNGs."""

from __future__ import annotations

__all__ = ["register"]


def _run(args) -> int:
    from scripts.report.runner import main
    return main(args)


def register(sub) -> None:
    rep = sub.add_parser("report", help="run all experiments and write report/index.md")
    rep.add_argument("--out", default="report", help="report folder (default: report)")
    rep.add_argument("--only", nargs="*", metavar="KEY", help="run only these experiments")
    rep.add_argument("--quick", action="store_true", help="reduced sweeps (for tests)")
    rep.add_argument("--seed", type=int, default=2026, help="base random seed (default 2026)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bars")
    rep.set_defaults(func=_run)
