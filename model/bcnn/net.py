"""An XNOR-Net-style binary CNN for scikit-learn's 8x8 digits, the workload of the SOT-MRAM BCNN accelerator.

Paper: Fan and Angizi (``sot-mram-bcnn-fan-angizi.txt``), Fig. 3a/3b and Table I, on AlexNet-BCNN from
XNOR-Net (Rastegari et al., ECCV 2016, the paper's ref. [4]). As there, the first and last layers stay
real-valued and every binary block runs Fig. 3a's order BatchNorm -> BinActiv (sign, K) -> BinConv
(sign(W), alpha) -> Pool; the fully connected layers are convolutions over the whole input ("FC as conv").
Network (weights trained by ``scripts/train/bcnn.py``, committed as ``model/data/bcnn_digits.npz``)::

    x (N, 1, 8, 8) = load_digits().images / 16
    conv1   real 3x3, 1->16, pad 1 (no bias) -> BN -> ReLU              (8x8)      DPU
    bconv1  BN -> sign, K -> binary conv 3x3 16->32, valid -> maxpool 2 (6x6 -> 3x3) CIM: K=144, M=32
    bconv2  BN -> sign, K -> binary conv 3x3 32->64, valid              (1x1)      CIM: K=288, M=64
    bfc     BN -> sign, K -> binary fc 64->64 (a 1x1 conv)                         CIM: K=64,  M=64
    fc      BN -> real fc 64->10 (+ bias) -> logits                                DPU

The ReLU after conv1 is XNOR-Net's first layer (conv -> BN -> ReLU); the binary blocks have none (Fig. 3a).
Binary convolutions are VALID (no padding): a padded zero has no +1/-1 encoding in the CIM's 1/0 cells, so
padding would either need a third value or silently turn zeros into +1. ``K`` is computed from the block's
batch-normalised real input (:func:`model.bcnn.dpu.k_map`; for ``bfc`` the mean of ``|h|`` over the 64
inputs), ``alpha`` from the stored real-valued (latent) weights (:func:`model.bcnn.dpu.alpha`).

Every +/-1 dot product goes through one function, ``matmul(xb, wb) -> (N, M)`` with ``xb`` int8 ``(N, K)``
(rows of :func:`model.bcnn.dpu.im2col` of the signs) and ``wb`` int8 ``(K, M)`` (``sign(W).reshape(M,
K).T``), both holding only -1/+1; the default is :func:`reference_matmul`. Everything else is float32
numpy in a fixed order, so any ``matmul`` returning the exact integers gives bit-identical logits, and a
``matmul`` modelling the CIM (device variation, bit errors, the RTL) can be plugged in per layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model import digits
from model.bcnn.dpu import alpha, batch_norm, im2col, k_map, max_pool, multiply, sign
from model.checks import check_arrays, load_weights
from model.digits import check_images
from model.nn import conv2d, from_rows

__all__ = ["BCNN", "BinaryLayer", "BinaryOperands", "DEFAULT_WEIGHTS", "BN_EPS", "BINARY_LAYERS", "PARAM_NAMES",
           "reference_matmul", "load_test_set", "param_shapes", "ANY_WIDTH_SHAPES"]

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "data" / "bcnn_digits.npz"
BN_EPS = 1e-5
INPUT_SHAPE = (1, 8, 8)
N_CLASSES = 10
#: names of the binary (CIM) layers, in forward order
BINARY_LAYERS = ("bconv1", "bconv2", "bfc")
_BN_FIELDS = ("gamma", "beta", "mean", "var")


def param_shapes(c1: int | str = 16, c2: int | str = 32, c3: int | str = 64, f: int | str = 64) \
        -> dict[str, tuple]:
    """Parameter names and shapes for channel widths ``c1`` (conv1), ``c2`` (bconv1), ``c3`` (bconv2), ``f`` (bfc).

    A width given as a ``str`` stays a named size (:func:`model.checks.load_weights`): :data:`ANY_WIDTH_SHAPES`
    checks a network of any widths, each taken from the weights (``conv1.weight``, ``bconv1.weight``, ...).
    """
    shapes = {"conv1.weight": (c1, 1, 3, 3)}
    bns = {"conv1.bn": c1, "bconv1.bn": c1, "bconv2.bn": c2, "bfc.bn": c3, "fc.bn": f}
    for name, c in bns.items():
        shapes.update({f"{name}.{k}": (c,) for k in _BN_FIELDS})
    shapes.update({"bconv1.weight": (c2, c1, 3, 3), "bconv2.weight": (c3, c2, 3, 3), "bfc.weight": (f, c3),
                   "fc.weight": (N_CLASSES, f), "fc.bias": (N_CLASSES,)})
    return shapes


PARAM_NAMES = tuple(param_shapes())
#: The shapes a network of any channel widths must have (named sizes ``c1``, ``c2``, ``c3``, ``f``).
ANY_WIDTH_SHAPES = param_shapes("c1", "c2", "c3", "f")


@dataclass(frozen=True)
class BinaryLayer:
    """One binary (CIM) layer as a matrix product: per image ``n_per_image`` rows of ``k`` bits times ``m`` columns.

    Attributes
    ----------
    name : str
        ``"bconv1"``, ``"bconv2"`` or ``"bfc"``.
    kind : str
        ``"conv"`` or ``"fc"``.
    in_shape : tuple of int
        Input of the layer per image, ``(C, H, W)`` (``(K,)`` for ``fc``).
    kernel : tuple of int
        ``(kh, kw)``; ``(1, 1)`` for ``fc``.
    n_per_image : int
        Output positions (rows of ``xb``) per image, ``OH * OW``.
    k : int
        Bits per dot product, ``C * kh * kw``.
    m : int
        Output channels (columns of ``wb``).
    """

    name: str
    kind: str
    in_shape: tuple
    kernel: tuple
    n_per_image: int
    k: int
    m: int

    @property
    def macs_per_image(self) -> int:
        """Binary multiply-accumulates per image, ``n_per_image * k * m``."""
        return self.n_per_image * self.k * self.m


@dataclass(frozen=True)
class BinaryOperands:
    """The operands and result of one binary layer on a batch (stored by ``BCNN.forward(..., capture=)``).

    Attributes
    ----------
    xb : numpy.ndarray
        int8 ``(N * n_per_image, K)``, -1/+1 (rows in :func:`model.bcnn.dpu.im2col` order).
    wb : numpy.ndarray
        int8 ``(K, M)``, -1/+1.
    dot : numpy.ndarray
        ``(N * n_per_image, M)``, what ``matmul`` returned.
    k_scale : numpy.ndarray
        float32 ``(N * n_per_image,)``, the input scale ``K`` of each row.
    alpha : numpy.ndarray
        float32 ``(M,)``, the weight scales.
    """

    xb: np.ndarray
    wb: np.ndarray
    dot: np.ndarray
    k_scale: np.ndarray
    alpha: np.ndarray


MatMul = Callable[[np.ndarray, np.ndarray], np.ndarray]


def reference_matmul(xb: np.ndarray, wb: np.ndarray) -> np.ndarray:
    """The numpy reference of the CIM: ``xb.astype(int32) @ wb.astype(int32)``, int32 ``(N, M)``."""
    return xb.astype(np.int32) @ wb.astype(np.int32)


def _check_input(x) -> np.ndarray:
    x = check_images(x)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x must be finite, got NaN or inf at flat index {int(np.flatnonzero(~np.isfinite(x))[0])}")
    return x


class BCNN:
    """The trained binary CNN (see the module docstring); inference in numpy with a pluggable binary matmul.

    Parameters
    ----------
    params : dict[str, numpy.ndarray]
        The arrays of :func:`param_shapes` (widths taken from ``conv1.weight``, ``bconv1.weight``,
        ``bconv2.weight``, ``bfc.weight``); binary layers hold real-valued latent weights whose signs and
        mean absolute values are used.
    metadata : dict, optional
        Training metadata (from the npz).
    """

    def __init__(self, params: Mapping, metadata: dict | None = None):
        if not isinstance(params, Mapping):
            raise ValueError(f"params must be a mapping name -> array, got {type(params).__name__}")
        checked = check_arrays(params, ANY_WIDTH_SHAPES, "params")  # shapes, real dtypes, finite values
        self.params = {k: a.astype(np.float32) for k, a in checked.items()}
        widths = tuple(self.params[f"{k}.weight"].shape[0] for k in ("conv1", "bconv1", "bconv2", "bfc"))
        self.widths = widths
        self.metadata = dict(metadata or {})
        c1, c2, c3, f = widths
        self._layers = (
            BinaryLayer("bconv1", "conv", (c1, 8, 8), (3, 3), 36, c1 * 9, c2),
            BinaryLayer("bconv2", "conv", (c2, 3, 3), (3, 3), 1, c2 * 9, c3),
            BinaryLayer("bfc", "fc", (c3,), (1, 1), 1, c3, f),
        )
        self._wb, self._alpha = {}, {}
        for layer in self._layers:
            w = self.params[f"{layer.name}.weight"]
            wb = np.ascontiguousarray(sign(w).reshape(layer.m, layer.k).T)
            wb.flags.writeable = False
            self._wb[layer.name] = wb
            self._alpha[layer.name] = alpha(w)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path | None = None) -> "BCNN":
        """Load the committed weights (or ``path``, an npz written by ``scripts/train/bcnn.py``).

        The file is validated first (:func:`model.checks.load_weights` against :data:`ANY_WIDTH_SHAPES`: every
        parameter present, shapes consistent with the widths of the weights, real numeric dtypes, finite values;
        metadata, if any, a JSON object); other arrays in the file are not read.

        Raises
        ------
        ValueError
            One line naming the file and the field (a missing file is also a ``FileNotFoundError``).
        """
        path = Path(path) if path is not None else DEFAULT_WEIGHTS
        params, meta = load_weights(path, ANY_WIDTH_SHAPES, hint=" (train with scripts/train/bcnn.py)")
        return cls(params, meta)

    # ------------------------------------------------------------------ description
    def binary_layers(self) -> tuple[BinaryLayer, ...]:
        """The binary layers in forward order, each as ``(n_per_image, k, m)`` of its matrix product."""
        return self._layers

    def binary_layer(self, name: str) -> BinaryLayer:
        """One binary layer by name (``ValueError`` naming the choices otherwise)."""
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"layer must be one of {BINARY_LAYERS}, got {name!r}")

    def binary_weights(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(wb, alpha)`` of a binary layer: int8 ``(K, M)`` -1/+1 (read-only) and float32 ``(M,)``."""
        self.binary_layer(name)
        return self._wb[name], self._alpha[name]

    @property
    def n_parameters(self) -> int:
        return int(sum(v.size for v in self.params.values()))

    # ------------------------------------------------------------------ inference
    def _matmul_for(self, matmul, name: str) -> MatMul:
        if matmul is None:
            return reference_matmul
        if isinstance(matmul, Mapping):
            unknown = sorted(set(matmul) - set(BINARY_LAYERS))
            if unknown:
                raise ValueError(f"matmul keys must be in {BINARY_LAYERS}, got {unknown[0]!r}")
            f = matmul.get(name, reference_matmul)
            return reference_matmul if f is None else f
        if not callable(matmul):
            raise ValueError(f"matmul must be None, a callable (xb, wb) -> (N, M) or a dict layer -> callable, "
                             f"got {type(matmul).__name__}")
        return matmul

    def _binary(self, name: str, h: np.ndarray, matmul, capture) -> np.ndarray:
        """One binary layer on the batch-normalised real input ``h``: dot products through ``matmul``."""
        layer = self.binary_layer(name)
        kh, kw = layer.kernel
        h4 = h if layer.kind == "conv" else h[:, :, None, None]
        xb = im2col(sign(h4), kh, kw)
        xb.flags.writeable = False
        k = k_map(h4, kh, kw).reshape(-1)
        wb, al = self._wb[name], self._alpha[name]
        dot = np.asarray(self._matmul_for(matmul, name)(xb, wb))
        if dot.shape != (xb.shape[0], layer.m):
            raise ValueError(f"matmul for layer {name!r} must return shape {(xb.shape[0], layer.m)}, "
                             f"got shape {dot.shape}")
        if dot.dtype.kind not in "iuf" or dot.dtype == np.bool_:
            raise ValueError(f"matmul for layer {name!r} must return a real numeric array, got dtype {dot.dtype}")
        if capture is not None:
            capture[name] = BinaryOperands(xb, wb, dot, k, al)
        y = multiply(dot, k, al)  # (N * n_per_image, M)
        if layer.kind == "fc":
            return y
        n = h.shape[0]
        oh, ow = h.shape[2] - kh + 1, h.shape[3] - kw + 1
        return np.ascontiguousarray(from_rows(y, n, oh, ow))

    def _bn(self, name: str, x: np.ndarray) -> np.ndarray:
        p = self.params
        return batch_norm(x, p[f"{name}.mean"], p[f"{name}.var"], p[f"{name}.gamma"], p[f"{name}.beta"], BN_EPS)

    def forward(self, x, matmul=None, capture: dict | None = None) -> np.ndarray:
        """Logits ``(N, 10)`` float32.

        Parameters
        ----------
        x : array_like
            ``(N, 1, 8, 8)`` or ``(N, 8, 8)``, pixel values / 16.
        matmul : callable or dict, optional
            ``matmul(xb, wb) -> (N, M)`` for every binary layer, or ``{layer name: matmul}`` for some of
            them (the others, and ``None``, use :func:`reference_matmul`). ``xb`` and ``wb`` are read-only
            int8 arrays of -1/+1. The result may be any integer or float dtype; it is used as
            :func:`model.bcnn.dpu.multiply` uses it (exact integers up to ``2**24``).
        capture : dict, optional
            If given, ``capture[name]`` receives a :class:`BinaryOperands` for every binary layer.

        Returns
        -------
        numpy.ndarray
            float32 ``(N, 10)``.
        """
        if capture is not None and not isinstance(capture, dict):
            raise ValueError(f"capture must be None or a dict, got {type(capture).__name__}")
        p = self.params
        a = _check_input(x)
        n = a.shape[0]
        z = np.ascontiguousarray(conv2d(a, p["conv1.weight"], pad=1))
        a = np.maximum(self._bn("conv1.bn", z), np.float32(0))
        a = max_pool(self._binary("bconv1", self._bn("bconv1.bn", a), matmul, capture), 2)
        a = self._binary("bconv2", self._bn("bconv2.bn", a), matmul, capture).reshape(n, -1)
        a = self._binary("bfc", self._bn("bfc.bn", a), matmul, capture)
        a = self._bn("fc.bn", a)
        return (a @ p["fc.weight"].T + p["fc.bias"]).astype(np.float32, copy=False)

    def predict(self, x, matmul=None) -> np.ndarray:
        """Predicted class per image (int64, argmax of :meth:`forward`; ``-1`` where logits hold a NaN)."""
        logits = self.forward(x, matmul)
        pred = np.argmax(logits, axis=1).astype(np.int64)
        pred[np.isnan(logits).any(axis=1)] = -1
        return pred

    def accuracy(self, x, y, matmul=None) -> float:
        """Fraction of images classified correctly."""
        y = np.asarray(y)
        if y.shape != (np.shape(x)[0],):
            raise ValueError(f"y must have shape ({np.shape(x)[0]},) to match x, got {y.shape}")
        return float(np.mean(self.predict(x, matmul) == y))

    def operands(self, x, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(xb, wb)`` of binary layer ``name`` for images ``x`` (reference matmul for the earlier layers)."""
        self.binary_layer(name)
        capture = {}
        self.forward(x, capture=capture)
        return capture[name].xb, capture[name].wb


def load_test_set(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The held-out test images ``(N, 1, 8, 8)`` float32 and labels (int64), by the indices stored in the npz
    (default: the committed weights): :func:`model.digits.load_test_set`."""
    return digits.load_test_set(Path(path) if path is not None else DEFAULT_WEIGHTS)
