"""Report experiments of the SOT-MRAM binary CNN (``sot-mram-bcnn-fan-angizi.txt``).

``bcnn-subarray``: the dual-mode sub-array (:mod:`model.bcnn.subarray`): references, sense margins, per-operation
error rates analytic against Monte Carlo, and how far the paper's AND-only count is from the +/-1 product
(:mod:`model.bcnn.cim`). ``bcnn-cost``: Table II and Fig. 4 against the cost model (:mod:`model.bcnn.cost`).
``bcnn-accuracy``: the binary CNN on the digits through the sub-array model, exact with ideal devices, then
accuracy against resistance variation and sense-amplifier offset (:mod:`model.bcnn.accuracy`).
"""

from __future__ import annotations

import numpy as np

from model.bcnn import cost as bc
from model.bcnn.cim import and_only_error
from model.bcnn.subarray import OPS, SOTDevice, error_rates, error_rates_mc, references, sense_margins
from scripts.report.lib import Comparison, Figure, Section, Table, experiment, pyplot

PAPER = "sot-mram-bcnn-fan-angizi.txt"


@experiment("bcnn-subarray", "SOT-MRAM BCNN: dual-mode sub-array, sense margins and error rates", order=11)
def bcnn_subarray(ctx) -> Section:
    d = SOTDevice()
    refs, margins = references(d), sense_margins(d)
    sigmas = [0.04, 0.08, 0.12, 0.16] if ctx.quick else [0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 0.18, 0.20]
    offsets = [0.0, 0.01]
    n_mc = 20_000 if ctx.quick else 200_000
    rows, curves = [], {}
    worst = 0.0
    for off in offsets:
        for s in ctx.progress(sigmas, desc=f"error rates, offset {off * 1e3:g} mV"):
            dev = d.with_variation(s, off)
            an = error_rates(dev)
            mc = error_rates_mc(dev, n_mc, ctx.seed + int(s * 1000) + int(off * 1e5))
            for op in OPS:
                p, lo, hi = mc[op]
                curves.setdefault((op, off), []).append((s, an[op], p, lo, hi))
                rows.append([op, s, off * 1e3, an[op], p, lo, hi, "yes" if lo <= an[op] <= hi else "no"])
                if an[op] > 0:
                    worst = max(worst, abs(p - an[op]) / max(hi - lo, 1e-12))
    inside = sum(r[-1] == "yes" for r in rows)

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, off in zip(axes, offsets):
        for op, color in zip(OPS, ("C0", "C1", "C2")):
            c = np.array(curves[(op, off)])
            ax.semilogy(c[:, 0] * 100, np.maximum(c[:, 1], 1e-9), color=color, label=f"{op} analytic")
            err = np.maximum(c[:, 2], 1e-9)
            ax.errorbar(c[:, 0] * 100, err, yerr=[err - np.maximum(c[:, 3], 1e-9), np.maximum(c[:, 4] - c[:, 2], 0)],
                        fmt="o", color=color, ms=3, label=f"{op} Monte Carlo ({n_mc:,})")
        ax.set_title(f"SA offset sigma {off * 1e3:g} mV")
        ax.set_xlabel("device-to-device sigma/mu of R_P, R_AP, R_access (%)")
        ax.set_ylim(1e-6, 1)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("error rate per sensed bit")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig_path = ctx.save_figure(fig, "bcnn_error_rates.png")

    rng = np.random.default_rng(ctx.seed)
    k = 256
    x = rng.choice(np.array([-1, 1], np.int8), (200, k))
    w = rng.choice(np.array([-1, 1], np.int8), (k, 64))
    approx = and_only_error(x, w)
    comparisons = [
        Comparison("sub-array size", "1024 x 256", "1024 x 256", "", "Section IV.B; our default geometry"),
        Comparison("compute-mode operations", "AND, OR (two rows of a column)", "AND, OR, memory read", "",
                   "the references of Section II.B from the nominal parallel path resistances"),
        Comparison("+/-1 dot product from BitCount(AND) (Table I, Bin-AND)", "exact (as stated)",
                   f"mean |error| {approx['mean_abs_error']:.1f}, max {approx['max_abs_error']} (K = {k})", "",
                   "popcount(a AND b) = (x.w + sum x + sum w + K)/4: the AND count misses sum x + sum w (std "
                   f"sqrt(2K) = {np.sqrt(2 * k):.1f} on random data), {approx['sign_flips']:.0%} of signs flip; "
                   "ours adds the OR count (or the operand popcounts) and is exact"),
        Comparison("analytic error rates inside the Monte Carlo 95 % interval", None,
                   f"{inside} of {len(rows)} (about 95 % expected)", "",
                   "analytic: exact Gaussian conditional probability integrated numerically; Monte Carlo: "
                   f"{n_mc:,} device draws per input combination; zero-rate cells count as inside when MC sees none"),
    ]
    text = (f"Device (ours; the paper gives none): R_P = {d.r_p / 1e3:g} kOhm, TMR = {d.tmr:.0%}, R_access = "
            f"{d.r_access / 1e3:g} kOhm, I_read = {d.i_read * 1e6:g} uA. References: read {refs['read']:.0f} Ohm, "
            f"AND {refs['and']:.0f} Ohm, OR {refs['or']:.0f} Ohm; nominal sense margins: read "
            f"{margins['read'] * 1e3:.1f} mV, AND {margins['and'] * 1e3:.1f} mV, OR {margins['or'] * 1e3:.1f} mV. "
            "OR has the smallest margin (R_P // R_P and R_P // R_AP differ least), so it fails first: the exact "
            "+/-1 product that needs OR pays for it in robustness; the AND-plus-popcount form needs only AND and "
            "memory reads.")
    table = Table(["operation", "sigma/mu", "SA offset (mV)", "analytic", "Monte Carlo", "95 % low", "95 % high",
                   "inside"], rows, caption="Per-operation error rate, averaged over the input combinations")
    return Section(source=f"{PAPER}, Section II.B, Figs. 2-3, Table I", comparisons=comparisons, tables=[table],
                   figures=[Figure(fig_path, "Error rate per sensed bit against device variation: analytic "
                                             "(lines) and Monte Carlo with 95 % intervals (points)")],
                   text=text)


@experiment("bcnn-cost", "SOT-MRAM BCNN: energy, latency, area and storage of AlexNet-BCNN (Table II, Fig. 4)",
            order=12)
def bcnn_cost(ctx) -> Section:
    layers = bc.alexnet_bcnn()
    p = bc.CostParams()
    c = bc.network_cost(layers, "and_or", p)
    c_pop = bc.network_cost(layers, "and_popcount", p)
    c_int8 = bc.network_cost(layers, "and_popcount", p.int8_dpu())
    paper = bc.PAPER_TABLE2
    s32, s64 = bc.storage_bytes(layers, 32), bc.storage_bytes(layers, 64)
    cim = lambda cost: sum(r["energy_j"] for r in cost["layers"] if r["binary"])
    real = lambda cost: sum(r["energy_j"] for r in cost["layers"] if not r["binary"])
    a_cell_match = paper["area_mm2"] * 1e-6 / c["area_m2"] * p.a_cell
    comparisons = [
        Comparison("energy per image, exact AND+OR, FP32 DPU", paper["energy_uj"], c["energy_j"] * 1e6, "uJ",
                   f"real conv1 + fc8 on an FP32 DPU (Horowitz 45 nm) cost {real(c) * 1e6:.0f} uJ alone; the "
                   f"binary layers {cim(c) * 1e6:.1f} uJ. The paper does not say how its DPU computes the real "
                   "layers"),
        Comparison("energy per image, AND+popcount, FP32 DPU", paper["energy_uj"], c_pop["energy_j"] * 1e6, "uJ",
                   f"one sense per chunk instead of two: binary layers {cim(c_pop) * 1e6:.1f} uJ"),
        Comparison("energy per image, AND+popcount, int8 DPU", paper["energy_uj"], c_int8["energy_j"] * 1e6, "uJ",
                   "the real layers at int8 (0.2 + 0.03 pJ per MAC): the DPU precision decides the total, "
                   "not the CIM"),
        Comparison("execution time per image", paper["time_ms"], c["latency_s"] * 1e3, "ms",
                   f"{c['subarrays']} sub-arrays sense in parallel, one row per {p.t_sense * 1e9:g} ns "
                   "(assumed), the DPU 256 lanes at 1 GHz; the paper's timing assumptions are not given"),
        Comparison("area", paper["area_mm2"], c["area_m2"] * 1e6, "mm^2",
                   f"{c['subarrays']} sub-arrays of {p.subarray_area * 1e6:.4f} mm^2 ({p.a_cell * 1e12:.3f} um^2 "
                   f"cells, half the rows for weights) + bitcounters + DPU; the paper's 5.28 mm^2 would need "
                   f"{a_cell_match * 1e12:.3f} um^2 cells with our sub-array count (not tuned)"),
        Comparison("storage, AlexNet-BCNN", bc.PAPER_FIG4["bcnn_mb"], s32["bcnn"] / 1e6, "MB",
                   f"binary conv2-fc7 + FP32 conv1/fc8 ({s32['weights'] / 1e6:.1f} M weights, Krizhevsky's "
                   "channel counts); with conv1/fc8 in double precision it is "
                   f"{s64['bcnn'] / 1e6:.1f} MB, close to the paper's 39.7 MB"),
        Comparison("storage saving against double precision", bc.PAPER_FIG4["vs_dp"], s32["dp"] / s32["bcnn"], "x",
                   f"{s64['dp'] / s64['bcnn']:.1f}x with conv1/fc8 in double precision (the paper's 12x)"),
        Comparison("storage saving against single precision", bc.PAPER_FIG4["vs_sp"], s32["sp"] / s32["bcnn"], "x",
                   f"{s64['sp'] / s64['bcnn']:.1f}x with conv1/fc8 in double precision (the paper's 6x)"),
    ]
    rows = [[r["layer"], "binary" if r["binary"] else "real (DPU)", r["macs"], r.get("subarrays", 0),
             r.get("sense_ops", 0), r["energy_breakdown_j"]["sense"] * 1e6, r["energy_breakdown_j"]["write"] * 1e6,
             r["energy_breakdown_j"]["bitcount"] * 1e6, r["energy_breakdown_j"]["dpu"] * 1e6, r["energy_j"] * 1e6,
             r["latency_s"] * 1e3] for r in c["layers"]]
    per_layer = Table(["layer", "kind", "MACs", "sub-arrays", "senses", "sense uJ", "write uJ", "bitcount uJ",
                       "DPU uJ", "total uJ", "ms"], rows,
                      caption="AlexNet-BCNN per image, exact AND+OR form, FP32 DPU (Fig. 5a analogue)")
    params = Table(["parameter", "source"], [[k, v] for k, v in bc.SOURCES.items()],
                   caption="Per-operation parameters and their sources")
    return Section(source=f"{PAPER}, Section IV, Table II, Figs. 4-5", comparisons=comparisons,
                   tables=[per_layer, params])


@experiment("bcnn-accuracy", "SOT-MRAM BCNN: binary CNN on the digits through the sub-array, accuracy against "
                             "device variation", order=13)
def bcnn_accuracy(ctx) -> Section:
    from model.bcnn.accuracy import accuracy_sweep, and_only_matmul, cim_matmuls
    from model.bcnn.net import BCNN, load_test_set

    net = BCNN.load()
    x, y = load_test_set()
    ref_logits = net.forward(x)
    ref_acc = float(np.mean(np.argmax(ref_logits, 1) == y))
    stats = {}
    n_check = 100 if ctx.quick else len(y)
    ideal = net.forward(x[:n_check], matmul=cim_matmuls(form="and_or", stats=stats))
    # the reference on the same batch: BLAS may round a row differently in a differently sized product
    identical = bool(np.array_equal(ideal.view(np.uint32), net.forward(x[:n_check]).view(np.uint32)))
    if not identical:
        raise AssertionError("the binary CNN through the ideal sub-array model differs from the numpy reference")
    and_only = net.accuracy(x, y, matmul=and_only_matmul)

    n_img = 40 if ctx.quick else 200
    seeds = [ctx.seed + i for i in range(2 if ctx.quick else 4)]
    sigmas = [0.0, 0.12] if ctx.quick else [0.0, 0.04, 0.08, 0.12, 0.16, 0.20]
    offsets = [0.01] if ctx.quick else [0.0025, 0.005, 0.0075, 0.01, 0.015]
    forms = ["and_popcount"] if ctx.quick else ["and_popcount", "and_or"]
    xs, ys = x[:n_img], y[:n_img]
    sub_acc = float(np.mean(np.argmax(ref_logits[:n_img], 1) == ys))
    sweeps = {f: accuracy_sweep(net, xs, ys, [SOTDevice().with_variation(s) for s in sigmas], seeds, f,
                                progress=lambda c, f=f: ctx.progress(c, desc=f"sigma sweep {f}"))
              for f in forms}
    off = accuracy_sweep(net, xs, ys, [SOTDevice(sa_offset=o) for o in offsets], seeds, "and_popcount",
                         progress=lambda c: ctx.progress(c, desc="offset sweep"))

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for f, r in sweeps.items():
        axes[0].errorbar(np.array(sigmas) * 100, r["mean"] * 100,
                         yerr=[(r["mean"] - np.clip(r["low"], 0, 1)) * 100, (np.clip(r["high"], 0, 1) - r["mean"]) * 100],
                         marker="o", capsize=3, label=f"{f} (exact)")
    axes[0].axhline(sub_acc * 100, color="grey", ls=":", label="numpy reference")
    axes[0].set_xlabel("sigma/mu of R_P, R_AP, R_access (%)")
    axes[0].set_ylabel(f"test accuracy on {n_img} images (%)")
    axes[0].legend(fontsize=8)
    axes[1].errorbar(np.array(offsets) * 1e3, off["mean"] * 100,
                     yerr=[(off["mean"] - np.clip(off["low"], 0, 1)) * 100, (np.clip(off["high"], 0, 1) - off["mean"]) * 100],
                     marker="o", capsize=3, color="C2", label="and_popcount, ideal resistances")
    axes[1].axhline(sub_acc * 100, color="grey", ls=":")
    axes[1].set_xlabel("sense-amplifier offset sigma (mV)")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"Binary CNN on 8x8 digits through the SOT-MRAM sub-array model, mean and 95 % t interval over "
                 f"{len(seeds)} chips")
    fig.tight_layout()
    fig_path = ctx.save_figure(fig, "bcnn_accuracy.png")

    rows = []
    for f, r in sweeps.items():
        for i, s in enumerate(sigmas):
            rows.append([f, f"sigma {s:.2f}", r["mean"][i], max(0.0, r["low"][i]), min(1.0, r["high"][i]),
                         r["product_errors"][i]])
    for i, o in enumerate(offsets):
        rows.append(["and_popcount", f"SA offset {o * 1e3:g} mV", off["mean"][i], max(0.0, off["low"][i]),
                     min(1.0, off["high"][i]), off["product_errors"][i]])
    table = Table(["form", "variation", "accuracy", "95 % low", "95 % high", "bconv1 products != exact"], rows,
                  caption=f"Accuracy over {len(seeds)} seeds (chips) on the first {n_img} test images")
    layers = net.binary_layers()
    comparisons = [
        Comparison("binary CNN through the ideal sub-array = numpy reference", "(not reported)",
                   f"bit-identical logits on {n_check} of the {len(y)} test images", "",
                   f"exact AND+OR form; reference accuracy {ref_acc:.2%}; {sum(s.sense_ops for s in stats.values()):,} senses "
                   f"({', '.join(f'{l.name}: K={l.k}, M={l.m}' for l in layers)})"),
        Comparison("network with the AND-only count of Table I", "(not reported)", and_only, "",
                   "4 BitCount(AND) - K in place of the +/-1 product in a network trained on exact products: "
                   "the operand-dependent offset destroys it; the AND-only form needs its own training"),
    ]
    return Section(source=f"{PAPER}, Fig. 3, Table I (the paper evaluates no accuracy; digits instead of ImageNet)",
                   comparisons=comparisons, tables=[table],
                   figures=[Figure(fig_path, "Test accuracy against device variation and sense-amplifier offset, "
                                             "mean and 95 % interval over seeds")])
