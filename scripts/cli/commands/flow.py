"""``mram-accel verilog|lint|synth``: the RTL flows of :mod:`scripts.rtl.flow` on the registry blocks
(:data:`scripts.blocks.BLOCKS`; their names are listed below).

::

    mram-accel verilog [BLOCK ...] [--config NAME]
    mram-accel lint    [BLOCK ...] [--config NAME]
    mram-accel synth   [BLOCK ...] [--config NAME] [--json]

No block name means every block. ``--config NAME`` takes a named configuration of the blocks (e.g. ``paper`` for
``pe_array``: 42 x 14 PEs; ``2x2``); a block without it is an error.

* ``verilog`` writes ``build/verilog/<block>[_<config>].v`` (top module named after the block; an unchanged file is
  not rewritten) and prints the paths.
* ``lint`` runs ``verilator --lint-only -Wall`` with the named waivers only and prints ``clean`` or the warnings of
  each block (exit 1 if any). A result is kept under ``build/lint/`` and reused while the RTL sources, the
  configuration and Verilator are unchanged; the output says when it is.
* ``synth`` runs Yosys generic synthesis and prints cells and the longest path (in cells) of each block of this
  call, as Markdown or ``--json`` (``{block: {"block", "cells", "longest_path_cells", ...}}``). Its rows are merged
  into ``build/synth/summary.md``, which keeps the rows of blocks synthesised by earlier calls.

Example::

    mram-accel lint bitcounter bf16_mul
    mram-accel synth pe_array --config 2x2 --json
"""

from __future__ import annotations

import json
import time

from scripts.cli import add_help_text

__all__ = ["register"]


def _rel(path):
    from scripts.toolchain.paths import REPO
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def _cmd_verilog(args) -> int:
    from scripts.rtl.flow import generate

    for name, path in generate(args.blocks, config=args.config).items():
        print(f"{name}: {_rel(path)}")
    return 0


def _cmd_lint(args) -> int:
    from scripts.rtl.flow import lint
    from scripts.toolchain.verilator import VERILATOR_WAIVERS

    reused = {}
    results = lint(args.blocks, config=args.config, reused=reused)
    bad = 0
    for name, issues in results.items():
        note = ""
        if name in reused:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(reused[name].stat().st_mtime))
            note = (f" (cached result of {when}, {_rel(reused[name])}: RTL sources, configuration and Verilator "
                    f"unchanged)")
        print(f"{name}: {'clean' if not issues else f'{len(issues)} warning(s)'}{note}")
        for line in issues[:20]:
            print(f"  {line}")
        if len(issues) > 20:
            print(f"  ... and {len(issues) - 20} more")
        bad += bool(issues)
    print("waived (Yosys-written Verilog): " + ", ".join(VERILATOR_WAIVERS))
    return 1 if bad else 0


def _cmd_synth(args) -> int:
    from scripts.rtl.flow import SUMMARY_HEADER, summary_rows, synth
    from scripts.toolchain.paths import BUILD

    results = synth(args.blocks, config=args.config)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("\n".join(SUMMARY_HEADER + summary_rows(results)))
        print(f"(all blocks synthesised so far: {_rel(BUILD / 'synth' / 'summary.md')})")
    return 0


def _block_names() -> str:
    from scripts.blocks import BLOCKS

    lines = []
    for name, spec in BLOCKS.items():
        configs = sorted(getattr(spec, "configs", None) or {})
        lines.append(f"  {name}" + (f"  (--config {', '.join(configs)})" if configs else ""))
    return "blocks:\n" + "\n".join(lines)


def register(sub) -> None:
    for name, func, text in [("verilog", _cmd_verilog, "generate Verilog into build/verilog/"),
                             ("lint", _cmd_lint, "verilator --lint-only -Wall with the named waivers"),
                             ("synth", _cmd_synth, "Yosys synthesis: cells and longest path")]:
        p = sub.add_parser(name, help=text)
        p.add_argument("blocks", nargs="*", metavar="BLOCK", help="blocks (default: all; names below)")
        p.add_argument("--config", metavar="NAME",
                       help="a named configuration of the blocks (e.g. 'paper' for pe_array: 42 x 14 PEs)")
        if name == "synth":
            p.add_argument("--json", action="store_true", help="print JSON instead of the Markdown table")
        p.set_defaults(func=func)
        add_help_text(p, _block_names)
