"""Command-line interface: ``mram-accel <command>``.

Every module of :mod:`scripts.cli.commands` is a command group: it defines ``register(subparsers)``, which adds
its sub-parsers and sets ``func`` on them (``func(args) -> exit status``). The groups are found by listing that
package, so a new group is one new module; a module that fails to import or has no ``register`` stops the CLI
with an error naming it (never a silently missing command).

What :func:`main` guarantees for every command, so no input can hurt a user:

* ``--help`` shows the whole docstring of the command's module (its contract: shapes, dtypes, layouts, ranges, an
  example) and the exit statuses; a module adds text computed only when help is asked for with
  :func:`add_help_text`.
* Before the command runs, every output (``--out``, or the ``outputs`` a command declares) is checked
  (:func:`scripts.common.files.check_outputs`): its folder exists and is writable, it is not a folder or a device,
  and it is not the same file as any input of the same command line.
* Bad input (``ValueError``, ``OverflowError``, an ``argparse`` error): exit status 2 and one line on stderr naming
  the option; 1: a check failed (the RTL differs from its golden) or a tool (Verilator, Yosys) failed; 0: done.
* A reader that goes away (``mram-accel ... --json | head -1``) ends the output quietly: no traceback, the exit
  status the command would have had.
* Python and numpy warnings do not reach stderr (unless asked for with ``python -W``).
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import pkgutil
import re
import sys
import warnings

__all__ = ["CliError", "EXIT_STATUS", "command_modules", "build_parser", "add_help_text", "plain_doc", "main"]

#: The exit statuses every command follows, shown at the end of each command's ``--help``.
EXIT_STATUS = ("exit status: 0 done; 1 a result check failed (e.g. the RTL differs from its golden) or a tool\n"
               "(Verilator, Yosys) failed; 2 bad input: one line on stderr naming the option, nothing written.")


class CliError(ValueError):
    """A bad command-line value; printed without a traceback, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """``ArgumentParser`` with the project's help and error conventions: descriptions keep their line breaks, help
    text may be computed when asked for (:func:`add_help_text`), and an error is one line (exit status 2)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self.help_hooks = []

    def format_help(self) -> str:
        if not self.help_hooks:
            return super().format_help()
        saved = self.epilog
        parts = [hook() for hook in self.help_hooks]
        self.epilog = "\n\n".join(p for p in (*parts, saved) if p)
        try:
            return super().format_help()
        finally:
            self.epilog = saved

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def add_help_text(parser: argparse.ArgumentParser, make) -> None:
    """Append ``make()`` (a string) to ``parser``'s ``--help``, computed only when help is shown (block names and
    report keys need imports a normal run does not)."""
    hooks = getattr(parser, "help_hooks", None)
    if hooks is not None:
        hooks.append(make)


_ROLE = re.compile(r":[a-z]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")


def plain_doc(doc: str | None) -> str:
    """A module docstring as terminal text: ``x`` for ````x````, ``name`` for ``:role:`~pkg.name```, ``:`` for a
    literal-block ``::``; indentation and line breaks kept."""
    if not doc:
        return ""
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1] if m.group(0).count("~") else m.group(1), doc)
    text = text.replace("``", "")
    text = re.sub(r"(?m)^[ \t]*::[ \t]*$", "", text)
    text = re.sub(r"(?m)::[ \t]*$", ":", text)
    return re.sub(r"\n\s*\n\s*\n", "\n\n", text).strip("\n")   # one blank line at most, as argparse prints


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


def _document(parser: argparse.ArgumentParser, doc: str) -> None:
    """Give ``parser`` and its sub-parsers the module's whole docstring; leaves (with ``func``) the exit statuses."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if doc:
        parser.description = doc
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                _document(child, doc)
    if "func" in parser._defaults:
        parser.epilog = "\n\n".join(t for t in (parser.epilog, EXIT_STATUS) if t)


def build_parser(package: str = "scripts.cli.commands") -> argparse.ArgumentParser:
    parser = _Parser(prog="mram-accel", description=__doc__.split("\n\n")[0],
                     epilog="`mram-accel COMMAND --help` gives each command's formats.\n\n" + EXIT_STATUS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for module in command_modules(package):
        before = set(sub.choices)
        module.register(sub)
        doc = plain_doc(module.__doc__)
        for name in set(sub.choices) - before:
            _document(sub.choices[name], doc)
    return parser


class _QuietPipe(io.TextIOBase):
    """Standard output that ends quietly when its reader goes away: the first ``BrokenPipeError`` points the file
    descriptor at ``os.devnull`` (so the interpreter's final flush succeeds too) and later output is dropped."""

    def __init__(self, stream):
        super().__init__()
        self._stream = stream
        self.broken = False

    def _broke(self) -> None:
        self.broken = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass

    def write(self, text):
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._broke()
        return len(text)

    def flush(self):
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._broke()

    def fileno(self):
        return self._stream.fileno()

    def isatty(self):
        return self._stream.isatty()

    @property
    def encoding(self):
        return getattr(self._stream, "encoding", "utf-8")

    def writable(self):
        return True


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout = sys.stdout
    guard = _QuietPipe(stdout)
    sys.stdout = guard
    try:
        with warnings.catch_warnings():
            if not sys.warnoptions:
                warnings.simplefilter("ignore")
            try:
                from scripts.common.files import check_outputs
                check_outputs(args)
                code = int(args.func(args) or 0)
            except (CliError, ValueError, FileNotFoundError, OverflowError) as e:
                print(f"mram-accel {args.command}: error: {_one_line(e)}", file=sys.stderr)
                code = 2
            except RuntimeError as e:  # a tool (Verilator, Yosys) is missing or failed
                print(f"mram-accel {args.command}: {e}", file=sys.stderr)
                code = 1
        guard.flush()
        return code
    finally:
        sys.stdout = stdout


if __name__ == "__main__":
    sys.exit(main())
