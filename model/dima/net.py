"""Quantised networks on scikit-learn's 8 x 8 digits, run through the MRAM-DIMA model and its post-processing.

Source: ``mram-dima-patil-iscas2019.txt``, abstract: the paper evaluates LeNet-300-100 on MNIST (accuracy drop
<= 0.5 % at 24 % conductance variation) and a 9-layer CNN on CIFAR-10 (<= 1 % at 12 %). We cannot download MNIST
or CIFAR-10; we train, in numpy (``scripts/train/dima.py``), two networks on the digits that come with
scikit-learn (1797 images of 8 x 8 pixels, values 0..16, 10 classes; 30 % held out, stratified, seed 0):

* ``mlp``: **LeNet-300-100-shaped** MLP 64-300-100-10 (the paper's 784-300-100-10 with an 8 x 8 input);
* ``cnn``: a small CNN: conv 3x3 1->8 (pad 1), ReLU, max-pool 2 -> conv 3x3 8->16 (pad 1), ReLU, max-pool 2
  -> fc 64->10. Not the paper's 9-layer CIFAR-10 network (the report states the difference).

Every layer is a matrix-vector product ``acc = W a`` that the MRAM-DIMA array computes (a convolution as
:func:`model.nn.im2col`, NCHW: one MVM per output position, ``W`` of ``C_out x 9 C_in`` in (C_in, ky, kx) order):
``B_w``-bit signed weights, ``B_a``-bit unsigned activations, then the post-processing of ``hw/dima_post.py``
(:func:`model.dima.array.dima_post`)::

    hidden layer:  a' = clamp((acc + bias) >> shift, 0, 2**B_a - 1)      (ReLU + requantisation, b_out = B_a)
    last layer:    logits = acc + bias                                    (shift 0, no ReLU, wide output)

``bias`` is in accumulator units and includes the rounding offset ``2**(shift-1)``, so the shift rounds to
nearest. Inputs: ``x_q = (pixel·(2**B_a - 1) + 8) // 16``. Max-pooling works on the integer activations (it
commutes with the monotone requantisation). The exact integer network (``W a`` computed exactly) is the digital
baseline; :meth:`QuantNet.forward` with an :func:`analog_mvm` runs the same network with every MVM on the
behavioural array (conductance variation, finite TMR, access resistance, ADC).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from model import digits
from model.checks import INTEGER_DTYPES, check_choice, check_int, load_weights
from model.dima.array import DIMAParams, dima_codes, weight_range
from model.nn import from_rows, im2col, max_pool

__all__ = ["NETS", "ARCHITECTURES", "LayerSpec", "QLayer", "QuantNet", "weights_path", "load_digits_split",
           "quantize_images", "exact_mvm", "analog_mvm", "requantize", "accuracy_sweep", "sigma_at_drop"]

DATA = Path(__file__).resolve().parents[1] / "data"
NETS = ("mlp", "cnn")


@dataclass(frozen=True)
class LayerSpec:
    """One MVM layer of an architecture: ``kind`` "fc" (``n_in -> n_out``) or "conv" (3x3, pad 1, ``n_in`` ->
    ``n_out`` channels on ``hw x hw`` maps, max-pool 2 after when ``pool``); ReLU on every layer but the last."""

    name: str
    kind: str
    n_in: int
    n_out: int
    hw: int = 0
    pool: bool = False

    @property
    def fan_in(self) -> int:
        """N of the layer's MVM (columns of ``W``)."""
        return self.n_in * 9 if self.kind == "conv" else self.n_in


ARCHITECTURES = {
    "mlp": (LayerSpec("fc1", "fc", 64, 300), LayerSpec("fc2", "fc", 300, 100), LayerSpec("fc3", "fc", 100, 10)),
    "cnn": (LayerSpec("conv1", "conv", 1, 8, hw=8, pool=True), LayerSpec("conv2", "conv", 8, 16, hw=4, pool=True),
            LayerSpec("fc", "fc", 64, 10)),
}


def weights_path(name: str) -> Path:
    """``model/data/dima_<name>.npz``."""
    return DATA / f"dima_{check_choice('name', name, NETS)}.npz"


def load_digits_split(test_indices: np.ndarray | None = None, seed: int = 0):
    """scikit-learn digits as int pixels (N, 8, 8) 0..16 and labels; the held-out split
    (:func:`model.digits.load_split` with ``kind="pixels"``).

    Returns ``(x_train, y_train, x_test, y_test, test_indices)``, both sets in ascending index order; with
    ``test_indices`` given they define the test set, else the project's split with ``random_state=seed`` does.
    """
    return digits.load_split(seed, test_indices=test_indices, kind="pixels")


def quantize_images(pixels, b_a: int) -> np.ndarray:
    """Digits pixels 0..16 to unsigned ``b_a``-bit inputs, ``(p·(2**b_a - 1) + 8) // 16`` (round half up)."""
    p = np.asarray(pixels, dtype=np.int64)
    if p.size and (p.min() < 0 or p.max() > 16):
        raise ValueError(f"pixels must be in [0, 16] (load_digits().images), got [{p.min()}, {p.max()}]")
    return (p * ((1 << b_a) - 1) + 8) // 16


def requantize(acc: np.ndarray, bias: np.ndarray, shift: int, b_a: int) -> np.ndarray:
    """Hidden-layer post-processing ``clamp((acc + bias) >> shift, 0, 2**b_a - 1)`` (int64)."""
    return np.clip((acc + bias) >> shift, 0, (1 << b_a) - 1)


@dataclass(frozen=True)
class QLayer:
    """A trained, quantised MVM layer: ``weight`` int64 (M, N) signed ``B_w``-bit, ``bias`` int64 (M,) in
    accumulator units (rounding offset included), ``shift`` >= 0, and its :class:`LayerSpec`."""

    spec: LayerSpec
    weight: np.ndarray
    bias: np.ndarray
    shift: int


#: An MVM implementation: (layer index, layer, activations (rows, N) int64) -> accumulators (rows, M) int64.
MVM = Callable[[int, QLayer, np.ndarray], np.ndarray]


def exact_mvm(index: int, layer: QLayer, a: np.ndarray) -> np.ndarray:
    """The digital baseline: ``a @ W.T`` exactly."""
    return a @ layer.weight.T


def analog_mvm(params: DIMAParams, rng: np.random.Generator | None, b_w: int, b_a: int,
               record: dict | None = None, layers=None) -> MVM:
    """Every MVM on the behavioural MRAM-DIMA array (:func:`model.dima.array.dima_codes`, in ``params``' encoding and
    mapping; the weights must lie in that encoding's range, :meth:`QuantNet.for_encoding`): one chip per ``rng``
    state (each layer's cells drawn in order). ``record``, when given, receives the codes per layer index;
    ``layers`` (layer indices), when given, puts only those layers on the array and computes the others exactly."""

    def mvm(index: int, layer: QLayer, a: np.ndarray) -> np.ndarray:
        if layers is not None and index not in layers:
            return exact_mvm(index, layer, a)
        res = dima_codes(layer.weight, a, b_w, b_a, params, rng)
        if record is not None:
            record[index] = res
        return res.values()

    return mvm


@dataclass(frozen=True)
class QuantNet:
    """A quantised digits network (:data:`ARCHITECTURES`) with ``b_w``-bit weights and ``b_a``-bit activations.

    Load the committed one with :meth:`load`; ``metadata`` holds the training record (accuracies, seed, split).
    """

    name: str
    layers: tuple
    b_w: int
    b_a: int
    test_indices: np.ndarray
    metadata: dict = field(default_factory=dict)

    @classmethod
    def load(cls, name: str, path: str | Path | None = None) -> "QuantNet":
        """The network written by ``scripts/train/dima.py`` (``model/data/dima_<name>.npz``, or ``path``)."""
        path = Path(path) if path is not None else weights_path(name)
        shapes = {"b_w": (), "b_a": (), "test_indices": ("tests",),
                  **{f"{s.name}.{k}": shape for s in ARCHITECTURES[name]
                     for k, shape in (("weight", (s.n_out, s.fan_in)), ("bias", (s.n_out,)), ("shift", ()))}}
        z, meta = load_weights(path, shapes, dtypes=lambda k: INTEGER_DTYPES, metadata={"type": "object"},
                               hint=" (train with scripts/train/dima.py)")
        layers = tuple(QLayer(spec, z[f"{spec.name}.weight"].astype(np.int64), z[f"{spec.name}.bias"].astype(np.int64),
                              int(z[f"{spec.name}.shift"])) for spec in ARCHITECTURES[name])
        return cls(name, layers, int(z["b_w"]), int(z["b_a"]), z["test_indices"].astype(np.int64), meta)

    def save(self, path: str | Path) -> None:
        """Write the npz that :meth:`load` reads."""
        arrays = {"b_w": np.int64(self.b_w), "b_a": np.int64(self.b_a), "test_indices": self.test_indices,
                  "metadata": np.array(json.dumps(self.metadata, indent=1))}
        for q in self.layers:
            arrays[f"{q.spec.name}.weight"] = q.weight.astype(np.int8 if self.b_w <= 8 else np.int16)
            arrays[f"{q.spec.name}.bias"] = q.bias.astype(np.int32)
            arrays[f"{q.spec.name}.shift"] = np.int64(q.shift)
        np.savez_compressed(path, **arrays)

    def for_encoding(self, encoding: str) -> "QuantNet":
        """The network with its weights in :func:`model.dima.array.weight_range` of ``encoding``: itself for
        ``"twos"``; for the symmetric encodings every ``-2**(b_w-1)`` becomes ``-(2**(b_w-1) - 1)`` (the one value
        they cannot hold; no retraining), the number clipped per layer in ``metadata["clipped_weights"]``."""
        lo, hi = weight_range(self.b_w, encoding)
        clipped = {q.spec.name: int(np.count_nonzero(q.weight < lo)) for q in self.layers}
        if not any(clipped.values()):
            return self
        layers = tuple(QLayer(q.spec, np.clip(q.weight, lo, hi), q.bias, q.shift) for q in self.layers)
        return QuantNet(self.name, layers, self.b_w, self.b_a, self.test_indices,
                        {**self.metadata, "clipped_weights": clipped, "encoding": encoding})

    def test_set(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-out images as quantised inputs (N, 8, 8) and their labels."""
        *_, x, y, _ = load_digits_split(self.test_indices)
        return quantize_images(x, self.b_a), y

    def forward(self, x_q, mvm: MVM = exact_mvm) -> np.ndarray:
        """Integer logits (batch, 10) of quantised images ``x_q`` (batch, 8, 8); every MVM through ``mvm``."""
        a = np.asarray(x_q, dtype=np.int64)
        a = a.reshape(len(a), 1, 8, 8) if self.layers[0].spec.kind == "conv" else a.reshape(len(a), -1)
        for i, q in enumerate(self.layers):
            s = q.spec
            if s.kind == "conv":
                n = a.shape[0]
                acc = from_rows(mvm(i, q, im2col(a, 3, 3, 1, 1)), n, s.hw, s.hw)  # (n, C_out, H, W)
                bias = q.bias[None, :, None, None]
            else:
                a = a.reshape(len(a), -1)
                acc, bias = mvm(i, q, a), q.bias[None, :]
            if i < len(self.layers) - 1:
                a = requantize(acc, bias, q.shift, self.b_a)
                a = max_pool(a, 2) if s.pool else a
        return acc + bias

    def predict(self, x_q, mvm: MVM = exact_mvm) -> np.ndarray:
        return np.argmax(self.forward(x_q, mvm), axis=1)

    def accuracy(self, x_q, y, mvm: MVM = exact_mvm) -> float:
        """Fraction of ``x_q`` classified as ``y``."""
        return float(np.mean(self.predict(x_q, mvm) == np.asarray(y)))


def accuracy_sweep(net: QuantNet, sigmas, n_seeds: int, seed: int, params: DIMAParams | None = None, *,
                   data=None, layers=None, progress=None) -> np.ndarray:
    """Test accuracy of ``net`` on the analog array at each σ/μ in ``sigmas``, one chip per seed.

    Chip ``k`` is ``np.random.default_rng([seed, k])`` at every σ (common random numbers: the same cells, their
    deviation ``ε`` scaled by σ), so the curves are smooth in σ; σ = 0 is deterministic and computed once.

    Parameters
    ----------
    net : QuantNet
    sigmas : sequence of float
    n_seeds : int
        Chips per σ, >= 1.
    seed : int
        Base seed.
    params : DIMAParams, optional
        Everything but σ (default: :class:`DIMAParams` with a lossless ADC).
    data : (x_q, y), optional
        Default: the net's test set.
    layers : collection of int, optional
        Only these layers on the analog array (:func:`analog_mvm`); default all.
    progress : callable(iterable, desc) -> iterable, optional

    Returns
    -------
    numpy.ndarray
        ``(len(sigmas), n_seeds)`` accuracies in [0, 1].
    """
    from dataclasses import replace

    n_seeds = check_int("n_seeds", n_seeds, min=1)
    params = DIMAParams(adc_bits=None) if params is None else params
    x, y = net.test_set() if data is None else data
    out = np.empty((len(sigmas), n_seeds))
    items = [(i, float(s)) for i, s in enumerate(sigmas)]
    for i, s in (progress(items, f"{net.name} σ sweep") if progress else items):
        p = replace(params, sigma=s)
        if s == 0:
            out[i] = net.accuracy(x, y, analog_mvm(p, None, net.b_w, net.b_a, layers=layers))
            continue
        for k in range(n_seeds):
            out[i, k] = net.accuracy(x, y, analog_mvm(p, np.random.default_rng([seed, k]), net.b_w, net.b_a,
                                                      layers=layers))
    return out


def sigma_at_drop(sigmas, drops, limit: float) -> float | None:
    """Largest σ/μ up to which the (mean) accuracy drop stays <= ``limit``: the first crossing, interpolated
    linearly between grid points; ``None`` if it is exceeded at the first σ, the last σ if never exceeded."""
    s, d = np.asarray(sigmas, float), np.asarray(drops, float)
    over = np.flatnonzero(d > limit)
    if over.size == 0:
        return float(s[-1])
    j = int(over[0])
    if j == 0:
        return None
    return float(s[j - 1] + (limit - d[j - 1]) * (s[j] - s[j - 1]) / (d[j] - d[j - 1]))
