"""Report experiment "glb-dse": global-buffer design-space exploration of the STT-AI paper (Section V.A/B/E).

Reproduces Figs. 10 (a), 11, 12, 13, 14 and 18 of stt-ai-mishty-sadi.txt over the models of :mod:`model.zoo`
and compares every quantitative claim side by side. The numbers come from :mod:`model.stt_ai.glb_explore` (sweeps of the
formulas of :mod:`model.stt_ai.dse`); this module only presents them: comparisons, tables, one helper per figure.
"""

from __future__ import annotations

import numpy as np

from model.stt_ai import dse
from model.stt_ai import glb_explore as ge
from model.zoo import MODEL_NAMES, PUBLISHED
from scripts.report.lib import Comparison, Figure, Section, Table, experiment, pyplot

SOURCE = "stt-ai-mishty-sadi.txt, Section III.B (Eqs. (2)-(11)), Section V.A/B/E (Figs. 10-14, 18), Table II"


def _mb(x):
    return float(x) / dse.MB


def _color(i):
    import matplotlib
    return matplotlib.colormaps["tab20"](i % 20)


def _style(i):
    return ("-", "--", ":")[(i // 10) % 3]


def _short(name):
    return name.replace("_", "-")


def _progress(ctx):
    """``ctx.progress`` with this experiment's name in front of every bar."""
    return lambda it, desc="", **kw: ctx.progress(it, desc=f"glb-dse: {desc}", **kw)


def _comparisons(ex: ge.Exploration, s: ge.Summary) -> list[Comparison]:
    names = ex.names
    n_models = len(names)
    cap = dse.GLB_PAPER_BYTES
    w = s.glb_int8_b2_layer
    worst_glb_layer = (f"{_short(s.glb_int8_b2_model)} {w['name']}: ifmap {_mb(w['ifmap']):.2f} + weights "
                       f"{_mb(w['weights']):.2f} + ofmap {_mb(w['ofmap']):.2f} MB")
    lat8, lat16 = s.latency_int8, s.latency_bf16
    return [
        Comparison("largest model, BF16 (Fig. 10a: '280MB ... to store the pre-trained models')", 280,
                   round(_mb(ex.size[(s.largest, "bf16")]), 1), "MB",
                   f"ours is {_short(s.largest)} (params incl. bias/BN, 1 MB = 2^20 B); the paper's 280/140 MB match "
                   f"the largest single model, not the sum (next rows); in 10^6 B: "
                   f"{ex.size[(s.largest, 'bf16')] / 1e6:.0f} MB"),
        Comparison("largest model, int8", 140, round(_mb(ex.size[(s.largest, "int8")]), 1), "MB",
                   f"{_short(s.largest)}"),
        Comparison("sum of all models, BF16 (if '280MB' meant all models)", 280, round(_mb(s.total_size["bf16"]), 1),
                   "MB", f"sum over our {n_models} models: the paper's figure cannot be a total over ~19 models"),
        Comparison("sum of all models, int8", 140, round(_mb(s.total_size["int8"]), 1), "MB", "as above"),
        Comparison("largest FC weight set, BF16 ('around 200MB')", 200, round(_mb(ex.fc_bytes[s.fc_largest]), 1),
                   "MB", f"{_short(s.fc_largest)} (VGG-16 and VGG-19 share the FC layers): FC weights only, "
                         f"25088x4096 + 4096x4096 + 4096x1000"),
        Comparison("GLB needed, int8, batch <= 2, worst model ('12MB would be enough')", 12,
                   round(_mb(s.glb_int8_b2), 2), "MB",
                   f"exceeding 12 MB at batch 2: {', '.join(map(_short, s.over_int8_b2)) or 'none'} (by "
                   f"{(s.glb_int8_b2 / cap - 1) * 100:.1f} %; {worst_glb_layer}); "
                   f"{n_models - len(s.over_int8_b2)}/{n_models} models fit"),
        Comparison("GLB needed, BF16, batch 1, worst model ('12MB would suffice ... for all models')", 12,
                   round(_mb(s.glb_bf16_b1), 2), "MB",
                   f"exceeding: {', '.join(map(_short, s.over_bf16_b1)) or 'none'} (same layer, same bytes as int8 "
                   f"batch 2)"),
        Comparison("models exceeding 12 MB at int8 batch 8 (paper: 'a few, e.g. Darknet53, VGG19, Nasnetlarge, "
                   "Xception')", "few", f"{len(s.over_int8_b8)}/{n_models}", "",
                   ", ".join(map(_short, s.over_int8_b8)) + "; the four the paper names are "
                   + ("all" if {"darknet53", "vgg19", "nasnet_large", "xception"} <= set(s.over_int8_b8)
                      else "not all")
                   + " among them"),
        Comparison("models with zero extra DRAM latency, 12 MB, int8 batch 8 ('zero for most')", "most",
                   f"{len(s.zero_latency_int8)}/{n_models}", "",
                   "excess bytes once over the DDR4 bus (decision 7 of model.stt_ai.dse)"),
        Comparison("max extra DRAM latency, 12 MB, int8 batch 8 ('around 2ms for few')", 2.0,
                   round(max(lat8.values()) * 1e3, 2), "ms",
                   f"worst {_short(max(lat8, key=lat8.get))}; dual-channel DDR4-2933 64-bit, "
                   f"{dse.DDR4_BANDWIDTH / 1e9:.1f} GB/s peak"),
        Comparison("max extra DRAM latency, 12 MB, BF16 batch 8 ('within 10ms')", 10.0,
                   round(max(lat16.values()) * 1e3, 2), "ms",
                   f"worst {_short(max(lat16, key=lat16.get))} (the approximated NASNet-Large); without it: "
                   f"{s.max_latency_bf16_exact * 1e3:.2f} ms"),
        Comparison("models with zero extra DRAM energy, 12 MB, int8 batch 8 (Fig. 12c: 'reduces to zero' for most)",
                   "most", f"{len(s.zero_energy_int8)}/{n_models}", "",
                   f"energy = extra bytes x 8 x {dse.DDR4_PJ_PER_BIT:g} pJ/bit (assumed)"),
        Comparison("models needing extra DRAM accesses, 12 MB, BF16 batch 8 (Fig. 12d: 'most models')", "most",
                   f"{len(s.extra_dram_bf16)}/{n_models}", "",
                   f"worst: {_short(s.worst_energy_bf16)} {s.max_energy_bf16 * 1e3:.0f} mJ"),
        Comparison("max GLB retention time, 42x42 MACs, batch 16, BF16 ('less than 1.5s')", 1.5, round(s.max_ret, 3),
                   "s", f"worst {_short(s.max_ret_model)} ({s.max_ret_pair[0]} -> {s.max_ret_pair[1]}); "
                        f"Eqs. (5)-(11), 17/11 cycles, 1 GHz, T_pool_relu = 0; a bound, so any value below 1.5 s "
                        f"agrees"),
        Comparison("models with max retention < 0.5 s ('most models')", "most", f"{len(s.below_half)}/{n_models}",
                   "", "above 0.5 s: " + ", ".join(_short(n) for n in names if n not in s.below_half)),
        Comparison("max retention if '42x42' counted PEs (5292 MACs)", 1.5, round(s.max_ret_pe, 3), "s",
                   "the other reading of the array size (decision 2); also below 1.5 s"),
        Comparison("max retention, int8 hardware (2 cycles per step; 'ms range')", "ms range",
                   f"{s.max_ret_int8 * 1e3:.0f} ms", "",
                   "paper: 'usually 1-2 clock cycles' for int8; we take 2 for conv and FC steps"),
        Comparison("retention the scaled MRAM provides vs the Fig. 14 need (Section V.D: '3 seconds ... much higher "
                   "than the minimum required as shown in Fig. 14')", 3.0,
                   round(s.max_ret, 3),
                   "s", f"max over models at 42x42 / batch 16; over our full sweeps it reaches "
                        f"{s.max_ret_vs_array:.2f} s ({ex.arrays[0]}x{ex.arrays[0]}, batch 16) and "
                        f"{s.max_ret_vs_batch:.2f} s (42x42, batch {ex.ret_batches[-1]}): small "
                        f"arrays or large batches need more than 3 s (the paper's sweep ranges are not stated)"),
        Comparison("models whose largest partial ofmap fits 52 KB BF16 ('most models')", "most",
                   f"{len(s.fit_scratchpad_bf16)}/{n_models}", "",
                   "not fitting: " + ", ".join(f"{_short(n)} ({ex.psum[(n, 'bf16')] / dse.KB:.0f} KB)"
                                               for n in names if n not in s.fit_scratchpad_bf16)),
        Comparison("models whose largest partial ofmap fits 26 KB int8", "most",
                   f"{len(s.fit_scratchpad_int8)}/{n_models}", "",
                   "int8 halves every partial ofmap, so the same models fit"),
    ]


def _tables(ex: ge.Exploration, s: ge.Summary) -> list[Table]:
    rows = []
    for n in ex.names:
        m = ex.models[n]
        rows.append([_short(n) + (" (approx.)" if m.approximate else ""), round(m.params / 1e6, 2),
                     round(m.macs / 1e9, 3), round(_mb(ex.size[(n, "int8")]), 1), round(_mb(ex.size[(n, "bf16")]), 1),
                     round(_mb(ex.glb[(n, "int8", 1)]), 2), round(_mb(ex.glb[(n, "int8", 2)]), 2),
                     round(_mb(ex.glb[(n, "int8", 8)]), 2), round(_mb(ex.glb[(n, "bf16", 1)]), 2),
                     round(s.latency_int8[n] * 1e3, 2), round(s.latency_bf16[n] * 1e3, 2), round(ex.ret[n].max, 3),
                     round(ex.psum[(n, "bf16")] / dse.KB, 1)])
    table = Table(["model", "params M", "GMACs", "int8 MB", "BF16 MB", "GLB int8 b1 MB", "GLB int8 b2 MB",
                   "GLB int8 b8 MB", "GLB BF16 b1 MB", "DRAM int8 b8 ms", "DRAM BF16 b8 ms", "max T_ret s",
                   "psum BF16 KB"], rows,
                  caption="Per model: size (Fig. 10a), GLB need (Fig. 11), extra DRAM latency at 12 MB (Fig. 12), "
                          "max retention at 42x42 MACs batch 16 BF16 (Fig. 13), largest partial ofmap (Fig. 18)")

    pub_rows = []
    for n in ex.names:
        params, p_tol, macs, m_tol, src = PUBLISHED[n]
        m = ex.models[n]
        pub_rows.append([_short(n), m.params, params, round(m.params / params, 4), m.macs,
                         macs if macs is not None else "—", round(m.macs / macs, 4) if macs else "—", src])
    pub_table = Table(["model", "params ours", "params published", "ratio", "MACs ours", "MACs published",
                       "ratio", "source"], pub_rows,
                      caption="Model zoo against published totals (params = weights + bias + BN gamma/beta; "
                              "Keras totals also count BN moving statistics)")
    return [table, pub_table]


def _fig10a(ctx, ex: ge.Exploration) -> Figure:
    plt = pyplot()
    names = ex.names
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(x, [_mb(ex.size[(n, "int8")]) for n in names], color="tab:blue")
    ax.set_ylabel("int8 model size (MB)")
    ax2 = ax.twinx()
    ax2.set_ylim(np.array(ax.get_ylim()) * 2)
    ax2.set_ylabel("BF16 model size (MB)")
    ax.set_xticks(x, [_short(n) for n in names], rotation=60, ha="right")
    ax.set_title("Fig. 10 (a) analogue: model sizes (1 MB = 2^20 B)")
    fig.tight_layout()
    p = ctx.save_figure(fig, "dse_fig10a_model_sizes.png")
    return Figure(p, "Fig. 10 (a) analogue: model storage in int8 (left axis) and BF16 (right axis, 2x)")


def _fig11(ctx, ex: ge.Exploration) -> Figure:
    plt = pyplot()
    names, batches = ex.names, ex.batches
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(batches)
    for i, b in enumerate(batches):
        ax.bar(x + (i - len(batches) / 2 + 0.5) * width, [_mb(ex.glb[(n, "int8", b)]) for n in names], width,
               label=f"batch {b}")
    ax.axhline(12, color="k", ls="--", lw=1, label="12 MB GLB")
    ax.set_yscale("log")
    ax.set_ylabel("GLB needed, int8 (MB)")
    ax2 = ax.twinx()
    ax2.set_yscale("log")
    ax2.set_ylim(np.array(ax.get_ylim()) * 2)
    ax2.set_ylabel("GLB needed, BF16 (MB)")
    ax.set_xticks(x, [_short(n) for n in names], rotation=60, ha="right")
    ax.legend(fontsize=7, ncol=3)
    ax.set_title("Fig. 11 analogue: largest conv-layer ifmap + weights + ofmap")
    fig.tight_layout()
    p = ctx.save_figure(fig, "dse_fig11_glb_vs_batch.png")
    return Figure(p, "Fig. 11 analogue: GLB capacity needed to avoid DRAM accesses, against batch size "
                     "(BF16 axis = 2 x int8 axis)")


def _fig12(ctx, ex: ge.Exploration) -> Figure:
    plt = pyplot()
    names, batches, glb_sizes_mb = ex.names, ex.batches, ex.glb_sizes_mb
    fig, axs = plt.subplots(2, 2, figsize=(12, 8))
    for col, d in enumerate(("int8", "bf16")):
        a = axs[0, col]
        for i, n in enumerate(names):
            a.plot(batches, [ex.dram_batch[(n, d, b)]["seconds"] * 1e3 for b in batches], marker="o", ms=3,
                   label=_short(n), color=_color(i), ls=_style(i))
        a.set_xscale("log", base=2)
        a.set_xlabel("batch size")
        a.set_ylabel("extra DRAM latency (ms)")
        a.set_title(f"({'ab'[col]}) {d}, 12 MB GLB")
        a = axs[1, col]
        for i, n in enumerate(names):
            a.plot(glb_sizes_mb, [ex.dram_glb[(n, d, g)]["joules"] * 1e3 for g in glb_sizes_mb], marker="o", ms=3,
                   label=_short(n), color=_color(i), ls=_style(i))
        a.set_xlabel("GLB size (MB)")
        a.set_ylabel("extra DRAM energy (mJ)")
        a.axvline(12, color="k", ls="--", lw=1)
        a.set_title(f"({'cd'[col]}) {d}, batch 8")
    axs[0, 0].legend(fontsize=6, ncol=2)
    fig.suptitle(f"Fig. 12 analogue: DDR4-2933 x2 ch x 64 bit = {dse.DDR4_BANDWIDTH / 1e9:.1f} GB/s, "
                 f"{dse.DDR4_PJ_PER_BIT:g} pJ/bit (assumed)")
    fig.tight_layout()
    p = ctx.save_figure(fig, "dse_fig12_extra_dram.png")
    return Figure(p, "Fig. 12 analogue: extra DRAM latency against batch (12 MB) and energy against GLB size "
                     "(batch 8), conv layers")


def _fig13(ctx, ex: ge.Exploration) -> Figure:
    plt = pyplot()
    names = ex.names
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.boxplot([ex.ret[n].t_ret for n in names], whis=(0, 100), widths=0.6)
    ax.set_xticks(np.arange(len(names)) + 1, [_short(n) for n in names], rotation=60, ha="right")
    ax.set_yscale("log")
    ax.axhline(1.5, color="r", ls="--", lw=1, label="1.5 s (paper's bound)")
    ax.axhline(0.5, color="g", ls=":", lw=1, label="0.5 s")
    ax.set_ylabel("T_ret per layer pair (s)")
    ax.legend(fontsize=8)
    ax.set_title("Fig. 13 analogue: GLB retention range, 42x42 MACs, batch 16, BF16 (17/11 cycles, 1 GHz)")
    fig.tight_layout()
    p = ctx.save_figure(fig, "dse_fig13_retention.png")
    return Figure(p, "Fig. 13 analogue: range (min-max, box = quartiles) of T_ret over the layer pairs")


def _fig14(ctx, ex: ge.Exploration) -> Figure:
    plt = pyplot()
    arrays, ret_batches = ex.arrays, ex.ret_batches
    fig, axs = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, n in enumerate(ex.names):
        kw = dict(marker="o", ms=3, label=_short(n), color=_color(i), ls=_style(i))
        axs[0].plot([a * a for a in arrays], ex.ret_vs_array[n], **kw)
        axs[1].plot(ret_batches, ex.ret_vs_batch[n], **kw)
    axs[0].set_xscale("log")
    axs[0].set_yscale("log")
    axs[0].set_xlabel("MACs in the square array (N x N)")
    axs[0].set_ylabel("max T_ret (s)")
    axs[0].set_title("(a) batch 16")
    axs[1].set_xscale("log", base=2)
    axs[1].set_yscale("log")
    axs[1].set_xlabel("batch size")
    axs[1].set_title("(b) 42x42 MACs")
    for a in axs:
        a.axhline(1.5, color="r", ls="--", lw=1)
    axs[1].legend(fontsize=6, ncol=2)
    fig.suptitle("Fig. 14 analogue: maximum GLB retention time, BF16")
    fig.tight_layout()
    p = ctx.save_figure(fig, "dse_fig14_retention_sweeps.png")
    return Figure(p, f"Fig. 14 analogue: max retention against array size ({', '.join(f'{a}x{a}' for a in arrays)}"
                     f") and batch ({', '.join(map(str, ret_batches))})")


def _fig18(ctx, ex: ge.Exploration) -> Figure:
    plt = pyplot()
    names = ex.names
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(x, [ex.psum[(n, "bf16")] / dse.KB for n in names], color="tab:orange")
    ax.axhline(52, color="k", ls="--", lw=1, label="52 KB scratchpad (BF16)")
    ax.set_ylabel("largest partial ofmap, BF16 (KB)")
    ax2 = ax.twinx()
    ax2.set_ylim(np.array(ax.get_ylim()) / 2)
    ax2.set_ylabel("int8 (KB)")
    ax.set_xticks(x, [_short(n) for n in names], rotation=60, ha="right")
    ax.legend(fontsize=8)
    ax.set_title("Fig. 18 analogue: one output channel of one image (out_h x out_w)")
    fig.tight_layout()
    p = ctx.save_figure(fig, "dse_fig18_partial_ofmap.png")
    return Figure(p, "Fig. 18 analogue: maximum partial-ofmap size per model")


def _text(n_models: int) -> str:
    return (
        f"{n_models} models from `model/zoo.py` (the paper analysed 19 without listing them; NASNet-Large is an "
        "explicitly labelled approximation, 0.2 % off Keras's parameter count). Formulas and every decision where "
        "the paper is vague are in `model/stt_ai/dse.py`: 1 MB = 2^20 B; '42x42' = 42 rows x 42 MAC columns (14 three-MAC "
        "PEs per row in conv mode; the PE reading is shown too); depthwise convs use in_c/groups input channels in "
        "Eq. (2); T_pool_relu = 0; layer pairs are consecutive conv/FC layers in execution order; the GLB analysis "
        "covers conv layers only, as in the paper; extra DRAM traffic = bytes above the GLB capacity, moved once, "
        f"at {dse.DDR4_BANDWIDTH / 1e9:.2f} GB/s (DDR4-2933, 2 channels x 64 bit, peak) and "
        f"{dse.DDR4_PJ_PER_BIT:g} pJ/bit (assumed; Horowitz ISSCC 2014 low end). The paper's own per-model numbers "
        "are only in its figures (not in the text), so only the quantitative claims of the text are compared."
    )


@experiment("glb-dse", "Global-buffer design-space exploration (STT-AI Figs. 10-14, 18)", order=60)
def glb_dse(ctx) -> Section:
    if ctx.quick:
        grid = dict(batches=[1, 2, 4, 8], glb_sizes_mb=[4, 12, 24], arrays=[16, 42, 64], ret_batches=[1, 16])
    else:
        grid = dict(batches=[1, 2, 4, 8, 16], glb_sizes_mb=[2, 4, 6, 8, 10, 12, 16, 20, 24, 32],
                    arrays=[12, 16, 24, 32, 42, 64, 96, 128], ret_batches=[1, 2, 4, 8, 16, 32, 64])
    ex = ge.explore(MODEL_NAMES, progress=_progress(ctx), **grid)
    s = ge.summarize(ex)
    figs = [f(ctx, ex) for f in (_fig10a, _fig11, _fig12, _fig13, _fig14, _fig18)]
    return Section(source=SOURCE, comparisons=_comparisons(ex, s), tables=_tables(ex, s), figures=figs,
                   text=_text(len(ex.names)))
