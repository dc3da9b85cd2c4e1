"""Report experiment ``stt-delta``: STT-MRAM Δ scaling and PT guard-band against STT-AI Section V.C/V.D.

Reproduces the paper's thermal-stability numbers (Δ = 39 → Δ_PT_GB = 55 for 3-year weight storage at BER 1e-9,
19.5 → 27.5 for the 3-s global buffer at BER 1e-8, 12.5 → 17.5 for the LSB bank at BER 1e-5) with
:mod:`model.stt_ai.stt_mram` under two attempt times τ: the physical 1 ns (our default) and the 1 s that the paper's
numbers imply; and draws Fig. 15 / Fig. 17 analogues (retention, read and write pulse widths vs Δ). Every number
comes from a :mod:`model.stt_ai.stt_mram` function; this module only presents them.
"""

from __future__ import annotations

import numpy as np

from model.stt_ai import stt_mram as stt
from scripts.report.lib import Comparison, Figure, Section, Table, experiment, pyplot

PAPER = "stt-ai-mishty-sadi.txt"
YEAR = stt.SECONDS_PER_YEAR

#: (name, retention [s], BER, paper Δ_scaled, paper Δ_PT_GB, where the paper states it)
CASES = [
    ("weights 3 y, BER 1e-9", 3 * YEAR, 1e-9, 39.0, 55.0, "Sec. V.C, Fig. 15(a)"),
    ("GLB 3 s, BER 1e-8", 3.0, 1e-8, 19.5, 27.5, "Sec. V.C, Fig. 15(b)"),
    ("LSB bank 3 s (assumed), BER 1e-5", 3.0, 1e-5, 12.5, 17.5, "Sec. V.D, Fig. 17"),
]
TAU_PHYS = stt.TAU_ATTEMPT_S
TAU_FIT = stt.TAU_PAPER_FIT_S
GB = stt.PAPER_GUARD_BAND
BASE_DELTA = 60.0   # the paper's 10-year base case ([6], [13]) for Fig. 15(c)-(f)
I_READ = (0.2, 0.3, 0.4, 0.5)
I_WRITE = (1.5, 2.0, 3.0, 5.0)


#: The cases whose Δ the paper's design rests on (the scorecard rows): name -> what the memory holds.
HEADLINE_CASES = {"weights 3 y, BER 1e-9": "3-year weight storage at BER 1e-9",
                  "GLB 3 s, BER 1e-8": "the 3-s global buffer at BER 1e-8"}
#: The paper quotes Δ in steps of 0.5 (Figs. 15, 17): a value within half a step of it is reproduced.
HALF_STEP = 0.25


def _status(diff: float, variant: str, cause: str) -> str:
    """Scorecard status: reproduced with ``variant`` when ``|diff| <= HALF_STEP``, else ``differs: cause``."""
    return f"reproduced with {variant}" if abs(diff) <= HALF_STEP else f"differs: {cause}"


def _fmt_t(seconds: float) -> str:
    from scripts.common.options import format_duration
    return format_duration(seconds)


def _comparisons() -> list[Comparison]:
    rows = []
    for name, t, ber, d_paper, gb_paper, where in CASES:
        d_fit = stt.delta_for_retention(t, ber, TAU_FIT)
        d_phys = stt.delta_for_retention(t, ber, TAU_PHYS)
        tau_fit = stt.attempt_time_for(d_paper, t, ber)
        gb_of_paper = stt.guard_banded_delta(d_paper, GB)
        t_nom = stt.implied_nominal_temperature(d_paper, gb_paper, GB.sigma_rel, GB.t_hot_k)
        gb_fit = stt.guard_banded_delta(d_fit, GB)
        head = {}, {}
        if name in HEADLINE_CASES:
            head = (dict(headline=f"Δ_scaled = {d_paper:g} for {HEADLINE_CASES[name]} ({where})",
                         status=_status(d_fit - d_paper, "τ = 1 s (the paper states no τ)",
                                        f"Δ {d_fit:.2f} at τ = 1 s")),
                    dict(headline=f"guard-banded Δ_PT_GB = {gb_paper:g} for {HEADLINE_CASES[name]} (eq. 17)",
                         status=_status(gb_fit - gb_paper, "τ = 1 s",
                                        f"{gb_fit:.2f}: T_nom is unstated, ours 300 K; the paper's {gb_paper:g} "
                                        f"needs T_nom = {t_nom:.1f} K")))
        rows += [
            Comparison(f"{name}: Δ_scaled, τ = 1 s", d_paper, d_fit, "",
                       f"eq. 14 solved for Δ ({where}); the paper reads Δ off its plot in 0.5 steps", **head[0]),
            Comparison(f"{name}: Δ_scaled, τ = 1 ns", d_paper, d_phys, "",
                       "eq. 14 with the physical attempt time (our default): ln(1e9) ≈ 20.7 more than at τ = 1 s"),
            Comparison(f"{name}: τ that reproduces the paper's Δ", None, tau_fit, "s",
                       "eq. 14 solved for τ at the paper's Δ; the paper never states τ"),
            Comparison(f"{name}: Δ_PT_GB from the paper's Δ (eq. 17)", gb_paper, gb_of_paper, "",
                       f"σ = 2.1 %, T_hot = 393 K, T_nom = 300 K (ours, unstated in the paper); the paper's "
                       f"value needs T_nom = {t_nom:.1f} K"),
            Comparison(f"{name}: Δ_PT_GB, τ = 1 s", gb_paper, gb_fit, "",
                       "eq. 14 then eq. 17, end to end", **head[1]),
            Comparison(f"{name}: Δ_PT_GB, τ = 1 ns", gb_paper, stt.guard_banded_delta(d_phys, GB), "",
                       "eq. 14 then eq. 17 with the physical τ"),
            Comparison(f"{name}: retention at the paper's Δ, τ = 1 ns", t, stt.retention_time(d_paper, ber, TAU_PHYS),
                       "s", "eq. 14 inverted: with τ = 1 ns the paper's Δ holds data at its BER for "
                            f"{_fmt_t(stt.retention_time(d_paper, ber, TAU_PHYS))}, not {_fmt_t(t)}"),
        ]
    return rows


def _tables() -> list[Table]:
    tau_rows, gb_rows, pulse_rows = [], [], []
    for name, t, ber, d_paper, gb_paper, _ in CASES:
        tau_rows.append([name, _fmt_t(t), ber, d_paper, stt.attempt_time_for(d_paper, t, ber),
                         stt.delta_for_retention(t, ber, TAU_FIT), stt.delta_for_retention(t, ber, TAU_PHYS),
                         _fmt_t(stt.retention_time(d_paper, ber, TAU_PHYS))])
        gb_rows.append([name, d_paper, gb_paper, stt.guard_banded_delta(d_paper, GB),
                        stt.delta_scaled_protected(gb_paper, GB),
                        stt.implied_nominal_temperature(d_paper, gb_paper, GB.sigma_rel, GB.t_hot_k),
                        stt.delta_pt_max(gb_paper, GB)])
        for tau_label, tau in (("1 s", TAU_FIT), ("1 ns", TAU_PHYS)):
            d = stt.design_delta(t, ber, tau, GB, stt.DeviceParams(i_write_ratio=2.0, wer=ber))
            tw_nom = stt.write_pulse_width(d.delta_pt_gb, 2.0, ber)
            tw0 = stt.write_pulse_width(BASE_DELTA, 2.0, ber)
            pulse_rows.append([name, tau_label, d.delta_scaled, d.delta_pt_gb, d.delta_pt_max,
                               _fmt_t(stt.read_pulse_width(d.delta_scaled, 0.3, ber, TAU_PHYS)),
                               _fmt_t(d.write_pulse_s), tw_nom / tw0])
    return [
        Table(["case", "retention", "BER", "Δ paper", "τ fitted [s]", "Δ at τ = 1 s", "Δ at τ = 1 ns",
               "retention of paper Δ at τ = 1 ns"], tau_rows,
              caption="Attempt time τ of eq. (14): the τ each paper Δ implies, and Δ under both τ choices"),
        Table(["case", "Δ_scaled (paper)", "Δ_PT_GB paper", "Δ_PT_GB eq. 17 (T_nom 300 K)",
               "Δ_scaled protected by paper's Δ_PT_GB", "T_nom implied by paper [K]",
               "Δ_PT_MAX eq. 18 (paper Δ_PT_GB)"],
              gb_rows, caption="Guard-band eqs. (17)-(18), σ = 2.1 % of the mean, T_hot = 393 K, T_cold = 253 K"),
        Table(["case", "τ used for Δ_scaled (eq. 14)", "Δ_scaled", "Δ_PT_GB", "Δ_PT_MAX",
               "read pulse ≤ (I_r/I_c 0.3, at Δ_scaled)",
               "write pulse ≥ (I_w/I_c 2, at Δ_PT_MAX)", "write pulse at Δ_PT_GB / at base Δ = 60"], pulse_rows,
              caption="Pulse widths at the design points (eq. 15 with τ = 1 ns, eq. 16 with τ_write = 1 ns; "
                      "P_RD = WER = the case's BER). The τ = 1 s design points have Δ_scaled ln(1e9) ≈ 20.7 "
                      "lower, so at I_r/I_c = 0.3 their allowed read pulse is e^(0.7·20.7) ≈ 2e6 times shorter "
                      "(ps, not µs): read at ns pulses needs a lower I_r/I_c. Write pulses hardly change with Δ "
                      "(ln Δ)."),
    ]


def _fig_retention(ctx, deltas) -> Figure:
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colors = {1e-9: "C0", 1e-8: "C1", 1e-5: "C2"}
    for ax, tau, label in ((axes[0], TAU_PHYS, "τ = 1 ns (physical, our default)"),
                           (axes[1], TAU_FIT, "τ = 1 s (reproduces the paper)")):
        for ber, c in colors.items():
            ax.semilogy(deltas, stt.retention_time(deltas, ber, tau), color=c, label=f"BER {ber:g}")
        for name, t, ber, d_paper, _, _ in CASES:
            ax.plot([d_paper], [t], "o", color=colors[ber], mec="k", ms=7)
            ax.plot([stt.delta_for_retention(t, ber, tau)], [t], "x", color=colors[ber], ms=8, mew=2)
        for t, txt, k in ((3 * YEAR, "3 years", 0.08), (3.0, "3 s", 1.6), (10 * YEAR, "10 years", 1.6)):
            ax.axhline(t, color="0.6", lw=0.8, ls="--")
            ax.text(deltas[0] + 0.5, t * k, txt, fontsize=8, color="0.35")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("thermal stability Δ (worst case, Δ_scaled)")
        ax.grid(True, which="major", alpha=0.3)
        ax.set_ylim(1e-12, 1e12)
    axes[0].set_ylabel("retention time at target BER [s]  (eq. 14)")
    axes[0].legend(loc="lower right", fontsize=8, title="o paper's Δ, x ours", title_fontsize=8)
    fig.suptitle("Fig. 15(a),(b) analogue: retention time vs Δ", fontsize=11)
    fig.tight_layout()
    path = ctx.save_figure(fig, "stt_delta_fig15ab_retention.png")
    return Figure(path, "Fig. 15(a),(b) analogue: retention time at BER 1e-9 / 1e-8 / 1e-5 vs Δ (eq. 14). "
                        "Left: τ = 1 ns; right: τ = 1 s. Circles: the paper's (Δ, retention) points; crosses: our "
                        "Δ for the same retention. The paper's points lie on the τ = 1 s curves.")


def _fig_pulses(ctx, deltas) -> Figure:
    plt = pyplot()

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ber = 1e-8
    for i in I_READ:
        axes[0].semilogy(deltas, stt.read_pulse_width(deltas, i, ber, TAU_PHYS), label=f"I_r/I_c = {i:g}")
    axes[0].set_ylabel("longest read pulse [s]  (eq. 15)")
    axes[0].set_title(f"(c),(d) read pulse, P_RD = {ber:g}, τ = 1 ns", fontsize=10)
    axes[0].axhline(1e-9, color="0.6", lw=0.8, ls="--")
    axes[0].text(deltas[0] + 0.5, 1.6e-9, "1 ns", fontsize=8, color="0.35")
    axes[0].set_ylim(1e-16, 1e4)
    for i in I_WRITE:
        tw = stt.write_pulse_width(deltas, i, ber, stt.TAU_WRITE_S)
        axes[1].plot(deltas, tw * 1e9, label=f"I_w/I_c = {i:g}")
        axes[2].plot(deltas, tw / stt.write_pulse_width(BASE_DELTA, i, ber, stt.TAU_WRITE_S), label=f"I_w/I_c = {i:g}")
    axes[1].set_ylabel("shortest write pulse [ns]  (eq. 16)")
    axes[1].set_title(f"(e),(f) write pulse, WER = {ber:g}, τ_write = 1 ns", fontsize=10)
    axes[2].set_ylabel(f"write pulse / write pulse at Δ = {BASE_DELTA:g}")
    axes[2].set_title("write latency scaling vs 10-year base case (τ cancels)", fontsize=10)
    for ax in axes:
        for _, _, _, d_paper, gb_paper, _ in CASES:
            ax.axvline(gb_paper, color="0.75", lw=0.8, ls=":")
        ax.axvline(BASE_DELTA, color="k", lw=0.8, ls=":")
        ax.set_xlabel("Δ")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, **({"loc": "center right", "bbox_to_anchor": (1.0, 0.62)} if ax is axes[1] else {}))
    fig.suptitle("Fig. 15(c)-(f) analogue: read and write pulse widths vs Δ (dotted: paper's Δ_PT_GB 17.5, 27.5, 55; "
                 "black: base Δ = 60)", fontsize=10)
    fig.tight_layout()
    path = ctx.save_figure(fig, "stt_delta_fig15cf_pulses.png")
    saving = 1 - stt.write_pulse_width(27.5, 2.0, ber) / stt.write_pulse_width(BASE_DELTA, 2.0, ber)
    return Figure(path, "Fig. 15(c)-(f) analogue. Left: the longest read pulse keeping P_RD ≤ 1e-8 shrinks as "
                        "e^{Δ(1−I_r/I_c)}. Middle/right: the shortest write pulse for WER ≤ 1e-8 grows only with "
                        f"ln Δ (scaling Δ 60 → 27.5 saves {saving * 100:.1f} % at I_w/I_c = 2); I_w/I_c is the "
                        "real knob, as the paper says.")


def _fig_lsb(ctx, deltas) -> Figure:
    plt = pyplot()

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ber, c in ((1e-8, "C1"), (1e-5, "C2")):
        axes[0].semilogy(deltas, stt.retention_time(deltas, ber, TAU_PHYS), color=c, label=f"BER {ber:g}, τ = 1 ns")
        axes[0].semilogy(deltas, stt.retention_time(deltas, ber, TAU_FIT), color=c, ls="--",
                         label=f"BER {ber:g}, τ = 1 s")
        axes[1].semilogy(deltas, stt.read_pulse_width(deltas, 0.3, ber, TAU_PHYS), color=c,
                         label=f"P_RD {ber:g}, I_r/I_c 0.3")
        axes[2].plot(deltas, 1e9 * stt.write_pulse_width(deltas, 2.0, ber), color=c, label=f"WER {ber:g}, I_w/I_c 2")
    axes[0].axhline(3.0, color="0.6", lw=0.8, ls="--")
    axes[0].plot([12.5], [3.0], "o", color="C2", mec="k", label="paper: Δ 12.5 (3 s assumed)")
    axes[0].plot([19.5], [3.0], "o", color="C1", mec="k", label="paper: Δ 19.5, 3 s")
    axes[0].set_ylabel("retention time [s]  (eq. 14)")
    axes[0].set_ylim(1e-12, 1e12)
    axes[1].set_ylim(1e-15, 1e4)
    axes[1].set_ylabel("longest read pulse [s]  (eq. 15, τ = 1 ns)")
    axes[2].set_ylabel("shortest write pulse [ns]  (eq. 16, τ_write = 1 ns)")
    for ax, title in zip(axes, ("(a) retention", "(b) read", "(c) write")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("Δ")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Fig. 17 analogue: relaxing the BER from 1e-8 (MSB bank) to 1e-5 (LSB bank)", fontsize=10)
    fig.tight_layout()
    path = ctx.save_figure(fig, "stt_delta_fig17_lsb.png")
    return Figure(path, "Fig. 17 analogue: relaxing BER 1e-8 → 1e-5 lowers the Δ for a given retention by "
                        "ln(1e3) ≈ 6.9 (paper: 19.5 → 12.5, a step of 7), lengthens the allowed read pulse by 1e3 "
                        "and shortens the write pulse by τ·ln(1e3)/(I_w/I_c − 1).")


def _fig_guard_band(ctx, deltas) -> Figure:
    plt = pyplot()

    t_nom_fit = stt.fitted_nominal_temperature([c[3] for c in CASES], [c[4] for c in CASES], GB.sigma_rel,
                                               GB.t_hot_k)
    alt = stt.GuardBand(GB.sigma_rel, GB.t_hot_k, GB.t_cold_k, t_nom_fit)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.4))
    gb = stt.guard_banded_delta(deltas, GB)
    ax.plot(deltas, gb, label="Δ_PT_GB, eq. 17 (T_nom 300 K)")
    ax.plot(deltas, stt.guard_banded_delta(deltas, alt), ls="--", label=f"Δ_PT_GB, eq. 17 (T_nom {t_nom_fit:.1f} K)")
    ax.plot(deltas, stt.delta_pt_max(gb, GB), label="Δ_PT_MAX, eq. 18 (T_nom 300 K)")
    ax.plot(deltas, deltas, color="0.6", lw=0.8, label="no guard-band")
    ax.plot([c[3] for c in CASES], [c[4] for c in CASES], "ko", label="paper (39→55, 19.5→27.5, 12.5→17.5)")
    ax.set_xlabel("Δ_scaled (worst case)")
    ax.set_ylabel("designed Δ")
    ax.set_title("PT guard-band: σ = 2.1 %, T_hot 393 K, T_cold 253 K", fontsize=10)
    ax2.axhline(stt.guard_banded_delta(1.0, GB), color="C0", label="eq. 17, T_nom 300 K")
    ax2.axhline(stt.guard_banded_delta(1.0, alt), color="C1", ls="--", label=f"eq. 17, T_nom {t_nom_fit:.1f} K")
    ax2.plot([c[3] for c in CASES], [c[4] / c[3] for c in CASES], "ko", label="paper")
    ax2.set_xlabel("Δ_scaled (worst case)")
    ax2.set_ylabel("Δ_PT_GB / Δ_scaled")
    ax2.set_title("guard-band factor", fontsize=10)
    ax2.set_xlim(deltas[0], 45)
    for a in (ax, ax2):
        a.grid(True, alpha=0.3)
        a.legend(fontsize=8)
    fig.tight_layout()
    path = ctx.save_figure(fig, "stt_delta_guard_band.png")
    ours = stt.guard_banded_delta(1.0, GB)
    return Figure(path, f"Guard-band eqs. (17)-(18): our factor Δ_PT_GB/Δ_scaled = {ours:.4f} (T_nom = 300 K) "
                        f"against the paper's {CASES[0][4] / CASES[0][3]:.4f} / {CASES[1][4] / CASES[1][3]:.4f} / "
                        f"{CASES[2][4] / CASES[2][3]:.4f}; T_nom ≈ {t_nom_fit:.1f} K would pass through them.")


@experiment("stt-delta", "STT-MRAM thermal stability scaling and PT guard-band", order=50)
def stt_delta(ctx) -> Section:
    n = 60 if ctx.quick else 400
    deltas = np.linspace(8.0, 90.0, n)
    figures = [f(ctx, deltas) for f in ctx.progress([_fig_retention, _fig_pulses, _fig_lsb, _fig_guard_band],
                                                     desc="stt-delta figures")]
    fits = [stt.attempt_time_for(c[3], c[1], c[2]) for c in CASES]
    phys = [stt.delta_for_retention(c[1], c[2], TAU_PHYS) for c in CASES]
    fit_d = [stt.delta_for_retention(c[1], c[2], TAU_FIT) for c in CASES]
    gb = [stt.guard_banded_delta(c[3], GB) for c in CASES]
    prot = [stt.delta_scaled_protected(c[4], GB) for c in CASES]
    t_noms = [stt.implied_nominal_temperature(c[3], c[4], GB.sigma_rel, GB.t_hot_k) for c in CASES]
    ret_glb = stt.retention_time(CASES[1][3], CASES[1][2], TAU_PHYS)
    excess = [g / c[4] - 1 for g, c in zip(gb, CASES)]

    def arrows(a, b, fmt=".1f"):
        return ", ".join(f"{x:g} → {y:{fmt}}" for x, y in zip(a, b))

    text = f"""
Model: `model/stt_ai/stt_mram.py`, eqs. (12)-(18). Δ_scaled is the worst-case (hot, −4σ) Δ from eq. (14) for the retention
time and BER; Δ_PT_GB is eq. (17) taken with equality; Δ_PT_MAX is eq. (18).

**Attempt time τ.** The paper does not state τ. Solving eq. (14) at its three design points gives
τ = {fits[0]:.3f} s, {fits[1]:.3f} s and {fits[2]:.3f} s — all ≈ 1 s (the spread comes from the paper rounding Δ
to 0.5), so the paper evidently used τ = 1 with time in seconds; with τ = 1 s we get
{", ".join(f"{d:.2f}" for d in fit_d)}. The physical attempt time of the thermal-activation model it cites
is ~1 ns; with it every Δ_scaled is ln(1e9) ≈ {np.log(1e9):.1f} higher ({arrows([c[3] for c in CASES], phys)}), and
the paper's Δ = {CASES[1][3]:g} holds data at BER {CASES[1][2]:g} for only {_fmt_t(ret_glb)}. The tool uses
τ = 1 ns by default (`mram-accel delta --tau paper` selects 1 s). Both are shown below; τ is not tuned to match.
The paper states no retention time for the LSB bank; we assume the GLB's 3 s.

**Guard-band.** With σ = 2.1 % of the mean, T_hot = 393 K and T_nom = 300 K (the paper does not state T_nom),
eq. (17) maps {arrows([c[3] for c in CASES], gb, ".2f")}: {min(excess) * 100:.1f}-{max(excess) * 100:.1f} %
above the paper's {" / ".join(f"{c[4]:g}" for c in CASES)}, which need
T_nom = {" / ".join(f"{t:.1f}" for t in t_noms)} K.
Put the other way, the paper's Δ_PT_GB values protect only Δ_scaled = {" / ".join(f"{p:.2f}" for p in prot)} at
300 K, a little below the targets. We keep T_nom = 300 K and show both numbers.
"""
    return Section(source=f"{PAPER}, Section IV (eqs. 12-18), Section V.C-D, Fig. 15, Fig. 17",
                   comparisons=_comparisons(), tables=_tables(), figures=figures, text=text)
