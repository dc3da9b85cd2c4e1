"""Train the XNOR-Net-style binary CNN of :mod:`model.bcnn.net` on scikit-learn's 8x8 digits, in numpy alone.

Usage::

    python scripts/train/bcnn.py [--seed 0] [--epochs 40] [--lr 3e-3] [--batch 64]
                                 [--out model/data/bcnn_digits.npz]

Data: :func:`model.digits.load_split` (scikit-learn's 1797 8x8 digits, values 0..16, no download), pixels / 16
(exact in float32), stratified 70/30 :func:`~sklearn.model_selection.train_test_split` with
``random_state=seed``; the test indices are stored in the npz. Convolutions, their adjoint and pooling are
:mod:`model.nn`'s (NCHW).

Training (XNOR-Net, Rastegari et al. ECCV 2016, Sec. 3.2 "Training Binary-Weights-Networks" and 3.3):

* real-valued latent weights for the binary layers, clipped to [-1, 1] after each step; the forward pass
  uses ``alpha sign(W)`` (:func:`model.bcnn.dpu.alpha`); the gradient reaches ``W`` through the
  straight-through estimator of ``sign`` (1 where ``|W| <= 1``) and through ``alpha = ||W||_l1 / n``
  (``d alpha / d W = sign(W) / n``), XNOR-Net's ``dC/dW = dC/dW~ (1/n + alpha dsign(W)/dW)``;
* activations: ``sign`` with the straight-through estimator (gradient 1 where ``|x| <= 1``, else 0);
  the input scale ``K`` (:func:`model.bcnn.dpu.k_map`) is treated as a constant in the backward pass
  (XNOR-Net's own code does not propagate through it either);
* batch norm with batch statistics in training; running statistics (momentum 0.1, unbiased variance, as
  torch's ``BatchNorm``) stored for inference; ``eps`` = :data:`model.bcnn.net.BN_EPS`;
* softmax cross-entropy, Adam (beta 0.9/0.999, eps 1e-8) with a cosine learning-rate decay to 0, batch
  ``--batch``, shuffling from ``numpy.random.default_rng(seed)`` (which also draws the initial weights).

The binary dot products are computed as float32 matrix products of +/-1 values (exact: sums <= 288 << 2**24).
BLAS runs on one thread during training (``threadpoolctl``, a scikit-learn dependency): a multi-threaded
sgemm sums in another order, and the rounding differences grow into different weights. The same seed then
gives the same weights on the same numpy/BLAS build. The reported accuracies come from
:class:`model.bcnn.net.BCNN` (inference code, reference matmul) on the written weights. Runs in ~15 s on one core.

Output (written atomically: temporary file, then rename):

``bcnn_digits.npz``
    the parameters of :func:`model.bcnn.net.param_shapes` (float32), ``test_indices`` (int64, into
    ``load_digits()``), ``metadata`` (the JSON below as a 0-d string array).
``bcnn_digits.json``
    architecture, binary layers (N per image, K, M), seed, hyper-parameters, train/test accuracy, versions.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from model.bcnn.dpu import alpha, k_map, sign
from model.bcnn.net import BCNN, BN_EPS, param_shapes
from model.checks import check_int, check_real, parse_int, parse_real
from model.digits import load_split
from model.nn import col2im, conv2d, from_rows, im2col, max_pool, max_pool_backward, to_rows

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "model" / "data" / "bcnn_digits.npz"
WIDTHS = (16, 32, 64, 64)  # conv1, bconv1, bconv2, bfc output channels
MOMENTUM = 0.1

ARCHITECTURE = [
    {"name": "conv1", "type": "conv2d", "binary": False, "in": 1, "out": WIDTHS[0], "kernel": 3, "padding": 1,
     "bias": False, "then": ["batchnorm", "relu"]},
    {"name": "bconv1", "type": "conv2d", "binary": True, "in": WIDTHS[0], "out": WIDTHS[1], "kernel": 3,
     "padding": 0, "before": ["batchnorm", "sign", "K"], "scale": "alpha", "then": ["maxpool2"]},
    {"name": "bconv2", "type": "conv2d", "binary": True, "in": WIDTHS[1], "out": WIDTHS[2], "kernel": 3,
     "padding": 0, "before": ["batchnorm", "sign", "K"], "scale": "alpha", "then": []},
    {"name": "bfc", "type": "linear", "binary": True, "in": WIDTHS[2], "out": WIDTHS[3],
     "before": ["batchnorm", "sign", "K"], "scale": "alpha", "then": []},
    {"name": "fc", "type": "linear", "binary": False, "in": WIDTHS[3], "out": 10, "bias": True,
     "before": ["batchnorm"], "then": []},
]


# ------------------------------------------------------------------------------------------------ layers
class _BatchNorm:
    """Batch norm with batch statistics (training) and running statistics (stored); axis 1 is the channel."""

    def __init__(self, c: int):
        self.gamma, self.beta = np.ones(c, np.float32), np.zeros(c, np.float32)
        self.mean, self.var = np.zeros(c, np.float32), np.ones(c, np.float32)

    def forward(self, x):
        axes = (0, 2, 3) if x.ndim == 4 else (0,)
        shape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
        mu, var = x.mean(axes), x.var(axes)
        n = x.size // x.shape[1]
        self.mean = ((1 - MOMENTUM) * self.mean + MOMENTUM * mu).astype(np.float32)
        self.var = ((1 - MOMENTUM) * self.var + MOMENTUM * var * (n / (n - 1))).astype(np.float32)
        inv = 1 / np.sqrt(var + BN_EPS)  # float32 for float32 x (NEP 50); float64 in the gradient test
        xhat = (x - mu.reshape(shape)) * inv.reshape(shape)
        self._cache = (xhat, inv, axes, shape, n)
        return xhat * self.gamma.reshape(shape) + self.beta.reshape(shape)

    def backward(self, dy):
        xhat, inv, axes, shape, n = self._cache
        self.grads = {"gamma": (dy * xhat).sum(axes), "beta": dy.sum(axes)}
        dxhat = dy * self.gamma.reshape(shape)
        return (inv.reshape(shape) / n) * (n * dxhat - dxhat.sum(axes).reshape(shape)
                                           - xhat * (dxhat * xhat).sum(axes).reshape(shape))


class _Binary:
    """A binary conv (valid, stride 1) or fc layer: ``y = (sign(h) . sign(W)) K alpha`` with STE gradients."""

    def __init__(self, w: np.ndarray, conv: bool):
        self.w, self.conv = w, conv

    def forward(self, h):
        kh = 3 if self.conv else 1
        h4 = h if self.conv else h[:, :, None, None]
        cols = im2col(sign(h4), kh, kh).astype(np.float32)
        k = k_map(h4, kh, kh).reshape(-1)
        m = self.w.shape[0]
        wf = self.w.reshape(m, -1)
        sw = sign(wf).astype(np.float32)
        al = alpha(wf)
        dot = cols @ sw.T
        self._cache = (h, cols, k, wf, sw, al, dot)
        y = dot * k[:, None] * al
        if not self.conv:
            return y
        n, _, hh, ww = h.shape
        return from_rows(y, n, hh - 2, ww - 2)

    def backward(self, dy):
        h, cols, k, wf, sw, al, dot = self._cache
        if self.conv:
            dy = to_rows(dy)
        ddot = dy * k[:, None] * al
        dalpha = (dy * dot * k[:, None]).sum(0)
        dsw = ddot.T @ cols
        self.grad = (dsw * (np.abs(wf) <= 1) + dalpha[:, None] * sw / wf.shape[1]).reshape(self.w.shape)
        dcols = ddot @ sw
        dh = col2im(dcols, h.shape, 3, 3, dtype=np.float32) if self.conv else dcols  # float32 sums
        return dh * (np.abs(h) <= 1)  # STE of sign (K held constant)


class _Net:
    def __init__(self, rng: np.random.Generator, widths=WIDTHS):
        c1, c2, c3, f = widths
        shapes = param_shapes(*widths)
        self.w = {
            "conv1.weight": (rng.standard_normal(shapes["conv1.weight"]) * np.sqrt(2 / 9)).astype(np.float32),
            "bconv1.weight": rng.uniform(-0.1, 0.1, shapes["bconv1.weight"]).astype(np.float32),
            "bconv2.weight": rng.uniform(-0.1, 0.1, shapes["bconv2.weight"]).astype(np.float32),
            "bfc.weight": rng.uniform(-0.1, 0.1, shapes["bfc.weight"]).astype(np.float32),
            "fc.weight": (rng.standard_normal(shapes["fc.weight"]) / np.sqrt(f)).astype(np.float32),
            "fc.bias": np.zeros(shapes["fc.bias"], np.float32),
        }
        self.bn = {name: _BatchNorm(c) for name, c in
                   (("conv1.bn", c1), ("bconv1.bn", c1), ("bconv2.bn", c2), ("bfc.bn", c3), ("fc.bn", f))}
        self.binary = {name: _Binary(self.w[f"{name}.weight"], name != "bfc") for name in ("bconv1", "bconv2", "bfc")}

    def forward(self, x):
        n = len(x)
        self._x = x
        z = conv2d(x, self.w["conv1.weight"], pad=1)
        a = self.bn["conv1.bn"].forward(z)
        self._relu = a > 0
        a = a * self._relu
        y = self.binary["bconv1"].forward(self.bn["bconv1.bn"].forward(a))
        p = max_pool(y, 2)
        self._pool = (y, p)
        y = self.binary["bconv2"].forward(self.bn["bconv2.bn"].forward(p)).reshape(n, -1)
        y = self.binary["bfc"].forward(self.bn["bfc.bn"].forward(y))
        self._h = self.bn["fc.bn"].forward(y)
        return self._h @ self.w["fc.weight"].T + self.w["fc.bias"]

    def backward(self, dlogits) -> dict:
        g = {"fc.weight": dlogits.T @ self._h, "fc.bias": dlogits.sum(0)}
        d = self.bn["fc.bn"].backward(dlogits @ self.w["fc.weight"])
        d = self.bn["bfc.bn"].backward(self.binary["bfc"].backward(d))
        d = self.binary["bconv2"].backward(d.reshape(len(d), -1, 1, 1))
        d = self.bn["bconv2.bn"].backward(d)
        d = max_pool_backward(d, *self._pool)  # ties share the gradient
        d = self.bn["bconv1.bn"].backward(self.binary["bconv1"].backward(d)) * self._relu
        d = self.bn["conv1.bn"].backward(d)
        g["conv1.weight"] = (to_rows(d).T @ im2col(self._x, 3, 3, 1, 1)).reshape(self.w["conv1.weight"].shape)
        for name in self.binary:
            g[f"{name}.weight"] = self.binary[name].grad
        for name, bn in self.bn.items():
            g[f"{name}.gamma"], g[f"{name}.beta"] = bn.grads["gamma"], bn.grads["beta"]
        return g

    def trainable(self) -> dict:
        out = dict(self.w)
        for name, bn in self.bn.items():
            out[f"{name}.gamma"], out[f"{name}.beta"] = bn.gamma, bn.beta
        return out

    def set(self, key: str, value: np.ndarray) -> None:
        if key in self.w:
            self.w[key] = value
            name = key.rsplit(".", 1)[0]
            if name in self.binary:
                self.binary[name].w = value
        else:
            name, field = key.rsplit(".", 1)
            setattr(self.bn[name], field, value)

    def params(self) -> dict:
        out = {k: v.copy() for k, v in self.w.items()}
        for name, bn in self.bn.items():
            for field in ("gamma", "beta", "mean", "var"):
                out[f"{name}.{field}"] = getattr(bn, field).astype(np.float32).copy()
        return out


# ------------------------------------------------------------------------------------------------ training
def train(seed: int = 0, epochs: int = 40, lr: float = 3e-3, batch: int = 64, progress: bool = True):
    """Train and return ``(arrays, metadata)`` for the npz (see the module docstring)."""
    from threadpoolctl import threadpool_limits

    seed = check_int("seed", seed, min=0, type_error=False)
    epochs = check_int("epochs", epochs, min=1, type_error=False)
    batch = check_int("batch", batch, min=2, type_error=False)
    lr = check_real("lr", lr, min=0, min_open=True, type_error=False)
    with threadpool_limits(limits=1):
        return _train(seed, epochs, lr, batch, progress)


def _train(seed: int, epochs: int, lr: float, batch: int, progress: bool):
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    x_tr, y_tr, x_te, y_te, test_idx = load_split(seed)
    net = _Net(rng)
    m = {k: np.zeros_like(v) for k, v in net.trainable().items()}
    v = {k: np.zeros_like(a) for k, a in net.trainable().items()}
    b1, b2 = 0.9, 0.999
    steps_per_epoch = -(-len(y_tr) // batch)
    total, step = epochs * steps_per_epoch, 0
    bar = tqdm(range(epochs), desc="train_bcnn", unit="epoch", disable=not progress)
    for _ in bar:
        perm = rng.permutation(len(y_tr))
        loss_sum, correct = 0.0, 0
        for i in range(0, len(y_tr), batch):
            idx = perm[i:i + batch]
            if len(idx) < 2:  # batch statistics need >= 2 samples
                continue
            logits = net.forward(x_tr[idx])
            z = logits - logits.max(1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(1, keepdims=True)
            loss_sum += float(-np.log(p[np.arange(len(idx)), y_tr[idx]] + 1e-12).sum())
            correct += int((logits.argmax(1) == y_tr[idx]).sum())
            p[np.arange(len(idx)), y_tr[idx]] -= 1
            grads = net.backward((p / len(idx)).astype(np.float32))
            step += 1
            lr_t = lr * 0.5 * (1 + np.cos(np.pi * step / total))
            for k, w in net.trainable().items():
                g = grads[k]
                m[k] = b1 * m[k] + (1 - b1) * g
                v[k] = b2 * v[k] + (1 - b2) * g * g
                new = w - lr_t * (m[k] / (1 - b1 ** step)) / (np.sqrt(v[k] / (1 - b2 ** step)) + 1e-8)
                if k in ("bconv1.weight", "bconv2.weight", "bfc.weight"):
                    new = np.clip(new, -1, 1)
                net.set(k, new.astype(np.float32))
        bar.set_postfix(loss=f"{loss_sum / len(y_tr):.3f}", train_acc=f"{correct / len(y_tr):.3f}")
    bar.close()

    arrays = net.params()
    model = BCNN(arrays)
    import sklearn

    meta = {
        "model": "bcnn_digits",
        "architecture": ARCHITECTURE,
        "binary_layers": [{"name": L.name, "n_per_image": L.n_per_image, "k": L.k, "m": L.m}
                          for L in model.binary_layers()],
        "input": "load_digits().images / 16, float32, shape (N, 1, 8, 8)",
        "n_parameters": model.n_parameters,
        "seed": seed,
        "epochs": epochs,
        "batch": batch,
        "optimizer": f"Adam lr={lr:g} (cosine decay to 0), betas (0.9, 0.999), eps 1e-8, no weight decay; "
                     "binary latent weights clipped to [-1, 1]",
        "ste": "sign: gradient 1 where |x| <= 1; weights: through sign (|W| <= 1) and alpha; K held constant",
        "batchnorm": f"batch statistics in training; running mean/var (momentum {MOMENTUM}, unbiased var), "
                     f"eps {BN_EPS}",
        "split": "train_test_split(test_size=0.3, stratify=y, random_state=seed); test indices stored",
        "n_train": int(len(y_tr)),
        "n_test": int(len(y_te)),
        "test_images_sha256": hashlib.sha256(np.ascontiguousarray(x_te).tobytes()).hexdigest(),
        "train_accuracy": model.accuracy(x_tr, y_tr),
        "test_accuracy": model.accuracy(x_te, y_te),
        "numpy_version": np.__version__,
        "sklearn_version": sklearn.__version__,
        "train_seconds": round(time.perf_counter() - t0, 2),
    }
    arrays["test_indices"] = test_idx.astype(np.int64)
    return arrays, meta


def save(arrays: dict, meta: dict, out: Path) -> None:
    """Write ``out`` (npz, metadata included as a string) and ``out`` with suffix ``.json``, each atomically."""
    from scripts.common.files import save_weights
    save_weights(arrays, meta, out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", default="0", help="random seed (split, init, shuffling), >= 0; default 0")
    p.add_argument("--epochs", default="40", help="training epochs, >= 1; default 40")
    p.add_argument("--lr", default="3e-3", help="Adam learning rate, > 0; default 3e-3")
    p.add_argument("--batch", default="64", help="batch size, >= 2; default 64")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="npz to write (a .json is written next to it); "
                   "default model/data/bcnn_digits.npz")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        seed = parse_int(args.seed, "--seed", min=0)
        epochs = parse_int(args.epochs, "--epochs", min=1)
        lr = parse_real(args.lr, "--lr", min=0, min_open=True)
        batch = parse_int(args.batch, "--batch", min=2)
        if args.out.suffix != ".npz":  # checked before training, not after
            raise ValueError(f"--out must end in .npz, got {str(args.out)!r}")
        arrays, meta = train(seed, epochs, lr, batch, progress=not args.quiet)
        save(arrays, meta, args.out)
    except ValueError as e:
        print(f"train_bcnn: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (+ .json): train accuracy {meta['train_accuracy']:.4f}, test accuracy "
          f"{meta['test_accuracy']:.4f}, {meta['n_parameters']} parameters, {meta['train_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
