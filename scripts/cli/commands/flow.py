"""``mram-accel verilog|lint|synth [BLOCK ...] [--config NAME] [--json]``: the RTL flows of :mod:`scripts.rtl.flow`
on the registry blocks (:data:`scripts.blocks.BLOCKS`)."""

from __future__ import annotations

import json

from scripts.rtl.flow import generate, lint, synth
from scripts.toolchain.paths import BUILD, REPO
from scripts.toolchain.verilator import VERILATOR_WAIVERS

__all__ = ["register"]


def _cmd_verilog(args) -> int:
    for name, path in generate(args.blocks, config=args.config).items():
        print(f"{name}: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


def _cmd_lint(args) -> int:
    results = lint(args.blocks, config=args.config)
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
    results = synth(args.blocks, config=args.config)
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
        p.add_argument("blocks", nargs="*", metavar="BLOCK", help="blocks (default: all in scripts/blocks/__init__.py)")
        p.add_argument("--config", metavar="NAME",
                       help="a named configuration of the blocks (e.g. 'paper' for pe_array: 42 x 14 PEs)")
        if name == "synth":
            p.add_argument("--json", action="store_true", help="print JSON instead of the Markdown table")
        p.set_defaults(func=func)
