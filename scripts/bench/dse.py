"""Benchmark of the global-buffer design-space exploration (model/stt_ai/dse.py).

Runs the whole exploration of the report (every zoo model; GLB need for 5 batch sizes x 2 data types; extra DRAM
for those and for 10 GLB sizes; retention at 42x42 / batch 16, the Fig. 14 (a) sweep over 8 array sizes and the
Fig. 14 (b) sweep over 7 batch sizes) twice in the same run:

* **vectorised** -- :mod:`model.stt_ai.dse` as used by the report (numpy over the layers of a model);
* **baseline** -- the same numbers from a naive pure-Python loop over :class:`model.zoo.Layer` objects
  (:func:`model.stt_ai.dse.ref_layer_time` and a Python GLB loop).

It checks both give the same results and prints the times and the speed-up ratio. Usage (from the repository root,
with the project installed by ``pip install -e .``)::

    python scripts/bench/dse.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from model.stt_ai import dse
from model.zoo import MODEL_NAMES, get_model

BATCHES = (1, 2, 4, 8, 16)
GLB_SIZES_MB = (2, 4, 6, 8, 10, 12, 16, 20, 24, 32)
ARRAYS = (12, 16, 24, 32, 42, 64, 96, 128)
RET_BATCHES = (1, 2, 4, 8, 16, 32, 64)


def run_vectorised(models) -> dict:
    out = {}
    for m in models:
        for d in ("int8", "bf16"):
            for b in BATCHES:
                out[(m.name, "glb", d, b)] = dse.glb_required(m, b, d)
                out[(m.name, "dram", d, b)] = dse.extra_dram(m, b, d)["bytes"]
            for g in GLB_SIZES_MB:
                out[(m.name, "dramg", d, g)] = dse.extra_dram(m, 8, d, g * dse.MB)["bytes"]
        for a in ARRAYS:
            out[(m.name, "ret_a", a)] = dse.retention(m, f"{a}x{a}", 16).max
        for b in RET_BATCHES:
            out[(m.name, "ret_b", b)] = dse.retention(m, "42x42", b).max
    return out


def _naive_glb(m, batch, dtype):
    nb = dse.BYTES_PER_ELEMENT[dtype]
    return [(batch * l.ifmap_elems + l.weights + batch * l.ofmap_elems) * nb for l in m.layers if l.kind == "conv"]


def _naive_ret(m, array, batch):
    t = [dse.ref_layer_time(l, array, batch) for l in m.compute_layers]
    return max(t[i] + t[i + 1] for i in range(len(t) - 1))  # T_pool_relu = 0


def run_naive(models) -> dict:
    out = {}
    for m in models:
        for d in ("int8", "bf16"):
            for b in BATCHES:
                need = _naive_glb(m, b, d)
                out[(m.name, "glb", d, b)] = max(need)
                out[(m.name, "dram", d, b)] = float(sum(max(0, x - dse.GLB_PAPER_BYTES) for x in need))
            need8 = _naive_glb(m, 8, d)
            for g in GLB_SIZES_MB:
                out[(m.name, "dramg", d, g)] = float(sum(max(0, x - g * dse.MB) for x in need8))
        for a in ARRAYS:
            out[(m.name, "ret_a", a)] = _naive_ret(m, f"{a}x{a}", 16)
        for b in RET_BATCHES:
            out[(m.name, "ret_b", b)] = _naive_ret(m, "42x42", b)
    return out


def _best(fn, models, repeat):
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(models)
        best = min(best, time.perf_counter() - t0)
    return best, result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="repetitions, best time kept (default 3)")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error(f"--repeat must be an integer >= 1, got {args.repeat}")
    t0 = time.perf_counter()
    models = [get_model(n) for n in MODEL_NAMES]
    t_build = time.perf_counter() - t0
    dse.retention(models[0])  # warm the per-model array cache outside the timing of neither variant
    t_vec, vec = _best(run_vectorised, models, args.repeat)
    t_naive, naive = _best(run_naive, models, args.repeat)
    assert vec.keys() == naive.keys()
    for k in vec:
        if not np.isclose(vec[k], naive[k], rtol=1e-12, atol=0):
            raise SystemExit(f"mismatch at {k}: vectorised {vec[k]} vs naive {naive[k]}")
    n_layers = sum(len(m.layers) for m in models)
    print(f"models: {len(models)} ({n_layers} layers), built in {t_build:.3f} s")
    print(f"evaluations per variant: {len(vec)} (GLB, DRAM, retention sweeps)")
    print(f"vectorised (numpy): {t_vec:.3f} s   baseline (pure-Python loop): {t_naive:.3f} s   "
          f"speed-up x{t_naive / t_vec:.1f}   (best of {args.repeat}; results identical)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
