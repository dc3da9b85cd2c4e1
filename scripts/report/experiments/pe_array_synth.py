"""Report experiment ``pe-array-synth``: the PE array synthesised at small sizes, its cell count extrapolated to
the paper's 42 x 42 MACs, and the paper-size array's Verilog generated and linted.

Source: ``stt-ai-mishty-sadi.txt``, Section V.F and Table III ("Reconfigurable core with 42x42 MACs": 4.08 mm^2,
954 mW dynamic, 0.91 mW leakage at 14 nm after place and route); Section III.B.2 / Table I for the shape
(W_SA = P_s * W_A: 42 x 42 MACs = 42 rows x 14 PEs of 3 MACs). The paper gives no gate or cell count.

Synthesis is Yosys' generic ``synth -flatten`` through :func:`scripts.rtl.flow.synth` (the registry's ``2x2`` and
default 4 x 4 configurations, cached per Verilog) and :func:`scripts.toolchain.yosys.synth_component` for the
1 x 1, 2 x 1 and 1 x 2 arrays that separate the row and column terms. The fits are
:mod:`model.stt_ai.synth_scaling`; this module only runs the flows and presents. ``--quick`` synthesises the 2 x 2
array only (~25 s uncached) and skips the extrapolation. The 42 x 14-PE Verilog and its lint are not run by the
report (measured 18 min, 72 MB of Verilog, ~4.5 GB of memory, + 15 min of Verilator, ~7 GB, on two shared cores):
``mram-accel lint pe_array --config paper`` (or ``pytest -m slow tb/test_lint.py``) keeps its result, which the
report shows while the RTL sources are unchanged (:func:`scripts.rtl.flow.lint_record`); the synthesis of the five
small arrays is ~3 min uncached.
"""

from __future__ import annotations


from model.stt_ai.synth_scaling import (PAPER_COLS, PAPER_CORE_AREA_MM2, PAPER_MACS, PAPER_ROWS, fit_cells, fit_shape,
                                 flip_flops)
from scripts.report.lib import Comparison, Section, Table, experiment

SOURCE = "stt-ai-mishty-sadi.txt, Section V.F, Table III (core with 42x42 MACs), Section III.B.2 / Table I"

#: Registry configurations of ``pe_array`` synthesised through :func:`scripts.rtl.flow.synth`: (config, rows, cols).
SQUARE = (("2x2", 2, 2), (None, 4, 4))
#: Rectangular arrays synthesised only to separate the per-row and per-column terms.
RECTANGULAR = ((1, 1), (2, 1), (1, 2))


def _synth_square(configs) -> dict:
    from scripts.rtl.flow import synth
    return {(rows, cols): synth(["pe_array"], config=config)["pe_array"] for config, rows, cols in configs}


def _synth_rectangular() -> dict:
    from scripts.blocks import BLOCKS
    from scripts.toolchain.yosys import synth_component
    spec = BLOCKS["pe_array"]
    return {(r, c): synth_component(spec.build(rows=r, cols=c), f"pe_array_{r}x{c}") for r, c in RECTANGULAR}


def _lint_paper() -> dict | None:
    """The kept result of ``mram-accel lint pe_array --config paper`` for the current sources, or None (not run:
    it takes ~30 min and ~7 GB, too much for every report)."""
    from scripts.rtl.flow import lint_record
    return lint_record("pe_array", "paper")


def _array_table(results: dict, pe: dict | None) -> Table:
    rows = []
    if pe is not None:
        rows.append(["reconfigurable_pe alone", 1, 3, pe["cells"], pe["cells"], pe["longest_path_cells"],
                     flip_flops(pe["cells_by_type"])])
    for (r, c), res in sorted(results.items(), key=lambda kv: (kv[0][0] * kv[0][1], kv[0])):
        rows.append([f"{r} x {c} PEs", r * c, 3 * r * c, res["cells"], round(res["cells"] / (r * c)),
                     res["longest_path_cells"], flip_flops(res["cells_by_type"])])
    return Table(["array (rows x cols)", "PEs", "MACs", "cells", "cells / PE", "longest path (cells)",
                  "flip-flops"], rows,
                 caption="Yosys `synth -flatten` (generic cells, incl. 7 `$scopeinfo` annotations per PE) and "
                         "`ltp -noff`; flip-flops are all `$_*DFF*_` cells. The longest path does not grow with "
                         "the array: a partial sum from the PE above passes one multiplexer into a delay register "
                         "at the PE's input.")


def _fit_table(cells_fit, ff_fit, shape_cells, shape_ff, check) -> Table:
    rows = [["cells = a + b PEs (2x2, 4x4)", round(cells_fit.intercept), "—", "—", round(cells_fit.per_pe),
             round(cells_fit.predict(PAPER_ROWS, PAPER_COLS))],
            ["flip-flops = a + b PEs (2x2, 4x4)", round(ff_fit.intercept), "—", "—", round(ff_fit.per_pe),
             round(ff_fit.predict(PAPER_ROWS, PAPER_COLS))]]
    if shape_cells is not None:
        rows += [["cells, row/column terms (5 arrays)", round(shape_cells.fixed), round(shape_cells.per_row),
                  round(shape_cells.per_col), round(shape_cells.per_pe),
                  round(shape_cells.predict(PAPER_ROWS, PAPER_COLS))],
                 ["flip-flops, row/column terms (5 arrays)", round(shape_ff.fixed), round(shape_ff.per_row),
                  round(shape_ff.per_col), round(shape_ff.per_pe), round(shape_ff.predict(PAPER_ROWS, PAPER_COLS))]]
    caption = ("Linear fits (model/stt_ai/synth_scaling.py) and their value at the paper's 42 x 14 PEs (42 x 42 MACs). "
               "Two points determine the a + b PEs line exactly, so it has no residual to judge it by")
    if check is not None:
        caption += (f"; the row/column model fitted on 1x1, 2x1, 1x2 and 2x2 alone predicts the 4x4 array at "
                    f"{check[0]:.0f} cells against {check[1]} synthesised ({100 * (check[0] / check[1] - 1):+.3f} %)")
    return Table(["fit", "a (fixed)", "per row", "per column", "b (per PE)", "42 x 14 PEs"], rows,
                 caption=caption + ".")


@experiment("pe-array-synth", "PE array: synthesis of small arrays, extrapolation to 42 x 42 MACs", order=35)
def pe_array_synth(ctx) -> Section:
    from hw.pe_array import LANES
    from scripts.blocks import BLOCKS
    from scripts.rtl.flow import synth

    paper = BLOCKS["pe_array"].configs["paper"]
    paper_macs_ours = paper["rows"] * paper["cols"] * LANES
    pe = synth(["reconfigurable_pe"])["reconfigurable_pe"]
    comparisons = [Comparison("MACs of the core array (42 x 14 PEs x 3)", PAPER_MACS, paper_macs_ours, "MACs",
                              f"the registry's `pe_array --config paper` = PEArray({paper['rows']}, {paper['cols']}): "
                              f"H_A rows x W_SA = 3 W_A MAC columns.")]
    area_note = ("Yosys generic cells have no area; mapping to a 14 nm library (the paper's Synopsys flow) is not "
                 "available here, and we do not convert cells to mm^2 with an assumed cell size.")

    if ctx.quick:
        results = _synth_square(SQUARE[:1])
        comparisons += [
            Comparison("cells of the 42 x 42-MAC array (extrapolated)", None, "skipped in --quick", "",
                       "the paper gives no cell count (Table III: area and power only)"),
            Comparison("area of the 42 x 42-MAC core array (mm^2)", PAPER_CORE_AREA_MM2, "not estimated", "",
                       area_note),
            Comparison("42 x 42-MAC array Verilog + lint", "synthesised and placed (Section V.F)",
                       "skipped in --quick", "", "run the full report or `mram-accel lint pe_array --config paper`"),
        ]
        return Section(source=SOURCE, comparisons=comparisons, tables=[_array_table(results, pe)],
                       text="--quick: only the 2 x 2-PE array is synthesised (the 4 x 4 array takes ~2 min of "
                            "Yosys); the 4 x 4 and rectangular arrays, the extrapolation to 42 x 14 PEs and the "
                            "Verilog generation and lint of the paper-size array (~30 min, ~7 GB of memory) are "
                            "skipped.")

    runs = {}
    for name, fn in ctx.progress([("2x2, 4x4", lambda: _synth_square(SQUARE)),
                                  ("1x1, 2x1, 1x2", _synth_rectangular),
                                  ("42x14 Verilog + lint", _lint_paper)], desc="pe-array-synth"):
        runs[name] = fn()
    square, linted = runs["2x2, 4x4"], runs["42x14 Verilog + lint"]
    results = {**square, **runs["1x1, 2x1, 1x2"]}

    sq = sorted(square)
    cells_fit = fit_cells([r for r, _ in sq], [c for _, c in sq], [square[s]["cells"] for s in sq])
    ff_fit = fit_cells([r for r, _ in sq], [c for _, c in sq], [flip_flops(square[s]["cells_by_type"]) for s in sq])
    shapes = sorted(results)
    shape_cells = fit_shape([r for r, _ in shapes], [c for _, c in shapes], [results[s]["cells"] for s in shapes])
    shape_ff = fit_shape([r for r, _ in shapes], [c for _, c in shapes],
                         [flip_flops(results[s]["cells_by_type"]) for s in shapes])
    small = [s for s in shapes if s != (4, 4)]
    held_out = fit_shape([r for r, _ in small], [c for _, c in small], [results[s]["cells"] for s in small])
    check = (held_out.predict(4, 4), results[(4, 4)]["cells"])

    ours_cells = round(shape_cells.predict(PAPER_ROWS, PAPER_COLS))
    issues = linted["issues"] if linted else []
    status = "clean" if not issues else f"{len(issues)} warning(s)"
    comparisons += [
        Comparison("cells of the 42 x 42-MAC array (extrapolated)", None, ours_cells, "cells",
                   f"The paper gives no cell count (Table III: area and power only). Row/column model fitted on "
                   f"the 1x1 ... 4x4 arrays; the a + b PEs line through 2x2 and 4x4 alone gives "
                   f"{cells_fit.predict(PAPER_ROWS, PAPER_COLS):.0f} ({cells_fit.per_pe:.0f} cells per PE, "
                   f"{cells_fit.per_pe / 3:.0f} per MAC): on square arrays the (negative) column term cannot be told "
                   f"apart from the PE term and lowers its slope, although the tall 42 x 14 array has only 14 "
                   f"columns. Nothing is tuned."),
        Comparison("flip-flops of the 42 x 42-MAC array (extrapolated)", None,
                   round(shape_ff.predict(PAPER_ROWS, PAPER_COLS)), "flip-flops",
                   "Not in the paper. Per PE: the PE's 11-stage pipeline plus two 48-bit weight banks."),
        Comparison("area of the 42 x 42-MAC core array (mm^2)", PAPER_CORE_AREA_MM2, "not estimated", "",
                   area_note + f" The paper's figure is {PAPER_CORE_AREA_MM2 / PAPER_MACS * 1e6:.0f} um^2 per MAC "
                   f"(core array incl. its wiring)."),
        Comparison("42 x 42-MAC array Verilog + lint", "synthesised and placed (Section V.F)",
                   (f"{status}: Verilog {linted['generate_s']:.0f} s ({linted['verilog_mbytes']:.0f} MB), lint "
                    f"{linted['lint_s']:.0f} s") if linted else
                   "not run here (~30 min): `mram-accel lint pe_array --config paper` records it", "",
                   "Amaranth -> Verilog of PEArray(42, 14) and `verilator --lint-only -Wall` with the project's "
                   "named waivers; not synthesised (Yosys took ~2 min for the 16-PE array; 588 PEs are 37 times more)."
                   + ("" if not issues else " First: " + issues[0])),
    ]
    text = (f"What scales with what, from the row/column fit (cells): each PE costs {shape_cells.per_pe:.0f} cells "
            f"(the PE alone is {pe['cells']}; the rest is its two weight banks, their write enables and the "
            f"bank and partial-sum multiplexers); each column {shape_cells.per_col:+.0f} (the bottom row's output "
            f"multiplexer, minus what Yosys removes from row 0, whose partial sums are the constant +0: the PEs' "
            f"input delay registers of the partial sums, {shape_ff.per_col:+.0f} flip-flops, and part of the "
            f"adders); each "
            f"row {shape_cells.per_row:+.0f} (the weight-write row decoder; flip-flops {shape_ff.per_row:+.0f}: the "
            f"mode/valid pipeline Yosys shares among the PEs of a row); fixed {shape_cells.fixed:.0f} (the tag and "
            f"valid delay lines, {shape_ff.fixed:.0f} flip-flops). The 42 x 14 array is tall (42 rows, 14 columns), "
            f"so the column term weighs less than on the square arrays the a + b PEs line was fitted on.")
    return Section(source=SOURCE, comparisons=comparisons, text=text,
                   tables=[_array_table(results, pe), _fit_table(cells_fit, ff_fit, shape_cells, shape_ff, check)])
