"""``mram-accel report``: run the registered experiments (:mod:`scripts.report.runner`) and write ``DIR/index.md``
with its figures under ``DIR/figures/``.

::

    mram-accel report [--only KEY [KEY ...]] [--quick] [--seed N] [--out DIR] [--no-progress]

The index opens with a scorecard of every paper's headline claims, then one section per experiment: each claim
side by side, paper | ours | ratio | note. ``--only`` runs the experiments named by their keys (listed below; at
least one key), ``--quick`` reduced sweeps (about 1 minute instead of about 7 once the Verilator builds exist),
``--seed`` the base seed of every Monte Carlo run (0..2^32-1, default 2026). ``--out DIR`` (default ``report``) is
created if missing; an existing file or a folder that cannot be written is refused before anything runs. A failing
experiment is shown in the report with its error and makes the command exit 1. Example::

    mram-accel report --only glb-dse stt-delta --quick --out /tmp/r
"""

from __future__ import annotations

from scripts.cli import add_help_text

__all__ = ["register"]


def _run(args) -> int:
    from scripts.common.options import parse_seed
    from scripts.report.runner import main

    args.seed = parse_seed(args.seed, "--seed")
    return main(args)


def _keys() -> str:
    from scripts.report.runner import load_experiments

    exps = sorted(load_experiments().values(), key=lambda e: (e.order, e.key))
    width = max(len(e.key) for e in exps)
    return "experiment keys (--only):\n" + "\n".join(f"  {e.key:<{width}}  {e.title}" for e in exps)


def register(sub) -> None:
    rep = sub.add_parser("report", help="run all experiments and write report/index.md")
    rep.add_argument("--out", default="report", metavar="DIR", help="report folder (default: report)")
    rep.add_argument("--only", nargs="+", metavar="KEY", help="run only these experiments (keys below)")
    rep.add_argument("--quick", action="store_true", help="reduced sweeps (for tests)")
    rep.add_argument("--seed", default="2026", help="base random seed, 0..2^32-1 (default 2026)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bars")
    rep.set_defaults(func=_run, outputs={"out": "dir"})
    add_help_text(rep, _keys)
