"""Train the MRAM-DIMA digits networks in numpy and write ``model/data/dima_<net>.npz`` (:mod:`model.dima.net`).

Usage (from the repository root, with the project installed)::

    python scripts/train/dima.py [--net mlp|cnn|all] [--bw 4] [--ba 4] [--seed 0] [--out-dir model/data]

Recipe (deterministic for a seed; numpy only, about a minute for both networks on one core):

1. Float training of the architecture (He initialisation, Adam, softmax cross-entropy, mini-batches of 32) on the
   quantised inputs ``x_q / (2**B_a - 1)``.
2. Post-training calibration, layer by layer on the training set through the already quantised layers: the
   weight scale ``s_w`` that minimises the squared weight-quantisation error (signed ``B_w`` bits), and the
   shift that minimises the squared error of the requantised ReLU output (``B_a`` bits) -- so every activation
   scale is the previous one times ``s_w · 2**shift``, which the integer post-processing realises exactly.
3. Quantisation-aware fine-tuning with those scales fixed: the forward pass is the integer network of
   :class:`model.dima.net.QuantNet` (exact integer arithmetic in float64), gradients pass the rounding and the
   clamp straight through (inside the clamp range).

Data: :func:`model.dima.net.load_digits_split` (:mod:`model.digits`, the project's split). Convolutions, their
adjoint and max-pooling are :mod:`model.nn`'s (NCHW); the pooling gradient goes to every tied maximum of a window
(``ties="all"``: quantised activations tie often; this is the rule the committed networks were trained with).

The exported network is checked: :meth:`QuantNet.forward` must give the same predictions as the training
forward pass. Metadata (accuracies float / integer, seed, epochs, split, times) goes into the npz.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

from model.dima.net import ARCHITECTURES, DATA, NETS, QLayer, QuantNet, load_digits_split, quantize_images
from model.nn import col2im, from_rows, im2col, max_pool, max_pool_backward, to_rows
from scripts.common.options import check_ranges

EPOCHS = {"mlp": (60, 30), "cnn": (80, 40)}          # (float, quantisation-aware)
LR = (2e-3, 5e-4)
BATCH = 32


class Trainer:
    """Forward and backward passes of one architecture, float or quantised (fixed scales, straight-through)."""

    def __init__(self, name: str, b_w: int, b_a: int, rng: np.random.Generator):
        self.arch, self.b_w, self.b_a = ARCHITECTURES[name], b_w, b_a
        self.params = []
        for s in self.arch:
            self.params.append([rng.standard_normal((s.n_out, s.fan_in)) * np.sqrt(2.0 / s.fan_in),
                                np.zeros(s.n_out)])
        self.quant = None   # per layer (s_w, s_in, shift) once calibrated
        self.amax = (1 << b_a) - 1
        self.wlo, self.whi = -(1 << (b_w - 1)), (1 << (b_w - 1)) - 1

    def _wq(self, i):
        s_w, s_in, _ = self.quant[i]
        w, b = self.params[i]
        return np.clip(np.round(w / s_w), self.wlo, self.whi), np.round(b / (s_w * s_in))

    def forward(self, x_q: np.ndarray):
        """Logits and the cache for :meth:`backward`; ``x_q`` int images (n, 8, 8)."""
        a = x_q.astype(np.float64)
        if self.quant is None:
            a = a / self.amax
        a = a.reshape(len(a), 1, 8, 8) if self.arch[0].kind == "conv" else a.reshape(len(a), -1)
        cache = []
        last = len(self.arch) - 1
        for i, s in enumerate(self.arch):
            shape = a.shape
            cols = im2col(a, 3, 3, 1, 1) if s.kind == "conv" else a.reshape(len(a), -1)
            if self.quant is None:
                w, b = self.params[i]
            else:
                w, b = self._wq(i)
            z = cols @ w.T + b
            if s.kind == "conv":
                z = from_rows(z, shape[0], s.hw, s.hw)
            entry = {"shape": shape, "cols": cols, "w": w, "z": z}
            if i == last:
                cache.append(entry)
                logits = z if self.quant is None else z * (self.quant[i][0] * self.quant[i][1])
                return logits, cache
            if self.quant is None:
                h = np.maximum(z, 0)
                entry["dact"] = (z > 0).astype(np.float64)
            else:
                sh = self.quant[i][2]
                r = z / (1 << sh)
                h = np.clip(np.floor(r + 0.5), 0, self.amax)
                entry["dact"] = ((r > -0.5) & (r < self.amax + 0.5)) / (1 << sh)
            if s.pool:
                pooled = max_pool(h, 2)
                entry["pool"] = (h, pooled)
                h = pooled
            cache.append(entry)
            a = h

    def backward(self, cache, dlogits):
        grads = [None] * len(self.arch)
        d = dlogits
        for i in range(len(self.arch) - 1, -1, -1):
            s, e = self.arch[i], cache[i]
            if i == len(self.arch) - 1:
                dz = d if self.quant is None else d * (self.quant[i][0] * self.quant[i][1])
            else:
                if s.pool:
                    d = max_pool_backward(d, *e["pool"], ties="all")     # every tied maximum gets the gradient
                dz = d.reshape(e["z"].shape) * e["dact"]
            dz2 = to_rows(dz) if s.kind == "conv" else dz
            dw, db = dz2.T @ e["cols"], dz2.sum(axis=0)
            if self.quant is not None:
                s_w, s_in, _ = self.quant[i]
                w = self.params[i][0]
                inside = (w / s_w >= self.wlo - 0.5) & (w / s_w <= self.whi + 0.5)
                dw, db = dw / s_w * inside, db / (s_w * s_in)
            grads[i] = (dw, db)
            if i:
                dcols = dz2 @ e["w"]
                d = col2im(dcols, e["shape"], 3, 3, 1, 1) if s.kind == "conv" else dcols.reshape(e["shape"])
        return grads

    def calibrate(self, x_q: np.ndarray) -> None:
        """Weight scales and shifts, layer by layer through the quantised prefix (module docstring, step 2)."""
        self.quant = []
        s_in = 1.0 / self.amax
        a = x_q.astype(np.float64)
        a = a.reshape(len(a), 1, 8, 8) if self.arch[0].kind == "conv" else a.reshape(len(a), -1)
        for i, s in enumerate(self.arch):
            w, b = self.params[i]
            best = None
            for c in np.abs(w).max() * np.linspace(0.25, 1.0, 61):
                sw = c / self.whi
                err = np.sum((w - sw * np.clip(np.round(w / sw), self.wlo, self.whi)) ** 2)
                best = (err, sw) if best is None or err < best[0] else best
            s_w = best[1]
            if i == len(self.arch) - 1:
                self.quant.append((s_w, s_in, 0))
                break
            cols = im2col(a, 3, 3, 1, 1) if s.kind == "conv" else a.reshape(len(a), -1)
            wq, bq = np.clip(np.round(w / s_w), self.wlo, self.whi), np.round(b / (s_w * s_in))
            z = cols @ wq.T + bq                                             # integer accumulators
            real = np.maximum(z, 0) * s_w * s_in
            errs = [np.sum((real - s_w * s_in * (1 << sh) * np.clip(np.floor(z / (1 << sh) + 0.5), 0, self.amax))
                           ** 2) for sh in range(24)]
            sh = int(np.argmin(errs))
            self.quant.append((s_w, s_in, sh))
            h = np.clip(np.floor(z / (1 << sh) + 0.5), 0, self.amax)
            if s.kind == "conv":
                h = from_rows(h, len(a), s.hw, s.hw)
                if s.pool:
                    h = max_pool(h, 2)
            a, s_in = h, s_w * s_in * (1 << sh)

    def export(self, name, test_indices, metadata) -> QuantNet:
        layers = []
        for i, s in enumerate(self.arch):
            wq, bq = self._wq(i)
            sh = self.quant[i][2]
            offset = (1 << (sh - 1)) if sh else 0
            layers.append(QLayer(s, wq.astype(np.int64), (bq + offset).astype(np.int64), sh))
        return QuantNet(name, tuple(layers), self.b_w, self.b_a, test_indices, metadata)


def _train(tr: Trainer, x, y, epochs, lr, rng, label):
    m = [[np.zeros_like(p) for p in layer] for layer in tr.params]
    v = [[np.zeros_like(p) for p in layer] for layer in tr.params]
    step, b1, b2 = 0, 0.9, 0.999
    for epoch in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), BATCH):
            idx = order[start:start + BATCH]
            logits, cache = tr.forward(x[idx])
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1
            grads = tr.backward(cache, p / len(idx))
            step += 1
            for li, g in enumerate(grads):
                for pi, gp in enumerate(g):
                    if pi == 0:
                        gp = gp + 1e-4 * tr.params[li][0]                    # weight decay
                    m[li][pi] = b1 * m[li][pi] + (1 - b1) * gp
                    v[li][pi] = b2 * v[li][pi] + (1 - b2) * gp * gp
                    mh, vh = m[li][pi] / (1 - b1 ** step), v[li][pi] / (1 - b2 ** step)
                    tr.params[li][pi] -= lr * mh / (np.sqrt(vh) + 1e-8)
        if (epoch + 1) % 10 == 0:
            acc = np.mean(np.argmax(tr.forward(x)[0], axis=1) == y)
            print(f"  {label} epoch {epoch + 1}/{epochs}: train accuracy {acc:.4f}", flush=True)


def train(name: str, b_w: int, b_a: int, seed: int) -> QuantNet:
    """Train, calibrate, fine-tune and export one network (module docstring)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    xtr, ytr, xte, yte, test_idx = load_digits_split(seed=seed)
    xtr, xte = quantize_images(xtr, b_a), quantize_images(xte, b_a)
    tr = Trainer(name, b_w, b_a, rng)
    e_float, e_qat = EPOCHS[name]
    _train(tr, xtr, ytr, e_float, LR[0], rng, f"{name} float")
    float_acc = float(np.mean(np.argmax(tr.forward(xte)[0], axis=1) == yte))
    tr.calibrate(xtr)
    ptq_acc = float(np.mean(np.argmax(tr.forward(xte)[0], axis=1) == yte))
    _train(tr, xtr, ytr, e_qat, LR[1], rng, f"{name} QAT")
    pred_train = np.argmax(tr.forward(xte)[0], axis=1)
    meta = {"net": name, "architecture": [vars(s) for s in tr.arch], "b_w": b_w, "b_a": b_a, "seed": seed,
            "epochs_float": e_float, "epochs_qat": e_qat, "lr": list(LR), "batch": BATCH,
            "optimizer": "Adam, weight decay 1e-4 (on weights), softmax cross-entropy",
            "split": "train_test_split(test_size=0.3, stratify=y, random_state=seed); test indices stored",
            "input": f"(pixel * {2 ** b_a - 1} + 8) // 16", "n_train": int(len(ytr)), "n_test": int(len(yte)),
            "test_accuracy_float": float_acc, "test_accuracy_ptq": ptq_acc,
            "n_parameters": int(sum(w.size + b.size for w, b in tr.params)),
            "numpy_version": np.__version__, "python": platform.python_version()}
    net = tr.export(name, test_idx, meta)
    pred = net.predict(xte)
    if not np.array_equal(pred, pred_train):
        raise AssertionError(f"{name}: exported integer network disagrees with the training forward pass on "
                             f"{np.count_nonzero(pred != pred_train)} images")
    net.metadata.update({"test_accuracy_int": float(np.mean(pred == yte)),
                         "train_accuracy_int": net.accuracy(xtr, ytr),
                         "shifts": [q.shift for q in net.layers], "train_seconds": round(time.perf_counter() - t0, 2)})
    return net


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", choices=(*NETS, "all"), default="all")
    parser.add_argument("--bw", type=int, default=4, help="weight bits, 2..8 (default 4)")
    parser.add_argument("--ba", type=int, default=4, help="activation bits, 1..8 (default 4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default=str(DATA), help="folder of the npz files (default model/data)")
    args = parser.parse_args(argv)
    check_ranges(parser, args, {"bw": (2, 8), "ba": (1, 8), "seed": (0, 2**31 - 1)})
    out = Path(args.out_dir)
    if not out.is_dir():
        parser.error(f"--out-dir: folder {args.out_dir!r} does not exist")
    for name in (NETS if args.net == "all" else (args.net,)):
        net = train(name, args.bw, args.ba, args.seed)
        path = out / f"dima_{name}.npz"
        net.save(path)
        md = net.metadata
        print(f"{name}: test accuracy float {md['test_accuracy_float']:.4f}, after calibration "
              f"{md['test_accuracy_ptq']:.4f}, integer (QAT) {md['test_accuracy_int']:.4f}; shifts {md['shifts']}; "
              f"{md['train_seconds']} s -> {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
