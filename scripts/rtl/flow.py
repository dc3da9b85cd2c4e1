"""The RTL flows, driven by the block registry (:data:`scripts.blocks.BLOCKS`).

``mram-accel verilog|lint|synth [BLOCK ...]`` write under ``build/``:

* ``build/verilog/<block>.v``: the block in its default (paper) configuration, top module named after it.
* lint: ``verilator --lint-only`` with the one flag set of :func:`scripts.toolchain.verilator.verilator_flags`
  (``-Wall`` and the named waivers only); any other warning fails the block.
* ``build/synth/<block>/result.json`` and ``build/synth/summary.md``: Yosys generic ``synth``, cell count and
  the longest topological path in cells (:mod:`scripts.toolchain.yosys`). The summary is merged: a call replaces
  the rows of the blocks it synthesised and keeps the others' rows from earlier calls, one row per block
  configuration, sorted by name.
"""

from __future__ import annotations

import json
from pathlib import Path

from scripts.blocks import select
from scripts.toolchain.cache import write_if_changed
from scripts.toolchain.paths import BUILD
from scripts.toolchain.verilator import lint_verilog
from scripts.toolchain.verilog import cached_verilog_text
from scripts.toolchain.yosys import synth_component

__all__ = ["generate", "lint", "lint_record", "synth", "summary_rows", "SUMMARY_HEADER"]


def _file_stem(spec, config):
    return spec.name if config is None else f"{spec.name}_{config}"


def generate(names=None, out_dir: Path = BUILD / "verilog", config: str | None = None) -> dict[str, Path]:
    """Write ``out_dir/<block>.v`` (``<block>_<config>.v`` for a named configuration) for each block (unchanged
    files are not rewritten); return the paths. The top module is always named after the block."""
    paths = {}
    for spec in select(names):
        params = spec.config_params(config)
        path = Path(out_dir) / f"{_file_stem(spec, config)}.v"
        write_if_changed(path, cached_verilog_text(spec.name, params, lambda: spec.build_named(config)))
        paths[spec.name] = path
    return paths


def _lint_record(spec, config) -> Path:
    """Where the lint result of a block configuration is kept, named by everything the result depends on."""
    import hashlib
    from scripts.toolchain.cache import rtl_source_digest
    from scripts.toolchain.verilator import verilator_flags, verilator_version, verilator_env
    key = json.dumps([spec.name, spec.config_params(config), rtl_source_digest(), verilator_flags("lint"),
                      verilator_version(verilator_env())], sort_keys=True, default=str)
    return BUILD / "lint" / f"{_file_stem(spec, config)}-{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"


def lint_record(name: str, config: str | None = None) -> dict | None:
    """The kept result of an earlier :func:`lint` of this exact design (``issues``, ``generate_s``, ``lint_s``,
    ``verilog_mbytes``), or None: lets the report show the paper-size array's lint (~30 min) without rerunning it."""
    path = _lint_record(select([name])[0], config)
    return json.loads(path.read_text()) if path.exists() else None


def lint(names=None, config: str | None = None, reused: dict | None = None) -> dict[str, list[str]]:
    """Lint each block's Verilog; return the remaining warnings per block. Each result is kept (see
    :func:`lint_record`) and reused while the RTL sources, the configuration and Verilator are unchanged; the
    blocks whose result was reused are added to ``reused`` (``{block: record path}``) when it is given."""
    import time
    out = {}
    for spec in select(names):
        record = _lint_record(spec, config)
        if record.exists():
            out[spec.name] = json.loads(record.read_text())["issues"]
            if reused is not None:
                reused[spec.name] = record
            continue
        t0 = time.perf_counter()
        path = generate([spec.name], config=config)[spec.name]
        t1 = time.perf_counter()
        issues = lint_verilog(path, spec.name)
        write_if_changed(record, json.dumps({"issues": issues, "generate_s": t1 - t0,
                                             "lint_s": time.perf_counter() - t1,
                                             "verilog_mbytes": path.stat().st_size / 1e6}, indent=1))
        out[spec.name] = issues
    return out


SUMMARY_HEADER = ["| block | cells | longest path (cells) |", "|---|---|---|"]


def summary_rows(results: dict) -> list[str]:
    """The Markdown table rows of synthesis ``results`` (``{block: result}``), in the summary's format."""
    return [f"| {r['block']} | {r['cells']} | {r['longest_path_cells']} |" for r in results.values()]


def _merge_summary(path: Path, results: dict) -> None:
    """Write ``path``: the rows of ``results`` replacing those of the same blocks, the other rows kept."""
    rows = {}
    if path.exists():
        for line in path.read_text().splitlines()[len(SUMMARY_HEADER):]:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 3 and cells[0]:
                rows[cells[0]] = line
    for r, line in zip(results.values(), summary_rows(results)):
        rows[r["block"]] = line
    write_if_changed(path, "\n".join(SUMMARY_HEADER + [rows[k] for k in sorted(rows)]) + "\n")


def synth(names=None, out_dir: Path = BUILD / "synth", config: str | None = None) -> dict[str, dict]:
    """Synthesise each block (default or named configuration); merge their rows into ``out_dir/summary.md``
    (rows of blocks synthesised by earlier calls are kept)."""
    results = {spec.name: synth_component(spec.build_named(config), _file_stem(spec, config), out_dir)
               for spec in select(names)}
    _merge_summary(Path(out_dir) / "summary.md", results)
    return results
