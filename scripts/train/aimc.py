"""Train the ternary LeNet-5-like CNN 1 of :mod:`model.aimc.net` with weight variation, in numpy, for a grid of
sigma_w,train and seeds (sot-mram-aimc-doevenspeck-imec.txt, Fig. 12, Figs. 13 (b) and 14 (b)).

Usage::

    python scripts/train/aimc.py [--sigmas 0,0.1,0.15,0.2,0.3,0.4] [--seeds 4] [--epochs 80] [--lr 3e-3]
                                 [--batch 32] [--split-seed 0] [--out model/data/aimc_cnn.npz]

Data: :func:`sklearn.datasets.load_digits` (1797 8x8 images, no download), pixels / 16, stratified 70/30 split
with ``random_state=--split-seed`` (:func:`model.aimc.net.load_split`, i.e. :func:`model.digits.load_split`, images
NCHW, training images in the split's order); the test indices are stored in the npz.

Every (sigma_w,train, seed) pair trains one network with :func:`model.aimc.net.train` (ternary weights, Gaussian
weight noise of sigma_w,train in every forward pass, Adam with cosine decay, straight-through gradients); the
seed draws the initial weights, the shuffling and the training noise. BLAS runs on one thread (the training
function sets it), so the same seed gives the same weights on the same numpy/BLAS build. The report's
sigma_train x sigma_test grid loads these models (it does not train): training all of them takes about 2-4 minutes
on one core, too long for the report.

Output (written atomically: temporary file, then rename), small (< 200 kB, compressed):

``aimc_cnn.npz``
    :func:`model.aimc.net.models_npz`: per layer one stacked array of all models' ternary matrices (five weights
    per byte in base 3) and biases, the scales, each model's sigma_train and seed, ``test_indices`` (int64, into
    ``load_digits()``) and ``metadata`` (the JSON below as a 0-d string array).
``aimc_cnn.json``
    architecture, grid, hyper-parameters, per-model train/test error (noiseless), versions, timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from model.aimc.net import DEFAULT_WEIGHTS, LAYERS, TernaryCNN, load_split, models_npz, train
from model.checks import parse_int, parse_real


def _sigmas(text: str) -> list[float]:
    values = [parse_real(s, "--sigmas", min=0, max=2) for s in text.split(",") if s.strip()]
    if not values or 0.0 not in values:
        raise SystemExit("train_aimc.py: error: --sigmas must be a comma-separated list that includes 0 "
                         f"(the baseline), got {text!r}")
    return sorted(set(values))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sigmas", default="0,0.1,0.15,0.2,0.3,0.4", help="sigma_w,train values (comma-separated)")
    ap.add_argument("--seeds", default="4", help="training seeds per sigma (0 .. N-1), >= 1")
    ap.add_argument("--epochs", default="80", help="epochs, >= 1")
    ap.add_argument("--lr", default="3e-3", help="Adam learning rate (cosine decay), > 0")
    ap.add_argument("--batch", default="32", help="mini-batch size, >= 1")
    ap.add_argument("--split-seed", default="0", help="random_state of the train/test split, >= 0")
    ap.add_argument("--out", default=str(DEFAULT_WEIGHTS), help="output .npz (a .json is written beside it)")
    args = ap.parse_args(argv)
    try:
        sigmas = _sigmas(args.sigmas)
        n_seeds = parse_int(args.seeds, "--seeds", min=1, max=100)
        epochs = parse_int(args.epochs, "--epochs", min=1, max=10_000)
        lr = parse_real(args.lr, "--lr", min=0, min_open=True, max=1)
        batch = parse_int(args.batch, "--batch", min=1, max=4096)
        split_seed = parse_int(args.split_seed, "--split-seed", min=0)
    except ValueError as e:
        ap.error(str(e))
    out = Path(args.out)
    if out.suffix != ".npz" or not out.parent.is_dir():
        ap.error(f"--out must be a .npz file in an existing folder, got {args.out!r}")

    from tqdm import tqdm

    xtr, ytr, xte, yte, test_idx = load_split(split_seed)
    trained, entries = [], []
    t0 = time.perf_counter()
    jobs = [(s, k) for s in sigmas for k in range(n_seeds)]
    for sigma, seed in tqdm(jobs, desc="train_aimc", unit="model"):
        t = time.perf_counter()
        model: TernaryCNN = train(xtr, ytr, sigma, seed, epochs=epochs, batch=batch, lr=lr)
        trained.append(model)
        entries.append({"sigma_train": sigma, "seed": seed,
                        "train_error": model.error(xtr, ytr), "test_error": model.error(xte, yte),
                        "seconds": round(time.perf_counter() - t, 2)})
    meta = {
        "model": "aimc_cnn (LeNet-5-like CNN 1 scaled to 8x8 digits, ternary weights)",
        "paper": "sot-mram-aimc-doevenspeck-imec.txt, Figs. 12-14",
        "architecture": [{"name": n, "kind": k, "fan_in": fi, "fan_out": fo} for n, k, fi, fo in LAYERS],
        "sigmas_train": sigmas, "seeds": n_seeds, "epochs": epochs, "lr": lr, "batch": batch,
        "split_seed": split_seed, "n_train": int(len(xtr)), "n_test": int(len(xte)),
        "quantiser": "TWN: delta = 0.7 mean|w|, alpha = mean(|w| : |w| > delta)", "models": entries,
        "numpy": np.__version__, "python": platform.python_version(),
        "total_seconds": round(time.perf_counter() - t0, 1),
    }
    for path, data in ((out, models_npz(trained, test_idx, meta)),
                       (out.with_suffix(".json"), json.dumps(meta, indent=1).encode())):
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=path.suffix, delete=False) as f:
            f.write(data)
            tmp = f.name
        os.chmod(tmp, 0o644)                     # NamedTemporaryFile creates 0600
        os.replace(tmp, path)
    base = [e["test_error"] for e in entries if e["sigma_train"] == 0]
    print(f"wrote {out} ({out.stat().st_size / 1024:.1f} kB): {len(entries)} models, sigma_train {sigmas}, "
          f"{n_seeds} seeds, {meta['total_seconds']} s; noiseless test error at sigma_train = 0: "
          f"{100 * np.mean(base):.2f} % (mean over seeds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
