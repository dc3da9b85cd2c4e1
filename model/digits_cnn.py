"""The small digits CNN of the bit-error experiment, run in numpy (no torch).

The weights were trained by ``scripts/train/digits_cnn.py`` (PyTorch, scikit-learn's ``load_digits``,
fixed seed) and are committed as ``model/data/digits_cnn.npz`` with a JSON of metadata next to it.
Network (float32 arithmetic throughout)::

    x (N, 1, 8, 8) = load_digits().images / 16
    conv1 3x3, 1->8, pad 1 -> ReLU -> maxpool 2      (8x8 -> 4x4)
    conv2 3x3, 8->16, pad 1 -> ReLU -> maxpool 2     (4x4 -> 2x2)
    flatten (C, H, W order, 64) -> fc1 64->32 -> ReLU -> fc2 32->10 logits

Convolutions and pooling are :mod:`model.nn`'s (NCHW, im2col); data, test set and image check
:mod:`model.digits`'s.

Weight storage formats (:meth:`DigitsCNN.quantized`):

``"float32"``
    the trained weights as they are.
``"bf16"``
    every parameter (weights and biases) rounded to BF16 with round-to-nearest-even (ml_dtypes, the
    same rounding as torch's ``.to(torch.bfloat16)``; the npz holds torch's BF16 bit patterns so the
    tests check this bit-exactly). STT-AI (stt-ai-mishty-sadi.txt, Section V-F) is BF16 hardware, so this
    is the format whose bits the MRAM holds. Arithmetic stays float32: the BF16 values are exact in
    float32; we model the *storage* of the weights, not the MAC datapath's rounding.
``"int8"``
    symmetric per-tensor int8: ``q = clip(round(w / s), -127, 127)``, ``s = max|w| / 127``, for weights
    and biases alike (a simplification: real int8 pipelines keep int32 biases); the scales are float32
    and are assumed stored error-free (they are a handful of registers, not the MRAM array).

Non-finite values: a bit flip in a BF16 exponent can make a weight ``inf``/``NaN`` (or ~1e38, which
overflows). :meth:`DigitsCNN.predict` returns ``-1`` (always wrong) for an image whose logits contain a
NaN, instead of numpy's argmax convention (first NaN wins), which would be right by chance 10 % of the
time. ``+inf`` logits are ordinary maxima.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ml_dtypes
import numpy as np

from model import digits
from model.checks import check_arrays, load_weights
from model.digits import check_images
from model.nn import conv2d, max_pool

__all__ = ["DigitsCNN", "classes", "DEFAULT_WEIGHTS", "LAYERS", "PARAM_NAMES", "PARAM_SHAPES", "load_test_set",
           "float32_error_bound", "WEIGHT_FORMATS"]

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "data" / "digits_cnn.npz"

#: (name, kind, weight shape) in forward order; biases have shape (weight.shape[0],).
LAYERS = (
    ("conv1", "conv", (8, 1, 3, 3)),
    ("conv2", "conv", (16, 8, 3, 3)),
    ("fc1", "linear", (32, 64)),
    ("fc2", "linear", (10, 32)),
)
PARAM_NAMES = tuple(f"{name}.{kind}" for name, _, _ in LAYERS for kind in ("weight", "bias"))
WEIGHT_FORMATS = ("float32", "bf16", "int8")
INPUT_SHAPE = digits.IMAGE_SHAPE

_U32 = 2.0 ** -24  # unit roundoff of float32 (round to nearest)


#: Parameter name -> shape (torch layouts), the shapes :meth:`DigitsCNN.load` validates a weight file against.
PARAM_SHAPES = {f"{name}.{kind}": wshape if kind == "weight" else wshape[:1]
                for name, _, wshape in LAYERS for kind in ("weight", "bias")}


@dataclass(frozen=True)
class DigitsCNN:
    """The trained digits CNN; parameters as float32 arrays in torch layouts.

    Parameters
    ----------
    params : dict[str, numpy.ndarray]
        ``conv1.weight`` (8, 1, 3, 3), ``conv1.bias`` (8,), ``conv2.weight`` (16, 8, 3, 3), ``conv2.bias``
        (16,), ``fc1.weight`` (32, 64), ``fc1.bias`` (32,), ``fc2.weight`` (10, 32), ``fc2.bias`` (10,).
    weight_format : str
        Which storage format the (float32) values came from: one of :data:`WEIGHT_FORMATS`.
    metadata : dict
        Training metadata (from the npz), shared by derived models.
    """

    params: dict
    weight_format: str = "float32"
    metadata: dict | None = None

    def __post_init__(self):
        # finite=False: decoded bit-flipped words may hold inf/NaN on purpose (module docstring)
        params = check_arrays(self.params, PARAM_SHAPES, "params", finite=False)
        if self.weight_format not in WEIGHT_FORMATS:
            raise ValueError(f"weight_format must be one of {WEIGHT_FORMATS}, got {self.weight_format!r}")
        object.__setattr__(self, "params", {k: a.astype(np.float32, copy=False) for k, a in params.items()})

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path | None = None) -> "DigitsCNN":
        """Load the committed weights (or ``path``, an npz written by ``scripts/train/digits_cnn.py``).

        The file is validated first (:func:`model.checks.load_weights` against :data:`PARAM_SHAPES`: every
        parameter present, exact shapes, real numeric dtypes, finite values; metadata, if any, a JSON object).

        Raises
        ------
        ValueError
            One line naming the file and the field (a missing file is also a ``FileNotFoundError``).
        """
        path = Path(path) if path is not None else DEFAULT_WEIGHTS
        params, meta = load_weights(path, PARAM_SHAPES, hint=" (train with scripts/train/digits_cnn.py)")
        return cls(params, "float32", meta)

    # ------------------------------------------------------------------ formats
    def quantized(self, weight_format: str) -> "DigitsCNN":
        """The same network with every parameter stored as ``weight_format`` (see module docstring)."""
        if weight_format not in WEIGHT_FORMATS:
            raise ValueError(f"weight_format must be one of {WEIGHT_FORMATS}, got {weight_format!r}")
        if weight_format == "float32":
            return DigitsCNN(self.params, "float32", self.metadata)
        words, scales = self.encode(weight_format)
        return self.decode(words, weight_format, scales)

    def encode(self, weight_format: str) -> tuple[dict, dict]:
        """Parameters as stored words: ``({name: array of float32/bfloat16/int8}, {name: float32 scale})``.

        ``scales`` is empty except for ``"int8"`` (symmetric per-tensor scale ``max|w| / 127``; 1 for an
        all-zero tensor).
        """
        if weight_format not in WEIGHT_FORMATS:
            raise ValueError(f"weight_format must be one of {WEIGHT_FORMATS}, got {weight_format!r}")
        if weight_format == "float32":
            return {k: v.copy() for k, v in self.params.items()}, {}
        if weight_format == "bf16":
            return {k: v.astype(ml_dtypes.bfloat16) for k, v in self.params.items()}, {}
        words, scales = {}, {}
        for k, v in self.params.items():
            m = float(np.max(np.abs(v)))
            s = np.float32(m / 127.0) if m > 0 else np.float32(1.0)
            words[k] = np.clip(np.rint(v / s), -127, 127).astype(np.int8)
            scales[k] = s
        return words, scales

    def decode(self, words: dict, weight_format: str, scales: dict | None = None) -> "DigitsCNN":
        """Inverse of :meth:`encode` (possibly on corrupted words): a model with float32 parameters."""
        if weight_format not in WEIGHT_FORMATS:
            raise ValueError(f"weight_format must be one of {WEIGHT_FORMATS}, got {weight_format!r}")
        dtypes = {"float32": np.dtype(np.float32), "bf16": np.dtype(ml_dtypes.bfloat16), "int8": np.dtype(np.int8)}
        params = {}
        for k in PARAM_NAMES:
            if k not in words:
                raise ValueError(f"words is missing {k!r}; expected keys {list(PARAM_NAMES)}")
            w = np.asarray(words[k])
            if w.dtype != dtypes[weight_format]:
                raise ValueError(f"words[{k!r}] must have dtype {dtypes[weight_format]} for weight_format "
                                 f"{weight_format!r}, got {w.dtype}")
            if weight_format == "int8":
                if not scales or k not in scales:
                    raise ValueError(f"scales[{k!r}] is required for weight_format 'int8'")
                params[k] = w.astype(np.float32) * np.float32(scales[k])
            else:
                params[k] = w.astype(np.float32)
        return DigitsCNN(params, weight_format, self.metadata)

    @property
    def n_parameters(self) -> int:
        return int(sum(v.size for v in self.params.values()))

    # ------------------------------------------------------------------ inference
    def forward(self, x) -> np.ndarray:
        """Logits (N, 10), float32. ``x``: (N, 1, 8, 8) or (N, 8, 8), pixel values / 16."""
        p = self.params
        a = check_images(x)
        with np.errstate(all="ignore"):  # corrupted weights may overflow; NaN handled in predict()
            a = max_pool(np.maximum(conv2d(a, p["conv1.weight"], p["conv1.bias"], pad=1), 0))
            a = max_pool(np.maximum(conv2d(a, p["conv2.weight"], p["conv2.bias"], pad=1), 0))
            a = a.reshape(a.shape[0], -1)
            a = np.maximum(a @ p["fc1.weight"].T + p["fc1.bias"], 0)
            return (a @ p["fc2.weight"].T + p["fc2.bias"]).astype(np.float32, copy=False)

    def predict(self, x) -> np.ndarray:
        """Predicted class per image (int64); ``-1`` where the logits contain a NaN (:func:`classes`)."""
        return classes(self.forward(x))

    def accuracy(self, x, y) -> float:
        """Fraction of images classified correctly (NaN logits count as wrong)."""
        y = np.asarray(y)
        if y.shape != (np.shape(x)[0],):
            raise ValueError(f"y must have shape ({np.shape(x)[0]},) to match x, got {y.shape}")
        return float(np.mean(self.predict(x) == y))


def classes(logits) -> np.ndarray:
    """Predicted class of each row of ``logits`` (N, classes) (int64): the argmax, ``-1`` (always wrong) where a
    logit is NaN (module docstring)."""
    logits = np.asarray(logits)
    pred = np.argmax(logits, axis=1).astype(np.int64)
    pred[np.isnan(logits).any(axis=1)] = -1
    return pred


def load_test_set(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The held-out test images (N, 1, 8, 8) float32 and labels (int64), by the indices stored in the npz (default:
    the committed weights): :func:`model.digits.load_test_set`."""
    return digits.load_test_set(Path(path) if path is not None else DEFAULT_WEIGHTS)


def float32_error_bound(model: DigitsCNN, x) -> np.ndarray:
    """Elementwise bound on |computed - exact| logits for *any* float32 evaluation order.

    Derivation (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., eq. (3.5)): a dot
    product of ``n`` terms computed in floating point in any order (with or without FMA) satisfies
    ``|fl(w.a) - w.a| <= gamma_n |w|.|a|``, ``gamma_n = n u / (1 - n u)``, ``u = 2**-24``. A layer
    ``y = W a + b`` is a dot product of ``n = fan_in + 1`` terms (the bias as ``1 * b``). If the
    layer's input is known to within ``E`` of the exact value, an implementation's output error is at
    most ``|W| E + gamma_{n} (|W| |a_computed| + |b|)``, and ``|a_computed| <= |a_ours| + 2 E`` for any
    implementation whose input is also within ``E`` (the triangle inequality through the exact value).
    ReLU and max-pooling are 1-Lipschitz in the max norm, so the bound passes through them
    (max-pooled). The input ``x`` (integers / 16) is exact. Two implementations (this numpy code and
    torch) then differ by at most ``2 * bound`` per logit, and their argmax can differ only for images
    whose top-2 logit margin is at most ``4 * bound``.

    Returns
    -------
    numpy.ndarray
        (N, 10) float64 bound ``E`` on each logit's distance from the exact real-arithmetic value.
    """
    p = {k: v.astype(np.float64) for k, v in model.params.items()}
    a = check_images(x).astype(np.float64)
    e = np.zeros_like(a)

    def gamma(n):
        return n * _U32 / (1 - n * _U32)

    def affine(a, e, w, b, conv):
        absw, absb = np.abs(w), np.abs(b)
        mag = np.abs(a) + 2 * e
        if conv:
            n = w.shape[1] * 9 + 1
            prop = conv2d(e, absw, np.zeros_like(b), pad=1)
            rnd = conv2d(mag, absw, absb, pad=1)
            val = conv2d(a, w, b, pad=1)
        else:
            n = w.shape[1] + 1
            prop = e @ absw.T
            rnd = mag @ absw.T + absb
            val = a @ w.T + b
        return val, prop + gamma(n) * rnd

    a, e = affine(a, e, p["conv1.weight"], p["conv1.bias"], True)
    a, e = max_pool(np.maximum(a, 0)), max_pool(e)
    a, e = affine(a, e, p["conv2.weight"], p["conv2.bias"], True)
    a, e = max_pool(np.maximum(a, 0)), max_pool(e)
    a, e = a.reshape(len(a), -1), e.reshape(len(e), -1)
    a, e = affine(a, e, p["fc1.weight"], p["fc1.bias"], False)
    a = np.maximum(a, 0)
    _, e = affine(a, e, p["fc2.weight"], p["fc2.bias"], False)
    # The bound itself is evaluated in float64 (relative error ~1e-15): a 1e-9 relative margin covers it.
    return e * (1 + 1e-9)
