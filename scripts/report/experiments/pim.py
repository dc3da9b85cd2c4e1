"""Report experiment ``pim``: SOT-MRAM digital PIM (Wang et al.) -- the 4-step full adder, FP32 addition and
multiplication executed as sub-array operations against eqs. (2)-(3), the MAC against FloatPIM and the cost of one
LeNet training epoch on the digits.

Every number comes from :mod:`model.pim.subarray` / :mod:`model.pim.arith` (executed step counters of bit-level runs,
the paper's formulas, the FloatPIM reconstruction); this module only presents them.
"""

from __future__ import annotations

import numpy as np

from model.pim import arith as pa
from model.fp_golden import FP32_CORNERS, corner_add_vectors, random_add_vectors, random_fp32
from model.pim.subarray import TABLE1
from scripts.report.lib import Comparison, Figure, Section, Table, experiment, pyplot

PAPER = "sot-mram-fp-pim-training-wang.txt"
STREAM = 90   # random-stream key of this experiment (its report order)

#: What each executed phase corresponds to in eqs. (2) / (3), and why its count differs.
ADD_TERMS = {
    "constants": ("-", "rows of constant 0 and 1 (one write; shared by every operation of a sub-array)"),
    "classify": ("-", "special-value detection (6 searches): the paper handles no inf/NaN/zero/subnormal"),
    "unpack": ("-", "effective exponent max(e, 1) and hidden bit (subnormals), operand sign XOR, inverted "
                    "exponents for the subtractions"),
    "exponent": ("7 N_e T, 14 N_e E", "two N_e-bit subtractions in lockstep with the 4-step FA: 4 steps per bit "
                                       "(the formula's 7) and 2 x 9 cell writes per bit (its 14)"),
    "select": ("-", "masked copies of the larger operand and of the difference that is positive"),
    "align": ("2(N_m+2) searches", "one search per shift amount 0..25 (N_m + 3 amounts: guard, round and sticky "
                                   "bits) on the already selected difference, instead of 2 per amount; each "
                                   "matched shift is one masked step that moves all 27 bits"),
    "mantissa": ("7 N_m T, 12 N_m E", "27-bit FA (hidden + 23 + G, R, S) at 4 steps per bit; a second chain in "
                                      "lockstep (S - L, for equal exponents) doubles the cells"),
    "zero": ("-", "exact-zero result and its sign (IEEE: x + (-x) = +0)"),
    "normalise": ("-", "leading one by 28 searches, subnormal clamp by 27 marker searches, one gather step per "
                       "position"),
    "exponent-out": ("-", "result exponent e_L + q - 27 + hidden bit (9-bit FA)"),
    "round": ("-", "round to nearest even: round-up bit and a 32-bit half-adder increment"),
    "overflow": ("-", "exponent 255 or more -> infinity"),
    "special": ("-", "zero, infinity and canonical-NaN overrides"),
}
MUL_TERMS = {
    "constants": ADD_TERMS["constants"],
    "classify": ADD_TERMS["classify"],
    "unpack": ("-", "effective exponents, hidden bits, sign XOR"),
    "exponent": ("6 N_e", "8-bit FA, 4 steps per bit (the formula's 6 includes the bias, which our "
                          "round_pack constant absorbs)"),
    "product": ("2 N_m^2 + 6.5 N_m", "23 shift-and-adds of 24 bits (4 steps per bit) + 2 partial-product steps "
                                     "each: every multiplier bit needs its add because each lane has its own "
                                     "multiplier; 2 N_m^2 = 4 steps x N_m bits x N_m/2 adds ('added multiplier's "
                                     "bit times', half the bits on average)"),
    "zero": ("-", "zero product and products below 2^-150 (5 ternary searches)"),
    "normalise": ("-", "leading one of the 48-bit product by 72 searches, subnormal clamp by 72 marker searches"),
    "exponent-out": ("-", "result exponent eA + eB + q - 174 + hidden bit (9-bit FA)"),
    "round": ADD_TERMS["round"],
    "overflow": ADD_TERMS["overflow"],
    "special": ADD_TERMS["special"],
}


def _operands(ctx):
    """Random add/mul operands across exponent ranges plus corners (``uint32`` patterns)."""
    n = 128 if ctx.quick else 1024
    a, b = random_add_vectors(ctx.seed * 1000 + STREAM, n)
    rng = np.random.default_rng([ctx.seed, STREAM])
    ma, mb = random_fp32(rng, n), random_fp32(rng, n)
    if not ctx.quick:
        ca, cb = corner_add_vectors()
        a, b = np.concatenate([a, ca]), np.concatenate([b, cb])
        pa_, pb_ = np.meshgrid(FP32_CORNERS, FP32_CORNERS)
        ma, mb = np.concatenate([ma, pa_.ravel()]), np.concatenate([mb, pb_.ravel()])
    return (a, b), (ma, mb)


def _run(ctx, op, a, b):
    prog = (lambda it, desc="": ctx.progress(it, desc=f"pim {desc}")) if ctx.show_progress else None
    run = pa.fp32_op(op, a.view(np.float32), b.view(np.float32), progress=prog)
    exact = int(np.count_nonzero(run.bits == pa.ref_fp32(op, a.view(np.float32), b.view(np.float32))))
    return run, exact


def _phase_table(run, terms, eq, caption) -> Table:
    lanes = run.pass_lanes[0]
    rows = []
    for name, c in run.by_phase.items():
        cells = c.per_lane(lanes)
        term, why = terms.get(name, ("-", ""))
        rows.append([name, c.read, c.write, c.search, round(cells["cell_reads"], 1), round(cells["cell_writes"], 1),
                     term, why])
    tot = run.passes[0]
    cells = tot.per_lane(lanes)
    rows.append(["**executed total**", tot.read, tot.write, tot.search, round(cells["cell_reads"], 1),
                 round(cells["cell_writes"], 1), "", ""])
    rows.append([f"**{caption.split(':')[0]}**", eq["t_read"], eq["t_write"], eq["t_search"], eq["e_read"],
                 eq["e_write"], "", "the paper's formula for N_e = 8, N_m = 23"])
    return Table(["phase", "read steps", "write steps", "searches", "cells read / op", "cells written / op",
                  "term of the formula", "why ours differs"], rows, caption=caption)


def _fig(ctx, add, mul, mac, fp_mac) -> Figure:
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.8), gridspec_kw={"width_ratios": [1, 1, 1, 1]})
    cmap = plt.get_cmap("tab20")
    phases = list(dict.fromkeys(list(add.by_phase) + list(mul.by_phase)))
    for ax, (run, op, label) in zip(axes[:2], ((add, "add", "eq. (2)"), (mul, "mul", "eq. (3)"))):
        bottom = 0.0
        for name, c in run.by_phase.items():
            t = c.time_s(run.params) * 1e9
            ax.bar(0, t, bottom=bottom, color=cmap(phases.index(name) % 20), label=name, width=0.5)
            bottom += t
        t_eq, _ = pa.eq_cost(op, run.params)
        ax.bar(1, t_eq * 1e9, color="0.6", width=0.5, label=label)
        ax.set_xticks([0, 1], ["executed", label])
        ax.set_ylabel("latency per operation (ns)")
        ax.set_title(f"({'a' if op == 'add' else 'b'}) FP32 {op}: executed phases vs {label}", fontsize=9)
        ax.legend(fontsize=6, ncol=2, loc="upper right")
    for ax, attr, unit, scale, title in ((axes[2], "time", "µs", 1e6, "(c) MAC latency"),
                                         (axes[3], "energy", "pJ", 1e12, "(d) MAC energy")):
        vals = [(getattr(m, "t_mul" if attr == "time" else "e_mul") * scale,
                 getattr(m, "t_add" if attr == "time" else "e_add") * scale) for m in (mac, fp_mac)]
        for x, (vm, va) in enumerate(vals):
            ax.bar(x, vm, color="C0", label="multiplication" if x == 0 else None, width=0.6)
            ax.bar(x, va, bottom=vm, color="C1", label="addition" if x == 0 else None, width=0.6)
            ax.text(x, vm + va, f"{vm + va:.3g}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks([0, 1], ["SOT-MRAM (ours, executed)", "FloatPIM (reconstruction)"], fontsize=8)
        ax.set_ylabel(f"{attr} per FP32 MAC ({unit})")
        ax.set_title(f"{title}: FloatPIM / ours {sum(vals[1]) / sum(vals[0]):.2f} (paper "
                     f"{'1.8' if attr == 'time' else '3.3'})", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Fig. 5 analogue: FP32 operations executed bit by bit in the 1T-1R SOT-MRAM sub-array "
                 "(Table 1 write costs, our read/search costs; FloatPIM device costs assumed)", fontsize=10)
    fig.tight_layout()
    return Figure(ctx.save_figure(fig, "pim_steps_mac.png"),
                  "(a), (b) latency per FP32 add / mul by phase of the executed schedule against eqs. (2)-(3); "
                  "(c), (d) latency and energy of one FP32 MAC, ours against the FloatPIM reconstruction")


@experiment("pim", "SOT-MRAM digital PIM: 4-step full adder, FP32 add/mul in the array, MAC and LeNet training vs "
                   "FloatPIM (Wang et al.)", order=90)
def pim(ctx) -> Section:
    p = TABLE1
    fa = pa.full_adder_truth_table(p)
    fa_steps = fa["counts"].write
    (aa, ab), (ma, mb) = _operands(ctx)
    add, add_exact = _run(ctx, "add", aa, ab)
    mul, mul_exact = _run(ctx, "mul", ma, mb)
    mac = pa.mac_cost(mul, add)
    fp_mac = pa.floatpim_mac_cost()
    eq_add_t, eq_add_e = pa.eq_cost("add", p)
    eq_mul_t, eq_mul_e = pa.eq_cost("mul", p)
    eq_mac = pa.MacCost(eq_mul_t, eq_mul_e, eq_add_t, eq_add_e)
    need = pa.floatpim_params_for(3.3, 1.8, mac)
    e2, e3 = pa.eq2_add(), pa.eq3_mul()
    ad, mu = add.passes[0], mul.passes[0]
    adc, muc = add.per_op_cells, mul.per_op_cells
    mac_counts = ad + mu
    n_train = pa.digits_train_size()
    epoch = pa.lenet_epoch_macs(n_train)
    n_params = pa.lenet_params()

    def epoch_cost(m):
        return epoch["total"] * m.energy_j, epoch["total"] * m.time_s / pa.LANES

    ours_ep, fp_ep = epoch_cost(mac), epoch_cost(fp_mac)
    fp_note = ("FloatPIM reconstructed from what the paper says of [6] (13-cycle / 12-cell FA, bit-by-bit shifts), "
               f"t_cycle {pa.FLOATPIM.t_cycle * 1e9:g} ns and {pa.FLOATPIM.e_cell * 1e15:g} fJ per switched cell "
               "assumed ([6] is not in ../shared/papers)")
    comparisons = [
        Comparison("1-bit full adder: steps (read + write)", pa.FA_STEPS, fa_steps, "steps",
                   f"Fig. 3 executed on all 8 inputs (sum and carry correct: "
                   f"{bool((fa['s'] == (fa['x'] ^ fa['y'] ^ fa['z'])).all())}, X and Y unchanged: "
                   f"{bool((fa['x_after'] == fa['x']).all() and (fa['y_after'] == fa['y']).all())})"),
        Comparison("1-bit full adder: cells written", pa.FA_CELLS, fa["cells"], "cells",
                   "caches c1, c2, c3 and S; a multi-bit add reuses 4 caches (the carry alternates c2 / c4)"),
        Comparison("full adder: FloatPIM steps / ours", pa.FLOATPIM_FA_STEPS / pa.FA_STEPS,
                   pa.FLOATPIM_FA_STEPS / fa_steps, "x", "FloatPIM: 13 NOR steps per bit (Section 2)"),
        Comparison("full adder: FloatPIM cells / ours", pa.FLOATPIM_FA_CELLS / pa.FA_CELLS,
                   pa.FLOATPIM_FA_CELLS / fa["cells"], "x", "FloatPIM: 12 cells per bit (Section 2)"),
        Comparison("FP32 add: read steps (T_read coefficient)", e2["t_read"], ad.read, "",
                   "eq. (2); executed schedule, table below names the phases the formula leaves out (IEEE "
                   "rounding, normalisation, subnormals, specials)"),
        Comparison("FP32 add: write steps (T_write coefficient)", e2["t_write"], ad.write, "", "eq. (2); idem"),
        Comparison("FP32 add: searches (T_search coefficient)", e2["t_search"], ad.search, "",
                   "eq. (2) 2(N_m + 2); ours 26 alignment searches + leading-one, marker, zero and special "
                   "searches"),
        Comparison("FP32 add: cells read (E_read coefficient)", e2["e_read"], adc["cell_reads"], "",
                   "eq. (2); mean over the run (masked steps make it data-dependent)"),
        Comparison("FP32 add: cells written (E_write coefficient)", e2["e_write"], adc["cell_writes"], "",
                   "eq. (2); two FA chains of 27 bits alone write 486 cells"),
        Comparison("FP32 add: latency", eq_add_t * 1e9, add.per_op_time_s * 1e9, "ns",
                   "eq. (2) with Table 1 write costs and our read/search costs vs executed"),
        Comparison("FP32 add: energy", eq_add_e * 1e12, add.per_op_energy_j * 1e12, "pJ", "idem"),
        Comparison("FP32 mul: read steps ((T_read + T_write) coefficient)", e3["t_read"], mu.read, "",
                   "eq. (3); the product alone is 2257 steps (table below): every multiplier bit is added"),
        Comparison("FP32 mul: write steps", e3["t_write"], mu.write, "", "eq. (3); idem"),
        Comparison("FP32 mul: searches", e3["t_search"], mu.search, "",
                   "eq. (3) has none; ours normalise / round by searches (leading one, subnormal clamp)"),
        Comparison("FP32 mul: cells read ((E_read + E_write) coefficient)", e3["e_read"], muc["cell_reads"], "",
                   "eq. (3)"),
        Comparison("FP32 mul: cells written", e3["e_write"], muc["cell_writes"], "",
                   "eq. (3)'s 4.5 N_m^2 = 9 cells x N_m^2 / 2 FA bits: the same 9 writes per FA bit as our Fig. 3 "
                   "schedule, but ours adds for all 23 multiplier bits"),
        Comparison("FP32 mul: latency", eq_mul_t * 1e9, mul.per_op_time_s * 1e9, "ns", "eq. (3) vs executed"),
        Comparison("FP32 mul: energy", eq_mul_e * 1e12, mul.per_op_energy_j * 1e12, "pJ", "eq. (3) vs executed"),
        Comparison("FP32 results bit-exact against numpy (NaN canonical)", "full precision",
                   f"add {add_exact}/{add.n}, mul {mul_exact}/{mul.n}", "",
                   "random values across exponent ranges" + ("" if ctx.quick else " and all corner pairs")),
        Comparison("MAC energy: FloatPIM / ours", 3.3, fp_mac.energy_j / mac.energy_j, "x",
                   f"{fp_note}; ours executed {mac.energy_j * 1e12:.4g} pJ vs FloatPIM "
                   f"{fp_mac.energy_j * 1e12:.4g} pJ"),
        Comparison("MAC latency: FloatPIM / ours", 1.8, fp_mac.time_s / mac.time_s, "x",
                   f"{fp_note}; ours executed {mac.time_s * 1e6:.4g} µs vs FloatPIM {fp_mac.time_s * 1e6:.4g} µs"),
        Comparison("MAC energy: FloatPIM / eqs. (2)+(3)", 3.3, fp_mac.energy_j / eq_mac.energy_j, "x",
                   "the paper's own formulas (our read/search costs) against the same FloatPIM reconstruction"),
        Comparison("MAC latency: FloatPIM / eqs. (2)+(3)", 1.8, fp_mac.time_s / eq_mac.time_s, "x", "idem"),
        Comparison("FloatPIM energy per switched cell giving 3.3x", None, need.e_cell * 1e15, "fJ",
                   f"with our executed MAC; assumed {pa.FLOATPIM.e_cell * 1e15:g} fJ"),
        Comparison("FloatPIM cycle time giving 1.8x", None, need.t_cycle * 1e9, "ns",
                   f"with our executed MAC; assumed {pa.FLOATPIM.t_cycle * 1e9:g} ns"),
        Comparison("share of MAC latency in cell switching", "dominant (Fig. 5)",
                   f"{100 * pa.switch_share(mac_counts, p):.1f} %", "", "write phases x t_switch / MAC latency"),
        Comparison("t_switch that cuts the MAC latency by 56.7 %", None,
                   pa.switch_time_for_cut(mac_counts, 0.567, p) * 1e9, "ns",
                   "Section 4.2: the switching time of [15] cuts it by 56.7 %; the paper does not state that time; "
                   "from Table 1's 2 ns"),
        Comparison("LeNet parameters", 21690, n_params, "", "our LeNet-type net for 8 x 8 digits "
                   "(model.pim.arith.LENET); the paper states only the count"),
        Comparison("LeNet one epoch: FP32 MACs", None, epoch["total"], "MACs",
                   f"{n_train} digits training images x {epoch['per_image']} MACs (forward, weight and input "
                   f"gradients) + {epoch['updates']} update MACs (batch {epoch['batch']})"),
        Comparison("LeNet one epoch: energy, ours", None, ours_ep[0] * 1e6, "µJ", "MACs x executed MAC energy"),
        Comparison("LeNet one epoch: latency on one 1024-lane sub-array, ours", None, ours_ep[1], "s",
                   "MACs / 1024 lanes x executed MAC latency (a chip has many sub-arrays)"),
        Comparison("LeNet training energy: FloatPIM / ours", 3.3, fp_ep[0] / ours_ep[0], "x",
                   "Fig. 6; MAC-dominated (the paper says so too), so the MAC ratio; " + fp_note),
        Comparison("LeNet training latency: FloatPIM / ours", 1.8, fp_ep[1] / ours_ep[1], "x", "Fig. 6; idem"),
    ]
    lenet_rows = [[layer.name, layer.kind, f"{layer.cin} -> {layer.cout}" + (
        f", {layer.k}x{layer.k} pad {layer.pad} on {layer.hw}x{layer.hw}, pool {layer.pool}" if layer.kind == "conv"
        else ""), layer.params, layer.macs] for layer in pa.LENET]
    lenet_rows.append(["total", "", "", n_params, epoch["forward_per_image"]])
    fp_rows = []
    for name, cost in (("add", pa.floatpim_add_cost()), ("mul", pa.floatpim_mul_cost())):
        for term, (cyc, cells) in cost["terms"].items():
            fp_rows.append([name, term, cyc, cells])
        fp_rows.append([name, "total", cost["cycles"], cost["cells"]])
    par_rows = [
        ["R_on / R_off", "50 / 100 kΩ", "Table 1", "read currents at 100 mV: "
         f"{p.read_currents[0] * 1e6:.1f} / {p.read_currents[1] * 1e6:.1f} µA"],
        ["V_b, I_write", "600 mV, 65 µA", "Table 1", "gate voltage / write current of the stateful logic"],
        ["t_write = t_switch", f"{p.t_write * 1e9:g} ns", "Table 1", "per write phase"],
        ["E_write = E_switch", f"{p.e_write * 1e15:g} fJ", "Table 1", "per written cell"],
        ["t_read", f"{p.t_read * 1e9:g} ns", "ours", "the paper takes it from NVSim + [13], not printed"],
        ["E_read", f"{p.e_read * 1e15:g} fJ", "ours", f"cell alone {p.e_read_cell * 1e15:.2f} fJ at -100 mV "
                                                      "(Section 3.1); the rest: sense amplifier"],
        ["t_search, E_search", f"{p.t_search * 1e9:g} ns, {p.e_search * 1e15:g} fJ", "ours",
         "one current sensing per column (Fig. 4 (a))"],
        ["FloatPIM FA", "13 steps, 12 cells", "Section 2 (of [6])", ""],
        ["FloatPIM row cells per 32-bit mul", pa.FLOATPIM_MUL_ROW_CELLS, "Section 2 (of [6])", "not used in "
                                                                                              "the cost"],
        ["FloatPIM t_cycle, E per cell", f"{pa.FLOATPIM.t_cycle * 1e9:g} ns, {pa.FLOATPIM.e_cell * 1e15:g} fJ",
         "assumed", "[6] not available here"],
    ]
    text = (
        "Bit-level model: `model/pim/subarray.py` (a 1024 x 1024 1T-1R SOT-MRAM sub-array whose only operations are "
        "read, write, search and the stateful AND/OR/XOR of Fig. 1; one lane per column, numpy bit planes) and "
        "`model/pim/arith.py` (the Fig. 3 full adder, FP32 add with search alignment, FP32 mul by shift-and-add; "
        "IEEE round to nearest even, exact subnormals, canonical NaN 0x7FC00000). A step is a read phase and a "
        "write phase of any number of distinct cells per lane, so step counts are schedule depths and energy "
        "counts every cell; the executed schedules are data-independent (same steps for every lane). "
        f"Runs: {add.n} additions and {mul.n} multiplications ({len(add.passes)} / {len(mul.passes)} passes of "
        f"up to 1024 column-parallel lanes; {add.rows_used} / {mul.rows_used} rows per lane), seed {ctx.seed}.\n\n"
        "**Why the executed counts exceed eqs. (2)-(3).** The formulas count neither IEEE rounding and "
        "normalisation nor subnormals and special values (the tables name each phase), and eq. (3)'s 2 N_m^2 "
        "assumes half of the multiplier bits need an add, which holds for a multiplier shared by all lanes but "
        "not for column-parallel element-wise products. Where the formulas and our schedule do the same work they "
        "agree per bit: 4 steps per FA bit and 9 cell writes per FA bit (eq. (3)'s 4.5 N_m^2 = 9 x N_m^2 / 2).\n\n"
        "**FloatPIM.** The ratios against FloatPIM rest on our reconstruction of its FP32 add and multiply from "
        "the paper's description (13-step / 12-cell FA, bit-by-bit alignment O(N_m^2)) and on two assumed device "
        "numbers; the rows 'giving 3.3x / 1.8x' show what FloatPIM's per-cycle costs would have to be. The area "
        "claim (2.5x) is not modelled.")
    return Section(
        source=f"{PAPER}, Figs. 1-5, eqs. (1)-(3), Table 1, Sections 3-4",
        comparisons=comparisons,
        tables=[_phase_table(add, ADD_TERMS, e2, "eq. (2): executed FP32 addition by phase (one operation)"),
                _phase_table(mul, MUL_TERMS, e3, "eq. (3): executed FP32 multiplication by phase (one operation)"),
                Table(["operation", "term", "cycles", "cells switched"], fp_rows,
                      caption="FloatPIM FP32 reconstruction (model.pim.arith.floatpim_*_cost)"),
                Table(["layer", "kind", "shape", "parameters", "forward MACs / image"], lenet_rows,
                      caption="LeNet-type network on 8 x 8 digits with the paper's 21,690 parameters"),
                Table(["parameter", "value", "source", "note"], par_rows, caption="Cost parameters")],
        figures=[_fig(ctx, add, mul, mac, fp_mac)],
        text=text)
