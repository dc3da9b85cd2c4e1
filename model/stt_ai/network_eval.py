"""A whole-network RTL run beside the paper's analytic models: the network as a zoo model for eqs. (5)-(11), measured
occupancy against T_ret, global-buffer traffic for the memory model, and a bound on retention flips.

Source: ``stt-ai-mishty-sadi.txt``, Sections III.B (eqs. (5)-(11): how long an ofmap occupies the global buffer),
IV.B (eq. (14): retention failure) and V.F (Table III). The run is the summary dict of
:func:`scripts.rtl.network.run_network` (per layer ``cycles``, ``array_cycles``, ``post_cycles``, ``glb_reads``,
``glb_writes``, ``occupancy_cycles``, ``max_read_age_cycles``; ``glb_word_bits``, ``images``,
``cycles_per_image``); this module reads only those keys, so it needs no simulator.

* :func:`zoo_model` turns a :class:`model.stt_ai.network.NetworkPlan` into a :class:`model.zoo.Model` (conv, its
  2x2 max-pool, FC), the input of :func:`model.stt_ai.dse.retention`; :func:`digits_cnn_model` is the committed
  digits CNN (conv1 3x3 1->8 pad 1 on 8x8, pool, conv2 3x3 8->16 pad 1 on 4x4, pool, fc1 64->32, fc2 32->10).
* :func:`retention_comparison`: per pair of consecutive layers the measured occupancy of the ofmap between them
  against T_ret of eqs. (7), (10), (11) three ways (the paper's design point; our array at batch 1 with our
  measured initiation interval and post-processing time; the measured layer times put into the same sums).
* :func:`glb_traffic`: bits read and written and cycles per inference, the inputs of
  :func:`model.stt_ai.memory_cost.inference_energy` / :func:`~model.stt_ai.memory_cost.table3`.
* :func:`retention_flip_bound`: an upper bound on the expected retention flips of a run at Δ, τ.
"""

from __future__ import annotations

import dataclasses

from model.checks import check_int, check_real
from model.digits_cnn import INPUT_SHAPE
from model.stt_ai import network as net
from model.stt_ai.glb import analytic_retention_cycles
from model.stt_ai.stt_mram import TAU_ATTEMPT_S, retention_failure_probability
from model.zoo import Layer, Model, chain_error

__all__ = ["POOL", "zoo_model", "digits_cnn_model", "glb_traffic", "retention_comparison", "retention_flip_bound"]

#: The ofmap path's max-pool (:func:`model.stt_ai.ofmap.ofmap_post`): 2x2 window, stride 2.
POOL = 2


def zoo_model(plan: net.NetworkPlan, name: str = "network") -> Model:
    """``plan``'s layers as a :class:`model.zoo.Model`: each conv or FC layer under its own name with a bias, a
    ``"<name>.pool"`` layer after each pooled conv; ValueError when the layers do not chain."""
    layers = []
    for lp in plan.layers:
        s = lp.shape
        layers.append(dataclasses.replace(s.zoo_layer(), name=lp.name, bias=True))
        if lp.layer.pool:
            layers.append(Layer(f"{lp.name}.pool", "pool", s.oh, s.ow, s.k, s.k, POOL, POOL, POOL))
    problem = chain_error(layers)
    if problem:
        raise ValueError(f"{name}: {problem}")
    return Model(name, tuple(layers), input_hw=plan.layers[0].shape.h)


def digits_cnn_model() -> Model:
    """The committed digits CNN (:func:`model.stt_ai.network.digits_cnn_layers`) as a zoo model. Planned on a
    4 x 4-PE array: the shapes do not depend on the array (it only has to hold an 8-element row per word)."""
    plan = net.plan_network(net.digits_cnn_layers(), INPUT_SHAPE, 4, 4, 1024)
    return zoo_model(plan, "digits_cnn")


def _layers(result: dict) -> list:
    layers = result.get("layers")
    if not layers:
        raise ValueError("result has no 'layers' (a run_network summary is needed)")
    return layers


def glb_traffic(result: dict) -> dict:
    """Global-buffer traffic of one inference (means over the run's images): ``bits_read`` and ``bits_written``
    (GLB reads / writes of every layer times ``glb_word_bits``), ``cycles`` (``cycles_per_image``, rounded) and
    ``layers``: ``{name: (bits_read, bits_written)}``. The host's loads of the weights and the input image are not
    layer accesses and are not counted."""
    bits = check_int("glb_word_bits", result.get("glb_word_bits"), min=1, type_error=False)
    per = {l["name"]: (round(l["glb_reads"] * bits), round(l["glb_writes"] * bits)) for l in _layers(result)}
    cycles = check_int("cycles_per_image", round(check_real("cycles_per_image", result.get("cycles_per_image"),
                                                            min=0, min_open=True, type_error=False)),
                       min=1, type_error=False)
    return {"bits_read": sum(r for r, _ in per.values()), "bits_written": sum(w for _, w in per.values()),
            "cycles": cycles, "layers": per}


def retention_comparison(result: dict, model: Model, *, rows: int, cols: int, clock_hz: float = 1e9) -> list:
    """Measured occupancy of each ofmap that feeds the next layer against T_ret of eqs. (7), (10), (11).

    One dict per pair of consecutive compute layers ``(prev, next)``: ``tensor`` (``"<prev>.ofmap"``), ``kind``
    (``conv-conv``, ``conv-fc``, ``fc-fc``), ``occupancy`` (mean cycles from its first write to its last read) and
    ``max_read_age`` (cycles, largest over the images), and T_ret in cycles:

    * ``paper``: :func:`model.stt_ai.glb.analytic_retention_cycles` with its defaults (the paper's design point:
      42 x 42 MACs, batch 16, Table II's 17 / 11 cycles per step, T_pool_relu = 0);
    * ``ours``: the same with our array (``rows`` x ``3 cols`` MACs), batch 1, one cycle per step (the array's
      measured initiation interval: eqs. (2)-(5)/(8) then equal the run's ``formula_cycles``) and
      T_pool_relu = the measured ``post_cycles`` of ``prev`` (added by eqs. (7), (11) after a conv layer only);
    * ``measured_times``: the sums of eqs. (7), (10), (11) with the measured layer times, ``cycles`` of ``prev``
      (its array and post phases, so T_1 + T_pool_relu) plus ``cycles`` of ``next`` (T_2).

    ``ratio_paper``, ``ratio_ours``, ``ratio_measured_times``: ``occupancy`` over each. ``model`` is the run's
    network as a zoo model (:func:`zoo_model`); its compute layers must carry the run's layer names.
    """
    rows = check_int("rows", rows, min=1, type_error=False)
    cols = check_int("cols", cols, min=1, type_error=False)
    clock_hz = check_real("clock_hz", clock_hz, min=0, min_open=True, unit="Hz", type_error=False)
    layers = _layers(result)
    names = [l.name for l in model.compute_layers]
    if names != [l["name"] for l in layers]:
        raise ValueError(f"model layers {names} differ from the run's {[l['name'] for l in layers]}")
    paper = analytic_retention_cycles(model, clock_hz)
    array = f"{rows}x{3 * cols}"
    out = []
    for prev, nxt in zip(layers, layers[1:]):
        key = (prev["name"], nxt["name"])
        ours = analytic_retention_cycles(model, clock_hz, array=array, batch=1, conv_cycles=1, fc_cycles=1,
                                         t_pool_relu=prev["post_cycles"] / clock_hz)[key]
        tensor = f"{prev['name']}.ofmap"
        occ = prev["occupancy_cycles"].get(tensor)
        age = prev["max_read_age_cycles"].get(tensor)
        if occ is None:
            raise ValueError(f"the run has no occupancy of {tensor!r}")
        row = {"prev": key[0], "next": key[1], "tensor": tensor, "kind": f"{prev['kind']}-{nxt['kind']}",
               "occupancy": float(occ), "max_read_age": age, "paper": paper[key], "ours": ours,
               "measured_times": float(prev["cycles"] + nxt["cycles"])}
        for k in ("paper", "ours", "measured_times"):
            row[f"ratio_{k}"] = row["occupancy"] / row[k]
        out.append(row)
    return out


def retention_flip_bound(result: dict, delta: float, tau_s: float = TAU_ATTEMPT_S, clock_hz: float = 1e9) -> float:
    """Upper bound on the expected retention flips (eq. (14)) of a run over all its images with every cell at Δ.

    Every flip the device model draws is revealed by a read (:mod:`model.stt_ai.glb`, decision 1), each read of a
    word reveals at most its bits times P_RF of the word's age, and no age exceeds the largest read age of the
    layer's tensors; so the expectation is at most ``images x sum over layers of glb_reads x glb_word_bits x
    P_RF(max read age)``. For STT-AI Ultra pass the smaller Δ. Read disturb and write errors are not included.
    """
    delta = check_real("delta", delta, min=0, min_open=True, type_error=False)
    tau_s = check_real("tau_s", tau_s, min=0, min_open=True, unit="s", type_error=False)
    clock_hz = check_real("clock_hz", clock_hz, min=0, min_open=True, unit="Hz", type_error=False)
    images = check_int("images", result.get("images"), min=1, type_error=False)
    bits = check_int("glb_word_bits", result.get("glb_word_bits"), min=1, type_error=False)
    total = 0.0
    for layer in _layers(result):
        ages = [a for a in layer["max_read_age_cycles"].values() if a]
        if ages and layer["glb_reads"]:
            p = float(retention_failure_probability(max(ages) / clock_hz, delta, tau_s))
            total += layer["glb_reads"] * bits * p
    return images * total
