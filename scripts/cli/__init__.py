"""Command-line interface: ``mram-accel <command>``.

Every module of :mod:`scripts.cli.commands` is a command group: it defines ``register(subparsers)``, which adds
its sub-parsers and sets ``func`` on them (``func(args) -> exit status``). The groups are found by listing that
package, so a new group is one new module; a module that fails to import or has no ``register`` stops the CLI
with an error naming it (never a silently missing command). Bad arguments exit with status 2 and a message
naming the parameter.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

__all__ = ["CliError", "command_modules", "build_parser", "main"]


class CliError(ValueError):
    """A bad command-line value; printed without a traceback, exit status 2."""


def command_modules(package: str = "scripts.cli.commands") -> list:
    """The imported command-group modules of ``package``, in name order.

    Raises
    ------
    ImportError
        Naming the module, when one fails to import or lacks ``register``.
    """
    pkg = importlib.import_module(package)
    modules = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        name = f"{package}.{info.name}"
        try:
            module = importlib.import_module(name)
        except Exception as e:
            raise ImportError(f"command module {name} failed to import: {type(e).__name__}: {e}") from e
        if not callable(getattr(module, "register", None)):
            raise ImportError(f"command module {name} has no register(subparsers) function")
        modules.append(module)
    return modules


def build_parser(package: str = "scripts.cli.commands") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mram-accel", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for module in command_modules(package):
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
