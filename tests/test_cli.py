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


# --- what every command shows and guarantees (scripts/cli/__init__.py, scripts/common/files.py) -----------------
def _leaf_parsers(parser, prefix=()):
    """``(command words, parser)`` of every command that runs (has ``func``)."""
    import argparse
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _leaf_parsers(child, prefix + (name,))
    if "func" in parser._defaults:
        yield prefix, parser


def test_every_help_shows_the_whole_module_docstring_and_the_exit_statuses():
    from scripts.cli import EXIT_STATUS, plain_doc

    parser = build_parser()
    leaves = list(_leaf_parsers(parser))
    assert len(leaves) >= 14
    for words, p in leaves:
        module = sys.modules[p._defaults["func"].__module__]
        text = p.format_help()
        assert plain_doc(module.__doc__) in text, words       # the contract, not just its first sentence
        assert EXIT_STATUS in text, words
        assert "``" not in text and ":mod:" not in text, words


def test_plain_doc_turns_rst_into_terminal_text():
    from scripts.cli import plain_doc

    doc = "Run :func:`model.x.f` on ``X``, see :mod:`~model.aimc.irdrop`. Example::\n\n    cmd --x 1\n"
    assert plain_doc(doc) == "Run model.x.f on X, see irdrop. Example:\n\n    cmd --x 1"


def test_block_names_and_report_keys_are_in_the_help():
    from scripts.blocks import BLOCKS
    from scripts.report.runner import load_experiments

    leaves = {words: p for words, p in _leaf_parsers(build_parser())}
    for cmd in ("verilog", "lint", "synth"):
        text = leaves[(cmd,)].format_help()
        assert all(f"\n  {name}" in text for name in BLOCKS), cmd
    text = leaves[("report",)].format_help()
    assert all(f"\n  {key} " in text for key in load_experiments()), text


def test_exhaustive_help_states_the_measured_cost_per_shard():
    import json as _json
    import statistics
    from pathlib import Path

    rows = [_json.loads(line) for line in
            (Path(__file__).resolve().parents[1] / "scripts/data/exhaustive/bf16_mul.jsonl").read_text().splitlines()]
    median = statistics.median(r["seconds"] for r in rows)
    text = dict(_leaf_parsers(build_parser()))[("exhaustive",)].format_help()
    assert f"median {median:.1f} s per shard per worker" in text
    assert f"~{median * 256 / 60:.0f} worker-minutes" in text


def test_layer_help_through_the_console():
    proc = subprocess.run([sys.executable, "-m", "scripts.cli", "layer", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for words in ("exactly representable in bfloat16", "--round", "NCHW", "exit status: 0 done"):
        assert words in text, words


def test_the_shape_file_example_of_the_help_is_a_valid_file(tmp_path):
    import re
    from scripts.cli.commands import dse as dse_cmd
    from model.zoo import load_shapes

    example = re.search(r"Shape file .*?::\n\n(.*?)\n\n", dse_cmd.__doc__, re.S).group(1)
    (tmp_path / "ex.json").write_text(example)
    m = load_shapes(tmp_path / "ex.json")
    assert [l.name for l in m.layers] == ["A", "B", "C"] and m.layers[2].in_c == 32


def test_an_argparse_error_is_one_line(capsys):
    from scripts.cli import main

    with pytest.raises(SystemExit) as e:
        main(["glb", "alexnet", "--dtype", "fp32"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.splitlines()) == 1 and "--dtype" in err and "usage" not in err


# --- the .npy loader -------------------------------------------------------------------------------------------
def _header(descr, shape, fortran=False):
    import struct
    text = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def test_load_npy_reads_what_numpy_writes(tmp_path, rng):
    import numpy as np
    from scripts.common.files import load_npy

    for i, a in enumerate([rng.standard_normal((3, 4)), np.asfortranarray(rng.integers(-5, 5, (4, 3))),
                           rng.standard_normal(5).astype(">f4"), np.zeros((0, 3)), np.array(True)]):
        np.save(tmp_path / f"a{i}.npy", a)
        got = load_npy(str(tmp_path / f"a{i}.npy"), "--a")
        assert got.dtype == a.dtype and np.array_equal(got, a)
    big = np.arange(6.0)
    with open(tmp_path / "v2.npy", "wb") as f:
        np.lib.format.write_array(f, big, version=(2, 0))
    assert np.array_equal(load_npy(str(tmp_path / "v2.npy"), "--a"), big)


@pytest.mark.parametrize("content,words", [
    (_header("<f8", (10**12,)) + bytes(64), ["--a", "10^12", "2^27"][::2] + ["1000000000000 elements"]),
    (_header("<f4", (100,)) + bytes(40), ["--a", "400 bytes", "40 bytes"]),
    (_header("<f4", (10,)) + bytes(44), ["--a", "40 bytes", "44 bytes"]),       # trailing bytes
    (_header("|O", (2,)) + bytes(16), ["--a", "dtype object"]),
    (_header("<U3", (2,)) + bytes(24), ["--a", "dtype <U3"]),
    (b"\x93NUMPY\x01\x00\x04\x00{}\n\n", ["--a", "bad header"]),
    (b"PK\x03\x04npz", ["--a", "no NumPy .npy header"]),
    (b"", ["--a", "no NumPy .npy header"]),
])
def test_load_npy_refuses_before_allocating(tmp_path, content, words):
    from scripts.common.files import load_npy

    (tmp_path / "x.npy").write_bytes(content)
    with pytest.raises(ValueError) as info:
        load_npy(str(tmp_path / "x.npy"), "--a")
    msg = str(info.value)
    assert "\n" not in msg and str(tmp_path / "x.npy") in msg
    for w in words:
        assert w in msg, (w, msg)


def test_load_npy_element_limit_and_special_files(tmp_path):
    import os
    import numpy as np
    from scripts.common.files import load_npy

    np.save(tmp_path / "a.npy", np.zeros(10))
    assert load_npy(str(tmp_path / "a.npy"), "--a", max_elements=10).size == 10
    with pytest.raises(ValueError, match=r"--a: .* 10 elements, above the limit of 9"):
        load_npy(str(tmp_path / "a.npy"), "--a", max_elements=9)
    with pytest.raises(ValueError, match="is a folder"):
        load_npy(str(tmp_path), "--a")
    os.mkfifo(tmp_path / "fifo.npy")                  # would block a plain open(): refused from its stat
    with pytest.raises(ValueError, match="not a regular file"):
        load_npy(str(tmp_path / "fifo.npy"), "--a")
    with pytest.raises(ValueError, match="--a: no such file"):
        load_npy(str(tmp_path / "none.npy"), "--a")


# --- the output check ------------------------------------------------------------------------------------------
def test_check_output_rules(tmp_path):
    import os
    from scripts.common.files import check_output

    (tmp_path / "in.npy").write_bytes(b"x")
    os.link(tmp_path / "in.npy", tmp_path / "hard.npy")
    os.symlink(tmp_path / "in.npy", tmp_path / "soft.npy")
    inputs = {"--a": str(tmp_path / "in.npy")}
    assert check_output(str(tmp_path / "new.npy"), inputs=inputs, suffix=".npy") == tmp_path / "new.npy"
    for name in ("in.npy", "hard.npy", "soft.npy"):
        with pytest.raises(ValueError, match=r"--out: .* is the input file of --a"):
            check_output(str(tmp_path / name), inputs=inputs)
    for text, match in ((str(tmp_path), "is a folder"), ("/dev/null", "not a regular file"),
                        (str(tmp_path / "no" / "y.npy"), "does not exist"), ("/proc/y.npy", "cannot write in"),
                        ("", "empty")):
        with pytest.raises(ValueError, match=f"^--out: .*{match}"):
            check_output(text, "--out")
    with pytest.raises(ValueError, match="must end in .npy"):
        check_output(str(tmp_path / "y.txt"), "--out", suffix=".npy")
    assert check_output(str(tmp_path / "a" / "b"), "--out", kind="dir") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists()                        # checked, not created
    with pytest.raises(ValueError, match="exists and is not a folder"):
        check_output(str(tmp_path / "in.npy"), "--out", kind="dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.npy", "in.npy", "soft.npy"]   # nothing left


def test_atomic_write_names_the_option_not_the_temporary_file(tmp_path):
    from scripts.common.files import atomic_write

    with pytest.raises(ValueError, match=r"^--out: cannot write '/proc/x.npy'"):
        atomic_write("/proc/x.npy", b"data", option="--out")
    with pytest.raises(OSError):
        atomic_write("/proc/x.npy", b"data")
    atomic_write(tmp_path / "y.bin", b"data", option="--out")
    assert (tmp_path / "y.bin").read_bytes() == b"data" and len(list(tmp_path.iterdir())) == 1
