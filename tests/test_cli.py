"""The CLI finds its command groups by listing ``scripts.cli.commands``; a broken or misspelled group fails loudly."""

import subprocess
import sys

import pytest

from scripts.cli import build_parser, command_modules


def _package(tmp_path, monkeypatch, files: dict) -> str:
    name = "fake_commands_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)  # fresh per test
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for module, text in files.items():
        (pkg / f"{module}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


GOOD = "def register(sub):\n    sub.add_parser('hello').set_defaults(func=lambda a: 0)\n"


def test_every_command_group_is_found():
    names = {m.__name__.rpartition(".")[2] for m in command_modules()}
    assert {"report", "flow", "layer", "bcnn", "dima", "aimc", "pim", "delta", "dse", "scale"} <= names
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"report", "verilog", "lint", "synth", "layer", "bcnn", "dima", "aimc", "pim", "delta", "retention",
            "glb", "exhaustive", "sweep"} <= commands


def test_a_new_group_is_one_module(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch, {"hello": GOOD})
    assert "hello" in build_parser(pkg)._subparsers._group_actions[0].choices


@pytest.mark.parametrize("text,message", [
    ("def regster(sub):\n    pass\n", "has no register"),           # misspelled entry point
    ("import no_such_module_here\n", "failed to import"),             # broken import
    ("def register(sub)\n    pass\n", "failed to import"),            # syntax error
])
def test_a_broken_group_fails_loudly(tmp_path, monkeypatch, text, message):
    pkg = _package(tmp_path, monkeypatch, {"good": GOOD, "broken": text})
    with pytest.raises(ImportError, match=rf"{pkg}\.broken .*{message}|{pkg}\.broken {message}"):
        build_parser(pkg)


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "scripts.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "report" in proc.stdout and "layer" in proc.stdout
