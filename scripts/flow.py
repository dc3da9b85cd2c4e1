"""The RTL flows of the CLI, driven by the block registry (:data:`scripts.blocks.BLOCKS`).

``mram-accel verilog|lint|synth [BLOCK ...]`` write under ``build/``:

* ``build/verilog/<block>.v``: the block in its default (paper) configuration, top module named after it.
* lint: ``verilator --lint-only`` with the one flag set of :func:`scripts.toolchain.verilator.verilator_flags`
  (``-Wall`` and the named waivers only); any other warning fails the block.
* ``build/synth/<block>/result.json`` and ``build/synth/summary.md``: Yosys generic ``synth``, cell count and
  the longest topological path in cells (:mod:`scripts.toolchain.yosys`).
"""

from __future__ import annotations

import json
from pathlib import Path

from scripts.blocks import select
from scripts.toolchain.cache import write_if_changed
from scripts.toolchain.paths import BUILD, REPO
from scripts.toolchain.verilator import VERILATOR_WAIVERS, lint_verilog
from scripts.toolchain.verilog import verilog_text
from scripts.toolchain.yosys import synth_component

__all__ = ["generate", "lint", "synth", "register"]


def generate(names=None, out_dir: Path = BUILD / "verilog") -> dict[str, Path]:
    """Write ``out_dir/<block>.v`` for each block (unchanged files are not rewritten); return the paths."""
    paths = {}
    for spec in select(names):
        path = Path(out_dir) / f"{spec.name}.v"
        write_if_changed(path, verilog_text(spec.build(), spec.name))
        paths[spec.name] = path
    return paths


def lint(names=None) -> dict[str, list[str]]:
    """Lint each block's Verilog; return the remaining warnings per block."""
    return {name: lint_verilog(path, name) for name, path in generate(names).items()}


def synth(names=None, out_dir: Path = BUILD / "synth") -> dict[str, dict]:
    """Synthesise each block (default configuration); writes ``out_dir/summary.md``."""
    results = {spec.name: synth_component(spec.build(), spec.name, out_dir) for spec in select(names)}
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
