"""Command-line interface: ``mram-accel <command>``.

Commands
--------
report      run the registered experiments on built-in defaults and write ``report/index.md``
verilog     generate Verilog for every ``hw/`` block into ``build/verilog/``
lint        ``verilator --lint-only -Wall`` on each generated block
synth       Yosys synthesis of each block: cell count and longest path (JSON + Markdown)

Other modules add commands through :data:`COMMAND_MODULES`: each has ``register(subparsers)``
which adds its sub-parsers and sets ``func`` on them (``func(args) -> exit status``).
Bad arguments exit with status 2 and a message naming the parameter.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that add sub-commands with a ``register(subparsers)`` function.
COMMAND_MODULES = ["scripts.rtl.flow", "scripts.cli.commands.delta", "scripts.cli.commands.dse", "scripts.cli.commands.layer", "scripts.cli.commands.bcnn",
                   "scripts.cli.commands.dima", "scripts.cli.commands.aimc", "scripts.cli.commands.pim", "scripts.cli.commands.scale"]


class CliError(ValueError):
    """A bad command-line value; printed without a traceback, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mram-accel", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    rep = sub.add_parser("report", help="run all experiments and write report/index.md")
    rep.add_argument("--out", default="report", help="report folder (default: report)")
    rep.add_argument("--only", nargs="*", metavar="KEY", help="run only these experiments")
    rep.add_argument("--quick", action="store_true", help="reduced sweeps (for tests)")
    rep.add_argument("--seed", type=int, default=2026, help="base random seed (default 2026)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bars")
    rep.set_defaults(func=lambda a: importlib.import_module("scripts.report.runner").main(a))

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, ValueError, FileNotFoundError) as e:
        print(f"mram-accel {args.command}: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # a tool (Verilator, Yosys) is missing or failed
        print(f"mram-accel {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
