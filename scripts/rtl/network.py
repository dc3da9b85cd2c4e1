"""Run a whole network on the RTL accelerator with every tensor in the STT-MRAM global buffer.

``run_network(images=N, ...)`` quantises the committed digits CNN to bfloat16 (:func:`model.stt_ai.network.
digits_cnn_layers`), runs its conv and FC layers on :class:`hw.accelerator.Accelerator` (the layer controller
fetches every operand from the global-buffer model behind the memory responder; ReLU and pooling in RTL) and
compares every image's logits bit-wise with the numpy golden (:func:`model.stt_ai.network.golden_network`).
``backend="verilator"`` runs cocotb under Verilator (``tb/cocotb_network.py``; one build per array,
``build/sim/accelerator_<rows>x<cols>_b<bank words>/``), in batches of images (each a task of the ``mapper``:
serial, or Dask); ``"amaranth"`` the Amaranth simulator (small runs, tests). Errors (``delta``, ``ber``, ``ultra``)
live only in the buffer's reads and writes, drawn per image from ``(seed, image index)``.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import time
from pathlib import Path

import ml_dtypes
import numpy as np

from model.checks import check_int, check_real
from model.digits_cnn import load_test_set
from model.stt_ai import network as net
from model.stt_ai import pe_array as pa
from scripts.sim.network import DEFAULT_BANK_BYTES, GLB_ADDR_WIDTH, NetworkRun, accelerator_for, progress_writer

__all__ = ["run_network", "test_images", "MODELS", "accelerator_key", "summarise"]

#: The cocotb module that runs the images (imported by name inside the simulator).
TEST_MODULE = "tb.cocotb_network"
MODELS = ("digits_cnn",)
#: C++ optimisation of the accelerator's Verilator build (a larger design than the engine: -O1 halves the run).
CXX_OPT = "-O1"


def test_images(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` images of the digits CNN's stored test set as bfloat16 patterns (N, 1, 8, 8) (pixel / 16:
    exact in bfloat16) and their labels."""
    x, y = load_test_set()
    n = check_int("images", n, min=1, max=len(x), type_error=False)
    bits = np.ascontiguousarray(x[:n].astype(ml_dtypes.bfloat16)).view(np.uint16)
    return bits, np.asarray(y[:n])


def accelerator_key(rows: int, cols: int, bank_words: int) -> list:
    """Cache key of the accelerator's Verilator build: its parameters and the RTL sources."""
    from scripts.toolchain.cache import rtl_source_digest
    return ["accelerator", rows, cols, bank_words, GLB_ADDR_WIDTH, rtl_source_digest()]


def _batch(item: dict) -> dict:
    """One batch of images on one simulator (a mapper task): ``{"logits", "stats"}``."""
    images = np.asarray(item["images"], np.uint16)
    opts = item["opts"]
    if item["backend"] == "amaranth":
        from scripts.sim.amaranth_backend import run_amaranth
        layers = net.digits_cnn_layers()
        run = NetworkRun(layers, images, item["rows"], item["cols"], first_index=item["first_index"],
                         progress=progress_writer(item.get("progress_file")), **opts)
        t0 = time.perf_counter()
        cycles = run_amaranth(accelerator_for(item["rows"], item["cols"], run.bank_words), run.agents,
                              max_cycles=2_000_000 * len(images))
        stats = run.summary()
        stats.update(sim_cycles=cycles, sim_seconds=time.perf_counter() - t0)
        return {"logits": np.array(run.host.logits, np.uint32), "stats": stats}
    from scripts.toolchain.cocotb_runner import run_cocotb
    rows, cols = item["rows"], item["cols"]
    bank_words = pa.bank_words_for(opts.get("bank_bytes", DEFAULT_BANK_BYTES), cols)
    with tempfile.TemporaryDirectory() as tmp:
        spec, out = Path(tmp) / "images.npz", Path(tmp) / "out.npz"
        np.savez(spec, images=images)
        meta = {"rows": rows, "cols": cols, "in": str(spec), "out": str(out), "first_index": item["first_index"],
                "progress_file": item.get("progress_file"), **opts}
        run_cocotb(config=f"accelerator_{rows}x{cols}_b{bank_words}",
                   component=lambda: accelerator_for(rows, cols, bank_words), toplevel="accelerator",
                   test_module=TEST_MODULE, params=meta, seed=opts.get("seed", 0), cxx_opt=CXX_OPT, quiet=True,
                   source_key=accelerator_key(rows, cols, bank_words))
        with np.load(out) as z:
            return {"logits": z["logits"], "stats": json.loads(str(z["stats"]))}


def run_network(model: str = "digits_cnn", images: int = 20, *, rows: int = 4, cols: int = 4,
                delta: float | None = None, ber: float = 0.0, ultra: tuple | None = None, seed: int = 0,
                backend: str = "verilator", batch: int = 10, mapper=None, progress=None, on_layer=None,
                clock_hz: float = 1e9, tau_s: float | None = None, bank_bytes: int = DEFAULT_BANK_BYTES,
                glb_ready: float = 1.0) -> dict:
    """Run ``images`` test images through the network on the RTL; return the summary (:func:`summarise`).

    Parameters
    ----------
    model : str
        One of :data:`MODELS`.
    images : int
        Test images (the first of the stored test set).
    rows, cols : int
        The PE array.
    delta, ber, ultra
        Errors of the global buffer (:class:`scripts.sim.network.NetworkRun`); ``delta`` and ``ber`` exclude each
        other, and both exclude ``ultra``.
    seed : int
        Seed of the error draws.
    backend : str
        ``"verilator"`` or ``"amaranth"``.
    batch : int
        Images per simulator run (a task of ``mapper``); results do not depend on it.
    mapper : callable, optional
        ``mapper(func, items, progress=None)`` (:mod:`scripts.rtl.scaleout`); serial by default.
    progress : callable, optional
        ``progress(iterable, total=)`` around the batches (e.g. tqdm).
    on_layer : callable, optional
        ``on_layer(image index, layer name)`` as each layer of each image finishes (serial runs only: the simulator
        appends to a file that a thread of this process follows).
    clock_hz, tau_s : float
        Clock of the retention ages and the device's attempt time.
    glb_ready : float
        Probability in (0, 1] that the global buffer accepts a request in a cycle (back-pressure).
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if backend not in ("verilator", "amaranth"):
        raise ValueError(f"backend must be 'verilator' or 'amaranth', got {backend!r}")
    rows = check_int("rows", rows, min=1, max=16, type_error=False)
    cols = check_int("cols", cols, min=1, max=16, type_error=False)
    batch = check_int("batch", batch, min=1, type_error=False)
    seed = check_int("seed", seed, min=0, max=2 ** 63 - 1, type_error=False)
    ber = check_real("ber", ber, min=0, max=1, max_open=True, type_error=False)
    glb_ready = check_real("glb_ready", glb_ready, min=0, min_open=True, max=1, type_error=False)
    if delta is not None:
        delta = check_real("delta", delta, min=0, min_open=True, max=200, type_error=False)
    if sum(x is not None and x is not False for x in (delta, ultra)) + (ber > 0) > 1:
        raise ValueError("delta, ber and ultra exclude each other")
    if ultra is not None:
        ultra = tuple(check_real(f"ultra {name}", v, min=0, min_open=True, max=200, type_error=False)
                      for name, v in zip(("DELTA_ROBUST", "DELTA_RELAXED"), ultra))
    x, labels = test_images(images)
    layers = net.digits_cnn_layers()
    # the plan is checked (and its golden computed) before any simulation
    plan = net.plan_network(layers, x.shape[1:], rows, cols, pa.bank_words_for(bank_bytes, cols))
    opts = {"bank_bytes": bank_bytes, "delta": delta, "ber": ber, "ultra": ultra, "clock_hz": clock_hz,
            "seed": seed, "tau_s": tau_s, "glb_ready": glb_ready}
    items = [{"images": x[i:i + batch].tolist(), "first_index": i, "rows": rows, "cols": cols,
              "backend": backend, "opts": opts} for i in range(0, len(x), batch)]
    t0 = time.perf_counter()
    from scripts.rtl.scaleout import serial_mapper
    mapper = serial_mapper if mapper is None else mapper
    with tempfile.TemporaryDirectory() as tmp, _follow(Path(tmp) / "progress.txt",
                                                       on_layer if mapper is serial_mapper else None) as path:
        for it in items:
            it["progress_file"] = path
        results = mapper(_batch, items, progress=progress)
    seconds = time.perf_counter() - t0
    golden = [net.golden_network(plan, xi)[-1]["y"] for xi in x]
    return summarise(plan, results, golden, labels, seconds=seconds, config={
        "model": model, "images": len(x), "array": f"{rows}x{cols}", "delta": delta, "ber": ber,
        "ultra": list(ultra) if ultra else None, "seed": seed, "backend": backend, "clock_hz": clock_hz})


@contextlib.contextmanager
def _follow(path: Path, on_layer):
    """Yield the progress file's name (``None`` without ``on_layer``) while a thread passes its new lines to
    ``on_layer``."""
    if on_layer is None:
        yield None
        return
    path.touch()
    stop = threading.Event()

    def follow():
        seen = 0
        while True:
            done = stop.is_set()
            lines = path.read_text().splitlines()
            for line in lines[seen:]:
                image, layer = line.split(" ", 1)
                on_layer(int(image), layer)
            seen = len(lines)
            if done:
                return
            stop.wait(0.2)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        yield str(path)
    finally:
        stop.set()
        thread.join()


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else 0.0


def summarise(plan, results, golden, labels, *, seconds: float, config: dict) -> dict:
    """The run's JSON: accuracy, golden accuracy, bit-wise mismatches, cycles, flips, and per layer its cycles
    (mean over images), the formula's, GLB reads/writes, the occupancy of its tensors and its flips."""
    logits = [np.asarray(l, np.uint32) for r in results for l in r["logits"]]
    stats = [r["stats"] for r in results]
    per_image = [layers for s in stats for layers in s["layer_stats"]]
    occupancy = [o for s in stats for o in s["occupancy"]]
    ages = [a for s in stats for a in s["max_read_age"]]
    glb = [g for s in stats for g in s["glb"]]
    pred = [net.predict(l) for l in logits]
    gpred = [net.predict(g) for g in golden]
    mismatched = [i for i, (l, g) in enumerate(zip(logits, golden)) if not np.array_equal(l, g)]
    banks = {}
    for g in glb:
        for name, b in g.get("banks", {}).items():
            banks[name] = banks.get(name, 0) + b["bit_flips"]
    total_flips = sum(banks.values()) if banks else sum(g["injected_bits"] for g in glb)
    bit_flips = {**banks, "total": total_flips} if len(banks) > 1 else total_flips
    layers = []
    for i, lp in enumerate(plan.layers):
        rows = [img[i] for img in per_image]
        names = {role: name for role, (name, words) in lp.tensors.items() if words}
        names["ifmap"] = plan.layers[i - 1].tensors["ofmap"][0] if i else f"{lp.name}.ifmap"
        occ = {}
        for role, name in names.items():
            vals = [o[name] for o in occupancy if o.get(name) is not None]
            occ[name] = _mean(vals) if vals else None
        entry = {"name": lp.name, "kind": lp.shape.kind}
        for key in ("cycles", "array_cycles", "formula_cycles", "predicted_array_cycles", "post_cycles",
                    "formula_post_cycles", "glb_reads", "glb_writes", "weight_reads", "operand_reads",
                    "post_reads", "post_writes", "spill_reads", "result_writes"):
            entry[key] = _mean([r[key] for r in rows])
            if entry[key] == int(entry[key]):
                entry[key] = int(entry[key])
        entry["terms"] = rows[0]["terms"] if rows else {}
        entry["occupancy_cycles"] = occ
        entry["max_read_age_cycles"] = {name: max((a[name] for a in ages if a.get(name) is not None),
                                                  default=None) for name in names.values()}
        entry["bit_flips"] = int(sum(r["bit_flips"] for r in rows))
        if len(banks) > 1:
            entry["bit_flips_per_bank"] = {b: int(sum(r["bit_flips_per_bank"].get(b, 0) for r in rows))
                                           for b in banks}
        layers.append(entry)
    image_cycles = [c for s in stats for c in s["image_cycles"]]
    sim_cycles = sum(s.get("sim_cycles", 0) for s in stats)
    sim_seconds = sum(s.get("sim_seconds", 0.0) for s in stats)
    return {**config,
            "accuracy": float(np.mean([p == y for p, y in zip(pred, labels)])),
            "golden_accuracy": float(np.mean([p == y for p, y in zip(gpred, labels)])),
            "mismatches": len(mismatched), "mismatched_images": mismatched,
            "cycles": int(sum(image_cycles)), "cycles_per_image": _mean(image_cycles),
            "bit_flips": bit_flips, "layers": layers,
            "glb_words": sum(t["words"] for t in stats[0]["tensors"].values()) if stats else 0,
            "glb_word_bits": stats[0]["word_bits"] if stats else 0,
            "sim_cycles": int(sim_cycles), "sim_seconds": sim_seconds,
            "sim_cycles_per_second": sim_cycles / sim_seconds if sim_seconds else None,
            "wall_seconds": seconds, "predictions": pred, "labels": [int(v) for v in labels]}
