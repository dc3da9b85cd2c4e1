"""Train the ternary networks of :mod:`model.aimc.net` with weight variation, in numpy, for a grid of
sigma_w,train and seeds (sot-mram-aimc-doevenspeck-imec.txt, Fig. 12, Figs. 13 (b) and 14 (b)).

Usage::

    python -m scripts.train.aimc [--arch cnn|mlp] [--hidden 128,128] [--sigmas 0,0.1,0.15,0.2,0.3,0.4]
                                 [--seeds 4] [--epochs 80] [--lr 3e-3] [--batch 32] [--split-seed 0]
                                 [--out model/data/aimc_cnn.npz]

``--arch cnn`` (default): the LeNet-5-like CNN 1 (:class:`model.aimc.net.TernaryCNN`, :func:`model.aimc.net.train`),
default 80 epochs, written to ``model/data/aimc_cnn.npz``. ``--arch mlp``: the high-capacity ternary MLP
``64 -> --hidden -> 10`` (:class:`model.aimc.net.TernaryMLP`, :func:`model.aimc.net.train_mlp`; default hidden
``128,128``, 60 epochs, sigmas ``0,0.1,0.15,0.2,0.3,0.4,0.5``), written to ``model/data/aimc_mlp.npz``; it fits its
training data under every sigma_w,train up to 0.4, which the CNN does not (the JSON records the noiseless training
error of every model). Bad values: exit status 2 with one line on stderr naming the option, nothing written.

Data: :func:`sklearn.datasets.load_digits` (1797 8x8 images, no download), pixels / 16, stratified 70/30 split
with ``random_state=--split-seed`` (:func:`model.aimc.net.load_split`, i.e. :func:`model.digits.load_split`, images
NCHW, training images in the split's order); the test indices are stored in the npz.

Every (sigma_w,train, seed) pair trains one network (ternary weights, Gaussian weight noise of sigma_w,train in
every forward pass, Adam with cosine decay, straight-through gradients); the seed draws the initial weights, the
shuffling and the training noise. BLAS runs on one thread (the training function sets it), so the same seed gives
the same weights on the same numpy/BLAS build. The report's sigma_train x sigma_test grids load these models (it
does not train): the CNNs take about 2-4 minutes on one core, the MLPs about 5-10.

Output (written atomically, :func:`scripts.common.files.atomic_write`), small (< 200 kB each, compressed):

``aimc_cnn.npz`` / ``aimc_mlp.npz``
    :func:`model.aimc.net.models_npz`: per layer one stacked array of all models' ternary matrices (five weights
    per byte in base 3) and biases, the scales, each model's sigma_train and seed, ``test_indices`` (int64, into
    ``load_digits()``) and ``metadata`` (the JSON below as a 0-d string array).
``aimc_cnn.json`` / ``aimc_mlp.json``
    architecture, grid, hyper-parameters, per-model train/test error (noiseless), versions, timing.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from model.aimc.net import (DEFAULT_MLP_WEIGHTS, DEFAULT_WEIGHTS, LAYERS, MLP_HIDDEN, load_split, mlp_layers,
                            models_npz, train, train_mlp)
from model.checks import parse_int, parse_real

#: Per architecture: default output, epochs, sigma_w,train grid, description.
ARCHS = {
    "cnn": (DEFAULT_WEIGHTS, 80, "0,0.1,0.15,0.2,0.3,0.4",
            "aimc_cnn (LeNet-5-like CNN 1 scaled to 8x8 digits, ternary weights)"),
    "mlp": (DEFAULT_MLP_WEIGHTS, 60, "0,0.1,0.15,0.2,0.3,0.4,0.5",
            "aimc_mlp (high-capacity ternary MLP on 8x8 digits, fits its training data under sigma_w,train <= 0.4)"),
}


def _sigmas(text: str) -> list[float]:
    values = [parse_real(s, "--sigmas", min=0, max=2) for s in text.split(",") if s.strip()]
    if not values or 0.0 not in values:
        raise ValueError(f"--sigmas must be a comma-separated list of values in [0, 2] that includes 0 (the "
                         f"baseline), got {text!r}")
    return sorted(set(values))


def _hidden(text: str) -> tuple[int, ...]:
    values = tuple(parse_int(s, "--hidden", min=1, max=4096) for s in text.split(","))
    if not 1 <= len(values) <= 4:
        raise ValueError(f"--hidden must be 1 to 4 comma-separated widths in [1, 4096], got {text!r}")
    return values


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="cnn", help="cnn (LeNet-5-like CNN 1, default) or mlp (high-capacity MLP)")
    ap.add_argument("--hidden", default=",".join(map(str, MLP_HIDDEN)),
                    help="MLP hidden widths, comma-separated, 1 to 4 values in [1, 4096] (--arch mlp only)")
    ap.add_argument("--sigmas", default=None, help="sigma_w,train values (comma-separated, in [0, 2], with 0); "
                                                    "default per arch")
    ap.add_argument("--seeds", default="4", help="training seeds per sigma (0 .. N-1), 1..100")
    ap.add_argument("--epochs", default=None, help="epochs, 1..10000; default 80 (cnn) or 60 (mlp)")
    ap.add_argument("--lr", default="3e-3", help="Adam learning rate (cosine decay), in (0, 1]")
    ap.add_argument("--batch", default="32", help="mini-batch size, 1..4096")
    ap.add_argument("--split-seed", default="0", help="random_state of the train/test split, >= 0")
    ap.add_argument("--out", default=None, help="output .npz (a .json is written beside it); default per arch")
    args = ap.parse_args(argv)
    try:
        if args.arch not in ARCHS:
            raise ValueError(f"--arch must be one of {tuple(ARCHS)}, got {args.arch!r}")
        default_out, default_epochs, default_sigmas, description = ARCHS[args.arch]
        hidden = _hidden(args.hidden)
        if args.arch != "mlp" and args.hidden != ",".join(map(str, MLP_HIDDEN)):
            raise ValueError("--hidden applies to --arch mlp only")
        sigmas = _sigmas(default_sigmas if args.sigmas is None else args.sigmas)
        n_seeds = parse_int(args.seeds, "--seeds", min=1, max=100)
        epochs = parse_int(str(default_epochs) if args.epochs is None else args.epochs, "--epochs", min=1,
                           max=10_000)
        lr = parse_real(args.lr, "--lr", min=0, min_open=True, max=1)
        batch = parse_int(args.batch, "--batch", min=1, max=4096)
        split_seed = parse_int(args.split_seed, "--split-seed", min=0)
        out = Path(default_out if args.out is None else args.out)
        if out.suffix != ".npz" or not out.parent.is_dir():
            raise ValueError(f"--out must be a .npz file in an existing folder, got {str(out)!r}")
    except ValueError as e:
        print(f"train_aimc: error: {e}", file=sys.stderr)
        return 2

    from tqdm import tqdm

    from scripts.common.files import atomic_write

    xtr, ytr, xte, yte, test_idx = load_split(split_seed)
    layers = LAYERS if args.arch == "cnn" else mlp_layers(hidden)
    trained, entries = [], []
    t0 = time.perf_counter()
    jobs = [(s, k) for s in sigmas for k in range(n_seeds)]
    for sigma, seed in tqdm(jobs, desc=f"train_aimc {args.arch}", unit="model"):
        t = time.perf_counter()
        if args.arch == "cnn":
            model = train(xtr, ytr, sigma, seed, epochs=epochs, batch=batch, lr=lr)
        else:
            model = train_mlp(xtr, ytr, sigma, seed, hidden=hidden, epochs=epochs, batch=batch, lr=lr)
        trained.append(model)
        entries.append({"sigma_train": sigma, "seed": seed,
                        "train_error": model.error(xtr, ytr), "test_error": model.error(xte, yte),
                        "seconds": round(time.perf_counter() - t, 2)})
    meta = {
        "model": description,
        "paper": "sot-mram-aimc-doevenspeck-imec.txt, Figs. 12-14",
        "architecture": [{"name": n, "kind": k, "fan_in": fi, "fan_out": fo} for n, k, fi, fo in layers],
        "sigmas_train": sigmas, "seeds": n_seeds, "epochs": epochs, "lr": lr, "batch": batch,
        "split_seed": split_seed, "n_train": int(len(xtr)), "n_test": int(len(xte)),
        "quantiser": "TWN: delta = 0.7 mean|w|, alpha = mean(|w| : |w| > delta)", "models": entries,
        "numpy": np.__version__, "python": platform.python_version(),
        "total_seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write(out, models_npz(trained, test_idx, meta))
    atomic_write(out.with_suffix(".json"), json.dumps(meta, indent=1).encode())
    base = [e["test_error"] for e in entries if e["sigma_train"] == 0]
    worst_fit = max(e["train_error"] for e in entries)
    print(f"wrote {out} ({out.stat().st_size / 1024:.1f} kB): {len(entries)} models, sigma_train {sigmas}, "
          f"{n_seeds} seeds, {meta['total_seconds']} s; noiseless test error at sigma_train = 0: "
          f"{100 * np.mean(base):.2f} % (mean over seeds); worst noiseless training error {100 * worst_fit:.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
