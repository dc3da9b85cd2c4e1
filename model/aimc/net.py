"""CNN 1 of the SOT-MRAM AiMC paper scaled to 8x8 digits, and a high-capacity ternary MLP: ternary weights,
variation-aware training, crossbar inference with fixed-range converters.

Paper: sot-mram-aimc-doevenspeck-imec.txt. CNN 1 (Fig. 13 (a)) is "inspired by LeNet-5 [7]" (99.2 % on MNIST);
its exact layers are only drawn. Ours keeps LeNet-5's layer sequence, scaled to scikit-learn's 8x8 digits
(:func:`sklearn.datasets.load_digits`, no download)::

    x (N, 1, 8, 8) = pixels / 16
    conv1 3x3, 1->6, pad 1 -> ReLU -> maxpool 2         (8x8 -> 4x4)      crossbar   9 x  12 devices
    conv2 3x3, 6->16, pad 1 -> ReLU -> maxpool 2        (4x4 -> 2x2)      crossbar  54 x  32
    flatten (H, W, C order, 64) -> fc1 64->120 -> ReLU                    crossbar  64 x 240
    fc2 120->84 -> ReLU                                                   crossbar 120 x 168
    fc3 84->10 logits                                                     crossbar  84 x  20

Every weight matrix is stored as ``(fan_in, fan_out)``, the crossbar orientation: rows are activation lines,
columns summation lines. Feature maps are NCHW and convolutions use :func:`model.nn.im2col` (3x3, pad 1), whose
columns are in (c_in, ky, kx) order; but the row order of a crossbar is physical (the IR drop of a device depends on
its row, :mod:`model.aimc.irdrop`) and the weight variation is drawn per weight in stored order
(:meth:`TernaryCNN.weights`), so the committed matrices keep the order they were trained in:

* conv layers: row ``(ky * 3 + kx) * C_in + c`` holds input channel ``c`` at kernel tap ``(ky, kx)``, i.e. (ky, kx,
  c_in) order. :func:`crossbar_row_order` is this order as an explicit permutation of :func:`model.nn.im2col`'s
  columns; :func:`_patches` applies it, :func:`_patches_adjoint` (its adjoint, for the gradient) undoes it.
* fc1: its 64 rows take the pooled 2x2x16 map in (H, W, C) order (:func:`model.nn.to_rows` of the map, one row
  per image).

Ternary weights and variation-aware training (Fig. 12)
------------------------------------------------------
"During each forward pass in the training, the floating point weights are quantized and weight variation
sigma_w,train is added." Quantiser: ternary weight networks (F. Li, B. Liu, arXiv:1605.04711, 2016), per layer
``delta = 0.7 mean|w|``, ``t = sign(w) [|w| > delta]``, ``alpha = mean(|w| : t != 0)``. The forward pass uses
``alpha (t + sigma_w,train eps)``, a fresh ``eps ~ N(0, 1)`` per weight and pass, i.e. Gaussian noise of
``sigma_w`` in units of the +-1 weight (the unit of :func:`model.aimc.devices.weight_sigmas`); zero weights get noise too
(a 0 is a (G_AP, G_AP) pair and spreads, Fig. 10). The gradient reaches the float weights straight through the
quantiser and the noise (straight-through estimator), ``alpha`` is treated as a constant. Biases and
``alpha`` are digital (exact). Optimiser: Adam, cross-entropy, mini-batches, cosine learning-rate decay; all in
numpy (no torch).

Test with variation: one draw of ``eps`` per weight is one chip (static device variation); the test set is
evaluated on it, and draws are repeated over seeds.

Crossbar inference (Figs. 15, 16)
---------------------------------
:class:`CrossbarNetwork` maps each layer's ternary matrix to conductances (:func:`model.aimc.devices.crossbar_conductances`,
R_ON = 1 / G_P, G_AP = G_P / (1 + TMR)) on a crossbar with wire resistance (:class:`model.aimc.irdrop.Crossbar`),
applies the activations as voltages ``a * v_read`` (all activations are >= 0: pixels and ReLU outputs), and reads
``(I+ - I-) / (v_read (G_P - G_AP))`` times ``alpha`` plus the bias; ReLU, pooling and the bias are exact (digital),
as in the paper's Fig. 15 (a). The circuit is linear, so ``v_read`` cancels; the result depends on R_ON and the wire
resistance only through ``r_wire / R_ON`` (:mod:`model.aimc.irdrop`). Each layer's array is factorised once; the MVMs of
all images go through it as one batch (``method="transfer"``: the solver's response to the unit input vectors, exact
by superposition; ``"direct"`` solves every input vector; both agree to rounding, tested).

Fixed-range converters (:class:`Periphery`; ours, the paper's Fig. 15 (a) calls only pooling, ReLU and BatchNorm
digital and errorless and leaves the converters open): with float activations and no converter, an IR-drop gain
loss only rescales a ReLU layer and costs almost nothing. The paper's networks quantise activations ("quantization
to a very limited amount of activation and weight levels"; its ref. [4], Choi et al. 2019, clips activations to a
fixed range), so :class:`Periphery` adds, per crossbar, a DAC of ``act_bits`` (unsigned uniform codes over
``[0, act_max]``) on the activation lines and an ADC of ``adc_bits`` on the summation lines with a FIXED full scale:
``conversions=1`` converts the analog difference ``I+ - I-`` once per output (signed, ``2^(b-1) - 1`` codes each
side of 0 over ``[-diff_max, diff_max]``), ``conversions=2`` converts both summation lines (unsigned over
``[0, line_max]``) and subtracts digitally; the paper's Fig. 9 leaves this open. The full scales come from
:func:`calibrate_ranges`: the largest value on the wire-free float network over a calibration set (ours: no
clipping at nominal), so a gain loss from IR drop uses fewer codes, and shrinks further layer by layer. There is no
per-column gain calibration (Fig. 16 shows the uncompensated drop). :func:`reference_mvm` is the same periphery
around the exact ternary product: the zero-variation (wire-free) network of each variant, which
:class:`CrossbarNetwork` with ``r_wire = 0`` reproduces code for code (tested).

High-capacity ternary MLP (:class:`TernaryMLP`)
-----------------------------------------------
The paper's Fig. 14 network is a ResNet-26 sized for CIFAR-100, far larger than its task needs. Our CNN is not: its
noiseless training error is 1.6-2.6 % at sigma_w,train = 0.3 and 4.5-5.8 % at 0.4 (``aimc_cnn.json``; conv1 has fan-in
9), so training noise costs it clean accuracy. :class:`TernaryMLP` (default ``64 -> 128 -> 128 -> 10``, rows = the
64 pixels in (H, W) order, ReLU between layers, the same ternary quantiser, noise and straight-through training,
:func:`train_mlp`) has fan-ins 64 and 128 and fits its training data at every sigma_w,train up to 0.4 (committed
``aimc_mlp.npz``/``.json``, by ``scripts/train/aimc.py --arch mlp``).
"""

from __future__ import annotations

import copy
import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from model import digits
from model.aimc.devices import TMR, crossbar_conductances
from model.aimc.irdrop import Crossbar
from model.checks import INTEGER_DTYPES, check_int, check_real, load_weights
from model.digits import check_images
from model.nn import col2im, from_rows, im2col, max_pool, max_pool_backward, to_rows

__all__ = ["LAYERS", "SHAPES", "DEFAULT_WEIGHTS", "DEFAULT_MLP_WEIGHTS", "MLP_HIDDEN", "V_READ", "ternarize",
           "TernaryCNN", "TernaryMLP", "mlp_layers", "load_split", "load_calibration_set", "train", "train_mlp",
           "loss_and_grads", "forward", "mlp_forward", "mlp_loss_and_grads", "Periphery", "Ranges",
           "calibrate_ranges", "quantise_uniform", "reference_mvm", "CrossbarNetwork", "noise_errors",
           "ir_drop_errors", "ir_drop_sweep", "load_models", "load_test_set", "knee_r_on", "array_loss",
           "layer_losses", "equal_loss_r_on", "VariationGrid", "variation_grid", "pack_ternary", "unpack_ternary",
           "models_npz", "crossbar_row_order"]

#: (name, kind, fan_in, fan_out)
LAYERS = (("conv1", "conv", 9, 6), ("conv2", "conv", 54, 16), ("fc1", "fc", 64, 120), ("fc2", "fc", 120, 84),
          ("fc3", "fc", 84, 10))
SHAPES = {name: (fi, fo) for name, _, fi, fo in LAYERS}
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "data" / "aimc_cnn.npz"
#: The committed high-capacity ternary MLPs (``scripts/train/aimc.py --arch mlp``).
DEFAULT_MLP_WEIGHTS = DEFAULT_WEIGHTS.with_name("aimc_mlp.npz")
#: Hidden widths of :class:`TernaryMLP` (ours: the narrowest power of two whose noiseless training error stays
#: below 0.5 % at sigma_w,train = 0.4 in a trial of 64/128/256; ``aimc_mlp.json`` records it per model).
MLP_HIDDEN = (128, 128)
#: Pixels of one digits image, the MLP's input rows.
N_PIXELS = 64
N_CLASSES = 10
#: Read voltage of the activation lines for an activation of 1 (ours; it cancels in the linear crossbar).
V_READ = 0.1
TWN_DELTA = 0.7   # Li & Liu (2016): delta = 0.7 E|w|


def _one_blas_thread(func):
    """Run ``func`` with BLAS on one thread (threadpoolctl, a scikit-learn dependency). This network's products
    are small (inner dimension 9 to 120); a multi-threaded BLAS spends more on synchronisation than on them, up to
    20x slower on the shared 2-core machine when the other core is busy (measured)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)
    return wrapper


# ---------------------------------------------------------------------------------------------------- layers
@functools.lru_cache(maxsize=None)
def crossbar_row_order(c: int) -> np.ndarray:
    """The crossbar row order of a 3x3 conv layer with ``c`` input channels, as a permutation of im2col's columns.

    Parameters
    ----------
    c : int
        Input channels, ``>= 1``.

    Returns
    -------
    numpy.ndarray
        int64 ``(9 c,)``, read-only: ``perm[(ky * 3 + kx) * c + ci] = ci * 9 + ky * 3 + kx``, so that crossbar row
        ``r`` (the stored (ky, kx, c_in) order, module docstring) receives column ``perm[r]`` of
        ``model.nn.im2col(x, 3, 3, 1, 1)`` (whose column ``ci * 9 + ky * 3 + kx`` holds channel ``ci`` at tap
        ``(ky, kx)``). ``numpy.argsort(perm)`` is the inverse.
    """
    c = check_int("c", c, min=1, type_error=False)
    perm = np.arange(9 * c, dtype=np.int64).reshape(c, 9).T.ravel()
    perm.flags.writeable = False
    return perm


@functools.lru_cache(maxsize=None)
def _inverse_row_order(c: int) -> np.ndarray:
    inv = np.argsort(crossbar_row_order(c))
    inv.flags.writeable = False
    return inv


def _patches(x: np.ndarray) -> np.ndarray:
    """NCHW ``(N, C, H, W)`` -> ``(N H W, 9 C)``: the rows of a 3x3, pad-1 convolution's MVMs, each row in crossbar
    (ky, kx, c) order (:func:`model.nn.im2col` with its columns permuted by :func:`crossbar_row_order`)."""
    return im2col(x, 3, 3, 1, 1)[:, crossbar_row_order(x.shape[1])]


def _patches_adjoint(dcols: np.ndarray, shape) -> np.ndarray:
    """Adjoint of :func:`_patches`: ``(N H W, 9 C)`` in (ky, kx, c) order scatter-added back to NCHW ``shape``
    (the columns put back in im2col order, then :func:`model.nn.col2im`)."""
    return col2im(dcols[:, _inverse_row_order(shape[1])], shape, 3, 3, 1, 1)


def _images(x) -> np.ndarray:
    """Digits images as NCHW ``(N, 1, 8, 8)`` (:func:`model.digits.check_images`): float32 kept, else float64."""
    return check_images(x, dtype=None)


def _add_bias(z: np.ndarray, b) -> np.ndarray:
    return z + np.asarray(b, dtype=z.dtype)


def forward(x, weights, biases, mvm=None, cache: list | None = None, patches=None) -> np.ndarray:
    """Logits ``(N, 10)`` of the network with float ``weights`` (one ``(fan_in, fan_out)`` per layer).

    ``mvm(k, a)`` computes layer ``k``'s product ``a @ weights[k]`` (default: exactly that); a crossbar replaces
    it. ``cache`` (a list) receives what :func:`loss_and_grads` needs for the backward pass. ``patches``: the
    first layer's MVM rows, :func:`_patches` of ``x``, if already computed (they do not depend on the weights).
    """
    a = _images(x)
    n = a.shape[0]
    mvm = mvm or (lambda k, v: v @ weights[k])
    for k in (0, 1):
        cols = patches if k == 0 and patches is not None else _patches(a)
        z = from_rows(_add_bias(mvm(k, cols), biases[k]), n, a.shape[2], a.shape[3])      # NCHW
        r = np.maximum(z, 0)
        p = max_pool(r, 2)
        if cache is not None:
            cache.append((a.shape, cols, z, r, p))
        a = p
    a = to_rows(a).reshape(n, -1)                         # (H, W, C) order: fc1's crossbar rows
    for k in (2, 3, 4):
        z = _add_bias(mvm(k, a), biases[k])
        if cache is not None:
            cache.append((a, z))
        a = np.maximum(z, 0) if k < 4 else z
    return a


def _cross_entropy(logits: np.ndarray, y) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of ``logits`` ``(N, 10)`` against labels ``y`` and its gradient w.r.t. the logits."""
    y = np.asarray(y)
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = float(-logp[np.arange(n), y].mean())
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    d /= n
    return loss, d


def loss_and_grads(x, y, weights, biases) -> tuple[float, list, list]:
    """Mean cross-entropy of ``forward(x, weights, biases)`` and its gradients w.r.t. weights and biases."""
    cache: list = []
    logits = forward(x, weights, biases, cache=cache)
    n = logits.shape[0]
    loss, d = _cross_entropy(logits, y)
    gw, gb = [None] * 5, [None] * 5
    for k in (4, 3, 2):
        a_in, z_k = cache[k]
        if k < 4:
            d = d * (z_k > 0)
        gw[k] = a_in.T @ d
        gb[k] = d.sum(axis=0)
        d = d @ weights[k].T
    _, c, h, w = cache[1][4].shape
    d = from_rows(d.reshape(n * h * w, c), n, h, w)     # (H, W, C) order back to the NCHW pooled map
    for k in (1, 0):
        shape, cols, z_k, r, p = cache[k]
        d = max_pool_backward(d, r, p) * (z_k > 0)      # ties share the gradient evenly
        d2 = to_rows(d)
        gw[k] = cols.T @ d2
        gb[k] = d2.sum(axis=0)
        if k:
            d = _patches_adjoint(d2 @ weights[k].T, shape)
    return loss, gw, gb


def ternarize(w: np.ndarray) -> tuple[np.ndarray, float]:
    """Ternary weight network quantiser (Li & Liu 2016): ``(t in {-1, 0, 1} as int8, alpha)``."""
    w = np.asarray(w, dtype=np.float64)
    aw = np.abs(w)
    t = (np.sign(w) * (aw > TWN_DELTA * aw.mean())).astype(np.int8)
    nz = t != 0
    alpha = float(aw[nz].mean()) if nz.any() else 1.0
    return t, alpha


def _mlp_rows(x) -> np.ndarray:
    """Digits images -> the MLP's input rows ``(N, 64)``, pixels in (H, W) order (its first crossbar's rows)."""
    a = _images(x)
    return a.reshape(a.shape[0], N_PIXELS)


def mlp_forward(x, weights, biases, mvm=None, cache: list | None = None, patches=None) -> np.ndarray:
    """Logits ``(N, 10)`` of the MLP with float ``weights`` (``(fan_in, fan_out)`` each): ReLU between layers.

    ``mvm``, ``cache`` as for :func:`forward`; ``patches``: the input rows (:meth:`TernaryMLP.inputs`) if already
    computed.
    """
    a = _mlp_rows(x) if patches is None else patches
    mvm = mvm or (lambda k, v: v @ weights[k])
    last = len(weights) - 1
    for k in range(len(weights)):
        z = _add_bias(mvm(k, a), biases[k])
        if cache is not None:
            cache.append((a, z))
        a = np.maximum(z, 0) if k < last else z
    return a


def mlp_loss_and_grads(x, y, weights, biases) -> tuple[float, list, list]:
    """Mean cross-entropy of :func:`mlp_forward` and its gradients w.r.t. weights and biases."""
    cache: list = []
    loss, d = _cross_entropy(mlp_forward(x, weights, biases, cache=cache), y)
    n_layers = len(weights)
    gw, gb = [None] * n_layers, [None] * n_layers
    for k in range(n_layers - 1, -1, -1):
        a_in, z_k = cache[k]
        if k < n_layers - 1:
            d = d * (z_k > 0)
        gw[k] = a_in.T @ d
        gb[k] = d.sum(axis=0)
        if k:
            d = d @ weights[k].T
    return loss, gw, gb


def mlp_layers(hidden=MLP_HIDDEN) -> tuple:
    """``(name, "fc", fan_in, fan_out)`` of the MLP ``64 -> hidden... -> 10`` (names ``fc1``, ``fc2``, ...)."""
    hidden = tuple(check_int("hidden", h, min=1, type_error=False) for h in hidden)
    sizes = (N_PIXELS, *hidden, N_CLASSES)
    return tuple((f"fc{k + 1}", "fc", a, b) for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])))


# ----------------------------------------------------------------------------------------------------- model
def _check_layers(layers, ternary, scales, biases) -> None:
    if not (len(ternary) == len(scales) == len(biases) == len(layers)):
        raise ValueError(f"ternary, scales and biases need {len(layers)} layers each")
    for (name, _, fi, fo), t, b in zip(layers, ternary, biases):
        if np.shape(t) != (fi, fo) or np.shape(b) != (fo,):
            raise ValueError(f"{name}: ternary must be ({fi}, {fo}) and bias ({fo},), got {np.shape(t)} and "
                             f"{np.shape(b)}")
        if not np.isin(t, (-1, 0, 1)).all():
            raise ValueError(f"{name}: ternary weights must be in {{-1, 0, 1}}")


@dataclass(frozen=True)
class _TernaryNet:
    """What :class:`TernaryCNN` and :class:`TernaryMLP` share: the stored layers (per layer an int8 ``(fan_in,
    fan_out)`` matrix in {-1, 0, 1}, a scale and a bias), noisy weights, error, the first layer's rows."""

    ternary: tuple
    scales: tuple
    biases: tuple
    meta: dict = field(default_factory=dict)

    def weights(self, sigma: float = 0.0, rng: np.random.Generator | None = None,
                level_sigmas: dict | None = None) -> list[np.ndarray]:
        """Effective float weights ``alpha (t + noise)`` per layer.

        ``sigma``: Gaussian weight spread in units of the +-1 weight, the same for every level (Figs. 13, 14);
        ``level_sigmas`` ``{-1: s, 0: s, 1: s}`` instead gives each level its own spread (Fig. 10 (b)). One draw
        (one chip) per call; ``rng`` is required when any spread is > 0.
        """
        sigma = check_real("sigma", sigma, min=0, type_error=False)
        out = []
        for t, a in zip(self.ternary, self.scales):
            w = t.astype(np.float64)
            if level_sigmas is not None:
                s = np.choose(t + 1, [check_real("level_sigmas[-1]", level_sigmas[-1], min=0, type_error=False),
                                      check_real("level_sigmas[0]", level_sigmas[0], min=0, type_error=False),
                                      check_real("level_sigmas[1]", level_sigmas[1], min=0, type_error=False)])
                w = w + s * rng.standard_normal(w.shape)
            elif sigma > 0:
                w = w + sigma * rng.standard_normal(w.shape)
            out.append(a * w)
        return out

    def forward(self, x, weights=None, mvm=None, patches=None) -> np.ndarray:
        """Logits; ``weights`` default to the noiseless ones; ``mvm`` as in :func:`forward`; ``patches``: the first
        layer's rows (:meth:`inputs`) if already computed."""
        return self._forward(x, self.weights() if weights is None else weights, self.biases, mvm=mvm,
                             patches=patches)

    def error(self, x, y, weights=None, mvm=None, patches=None) -> float:
        """Test error (fraction misclassified)."""
        return float(np.mean(np.argmax(self.forward(x, weights, mvm, patches), axis=1) != np.asarray(y)))

    @property
    def n_weights(self) -> int:
        return int(sum(t.size for t in self.ternary))


@dataclass(frozen=True)
class TernaryCNN(_TernaryNet):
    """A trained ternary CNN: per layer an int8 ``(fan_in, fan_out)`` matrix in {-1, 0, 1}, a scale and a bias."""

    layers = LAYERS
    _forward = staticmethod(forward)

    def __post_init__(self):
        _check_layers(LAYERS, self.ternary, self.scales, self.biases)

    @staticmethod
    def inputs(x) -> np.ndarray:
        """The first crossbar's rows of images ``x``: :func:`_patches` (crossbar row order)."""
        return _patches(_images(x))


@dataclass(frozen=True)
class TernaryMLP(_TernaryNet):
    """A trained ternary MLP ``64 -> hidden... -> 10`` (:func:`mlp_layers`), stored like :class:`TernaryCNN`."""

    _forward = staticmethod(mlp_forward)

    def __post_init__(self):
        shapes = [np.shape(t) for t in self.ternary]
        if not shapes or any(len(sh) != 2 for sh in shapes):
            raise ValueError(f"ternary must be a non-empty sequence of 2-D matrices, got shapes {shapes}")
        _check_layers(mlp_layers([fo for _, fo in shapes[:-1]]), self.ternary, self.scales, self.biases)

    @property
    def layers(self) -> tuple:
        return mlp_layers([np.shape(t)[1] for t in self.ternary[:-1]])

    @staticmethod
    def inputs(x) -> np.ndarray:
        """The first crossbar's rows of images ``x``: the 64 pixels in (H, W) order."""
        return _mlp_rows(x)


def pack_ternary(t) -> np.ndarray:
    """Ternary values as base-3 digits ``t + 1``, five per byte (``sum_i d_i 3^i`` < 243), first weight least
    significant (uint8; 1.6 bits per weight, which keeps the committed models small)."""
    v = np.asarray(t, np.int64).ravel() + 1
    if v.size and (v.min() < 0 or v.max() > 2):
        raise ValueError("t must hold ternary weights in {-1, 0, 1}")
    v = np.concatenate([v, np.zeros(-v.size % 5, np.int64)]).reshape(-1, 5)
    return (v @ (3 ** np.arange(5))).astype(np.uint8)


def unpack_ternary(packed, shape) -> np.ndarray:
    """Inverse of :func:`pack_ternary`: int8 array of ``shape``."""
    b = np.asarray(packed, np.int64)
    n = int(np.prod(shape))
    if b.ndim != 1 or b.size * 5 < n or np.any(b > 242):
        raise ValueError(f"packed ternary data does not hold {n} weights of shape {tuple(shape)}")
    v = (b[:, None] // 3 ** np.arange(5)) % 3
    return (v.ravel()[:n] - 1).astype(np.int8).reshape(shape)


# ------------------------------------------------------------------------------------------------------ data
def load_split(seed: int = 0, test_size: float = 0.3):
    """``(x_train, y_train, x_test, y_test, test_indices)``: :func:`model.digits.load_split`, images NCHW float64
    (pixels / 16), the training images in the order of the split (``sort_train=False``, the order the committed
    models were trained in), the test set in ascending index order."""
    return digits.load_split(seed, test_size, dtype=np.float64, sort_train=False)


# -------------------------------------------------------------------------------------------------- training
def _check_training(sigma_train, seed, epochs, batch, lr):
    return (check_real("sigma_train", sigma_train, min=0, type_error=False),
            check_int("seed", seed, min=0, type_error=False), check_int("epochs", epochs, min=1, type_error=False),
            check_int("batch", batch, min=1, type_error=False),
            check_real("lr", lr, min=0, min_open=True, type_error=False))


def _train_ternary(x, y, shapes, grads, sigma_train, seed, epochs, batch, lr, progress):
    """Fig. 12's loop shared by both networks: ternarise, add ``sigma_train`` noise, straight-through Adam.

    ``shapes``: ``(fan_in, fan_out)`` per layer; ``grads(x, y, weights, biases)`` -> ``(loss, gw, gb)``. The random
    stream (``default_rng(seed)``: He initialisation layer by layer, then per epoch a permutation and per batch one
    noise draw per layer) is the one the committed CNNs were trained with. Returns ``(latent, biases)``.
    """
    rng = np.random.default_rng(seed)
    latent = [rng.normal(0, math.sqrt(2 / fi), (fi, fo)) for fi, fo in shapes]
    biases = [np.zeros(fo) for _, fo in shapes]
    params = latent + biases
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    steps_per_epoch = math.ceil(len(x) / batch)
    total, step = epochs * steps_per_epoch, 0
    epochs_it = range(epochs) if progress is None else progress(range(epochs))
    for _ in epochs_it:
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s:s + batch]
            eff = []
            for w in latent:
                t, alpha = ternarize(w)
                noise = sigma_train * rng.standard_normal(w.shape) if sigma_train > 0 else 0.0
                eff.append(alpha * (t + noise))
            _, gw, gb = grads(x[idx], y[idx], eff, biases)
            step += 1
            rate = lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / total))
            for i, (p, g) in enumerate(zip(params, gw + gb)):       # straight-through: d/dlatent = d/deff
                m1[i] = 0.9 * m1[i] + 0.1 * g
                m2[i] = 0.999 * m2[i] + 0.001 * g * g
                p -= rate * (m1[i] / (1 - 0.9 ** step)) / (np.sqrt(m2[i] / (1 - 0.999 ** step)) + 1e-8)
    return latent, biases


def _ternary_parts(latent, biases) -> tuple:
    tern = [ternarize(w) for w in latent]
    return tuple(t for t, _ in tern), tuple(a for _, a in tern), tuple(b.copy() for b in biases)


@_one_blas_thread
def train(x, y, sigma_train: float, seed: int, epochs: int = 80, batch: int = 32, lr: float = 3e-3,
          progress=None) -> TernaryCNN:
    """Variation-aware training (Fig. 12): ternarise and add ``sigma_train`` noise in every forward pass.

    Parameters
    ----------
    x, y : numpy.ndarray
        Training images ``(N[, 1], 8, 8)`` and labels.
    sigma_train : float
        sigma_w,train >= 0 in units of the +-1 weight.
    seed : int
        Initialisation, shuffling and noise: ``np.random.default_rng(seed)``.
    epochs, batch, lr : int, int, float
        Adam (beta 0.9 / 0.999) with cosine decay of ``lr`` over all steps.
    progress : callable, optional
        Wraps the epoch iterator (e.g. tqdm).
    """
    sigma_train, seed, epochs, batch, lr = _check_training(sigma_train, seed, epochs, batch, lr)
    latent, biases = _train_ternary(_images(x), np.asarray(y), [(fi, fo) for _, _, fi, fo in LAYERS],
                                    loss_and_grads, sigma_train, seed, epochs, batch, lr, progress)
    return TernaryCNN(*_ternary_parts(latent, biases),
                      {"sigma_train": sigma_train, "seed": seed, "epochs": epochs, "batch": batch, "lr": lr})


@_one_blas_thread
def train_mlp(x, y, sigma_train: float, seed: int, hidden=MLP_HIDDEN, epochs: int = 60, batch: int = 32,
              lr: float = 3e-3, progress=None) -> TernaryMLP:
    """:func:`train` for the ternary MLP ``64 -> hidden... -> 10`` (:class:`TernaryMLP`).

    Parameters
    ----------
    x, y, sigma_train, seed, batch, lr, progress
        As for :func:`train`.
    hidden : sequence of int
        Hidden widths, each >= 1 (default :data:`MLP_HIDDEN`).
    epochs : int
        >= 1 (default 60: ours, the noiseless training error is below 0.5 % at sigma_w,train = 0.4 with it).
    """
    sigma_train, seed, epochs, batch, lr = _check_training(sigma_train, seed, epochs, batch, lr)
    layers = mlp_layers(hidden)
    latent, biases = _train_ternary(_images(x), np.asarray(y), [(fi, fo) for _, _, fi, fo in layers],
                                    mlp_loss_and_grads, sigma_train, seed, epochs, batch, lr, progress)
    return TernaryMLP(*_ternary_parts(latent, biases),
                      {"sigma_train": sigma_train, "seed": seed, "epochs": epochs, "batch": batch, "lr": lr,
                       "hidden": [fo for _, _, _, fo in layers[:-1]]})


# ------------------------------------------------------------------------------------------ committed weights
def models_npz(models: list, test_indices, metadata: dict) -> bytes:
    """The compressed npz bytes of ``models`` (a list of :class:`TernaryCNN` or of :class:`TernaryMLP` of one
    architecture), read back by :func:`load_models`.

    One array per layer for all models, model ``m`` in row ``m``: ``<layer>.t5`` (uint8, the ternary matrix five
    weights per byte, :func:`pack_ternary`), ``<layer>.bias`` (float32), ``alpha`` (float32, (models, layers)),
    ``sigma_train`` and ``seed`` (from each model's ``meta``), ``test_indices`` (int64) and ``metadata`` (JSON as a
    0-d string array; its ``"architecture"``, a list of ``{name, kind, fan_in, fan_out}``, tells
    :func:`load_models` which network it holds). Stacking keeps the per-entry overhead of the zip archive out of
    the committed file.
    """
    import io

    layers = models[0].layers
    if any(m.layers != layers for m in models):
        raise ValueError("models must all have the same architecture")
    arch = _architecture(layers)
    if metadata.get("architecture", arch) != arch:
        raise ValueError(f"metadata['architecture'] must describe the models' layers {arch}")
    arrays = {}
    for k, (name, *_) in enumerate(layers):
        arrays[f"{name}.t5"] = np.stack([pack_ternary(m.ternary[k]) for m in models])
        arrays[f"{name}.bias"] = np.stack([np.asarray(m.biases[k], np.float32) for m in models])
    arrays["alpha"] = np.array([m.scales for m in models], np.float32)
    arrays["sigma_train"] = np.array([m.meta["sigma_train"] for m in models], np.float64)
    arrays["seed"] = np.array([m.meta["seed"] for m in models], np.int64)
    arrays["test_indices"] = np.asarray(test_indices, np.int64)
    arrays["metadata"] = np.array(json.dumps({**metadata, "architecture": arch}))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


#: JSON Schema of the metadata of a models file (:func:`models_npz`); ``architecture`` is absent in the first CNN
#: files. Limits (ours: far above any network of this module): 64 layers, names of 64 characters, fan-in/out 2^20.
MODELS_METADATA_SCHEMA = {
    "type": "object",
    "properties": {"architecture": {"type": "array", "minItems": 1, "maxItems": 64, "items": {
        "type": "object", "required": ["name", "kind", "fan_in", "fan_out"],
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 64}, "kind": {"enum": ["conv", "fc"]},
                       "fan_in": {"type": "integer", "minimum": 1, "maximum": 1 << 20},
                       "fan_out": {"type": "integer", "minimum": 1, "maximum": 1 << 20}}}}},
}


def _architecture(layers) -> list:
    return [{"name": n, "kind": k, "fan_in": fi, "fan_out": fo} for n, k, fi, fo in layers]


def _models_layers(meta: dict) -> tuple:
    """``(class, layers)`` a models file holds, by its metadata (validated by :data:`MODELS_METADATA_SCHEMA`)."""
    arch = meta.get("architecture")
    if arch is None or any(a["kind"] == "conv" for a in arch):
        if arch is not None and arch != _architecture(LAYERS):
            raise ValueError(f"metadata.architecture: a CNN must be {_architecture(LAYERS)}, got {arch}")
        return TernaryCNN, LAYERS
    got = tuple((a["name"], a["kind"], int(a["fan_in"]), int(a["fan_out"])) for a in arch)
    want = mlp_layers([fo for *_, fo in got[:-1]])
    if got != want:
        raise ValueError(f"metadata.architecture: an MLP must be {_architecture(want)} (fc1, fc2, ... from "
                         f"{N_PIXELS} inputs to {N_CLASSES} classes, each layer reading the previous one), got {arch}")
    return TernaryMLP, got


def _models_shapes(meta: dict) -> dict:
    """The arrays of a models file (:func:`models_npz`) and their shapes; ``models`` and ``tests`` are named sizes."""
    _, layers = _models_layers(meta)
    shapes = {}
    for name, _, fi, fo in layers:
        shapes[f"{name}.t5"] = ("models", -(-fi * fo // 5))    # five weights per byte, pack_ternary
        shapes[f"{name}.bias"] = ("models", fo)
    return {**shapes, "alpha": ("models", len(layers)), "sigma_train": ("models",), "seed": ("models",),
            "test_indices": ("tests",)}


def _models_dtypes(name: str) -> tuple | None:
    """Allowed dtypes of an array of a models file: packed codes uint8, seeds and indices integers, else None (any
    real numeric dtype)."""
    if name.endswith(".t5"):
        return ("uint8",)
    return INTEGER_DTYPES if name in ("seed", "test_indices") else None


def load_models(path: str | Path | None = None) -> tuple[dict, np.ndarray, dict]:
    """The committed models of ``scripts/train/aimc.py`` (format: :func:`models_npz`).

    The file is validated first (:func:`model.checks.load_weights`): metadata against
    :data:`MODELS_METADATA_SCHEMA` and, for an MLP, a chain from 64 pixels to 10 classes (for a CNN :data:`LAYERS`);
    every array of :func:`models_npz` with the shape that architecture and the number of models give, ``.t5``
    arrays uint8, ``seed`` and ``test_indices`` integers, float arrays finite; every packed code a ternary one and
    each ``(sigma_train, seed)`` once.

    Parameters
    ----------
    path : str or Path, optional
        Default :data:`DEFAULT_WEIGHTS` (the CNNs); :data:`DEFAULT_MLP_WEIGHTS` holds the MLPs.

    Returns
    -------
    tuple
        ``({(sigma_train, seed): TernaryCNN or TernaryMLP}, test_indices, metadata)``: a file whose metadata
        architecture has a conv layer (or none, as the first CNN files) holds :data:`LAYERS` CNNs, else MLPs.

    Raises
    ------
    ValueError
        One line naming the file and the field (a missing file is also a ``FileNotFoundError``).
    """
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    label = f"weights file {str(path)!r}"
    data, meta = load_weights(path, _models_shapes, dtypes=_models_dtypes, metadata=MODELS_METADATA_SCHEMA,
                              hint=" (train with scripts/train/aimc.py)")
    cls, layers = _models_layers(meta)
    for n, *_ in layers:
        if data[f"{n}.t5"].size and data[f"{n}.t5"].max() > 242:
            raise ValueError(f"{label}: {n}.t5 must hold base-3 codes in [0, 242] (pack_ternary), got "
                             f"{data[f'{n}.t5'].max()}")
    models = {}
    for m, (s, k) in enumerate(zip(data["sigma_train"], data["seed"])):
        key = (float(s), int(k))
        if key in models:
            raise ValueError(f"{label}: sigma_train, seed: model {m} repeats (sigma_train, seed) = {key}")
        ternary = tuple(unpack_ternary(data[f"{n}.t5"][m], (fi, fo)) for n, _, fi, fo in layers)
        models[key] = cls(ternary, tuple(float(a) for a in data["alpha"][m]),
                          tuple(data[f"{n}.bias"][m].astype(np.float64) for n, *_ in layers),
                          {"sigma_train": key[0], "seed": key[1]})
    return models, np.asarray(data["test_indices"]), meta


def load_test_set(test_indices) -> tuple[np.ndarray, np.ndarray]:
    """Test images NCHW ``(N, 1, 8, 8)`` float64 (pixels / 16) and labels at ``test_indices``
    (:func:`model.digits.take`)."""
    return digits.take(test_indices, dtype=np.float64)


def load_calibration_set(test_indices) -> tuple[np.ndarray, np.ndarray]:
    """The training images (every image not in ``test_indices``) and labels, NCHW float64: what the converters'
    full scales are calibrated on (:func:`calibrate_ranges`), never the test set."""
    train_idx, _ = digits.split_indices(test_indices=test_indices)
    return digits.take(train_idx, dtype=np.float64)


# ------------------------------------------------------------------------------------- variation sweeps (13/14)
@_one_blas_thread
def noise_errors(model: TernaryCNN | TernaryMLP, x, y, sigma_test: float, n_draws: int, seed,
                 level_sigmas: dict | None = None) -> np.ndarray:
    """Test error of ``n_draws`` chips (one weight-noise draw each) at ``sigma_test``; ``(n_draws,)``.

    Draw ``k`` uses ``np.random.default_rng([*seed, k])`` (``seed`` an int or a sequence of ints). With
    ``sigma_test = 0`` every draw is the noiseless network. ``level_sigmas`` ``{-1: s, 0: s, 1: s}`` replaces
    ``sigma_test`` by a spread per weight level (:meth:`TernaryCNN.weights`). Evaluated in float32 (twice as fast;
    the noise is drawn in float64 and rounded).
    """
    sigma_test = check_real("sigma_test", sigma_test, min=0, type_error=False)
    n_draws = check_int("n_draws", n_draws, min=1, type_error=False)
    seed = [int(s) for s in np.atleast_1d(seed)]
    x = _images(x).astype(np.float32)
    patches = model.inputs(x)
    if sigma_test == 0 and level_sigmas is None:
        return np.full(n_draws, model.error(x, y, patches=patches))

    def chip(k):
        w = model.weights(sigma_test, np.random.default_rng([*seed, k]), level_sigmas=level_sigmas)
        return model.error(x, y, [v.astype(np.float32) for v in w], patches=patches)
    return np.array([chip(k) for k in range(n_draws)])


# --------------------------------------------------------------------------------- converters (ours, Fig. 15 a)
#: Largest converter resolution accepted (bits).
MAX_CONVERTER_BITS = 16


@dataclass(frozen=True)
class Periphery:
    """Fixed-range DAC/ADC around every crossbar (module docstring, "Fixed-range converters"; ours).

    Parameters
    ----------
    adc_bits : int or None
        ADC resolution in bits, 2..16; ``None``: no ADC (float outputs, the network of the original report).
    act_bits : int or None
        DAC (activation) resolution in bits, 1..16; ``None``: float activations.
    conversions : int
        ADC conversions per output: 1 (the differential current ``I+ - I-``, signed) or 2 (each summation line,
        unsigned, subtracted digitally). Fig. 9 leaves this open.
    """

    adc_bits: int | None = None
    act_bits: int | None = None
    conversions: int = 1

    def __post_init__(self):
        if self.adc_bits is not None:
            object.__setattr__(self, "adc_bits", check_int("adc_bits", self.adc_bits, min=2, max=MAX_CONVERTER_BITS,
                                                           type_error=False))
        if self.act_bits is not None:
            object.__setattr__(self, "act_bits", check_int("act_bits", self.act_bits, min=1, max=MAX_CONVERTER_BITS,
                                                           type_error=False))
        object.__setattr__(self, "conversions", check_int("conversions", self.conversions, min=1, max=2,
                                                          type_error=False))

    @property
    def ideal(self) -> bool:
        """No converter at all: every value stays a float."""
        return self.adc_bits is None and self.act_bits is None

    @property
    def label(self) -> str:
        """Short name, e.g. ``"ADC 6 b"``, ``"ADC 6 b x2 lines, DAC 4 b"``, ``"float (no converters)"``."""
        if self.ideal:
            return "float (no converters)"
        parts = []
        if self.adc_bits is not None:
            parts.append(f"ADC {self.adc_bits} b" + (" x2 lines" if self.conversions == 2 else ""))
        if self.act_bits is not None:
            parts.append(f"DAC {self.act_bits} b")
        return ", ".join(parts)


@dataclass(frozen=True)
class Ranges:
    """Converter full scales per layer (:func:`calibrate_ranges`), alpha excluded.

    ``act[k]``: largest input activation of layer ``k``; ``diff[k]``: largest ``|a @ t|`` (units of the +1 weight
    times one unit of activation); ``line[k]``: largest summation-line value ``a @ (G / (G_P - G_AP))`` (the same
    unit); ``tmr``: the TMR the line values were computed with.
    """

    act: tuple
    diff: tuple
    line: tuple
    tmr: float


def _line_units(t, tmr: float) -> np.ndarray:
    """Device conductances of ``t``'s crossbar in units of ``G_P - G_AP``: G_P -> (1 + TMR) / TMR, G_AP -> 1 / TMR
    (:func:`model.aimc.devices.crossbar_conductances`; ``G_AP = G_P / (1 + TMR)``, module docstring of devices)."""
    return crossbar_conductances(t, (1 + tmr) / tmr, 1 / tmr)


def calibrate_ranges(model, x, tmr: float = TMR) -> Ranges:
    """Full scales of :class:`Periphery`'s converters: the largest values of the wire-free float network on ``x``.

    Parameters
    ----------
    model : TernaryCNN or TernaryMLP
    x : array_like
        Calibration images (:func:`load_calibration_set`: the training set, never the test set).
    tmr : float
        TMR of the line values (> 0).

    Raises
    ------
    ValueError
        A layer whose calibrated full scale is 0 (it never conducts on ``x``).
    """
    tmr = check_real("tmr", tmr, min=0, min_open=True, type_error=False)
    act, diff, line = [], [], []

    def mvm(k, a):
        z = a @ model.ternary[k]
        act.append(float(a.max()))
        diff.append(float(np.abs(z).max()))
        line.append(float((a @ _line_units(model.ternary[k], tmr)).max()))
        return z * model.scales[k]

    model.forward(_images(x), mvm=mvm)
    for name, values in (("activation", act), ("ADC", diff), ("line", line)):
        if min(values) <= 0:
            raise ValueError(f"calibration gives a zero {name} full scale at layer {values.index(min(values))}; "
                             f"use a calibration set on which every layer conducts")
    return Ranges(tuple(act), tuple(diff), tuple(line), tmr)


def quantise_uniform(v, full_scale: float, bits: int, signed: bool) -> np.ndarray:
    """Uniform mid-tread quantiser with a fixed full scale (a DAC or ADC; ours).

    ``levels = 2^(bits-1) - 1`` (signed: codes ``-levels .. levels``) or ``2^bits - 1`` (unsigned: ``0 .. levels``),
    ``step = full_scale / levels``, result ``clip(rint(v / step), code_min, levels) * step`` (round half to even).
    """
    full_scale = check_real("full_scale", full_scale, min=0, min_open=True, type_error=False)
    bits = check_int("bits", bits, min=2 if signed else 1, max=MAX_CONVERTER_BITS, type_error=False)
    levels = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1
    step = full_scale / levels
    return np.clip(np.rint(np.asarray(v) / step), -levels if signed else 0, levels) * step


def _check_periphery(periphery, ranges, n_layers: int, tmr: float):
    periphery = Periphery() if periphery is None else periphery
    if not isinstance(periphery, Periphery):
        raise ValueError(f"periphery must be a Periphery, got {type(periphery).__name__}")
    if not periphery.ideal:
        if not isinstance(ranges, Ranges) or len(ranges.diff) != n_layers:
            raise ValueError(f"ranges must be the Ranges of this model ({n_layers} layers, calibrate_ranges) when "
                             f"the periphery has converters ({periphery.label})")
        if ranges.tmr != tmr:
            raise ValueError(f"ranges were calibrated at tmr = {ranges.tmr:g}, the crossbar has tmr = {tmr:g}")
    return periphery


def _convert(periphery: Periphery, ranges: Ranges | None, k: int, a: np.ndarray, analog) -> np.ndarray:
    """Layer ``k``'s MVM through ``periphery``, alpha excluded: DAC on ``a``, then ``analog(a, lines)`` (the
    summation-line values ``(N, 2 fan_out)`` if ``lines`` else their differences ``(N, fan_out)``), then the ADC."""
    if periphery.act_bits is not None:
        a = quantise_uniform(a, ranges.act[k], periphery.act_bits, signed=False)
    if periphery.adc_bits is not None and periphery.conversions == 2:
        q = quantise_uniform(analog(a, True), ranges.line[k], periphery.adc_bits, signed=False)
        return q[:, 0::2] - q[:, 1::2]
    z = analog(a, False)
    if periphery.adc_bits is not None:
        z = quantise_uniform(z, ranges.diff[k], periphery.adc_bits, signed=True)
    return z


def reference_mvm(model, periphery: Periphery | None = None, ranges: Ranges | None = None):
    """``mvm(k, a)`` of the wire-free network with ``periphery``: the exact ternary product ``a @ t`` (or the exact
    line values for ``conversions=2``) through the same converters as :class:`CrossbarNetwork`, times alpha. With
    no converters it is the plain network (up to rounding). Pass it as ``model.error(x, y, mvm=...)``."""
    periphery = _check_periphery(periphery, ranges, len(model.ternary), ranges.tmr if ranges else TMR)

    def analog(k):
        return lambda a, lines: a @ (_line_units(model.ternary[k], ranges.tmr) if lines else model.ternary[k])

    return lambda k, a: _convert(periphery, ranges, k, a, analog(k)) * model.scales[k]


# ------------------------------------------------------------------------------------------- IR drop (Fig. 16)
class CrossbarNetwork:
    """``model`` with every MVM on a crossbar with wire resistance (module docstring).

    Parameters
    ----------
    model : TernaryCNN or TernaryMLP
    r_on : float
        R_ON = 1 / G_P in ohms (> 0).
    r_wire : float
        Wire resistance per segment in ohms (>= 0).
    tmr : float
        G_AP = G_P / (1 + tmr).
    method : str
        ``"transfer"`` or ``"direct"`` (:meth:`model.aimc.irdrop.Crossbar.currents`).
    periphery : Periphery, optional
        The converters (default none: float activations and outputs).
    ranges : Ranges, optional
        Their full scales (:func:`calibrate_ranges` at this ``tmr``); required when ``periphery`` has converters.
    """

    def __init__(self, model, r_on: float, r_wire: float, tmr: float = TMR, method: str = "transfer",
                 periphery: Periphery | None = None, ranges: Ranges | None = None):
        self.model = model
        self.r_on = check_real("r_on", r_on, min=0, min_open=True, unit="ohm", type_error=False)
        self.tmr = check_real("tmr", tmr, min=0, min_open=True, type_error=False)
        self.g_p = 1.0 / self.r_on
        self.g_ap = self.g_p / (1 + self.tmr)
        self.method = method
        self.periphery = _check_periphery(periphery, ranges, len(model.ternary), self.tmr)
        self.ranges = ranges
        self.arrays = [Crossbar(crossbar_conductances(t, self.g_p, self.g_ap), r_wire) for t in model.ternary]

    def with_periphery(self, periphery: Periphery | None, ranges: Ranges | None = None) -> "CrossbarNetwork":
        """The same crossbars (factorisations shared, not recomputed) behind another periphery."""
        other = copy.copy(self)
        other.periphery = _check_periphery(periphery, ranges, len(self.model.ternary), self.tmr)
        other.ranges = ranges
        return other

    @_one_blas_thread
    def mvm(self, k: int, a: np.ndarray) -> np.ndarray:
        """Layer ``k``'s ``a @ (alpha t)`` through its crossbar: voltages in, differential currents out, through
        the periphery's converters.

        The summation-line values are the exact ternary product (as in :func:`reference_mvm`) plus the solver's
        IR-drop deviation ``(I - V @ G) / (V_READ (G_P - G_AP))``, the split of :mod:`model.aimc.irdrop`'s own
        formulation: the same currents, but at ``r_wire = 0`` the deviation is exactly 0, so every periphery
        reproduces its wire-free network code for code (no rounding tie can flip an ADC code).
        """
        arr = self.arrays[k]
        t = self.model.ternary[k]

        def analog(v, lines):
            volts = np.ascontiguousarray(v * V_READ, dtype=np.float64)
            dev = (arr.currents(volts, method=self.method) - volts @ arr.g) / (V_READ * (self.g_p - self.g_ap))
            if lines:
                return v @ _line_units(t, self.tmr) + dev
            return v @ t + (dev[:, 0::2] - dev[:, 1::2])
        return _convert(self.periphery, self.ranges, k, a, analog) * self.model.scales[k]

    def error(self, x, y) -> float:
        """Test error with every MVM through the crossbars."""
        return self.model.error(x, y, mvm=self.mvm)

    def forward(self, x) -> np.ndarray:
        return self.model.forward(x, mvm=self.mvm)


@_one_blas_thread
def ir_drop_sweep(model, x, y, r_on_values, r_wires, peripheries=(None,), ranges: Ranges | None = None,
                  tmr: float = TMR, progress=None) -> np.ndarray:
    """Test error for every periphery and ``(r_wire, R_ON)`` pair, ``(len(peripheries), len(r_wires),
    len(r_on_values))`` (Fig. 16).

    Pairs with the same ``r_wire / R_ON`` give the same network (:mod:`model.aimc.irdrop`: the solution depends on the
    product ``r_wire G`` only), so each distinct ratio (to 12 significant digits) is factorised once and every
    periphery (:class:`Periphery`, ``None`` = no converters; ``ranges`` from :func:`calibrate_ranges`) reads the
    same crossbars.
    """
    r_on_values = [check_real("r_on", r, min=0, min_open=True, unit="ohm", type_error=False) for r in r_on_values]
    r_wires = [check_real("r_wire", r, min=0, unit="ohm", type_error=False) for r in r_wires]
    peripheries = [_check_periphery(p, ranges, len(model.ternary), tmr) for p in peripheries]
    ratios = {}
    for rw in r_wires:
        for ron in r_on_values:
            ratios.setdefault(float(f"{rw / ron:.12g}"), (ron, rw))
    keys = sorted(ratios)
    it = keys if progress is None else progress(keys)
    err = {}
    for key in it:
        net = CrossbarNetwork(model, *ratios[key], tmr=tmr)
        err[key] = [net.with_periphery(p, ranges).error(x, y) for p in peripheries]
    return np.array([[[err[float(f"{rw / ron:.12g}")][i] for ron in r_on_values] for rw in r_wires]
                     for i in range(len(peripheries))])


def ir_drop_errors(model, x, y, r_on_values, r_wires, tmr: float = TMR, progress=None) -> np.ndarray:
    """Test error for every ``(r_wire, R_ON)`` pair without converters, ``(len(r_wires), len(r_on_values))``
    (Fig. 16; :func:`ir_drop_sweep` with no periphery)."""
    return ir_drop_sweep(model, x, y, r_on_values, r_wires, tmr=tmr, progress=progress)[0]


def knee_r_on(r_on_values, errors, baseline: float, rise: float) -> float:
    """The R_ON below which the error exceeds ``baseline + rise`` (Fig. 16's "error increases below 5 MOhm").

    Walks from the largest R_ON down to the first point above the threshold and interpolates linearly in
    ``log R_ON`` between it and its neighbour; ``nan`` if no point exceeds it, the largest R_ON if all do.
    """
    r = np.asarray(r_on_values, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    if r.shape != e.shape or r.ndim != 1 or r.size < 2:
        raise ValueError(f"r_on_values and errors must be 1-D of the same length >= 2, got {r.shape} and {e.shape}")
    order = np.argsort(r)[::-1]
    r, e = r[order], e[order]
    thr = baseline + check_real("rise", rise, min=0, min_open=True, type_error=False)
    above = np.nonzero(e > thr)[0]
    if above.size == 0:
        return float("nan")
    k = int(above[0])
    if k == 0:
        return float(r[0])
    f = (thr - e[k - 1]) / (e[k] - e[k - 1])
    return float(np.exp(np.log(r[k - 1]) + f * (np.log(r[k]) - np.log(r[k - 1]))))


def array_loss(rows: int, cols: int, r_on: float, r_wire: float, seed: int, tmr: float = TMR) -> tuple[float, float]:
    """Mean and worst device loss ``1 - (v_row - v_col) / V`` of a ``rows x cols`` array of random ternary pairs.

    ``rows x cols/2`` uniformly random ternary weights (Fig. 9 pairs, ``cols`` devices per row) with every input
    on (the worst case of Fig. 15 (b)); ``np.random.default_rng(seed)``.
    """
    from model.aimc.irdrop import cell_voltage_fraction
    rows = check_int("rows", rows, min=1, type_error=False)
    cols = check_int("cols", cols, min=2, type_error=False)
    if cols % 2:
        raise ValueError(f"cols must be even (differential pairs), got {cols}")
    g_p = 1.0 / check_real("r_on", r_on, min=0, min_open=True, unit="ohm", type_error=False)
    t = np.random.default_rng(seed).integers(-1, 2, (rows, cols // 2))
    g = crossbar_conductances(t, g_p, g_p / (1 + tmr))
    loss = 1 - cell_voltage_fraction(g, r_wire, np.full(rows, V_READ))
    return float(loss.mean()), float(loss.max())


def layer_losses(model: TernaryCNN, r_on: float, r_wire: float, tmr: float = TMR) -> list[tuple[float, float]]:
    """``(mean, worst)`` device loss of each layer's crossbar with every input on (Fig. 15 (b) metric)."""
    from model.aimc.irdrop import cell_voltage_fraction
    g_p = 1.0 / check_real("r_on", r_on, min=0, min_open=True, unit="ohm", type_error=False)
    out = []
    for t in model.ternary:
        loss = 1 - cell_voltage_fraction(crossbar_conductances(t, g_p, g_p / (1 + tmr)), r_wire,
                                         np.full(t.shape[0], V_READ))
        out.append((float(loss.mean()), float(loss.max())))
    return out


def equal_loss_r_on(rows: int, cols: int, target: float, r_wire: float, seed: int, tmr: float = TMR,
                    rtol: float = 1e-3) -> float:
    """R_ON at which a random ``rows x cols`` array (:func:`array_loss`) has mean device loss ``target``.

    The loss falls monotonically with R_ON and is close to a power law, so a secant iteration in
    ``(log R_ON, log loss)`` converges in a few solves; stops at ``|loss / target - 1| < rtol``.
    """
    target = check_real("target", target, min=0, max=1, min_open=True, max_open=True, type_error=False)

    def f(r):
        return math.log(array_loss(rows, cols, r, r_wire, seed, tmr)[0])

    x0 = math.log(1e6)
    f0 = f(1e6)
    x1 = x0 + f0 - math.log(target)                   # first-order guess: loss ~ 1 / R_ON
    f1 = f(math.exp(x1))
    for _ in range(40):
        if abs(math.expm1(f1 - math.log(target))) < rtol:
            return math.exp(x1)
        slope = (f1 - f0) / (x1 - x0) if x1 != x0 else -1.0
        x0, f0 = x1, f1
        x1 = x1 + (math.log(target) - f1) / (slope if slope < -1e-3 else -1.0)
        f1 = f(math.exp(x1))
    raise RuntimeError(f"equal_loss_r_on did not converge for a {rows} x {cols} array and target {target}")


# -------------------------------------------------------------------------------- sigma_train x sigma_test grid
@dataclass(frozen=True)
class VariationGrid:
    """Test errors of the sigma_w,train x sigma_w,test grid (Figs. 13 (b), 14 (b)).

    ``errors[a, k, b, d]``: model trained at ``sigmas_train[a]`` with training seed ``k``, tested at
    ``sigmas_test[b]``, chip (noise draw) ``d``. Intervals treat the training seeds as the independent runs:
    each seed's mean over its draws is one sample (:func:`model.stats.t_interval`); a difference between two
    cells pairs the seeds by index (independent trainings, so the pairs are independent).
    """

    sigmas_train: tuple
    sigmas_test: tuple
    errors: np.ndarray

    def _i(self, values, s) -> int:
        hits = [i for i, v in enumerate(values) if abs(v - s) < 1e-12]
        if not hits:
            raise ValueError(f"sigma {s!r} is not in the grid {tuple(values)}")
        return hits[0]

    def per_seed(self, s_train: float, s_test: float) -> np.ndarray:
        """Mean error over draws, one value per training seed."""
        return self.errors[self._i(self.sigmas_train, s_train), :, self._i(self.sigmas_test, s_test)].mean(axis=-1)

    def mean_ci(self, s_train: float, s_test: float) -> tuple[float, float, float]:
        """``(mean, low, high)`` error with the 95 % t-interval over training seeds."""
        from model.stats import t_interval
        return t_interval(self.per_seed(s_train, s_test))

    def diff_ci(self, a: tuple, b: tuple) -> tuple[float, float, float]:
        """Error of cell ``a = (s_train, s_test)`` minus cell ``b``, seeds paired: ``(mean, low, high)``."""
        from model.stats import t_interval
        return t_interval(self.per_seed(*a) - self.per_seed(*b))


def variation_grid(models: dict, x, y, sigmas_test, n_draws: int, seed: int, seeds=None,
                   progress=None) -> VariationGrid:
    """Evaluate every committed model at every sigma_w,test with ``n_draws`` chips each.

    ``models``: ``{(sigma_train, seed): TernaryCNN or TernaryMLP}`` (:func:`load_models`); ``seeds`` restricts the
    training seeds (default: all, which must be the same for every sigma_train). Chip ``d`` of model ``(a, k)`` at test
    sigma ``b`` uses the noise seed ``[seed, k, b, d]`` (the same chips for every sigma_train: paired draws).
    """
    sig_tr = sorted({s for s, _ in models})
    all_seeds = sorted({k for _, k in models})
    seeds = all_seeds if seeds is None else list(seeds)
    missing = [(s, k) for s in sig_tr for k in seeds if (s, k) not in models]
    if missing:
        raise ValueError(f"models is missing {missing[:3]} (every sigma_train needs every seed)")
    sig_te = [check_real("sigma_test", s, min=0, type_error=False) for s in sigmas_test]
    n_draws = check_int("n_draws", n_draws, min=1, type_error=False)
    errors = np.zeros((len(sig_tr), len(seeds), len(sig_te), n_draws))
    jobs = [(a, i, b) for a in range(len(sig_tr)) for i in range(len(seeds)) for b in range(len(sig_te))]
    for a, i, b in (jobs if progress is None else progress(jobs)):
        errors[a, i, b] = noise_errors(models[(sig_tr[a], seeds[i])], x, y, sig_te[b], n_draws,
                                       [seed, seeds[i], b])
    return VariationGrid(tuple(sig_tr), tuple(sig_te), errors)
