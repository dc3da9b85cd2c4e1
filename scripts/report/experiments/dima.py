"""Report experiment ``mram-dima``: MRAM-DIMA accuracy under conductance variation, energy and delay.

The paper (``mram-dima-patil-iscas2019.txt``, abstract) claims an accuracy drop <= 0.5 % for LeNet-300-100 on
MNIST at 24 % cell-conductance variation and <= 1 % for a 9-layer CNN on CIFAR-10 at 12 %, and 4.5x lower energy
and 70x lower delay than the digital MRAM architecture of Fig. 1. Ours: the quantised digits networks of
:mod:`model.dima.net` with every MVM on the behavioural array of :mod:`model.dima.array` (accuracy over chips = seeds,
Student-t intervals from :func:`model.stats.t_interval`), and the per-operation energy/delay model of
:mod:`model.dima.energy` with its sensitivity. This module only presents.
"""

from __future__ import annotations

import math

import numpy as np

from model.dima.array import DIMAParams, lossless_adc_bits
from model.dima.energy import (PAPER_DELAY_RATIO, PAPER_ENERGY_RATIO, PARAM_INFO, EnergyParams, digital_cost,
                               dima_cost, ratios, sensitivity, solve_for_ratio)
from model.dima.net import QuantNet, accuracy_sweep, analog_mvm, sigma_at_drop
from model.stats import t_interval
from scripts.report.lib import Comparison, Figure, Section, Table, experiment, pyplot

PAPER = "mram-dima-patil-iscas2019.txt"
DEFAULT = DIMAParams(adc_bits=None)                                   # TMR 150 %, R_access = 0.25 R_P, lossless ADC
IDEAL_CELL = DIMAParams(tmr=math.inf, r_access=0.0, adc_bits=None)   # variation of the P cells only
#: curve key -> (network, parameters, label)
CURVES = {
    "mlp": ("mlp", DEFAULT, "MLP 64-300-100-10, TMR 150 %, R_acc 0.25 R_P"),
    "mlp-ideal-tmr": ("mlp", IDEAL_CELL, "MLP, TMR ∞ and R_acc 0 (P-cell variation only)"),
    "cnn": ("cnn", DEFAULT, "CNN (2 conv + fc), TMR 150 %, R_acc 0.25 R_P"),
    "cnn-ideal-tmr": ("cnn", IDEAL_CELL, "CNN, TMR ∞ and R_acc 0"),
}
#: the paper's claims: network -> (σ/μ, bound on the drop in % points, what the paper ran)
CLAIMS = {"mlp": (0.24, 0.5, "LeNet-300-100 on MNIST"), "cnn": (0.12, 1.0, "a 9-layer CNN on CIFAR-10")}


def _drop_stats(base, acc_row):
    return t_interval(100 * (base - acc_row)) if acc_row.size > 1 else (100 * (base - acc_row[0]),) * 3


def _accuracy(ctx):
    if ctx.quick:
        sigmas, n_seeds, curves = [0.0, 0.12, 0.24], 2, ("mlp", "cnn", "mlp-ideal-tmr")
    else:
        sigmas, n_seeds, curves = [round(0.03 * i, 2) for i in range(11)], 8, tuple(CURVES)
    nets = {name: QuantNet.load(name) for name in ("mlp", "cnn")}
    data = {name: net.test_set() for name, net in nets.items()}
    base = {name: net.accuracy(*data[name]) for name, net in nets.items()}
    progress = lambda it, desc: ctx.progress(it, desc=f"mram-dima {desc}")   # noqa: E731
    res = {c: accuracy_sweep(nets[CURVES[c][0]], sigmas, n_seeds, ctx.seed, CURVES[c][1], data=data[CURVES[c][0]],
                             progress=progress) for c in curves}
    return nets, data, base, sigmas, n_seeds, res


def _adc_table(nets, data, base, quick) -> Table:
    rows = []
    for name, net in nets.items():
        fan_in = [q.spec.fan_in for q in net.layers]
        for bits in ((6,) if quick else (5, 6, 7, 8, 9)):
            acc = net.accuracy(*data[name], _sigma0_mvm(net, bits))
            lossy = [f"{q.spec.name} (N={q.spec.fan_in}: step {1 << max(0, lossless_adc_bits(q.spec.fan_in) - bits)})"
                     for q in net.layers if lossless_adc_bits(q.spec.fan_in) > bits]
            rows.append([name, bits, round(100 * acc, 2), round(100 * (base[name] - acc), 2),
                         ", ".join(lossy) or "none (lossless)"])
        rows.append([name, "lossless", round(100 * base[name], 2), 0.0,
                     "per layer " + ", ".join(str(lossless_adc_bits(n)) for n in fan_in) + " bits"])
    return Table(["network", "ADC bits", "accuracy % (σ = 0)", "drop (% points)", "layers with a step > 1 count"],
                 rows, caption="ADC resolution alone (σ = 0, full scale N): the ADC step is a power of two of the "
                               "unit count (model/dima/array.py); lossless = ceil(log2(N+1)) bits")


def _layer_table(nets, data, base, seed) -> Table:
    """Which layer loses the accuracy: one layer at a time on the array (the others exact), at the paper's σ
    (full mode only: the quick report must stay under 10 s)."""
    rows, n_seeds = [], 4
    for name, net in nets.items():
        s_claim = CLAIMS[name][0]
        for i, q in enumerate(net.layers):
            acc = accuracy_sweep(net, [s_claim], n_seeds, seed, DEFAULT, data=data[name], layers={i})[0]
            d, lo, hi = _drop_stats(base[name], acc)
            rows.append([name, f"{q.spec.name} ({q.spec.kind}, N = {q.spec.fan_in}, M = {q.spec.n_out})",
                         f"{100 * s_claim:.0f} %", round(d, 2), f"[{lo:.2f}, {hi:.2f}]"])
    return Table(["network", "layer on the analog array (others exact)", "σ/μ", "mean drop (% points)",
                  "95 % t-CI"], rows,
                 caption=f"One layer at a time on the array (TMR 150 %, R_acc 0.25 R_P, lossless ADC), {n_seeds} "
                         "chips each: the last layer's codes reach the logits unscaled, a hidden layer's errors "
                         "are divided by 2**shift before the next layer")


def _sigma0_mvm(net, bits):
    return analog_mvm(DIMAParams(adc_bits=bits), None, net.b_w, net.b_a)


def _sweep_table(sigmas, base, res, n_seeds) -> Table:
    rows = []
    for c, acc in res.items():
        name = CURVES[c][0]
        for i, s in enumerate(sigmas):
            m, lo, hi = t_interval(100 * acc[i]) if s > 0 else (100 * acc[i, 0],) * 3
            d, dlo, dhi = _drop_stats(base[name], acc[i]) if s > 0 else (100 * (base[name] - acc[i, 0]),) * 3
            rows.append([c, f"{100 * s:.0f} %", round(m, 2), f"[{lo:.2f}, {hi:.2f}]", round(d, 2),
                         f"[{dlo:.2f}, {dhi:.2f}]"])
    return Table(["curve", "σ/μ", "mean accuracy %", "95 % t-CI", "mean drop (% points)", "95 % t-CI of the drop"],
                 rows, caption=f"Accuracy on the analog array over {n_seeds} chips (seeds) per σ/μ; σ = 0 is "
                               "deterministic. Curves: " + "; ".join(f"{k} = {v[2]}" for k, v in CURVES.items()))


def _plot_accuracy(ctx, sigmas, base, res, n_seeds):
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for ax, name in zip(axes, ("mlp", "cnn")):
        for c, acc in res.items():
            if CURVES[c][0] != name:
                continue
            stats = [t_interval(100 * row) if s > 0 else (100 * row[0],) * 3 for s, row in zip(sigmas, acc)]
            m, lo, hi = (np.array(v) for v in zip(*stats))
            x = 100 * np.array(sigmas)
            style = "--" if "ideal" in c else "-"
            ax.plot(x, m, style, marker="o", ms=3, label=CURVES[c][2])
            ax.fill_between(x, np.clip(lo, 0, 100), np.clip(hi, 0, 100), alpha=0.2)
        s_claim, bound, what = CLAIMS[name]
        ax.axhline(100 * base[name], color="k", lw=0.8, ls=":", label=f"digital integer network "
                                                                        f"({100 * base[name]:.2f} %)")
        ax.errorbar([100 * s_claim], [100 * base[name] - bound], yerr=[[0], [bound]], fmt="v", color="C3",
                    capsize=4, label=f"paper: drop ≤ {bound} % at {100 * s_claim:.0f} % ({what})")
        ax.set_xlabel("σ/μ of the MTJ conductance (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"({'a' if name == 'mlp' else 'b'}) digits {name.upper()}: mean and 95 % t-CI over {n_seeds} "
                     "chips", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return ctx.save_figure(fig, "dima_accuracy_vs_sigma.png")


def _plot_sensitivity(ctx, p, rows):
    plt = pyplot()
    er, dr = ratios(p)
    fig, axes = plt.subplots(1, 2, figsize=(13, 6))
    names = [r[0] for r in rows]
    for ax, (i_lo, i_hi), ref, paper, label in ((axes[0], (3, 4), er, PAPER_ENERGY_RATIO, "energy"),
                                                (axes[1], (5, 6), dr, PAPER_DELAY_RATIO, "delay")):
        for y, r in enumerate(rows):
            lo, hi = r[i_lo], r[i_hi]
            ax.plot([lo, hi], [y, y], color="C0", lw=6, solid_capstyle="butt", alpha=0.7)
            ax.plot([lo], [y], "o", color="C2", ms=4)
            ax.plot([hi], [y], "s", color="C3", ms=4)
        ax.axvline(ref, color="k", lw=1, label=f"ours at the defaults ({ref:.3g}x)")
        ax.axvline(paper, color="C3", lw=1, ls="--", label=f"paper ({paper:g}x)")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=8)
        ax.set_xlabel(f"{label}: digital / MRAM-DIMA (x lower)")
        ax.set_title(f"{label} ratio, one parameter at a time from its low (circle) to high (square) value",
                     fontsize=9)
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return ctx.save_figure(fig, "dima_energy_delay_sensitivity.png")


def _energy(ctx):
    p = EnergyParams()
    d, a = digital_cost(p), dima_cost(p)
    er, dr = ratios(p)
    rows = sensitivity(p)
    need = {r[0]: (solve_for_ratio(r[0], PAPER_ENERGY_RATIO, "energy", p),
                   solve_for_ratio(r[0], PAPER_DELAY_RATIO, "delay", p)) for r in rows}
    terms = Table(["architecture", "term", "per MVM (energy nJ, delay ns)", "share"],
                  [["digital (Fig. 1)", k, round(v * 1e9, 3), f"{100 * v / d.energy_j:.0f} %"]
                   for k, v in d.energy_terms.items()] +
                  [["MRAM-DIMA", k, round(v * 1e9, 3), f"{100 * v / a.energy_j:.0f} %"]
                   for k, v in a.energy_terms.items()] +
                  [["digital (Fig. 1)", f"delay: {k}", f"{v * 1e9:.4g} ns", f"{100 * v / d.delay_s:.0f} %"]
                   for k, v in d.delay_terms.items()] +
                  [["MRAM-DIMA", f"delay: {k}", f"{v * 1e9:.4g} ns", f"{100 * v / a.delay_s:.0f} %"]
                   for k, v in a.delay_terms.items()],
                  caption=f"One MVM, M = {p.m}, N = {p.n}, B_w = {p.b_w}, B_a = {p.b_a}, L = {p.mux_l}, ADC "
                          f"{p.adc_resolution} b; per operation: sense {p.e_sense_bit_j * 1e12:.3g} pJ/bit, MAC "
                          f"{p.e_mac_j * 1e12:.3g} pJ, conducting cell {p.e_cell_j * 1e12:.3g} pJ, ADC "
                          f"{p.e_adc_j * 1e12:.3g} pJ, t_ADC {p.t_adc_s * 1e9:.3g} ns")
    params = Table(["parameter", "value", "unit", "source / reason"],
                   [[k, getattr(p, k) if getattr(p, k) is not None else f"lossless ({p.adc_resolution})", u, src]
                    for k, (u, src, _) in PARAM_INFO.items()],
                   caption="Named per-operation parameters (model/dima/energy.py)")

    def fmt(v):
        return "not reachable" if v is None else f"{v:.3g}"

    sens = Table(["parameter", "low", "high", "energy ratio (low / high)", "delay ratio (low / high)",
                  f"value for {PAPER_ENERGY_RATIO:g}x energy", f"value for {PAPER_DELAY_RATIO:g}x delay"],
                 [[r[0], f"{r[1]:.3g}", f"{r[2]:.3g}", f"{r[3]:.3g} / {r[4]:.3g}", f"{r[5]:.3g} / {r[6]:.3g}",
                   fmt(need[r[0]][0]), fmt(need[r[0]][1])] for r in rows],
                 caption="Sensitivity: one parameter moved over its range, the others at the defaults; the last "
                         "columns solve for the value that alone gives the paper's ratio (searched from low / 10 to "
                         "high x 10)")
    fig = _plot_sensitivity(ctx, p, rows)
    reach_e = ", ".join(f"{k} = {v[0]:.3g}" for k, v in need.items() if v[0] is not None) or "none"
    reach_d = ", ".join(f"{k} = {v[1]:.3g}" for k, v in need.items() if v[1] is not None) or "none"
    top_d = max(d.energy_terms, key=d.energy_terms.get)
    top_a = max(a.energy_terms, key=a.energy_terms.get)
    comps = [
        Comparison("energy per MVM: digital MRAM (Fig. 1) / MRAM-DIMA", PAPER_ENERGY_RATIO, er, "x",
                   f"our per-operation model at assumed parameters (tables below): the digital energy is mostly "
                   f"'{top_d}', DIMA's mostly '{top_a}' (one conversion per row, slice and plane: "
                   f"{p.b_a * p.b_w} per output) and the cells conduct once per input-bit plane. The paper's "
                   f"energy model is not in our copy. One parameter alone reaches {PAPER_ENERGY_RATIO:g}x at: "
                   f"{reach_e}"),
        Comparison("delay per MVM: digital MRAM (Fig. 1) / MRAM-DIMA", PAPER_DELAY_RATIO, dr, "x",
                   f"digital: M·L reads of {p.t_read_s * 1e9:g} ns; DIMA: all M rows at once, B_a·B_w = "
                   f"{p.b_a * p.b_w} steps of max(t_int, R·t_ADC). The ratio is M·L·t_read over that, so it scales "
                   f"with the array size the paper does not give; one parameter alone reaches "
                   f"{PAPER_DELAY_RATIO:g}x at: {reach_d}"),
    ]
    return comps, [terms, params, sens], fig, (p, er, dr)


def _accuracy_comparisons(sigmas, base, res, n_seeds, nets) -> list[Comparison]:
    rows = []
    for name in ("mlp", "cnn"):
        s_claim, bound, what = CLAIMS[name]
        i = sigmas.index(s_claim)
        shape = ("64-300-100-10 MLP (the paper's 784-300-100-10 with an 8 x 8 input)" if name == "mlp" else
                 "3-MVM-layer CNN (2 conv 3x3 + fc, 2 842 weights)")
        data_note = (f"data: scikit-learn digits, 8 x 8 pixels, {len(nets[name].test_indices)} test images (the "
                     f"paper: {what}); {shape}, {nets[name].b_w}-bit weights, {nets[name].b_a}-bit activations; drop "
                     f"against the same integer network computed exactly ({100 * base[name]:.2f} %)")
        for c in (name, f"{name}-ideal-tmr"):
            if c not in res:
                continue
            d, lo, hi = _drop_stats(base[name], res[c][i])
            cell = "TMR 150 %, R_acc 0.25 R_P" if "ideal" not in c else "TMR ∞, R_acc 0"
            rows.append(Comparison(f"accuracy drop at σ/μ = {100 * s_claim:.0f} %, digits {name.upper()} ({cell})",
                                   bound, round(d, 3), "% points",
                                   f"paper: ≤ {bound} % ({what}; an upper bound); ours: mean over {n_seeds} chips, "
                                   f"95 % t-CI [{lo:.2f}, {hi:.2f}]. {data_note}. A larger drop: each ADC code sums "
                                   "the variation of all conducting cells of its slice (AP cells too, "
                                   "with finite TMR), and the MSB slice and plane weigh it by up to 2^(B_w+B_a-2)"))
            drops = [_drop_stats(base[name], row)[0] for row in res[c]]
            at = sigma_at_drop(sigmas, drops, bound)
            rows.append(Comparison(f"largest σ/μ with mean drop ≤ {bound} %, digits {name.upper()} ({cell})",
                                   100 * s_claim, None if at is None else round(100 * at, 2), "%",
                                   "ours: first crossing of the mean-drop curve, linear between grid points "
                                   f"({', '.join(f'{100 * s:.0f}' for s in sigmas)} %)" +
                                   (" — exceeded at the first grid point" if at is None else "")))
    return rows


def _text(p, er, dr, nets) -> str:
    mlp = nets["mlp"].metadata
    cnn = nets["cnn"].metadata
    return (
        "**Model** (`model/dima/array.py`, every decision documented there): W of M x N with B_w-bit two's-complement "
        "weights, one bit per 1T-1MTJ cell (Fig. 1), unsigned B_a-bit inputs applied bit-serially on the bitlines; "
        "each row's sourceline sums the currents of one weight-bit slice (all rows at once), a replica of the AP "
        "current is subtracted and an ADC gives one code per (output, slice, plane); the post-processing RTL "
        "(`hw/dima_post.py`, bit-exact against `ref_dima_post` in the Amaranth simulator and under Verilator, "
        "`tb/test_dima.py` runs the MLP's first layer on codes from this model with σ > 0) recombines them. "
        "Conductance variation σ/μ is drawn once per cell (a chip), on the MTJ; finite TMR (150 %) and the access "
        "transistor (0.25 R_P) are assumptions: the paper's values are beyond our copy. At σ = 0 with a lossless ADC "
        "the array computes W x exactly.\n\n"
        f"**Networks** (`model/dima/net.py`, trained in numpy by `scripts/train/dima.py`): MLP float "
        f"{100 * mlp['test_accuracy_float']:.2f} %, integer {100 * mlp['test_accuracy_int']:.2f} %; CNN float "
        f"{100 * cnn['test_accuracy_float']:.2f} %, integer {100 * cnn['test_accuracy_int']:.2f} % (quantisation-aware "
        "fine-tuning, power-of-two requantisation that the post-processor realises with bias + shift + ReLU). "
        "**Data-set difference:** the paper's claims are for MNIST (28 x 28, 10 000 test images) and CIFAR-10 "
        "(a 9-layer CNN); ours are 8 x 8 digits with 540 test images (one image = 0.19 % points), so the drops are "
        "an analogue, not a reproduction.\n\n"
        "**Why our drops are larger.** An ADC code's error is the sum of the deviations of every conducting cell of "
        "its slice; with TMR 150 % the AP cells conduct 40 % of a P cell's current and carry variation too, and "
        "the code's rounding hides only errors below half a count. Removing the AP current and the access "
        "transistor (TMR ∞) moves the curves a long way toward the paper's. The small CNN is hit hardest; the "
        "per-layer table shows where the drop comes from. The paper's own model (ADC range, how many "
        "rows are summed, σ applied to what) is not in our copy.\n\n"
        f"**Energy and delay** (`model/dima/energy.py`): at our defaults MRAM-DIMA is {er:.3g}x lower in energy "
        f"({'more' if er < 1 else 'less'} energy than the digital read-out: it reads every cell once per input-bit "
        f"plane and converts every (row, slice, plane) sum) and {dr:.3g}x lower in delay. The "
        "delay ratio is mostly set by array size and ADC sharing (all rows convert at once); the energy ratio by "
        "the ADC (Walden FOM, resolution) and the sense energy of the digital read, parameters our copy of the paper "
        "does not give: see the sensitivity table and figure.")


@experiment("mram-dima", "MRAM-DIMA: analog MVM accuracy under conductance variation, energy and delay (Patil et al.)",
            order=80)
def mram_dima(ctx) -> Section:
    nets, data, base, sigmas, n_seeds, res = _accuracy(ctx)
    fig_acc = _plot_accuracy(ctx, sigmas, base, res, n_seeds)
    comps_e, tables_e, fig_e, (p, er, dr) = _energy(ctx)
    return Section(
        source=f"{PAPER}: abstract, Sec. I and II (eq. (1), Fig. 1); DIMA pipeline: Kang et al., JSSC 2018, Kang, "
               "Gonugondla, Shanbhag, Proc. IEEE 2020",
        comparisons=_accuracy_comparisons(sigmas, base, res, n_seeds, nets) + comps_e,
        tables=[_sweep_table(sigmas, base, res, n_seeds),
                *([] if ctx.quick else [_layer_table(nets, data, base, ctx.seed)]),
                _adc_table(nets, data, base, ctx.quick), *tables_e],
        figures=[Figure(fig_acc, "Accuracy on the MRAM-DIMA model vs σ/μ of the MTJ conductance (mean, 95 % t-CI "
                                 "over chips), with the paper's claims"),
                 Figure(fig_e, "Energy and delay ratios (digital / MRAM-DIMA) when one unknown parameter moves over "
                               "its range")],
        text=_text(p, er, dr, nets))
