"""Model zoo as data: layer-by-layer shapes of the CNNs analysed in the STT-AI paper.

Source: stt-ai-mishty-sadi.txt, Section V.A ("Nineteen widely used state-of-the-art deep learning models were
analyzed", Figs. 10-14, 18). The paper does not list its 19 models; the figures name AlexNet, VGG-16/19, the ResNets,
GoogLeNet, Inception-v3, MobileNets, SqueezeNet, DenseNet, Xception, Darknet-53 and NASNet-Large. We enter 17.

Each model is a flat list of :class:`Layer` in execution order (branches of Inception/ResNet/DenseNet blocks are
listed one after the other, in the order the reference implementation runs them). Convolutions and fully connected
(FC) layers carry all the shape information; pooling layers appear only so that shapes chain correctly and count
neither parameters nor MACs. Element-wise additions, concatenations, activations and dropout are not layers here.

Counting conventions (the tests compare against torchvision / Keras / paper totals):

* MACs: ``out_h * out_w * out_c * (in_c / groups) * k_h * k_w`` per conv, ``in * out`` per FC; no MACs for bias,
  BN, pooling, activations or additions (the convention of the torchvision "GFLOPS" column, which are MACs).
* Parameters: weights + bias + the *trainable* batch-norm parameters (gamma and beta, 2 per channel). Keras reports
  its BN moving mean/variance as (non-trainable) parameters too, so Keras totals are slightly larger (< 1 %); Keras
  Inception-v3 uses BN without gamma (1 trainable per channel). The tests state the tolerance this implies.
* Inputs: 224 x 224 except Inception-v3 and Xception (299, as in Keras/torchvision), NASNet-Large (331) and
  Darknet-53 (256, the resolution of the YOLOv3 paper's Table 2).

Decisions per model
-------------------
* GoogLeNet follows torchvision (BN after every conv, no bias, auxiliary classifiers dropped at inference) including
  torchvision's documented "known bug": the third inception branch uses a 3x3 kernel instead of the paper's 5x5
  (``googlenet(five_by_five=True)`` builds the original).
* Inception-v3 is built without the auxiliary classifier (inference graph), as Keras ``InceptionV3``.
* SqueezeNet is version 1.0 (Iandola et al. 2016), as torchvision ``squeezenet1_0``.
* Darknet-53 is the classifier of the YOLOv3 paper (Redmon & Farhadi 2018): 52 conv layers + a 1x1 conv
  "connected" layer to 1000 classes, entered here as an FC layer 1024 -> 1000 after global average pooling.
* NASNet-Large (NASNet-A 6 @ 4032, Zoph et al. 2018) is too irregular to enter layer by layer with certainty (two
  input cells, factorized reductions, per-cell "adjust" convs, path dropping). It is entered as an **explicitly
  labelled approximation** (:func:`nasnet_large`): the cell structure of NASNet-A normal and reduction cells with
  their separable convolutions (each applied twice, as in the reference), 1x1 input adjustment convs and a
  factorized-reduction approximated by one 1x1 stride-2 conv. Its totals are checked with a wider tolerance.

Shape files
-----------
A model of one's own is a JSON file (``mram-accel retention|glb --shapes FILE.json``; :func:`load_shapes`,
validated against :data:`SHAPES_SCHEMA` with ``jsonschema``)::

    {"name": "tiny", "input_hw": 6,
     "layers": [{"name": "A", "kind": "conv", "in_h": 6, "in_w": 6, "in_c": 3, "out_c": 4, "k": 3, "bias": true},
                {"name": "B", "kind": "conv", "in_h": 4, "in_w": 4, "in_c": 4, "out_c": 2, "k": 3, "pad": 1},
                {"name": "C", "kind": "fc", "in_c": 32, "out_c": 10}]}

* top level: ``name`` (string), ``layers`` (1 to 100000), optional ``input_hw`` (default: the first layer's
  ``in_h``), ``chained`` (default true), ``note``; no other field.
* a layer: ``name`` (unique), ``kind`` (``conv``, ``fc`` or ``pool``), ``in_c``, ``out_c`` and, except for ``fc``,
  ``in_h``, ``in_w``; optional ``k_h``, ``k_w`` (or ``k`` for both; default 1), ``stride`` (1), ``pad_h``,
  ``pad_w`` (or ``pad``; 0), ``groups`` (1; ``groups = in_c = out_c`` is depthwise), ``bias`` (false), ``bn``
  (batch-norm channels, 0), ``ceil_mode`` (false). Sides, kernels, strides and padding are integers up to 2^16,
  channels, groups and ``bn`` up to 2^20; a layer has at most 2^40 ifmap, ofmap and weight elements and 2^50 MACs.
  ``fc``: ``in_h = in_w = k = groups = 1``; ``pool`` keeps channels; the kernel fits the padded input.
* the layers chain: each reads the previous layer's output (``in_c``, ``in_h``, ``in_w`` equal to its ``out_c``
  and output size ``(in + 2 pad - k) // stride + 1``; an ``fc`` layer reads it flattened, ``C * H * W``, or
  pooled, ``C``). A branched network listed branch after branch (ResNet shortcuts, Inception, DenseNet) sets
  ``"chained": false``; :func:`model_to_dict` writes it for such zoo models.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from model.checks import check_choice, check_int, schema_error

__all__ = ["Layer", "Model", "MODEL_NAMES", "get_model", "list_models", "load_shapes", "model_from_dict",
           "model_to_dict", "chain_error", "schema_error", "SHAPES_SCHEMA", "LAYER_SCHEMA", "APPROXIMATE_MODELS",
           "PUBLISHED", "MAX_SIZE", "MAX_CHANNELS", "MAX_LAYER_ELEMENTS", "MAX_LAYER_MACS"]

KINDS = ("conv", "fc", "pool")
#: Bounds of every layer, so that no count wraps in the int64 columns of :mod:`model.stt_ai.dse` (ours, none from
#: the paper): sides, kernels, strides and padding up to 2^16 (200 times the largest zoo input, 331), channels and
#: groups up to 2^20 (250 times the widest zoo layer, 4032), ifmap, ofmap and weight elements up to 2^40 per layer
#: (the largest zoo layer has 2^23), MACs up to 2^50 per image (VGG-19, the largest, has 2^34.2 in all). With
#: ``batch <= 2^16`` (``mram-accel glb --batch``) the bytes of a layer stay below 2^58.
MAX_SIZE = 1 << 16
MAX_CHANNELS = 1 << 20
MAX_LAYER_ELEMENTS = 1 << 40
MAX_LAYER_MACS = 1 << 50


@dataclass(frozen=True)
class Layer:
    """One layer's shape.

    Parameters
    ----------
    name : str
        Unique name inside the model.
    kind : {"conv", "fc", "pool"}
        Convolution, fully connected, or pooling (pooling only for shape bookkeeping).
    in_h, in_w, in_c : int
        Input feature-map height, width and channels (for FC: ``in_h = in_w = 1``, ``in_c`` = input neurons).
    out_c : int
        Output channels (FC: output neurons; pool: equal to ``in_c``).
    k_h, k_w : int
        Kernel height and width (FC: 1).
    stride : int
        Stride (same in both directions).
    pad_h, pad_w : int
        Zero padding on each side (symmetric).
    groups : int
        Convolution groups (``groups == in_c == out_c`` is depthwise).
    bias : bool
        Whether the layer has a bias vector (``out_c`` parameters).
    bn : int
        Number of channels of the batch-norm attached to this layer (0 = none); counted as 2 parameters each.
    ceil_mode : bool
        Output size rounds up (torchvision ``ceil_mode=True`` pooling).
    """

    name: str
    kind: str
    in_h: int
    in_w: int
    in_c: int
    out_c: int
    k_h: int = 1
    k_w: int = 1
    stride: int = 1
    pad_h: int = 0
    pad_w: int = 0
    groups: int = 1
    bias: bool = False
    bn: int = 0
    ceil_mode: bool = False

    def __post_init__(self):
        check_choice(f"layer {self.name!r}: kind", self.kind, KINDS)
        for f in ("in_h", "in_w", "k_h", "k_w", "stride"):
            check_int(f"layer {self.name!r}: {f}", getattr(self, f), min=1, max=MAX_SIZE, type_error=False)
        for f in ("in_c", "out_c", "groups"):
            check_int(f"layer {self.name!r}: {f}", getattr(self, f), min=1, max=MAX_CHANNELS, type_error=False)
        for f in ("pad_h", "pad_w"):
            check_int(f"layer {self.name!r}: {f}", getattr(self, f), min=0, max=MAX_SIZE, type_error=False)
        check_int(f"layer {self.name!r}: bn", self.bn, min=0, max=MAX_CHANNELS, type_error=False)
        if self.in_c % self.groups or self.out_c % self.groups:
            raise ValueError(f"layer {self.name!r}: groups={self.groups} must divide in_c={self.in_c} "
                             f"and out_c={self.out_c}")
        if self.kind == "fc" and (self.in_h, self.in_w, self.k_h, self.k_w, self.groups) != (1, 1, 1, 1, 1):
            raise ValueError(f"layer {self.name!r}: an fc layer needs in_h = in_w = k_h = k_w = groups = 1")
        if self.kind == "pool" and self.in_c != self.out_c:
            raise ValueError(f"layer {self.name!r}: a pool layer keeps channels, in_c={self.in_c} != "
                             f"out_c={self.out_c}")
        if self.k_h > self.in_h + 2 * self.pad_h or self.k_w > self.in_w + 2 * self.pad_w:
            raise ValueError(f"layer {self.name!r}: kernel {self.k_h}x{self.k_w} larger than padded input "
                             f"{self.in_h + 2 * self.pad_h}x{self.in_w + 2 * self.pad_w}")
        for what, n, limit in (("ifmap elements", self.ifmap_elems, MAX_LAYER_ELEMENTS),
                               ("ofmap elements", self.ofmap_elems, MAX_LAYER_ELEMENTS),
                               ("weights", self.weights, MAX_LAYER_ELEMENTS), ("MACs", self.macs, MAX_LAYER_MACS)):
            if n > limit:
                raise ValueError(f"layer {self.name!r}: {n} {what}, above the limit of 2^{limit.bit_length() - 1}")

    def _out(self, size, k, pad):
        span = size + 2 * pad - k
        return (-(-span // self.stride) if self.ceil_mode else span // self.stride) + 1

    @property
    def out_h(self) -> int:
        return self._out(self.in_h, self.k_h, self.pad_h)

    @property
    def out_w(self) -> int:
        return self._out(self.in_w, self.k_w, self.pad_w)

    @property
    def weights(self) -> int:
        """Number of weights (no bias, no BN)."""
        if self.kind == "pool":
            return 0
        return self.out_c * (self.in_c // self.groups) * self.k_h * self.k_w

    @property
    def params(self) -> int:
        """Weights + bias + trainable BN parameters (2 per BN channel)."""
        if self.kind == "pool":
            return 0
        return self.weights + (self.out_c if self.bias else 0) + 2 * self.bn

    @property
    def macs(self) -> int:
        """Multiply-accumulates for one image."""
        if self.kind == "pool":
            return 0
        return self.out_h * self.out_w * self.weights

    @property
    def ifmap_elems(self) -> int:
        return self.in_h * self.in_w * self.in_c

    @property
    def ofmap_elems(self) -> int:
        return self.out_h * self.out_w * self.out_c


@dataclass(frozen=True)
class Model:
    """A named list of layers with an input shape."""

    name: str
    layers: tuple
    input_hw: int
    note: str = ""
    approximate: bool = False

    @property
    def params(self) -> int:
        return sum(l.params for l in self.layers)

    @property
    def macs(self) -> int:
        return sum(l.macs for l in self.layers)

    @property
    def conv_layers(self) -> list:
        return [l for l in self.layers if l.kind == "conv"]

    @property
    def compute_layers(self) -> list:
        """Conv and FC layers in execution order (the layers Eqs. (5)-(11) apply to)."""
        return [l for l in self.layers if l.kind != "pool"]

    def table(self) -> list[dict]:
        """Per-layer rows: shapes, output size, parameters and MACs."""
        return [dict(asdict(l), out_h=l.out_h, out_w=l.out_w, params=l.params, macs=l.macs) for l in self.layers]


# ----------------------------------------------------------------------------------------------------- builders
class _Net:
    """Collects layers; every add returns the output (h, w, c)."""

    def __init__(self, name):
        self.name = name
        self.layers: list[Layer] = []

    def conv(self, name, x, out_c, k, stride=1, pad=None, groups=1, bias=False, bn=True, bn_in=False):
        h, w, c = x
        kh, kw = (k, k) if isinstance(k, int) else k
        if pad is None:
            ph, pw = kh // 2, kw // 2
        elif isinstance(pad, int):
            ph, pw = pad, pad
        else:
            ph, pw = pad
        bnc = (c if bn_in else out_c) if bn else 0
        layer = Layer(name, "conv", h, w, c, out_c, kh, kw, stride, ph, pw, groups, bias, bnc)
        self.layers.append(layer)
        return layer.out_h, layer.out_w, out_c

    def dw(self, name, x, k, stride=1, pad=None, bn=True):
        return self.conv(name, x, x[2], k, stride, pad, groups=x[2], bn=bn)

    def pool(self, name, x, k, stride, pad=0, ceil=False):
        h, w, c = x
        layer = Layer(name, "pool", h, w, c, c, k, k, stride, pad, pad, ceil_mode=ceil)
        self.layers.append(layer)
        return layer.out_h, layer.out_w, c

    def gap(self, name, x):
        """Global average pooling."""
        return self.pool(name, x, x[0], 1)

    def fc(self, name, n_in, n_out, bias=True, bn_in=0):
        self.layers.append(Layer(name, "fc", 1, 1, n_in, n_out, bias=bias, bn=bn_in))
        return n_out

    def model(self, input_hw, note="", approximate=False):
        names = [l.name for l in self.layers]
        assert len(names) == len(set(names)), f"{self.name}: duplicate layer names"
        return Model(self.name, tuple(self.layers), input_hw, note, approximate)


def alexnet() -> Model:
    """AlexNet as torchvision ``alexnet`` (one-tower variant of Krizhevsky 2014, bias, no BN)."""
    n = _Net("alexnet")
    x = (224, 224, 3)
    x = n.conv("conv1", x, 64, 11, 4, 2, bias=True, bn=False)
    x = n.pool("pool1", x, 3, 2)
    x = n.conv("conv2", x, 192, 5, 1, 2, bias=True, bn=False)
    x = n.pool("pool2", x, 3, 2)
    x = n.conv("conv3", x, 384, 3, bias=True, bn=False)
    x = n.conv("conv4", x, 256, 3, bias=True, bn=False)
    x = n.conv("conv5", x, 256, 3, bias=True, bn=False)
    x = n.pool("pool5", x, 3, 2)
    f = n.fc("fc6", x[0] * x[1] * x[2], 4096)
    f = n.fc("fc7", f, 4096)
    n.fc("fc8", f, 1000)
    return n.model(224)


def vgg(depth: int) -> Model:
    """VGG-11/13/16/19 (Simonyan & Zisserman 2015, configurations A/B/D/E) as torchvision, no BN."""
    cfgs = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
    if depth not in cfgs:
        raise ValueError(f"vgg depth must be one of {sorted(cfgs)}, got {depth!r}")
    n = _Net(f"vgg{depth}")
    x = (224, 224, 3)
    for s, (reps, ch) in enumerate(zip(cfgs[depth], (64, 128, 256, 512, 512)), 1):
        for r in range(1, reps + 1):
            x = n.conv(f"conv{s}_{r}", x, ch, 3, bias=True, bn=False)
        x = n.pool(f"pool{s}", x, 2, 2)
    f = n.fc("fc6", x[0] * x[1] * x[2], 4096)
    f = n.fc("fc7", f, 4096)
    n.fc("fc8", f, 1000)
    return n.model(224)


def resnet(depth: int) -> Model:
    """ResNet-18/34/50/101/152 as torchvision (v1.5: stride on the 3x3 conv of a bottleneck; BN, no conv bias)."""
    blocks = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
    if depth not in blocks:
        raise ValueError(f"resnet depth must be one of {sorted(blocks)}, got {depth!r}")
    bottleneck = depth >= 50
    exp = 4 if bottleneck else 1
    n = _Net(f"resnet{depth}")
    x = (224, 224, 3)
    x = n.conv("conv1", x, 64, 7, 2, 3)
    x = n.pool("maxpool", x, 3, 2, 1)
    for s, (count, width) in enumerate(zip(blocks[depth], (64, 128, 256, 512)), 1):
        for b in range(count):
            stride = 2 if (b == 0 and s > 1) else 1
            p = f"layer{s}.{b}"
            inp = x
            if bottleneck:
                y = n.conv(p + ".conv1", inp, width, 1)
                y = n.conv(p + ".conv2", y, width, 3, stride)
                y = n.conv(p + ".conv3", y, width * exp, 1)
            else:
                y = n.conv(p + ".conv1", inp, width, 3, stride)
                y = n.conv(p + ".conv2", y, width, 3)
            if stride != 1 or inp[2] != width * exp:
                n.conv(p + ".downsample", inp, width * exp, 1, stride)
            x = y
    x = n.gap("avgpool", x)
    n.fc("fc", x[2], 1000)
    return n.model(224)


def googlenet(five_by_five: bool = False) -> Model:
    """GoogLeNet (Szegedy et al. 2015) as torchvision ``googlenet`` (BN, no bias, no aux classifiers).

    torchvision's inception branch 3 uses a 3x3 conv where the paper has 5x5 (documented "known bug" kept for the
    pretrained weights); ``five_by_five=True`` builds the paper's 5x5.
    """
    n = _Net("googlenet" if not five_by_five else "googlenet-5x5")
    x = (224, 224, 3)
    x = n.conv("conv1", x, 64, 7, 2, 3)
    x = n.pool("maxpool1", x, 3, 2, ceil=True)
    x = n.conv("conv2", x, 64, 1)
    x = n.conv("conv3", x, 192, 3)
    x = n.pool("maxpool2", x, 3, 2, ceil=True)

    def inception(p, x, c1, c3r, c3, c5r, c5, cp):
        n.conv(p + ".b1", x, c1, 1)
        y = n.conv(p + ".b2a", x, c3r, 1)
        n.conv(p + ".b2b", y, c3, 3)
        y = n.conv(p + ".b3a", x, c5r, 1)
        n.conv(p + ".b3b", y, c5, 5 if five_by_five else 3)
        y = n.pool(p + ".b4pool", x, 3, 1, 1, ceil=True)
        n.conv(p + ".b4", y, cp, 1)
        return x[0], x[1], c1 + c3 + c5 + cp

    x = inception("3a", x, 64, 96, 128, 16, 32, 32)
    x = inception("3b", x, 128, 128, 192, 32, 96, 64)
    x = n.pool("maxpool3", x, 3, 2, ceil=True)
    x = inception("4a", x, 192, 96, 208, 16, 48, 64)
    x = inception("4b", x, 160, 112, 224, 24, 64, 64)
    x = inception("4c", x, 128, 128, 256, 24, 64, 64)
    x = inception("4d", x, 112, 144, 288, 32, 64, 64)
    x = inception("4e", x, 256, 160, 320, 32, 128, 128)
    x = n.pool("maxpool4", x, 2, 2, ceil=True)
    x = inception("5a", x, 256, 160, 320, 32, 128, 128)
    x = inception("5b", x, 384, 192, 384, 48, 128, 128)
    x = n.gap("avgpool", x)
    n.fc("fc", x[2], 1000)
    return n.model(224)


def inception_v3() -> Model:
    """Inception-v3 (Szegedy et al. 2016) as Keras ``InceptionV3`` / torchvision without the auxiliary classifier.

    BN after every conv, no conv bias. Keras uses BN without gamma (``scale=False``); we count 2 per channel.
    """
    n = _Net("inception_v3")
    x = (299, 299, 3)
    x = n.conv("Conv2d_1a_3x3", x, 32, 3, 2, 0)
    x = n.conv("Conv2d_2a_3x3", x, 32, 3, 1, 0)
    x = n.conv("Conv2d_2b_3x3", x, 64, 3, 1, 1)
    x = n.pool("maxpool1", x, 3, 2)
    x = n.conv("Conv2d_3b_1x1", x, 80, 1)
    x = n.conv("Conv2d_4a_3x3", x, 192, 3, 1, 0)
    x = n.pool("maxpool2", x, 3, 2)

    def block_a(p, x, pool_features):
        n.conv(p + ".b1x1", x, 64, 1)
        y = n.conv(p + ".b5x5_1", x, 48, 1)
        n.conv(p + ".b5x5_2", y, 64, 5)
        y = n.conv(p + ".b3x3dbl_1", x, 64, 1)
        y = n.conv(p + ".b3x3dbl_2", y, 96, 3)
        n.conv(p + ".b3x3dbl_3", y, 96, 3)
        y = n.pool(p + ".pool", x, 3, 1, 1)
        n.conv(p + ".bpool", y, pool_features, 1)
        return x[0], x[1], 64 + 64 + 96 + pool_features

    def block_b(p, x):
        o = n.conv(p + ".b3x3", x, 384, 3, 2, 0)
        y = n.conv(p + ".b3x3dbl_1", x, 64, 1)
        y = n.conv(p + ".b3x3dbl_2", y, 96, 3)
        n.conv(p + ".b3x3dbl_3", y, 96, 3, 2, 0)
        n.pool(p + ".pool", x, 3, 2)
        return o[0], o[1], 384 + 96 + x[2]

    def block_c(p, x, c7):
        n.conv(p + ".b1x1", x, 192, 1)
        y = n.conv(p + ".b7x7_1", x, c7, 1)
        y = n.conv(p + ".b7x7_2", y, c7, (1, 7))
        n.conv(p + ".b7x7_3", y, 192, (7, 1))
        y = n.conv(p + ".b7x7dbl_1", x, c7, 1)
        y = n.conv(p + ".b7x7dbl_2", y, c7, (7, 1))
        y = n.conv(p + ".b7x7dbl_3", y, c7, (1, 7))
        y = n.conv(p + ".b7x7dbl_4", y, c7, (7, 1))
        n.conv(p + ".b7x7dbl_5", y, 192, (1, 7))
        y = n.pool(p + ".pool", x, 3, 1, 1)
        n.conv(p + ".bpool", y, 192, 1)
        return x[0], x[1], 768

    def block_d(p, x):
        y = n.conv(p + ".b3x3_1", x, 192, 1)
        o = n.conv(p + ".b3x3_2", y, 320, 3, 2, 0)
        y = n.conv(p + ".b7x7x3_1", x, 192, 1)
        y = n.conv(p + ".b7x7x3_2", y, 192, (1, 7))
        y = n.conv(p + ".b7x7x3_3", y, 192, (7, 1))
        n.conv(p + ".b7x7x3_4", y, 192, 3, 2, 0)
        n.pool(p + ".pool", x, 3, 2)
        return o[0], o[1], 320 + 192 + x[2]

    def block_e(p, x):
        n.conv(p + ".b1x1", x, 320, 1)
        y = n.conv(p + ".b3x3_1", x, 384, 1)
        n.conv(p + ".b3x3_2a", y, 384, (1, 3))
        n.conv(p + ".b3x3_2b", y, 384, (3, 1))
        y = n.conv(p + ".b3x3dbl_1", x, 448, 1)
        y = n.conv(p + ".b3x3dbl_2", y, 384, 3)
        n.conv(p + ".b3x3dbl_3a", y, 384, (1, 3))
        n.conv(p + ".b3x3dbl_3b", y, 384, (3, 1))
        y = n.pool(p + ".pool", x, 3, 1, 1)
        n.conv(p + ".bpool", y, 192, 1)
        return x[0], x[1], 2048

    x = block_a("Mixed_5b", x, 32)
    x = block_a("Mixed_5c", x, 64)
    x = block_a("Mixed_5d", x, 64)
    x = block_b("Mixed_6a", x)
    for p, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        x = block_c(p, x, c7)
    x = block_d("Mixed_7a", x)
    x = block_e("Mixed_7b", x)
    x = block_e("Mixed_7c", x)
    x = n.gap("avgpool", x)
    n.fc("fc", x[2], 1000)
    return n.model(299)


def mobilenet_v1() -> Model:
    """MobileNet-v1 (Howard et al. 2017, width 1.0, 224) as Keras ``MobileNet``: BN, no bias; classifier is a
    1x1 conv with bias after global pooling (entered as FC)."""
    n = _Net("mobilenet_v1")
    x = (224, 224, 3)
    x = n.conv("conv1", x, 32, 3, 2, 1)
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (c, s) in enumerate(cfg, 1):
        x = n.dw(f"conv_dw_{i}", x, 3, s, 1)
        x = n.conv(f"conv_pw_{i}", x, c, 1)
    x = n.gap("avgpool", x)
    n.fc("conv_preds", x[2], 1000)
    return n.model(224)


def mobilenet_v2() -> Model:
    """MobileNet-v2 (Sandler et al. 2018, width 1.0, 224) as torchvision ``mobilenet_v2``."""
    n = _Net("mobilenet_v2")
    x = (224, 224, 3)
    x = n.conv("features.0", x, 32, 3, 2, 1)
    i = 1
    for t, c, reps, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                          (6, 160, 3, 2), (6, 320, 1, 1)):
        for r in range(reps):
            p = f"features.{i}"
            y = x
            if t != 1:
                y = n.conv(p + ".expand", y, x[2] * t, 1)
            y = n.dw(p + ".dw", y, 3, s if r == 0 else 1, 1)
            x = n.conv(p + ".project", y, c, 1)
            i += 1
    x = n.conv(f"features.{i}", x, 1280, 1)
    x = n.gap("avgpool", x)
    n.fc("classifier", x[2], 1000)
    return n.model(224)


def squeezenet() -> Model:
    """SqueezeNet 1.0 (Iandola et al. 2016) as torchvision ``squeezenet1_0``: bias, no BN, ceil-mode pooling;
    the classifier is a 1x1 conv 512 -> 1000 followed by global average pooling."""
    n = _Net("squeezenet")
    x = (224, 224, 3)
    x = n.conv("conv1", x, 96, 7, 2, 0, bias=True, bn=False)
    x = n.pool("pool1", x, 3, 2, ceil=True)

    def fire(p, x, sq, e1, e3):
        y = n.conv(p + ".squeeze", x, sq, 1, bias=True, bn=False)
        n.conv(p + ".expand1x1", y, e1, 1, bias=True, bn=False)
        n.conv(p + ".expand3x3", y, e3, 3, bias=True, bn=False)
        return x[0], x[1], e1 + e3

    x = fire("fire2", x, 16, 64, 64)
    x = fire("fire3", x, 16, 64, 64)
    x = fire("fire4", x, 32, 128, 128)
    x = n.pool("pool4", x, 3, 2, ceil=True)
    x = fire("fire5", x, 32, 128, 128)
    x = fire("fire6", x, 48, 192, 192)
    x = fire("fire7", x, 48, 192, 192)
    x = fire("fire8", x, 64, 256, 256)
    x = n.pool("pool8", x, 3, 2, ceil=True)
    x = fire("fire9", x, 64, 256, 256)
    n.conv("conv10", x, 1000, 1, bias=True, bn=False)
    return n.model(224)


def densenet(blocks=(6, 12, 24, 16), growth=32, init=64, bn_size=4, name="densenet121") -> Model:
    """DenseNet-121 (Huang et al. 2017) as torchvision ``densenet121``: pre-activation BN (counted on the conv's
    input channels), no conv bias, compression 0.5."""
    n = _Net(name)
    x = (224, 224, 3)
    x = n.conv("conv0", x, init, 7, 2, 3)
    x = n.pool("pool0", x, 3, 2, 1)
    for b, count in enumerate(blocks, 1):
        for i in range(1, count + 1):
            p = f"denseblock{b}.layer{i}"
            y = n.conv(p + ".conv1", x, bn_size * growth, 1, bn_in=True)
            n.conv(p + ".conv2", y, growth, 3, bn_in=True)
            x = (x[0], x[1], x[2] + growth)
        if b < len(blocks):
            x = n.conv(f"transition{b}.conv", x, x[2] // 2, 1, bn_in=True)
            x = n.pool(f"transition{b}.pool", x, 2, 2)
    x = n.gap("avgpool", x)
    n.fc("classifier", x[2], 1000, bn_in=x[2])  # norm5 is attached to the classifier
    return n.model(224)


def xception() -> Model:
    """Xception (Chollet 2017) as Keras ``Xception`` (299): separable convs = depthwise + pointwise (no bias),
    BN after each separable conv, 1x1 stride-2 residual convs with BN."""
    n = _Net("xception")
    x = (299, 299, 3)
    x = n.conv("block1_conv1", x, 32, 3, 2, 0)
    x = n.conv("block1_conv2", x, 64, 3, 1, 0)

    def sep(p, x, c):
        y = n.dw(p + "_dw", x, 3, 1, 1, bn=False)
        return n.conv(p + "_pw", y, c, 1)

    for b, c in ((2, 128), (3, 256), (4, 728)):
        res_in = x
        x = sep(f"block{b}_sepconv1", x, c)
        x = sep(f"block{b}_sepconv2", x, c)
        x = n.pool(f"block{b}_pool", x, 3, 2, 1)
        n.conv(f"block{b}_residual", res_in, c, 1, 2, 0)
    for b in range(5, 13):
        for i in range(1, 4):
            x = sep(f"block{b}_sepconv{i}", x, 728)
    res_in = x
    x = sep("block13_sepconv1", x, 728)
    x = sep("block13_sepconv2", x, 1024)
    x = n.pool("block13_pool", x, 3, 2, 1)
    n.conv("block13_residual", res_in, 1024, 1, 2, 0)
    x = sep("block14_sepconv1", x, 1536)
    x = sep("block14_sepconv2", x, 2048)
    x = n.gap("avgpool", x)
    n.fc("predictions", x[2], 1000)
    return n.model(299)


def darknet53() -> Model:
    """Darknet-53 classifier (Redmon & Farhadi 2018, YOLOv3 Table 2) at 256 x 256: conv = conv + BN (no bias);
    residual units 1x1 (C/2) then 3x3 (C); final 1x1 "connected" layer to 1000 classes with bias (as FC)."""
    n = _Net("darknet53")
    x = (256, 256, 3)
    x = n.conv("conv0", x, 32, 3)
    for s, (c, reps) in enumerate(((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)), 1):
        x = n.conv(f"stage{s}.down", x, c, 3, 2, 1)
        for r in range(reps):
            y = n.conv(f"stage{s}.{r}.conv1", x, c // 2, 1)
            x = n.conv(f"stage{s}.{r}.conv2", y, c, 3)
    x = n.gap("avgpool", x)
    n.fc("connected", x[2], 1000)
    return n.model(256)


def nasnet_large() -> Model:
    """APPROXIMATION of NASNet-A Large (6 @ 4032, 331 x 331; Zoph et al. 2018, Keras ``NASNetLarge``).

    Entered cell by cell after the Keras reference, with these simplifications (which is why the model is flagged
    ``approximate`` and checked with a wider tolerance):

    * every separable-conv branch is "relu - sep(k, stride) - BN - relu - sep(k) - BN" (two depthwise + pointwise
      pairs), as in the reference;
    * the ``adjust`` of the previous-previous input when its spatial size differs (a factorized reduction: two
      1x1 stride-2 convs on shifted inputs, each to F/2 channels) is one 1x1 stride-2 conv to F channels (same
      parameters, same MACs);
    * pooling branches, identities, additions and concatenations have no parameters and are omitted; only the
      layers that produce shapes other layers read are entered.
    """
    n = _Net("nasnet_large")
    penult, stem_f = 4032, 96
    F = penult // 24  # 168
    x = (331, 331, 3)
    x = n.conv("stem_conv1", x, stem_f, 3, 2, 0)

    def sep(p, x, c, k, stride=1):
        y = n.dw(p + ".dw1", x, k, stride, k // 2, bn=False)
        y = n.conv(p + ".pw1", y, c, 1)
        y = n.dw(p + ".dw2", y, k, 1, k // 2, bn=False)
        return n.conv(p + ".pw2", y, c, 1)

    def adjust(p, prev, h, f):
        """Bring the previous-previous input to f channels at h's spatial size."""
        if prev is None:
            return None
        if prev[0] != h[0]:
            return n.conv(p + ".adjust_fr", prev, f, 1, 2, 0)
        if prev[2] != f:
            return n.conv(p + ".adjust", prev, f, 1)
        return prev

    def normal(p, h, prev, f):
        prev = adjust(p, prev, h, f)
        h = n.conv(p + ".beginning", h, f, 1)
        sep(p + ".left1", h, f, 5)
        sep(p + ".right1", prev, f, 3)
        sep(p + ".left2", prev, f, 5)
        sep(p + ".right2", prev, f, 3)
        sep(p + ".left5", h, f, 3)
        return h[0], h[1], 6 * f

    def reduction(p, h, prev, f):
        src = adjust(p, prev, h, f) if prev is not None else h  # Keras: p = ip when there is no p
        h = n.conv(p + ".beginning", h, f, 1)
        o = sep(p + ".left1", h, f, 5, 2)
        sep(p + ".right1", src, f, 7, 2)
        sep(p + ".right2", src, f, 7, 2)
        sep(p + ".right3", src, f, 5, 2)
        sep(p + ".left4", (h[0], h[1], f), f, 3)  # on the block-1 output (same size as the reduced output)
        return o[0], o[1], 4 * f

    # two stem reduction cells (filters F / 4 and F / 2)
    s0 = x
    s1 = reduction("stem_1", s0, None, F // 4)
    s2 = reduction("stem_2", s1, s0, F // 2)
    prev, h = s1, s2
    for stage, f in enumerate((F, 2 * F, 4 * F)):
        if stage > 0:  # Keras NASNetLarge has skip_reduction=True: p is not replaced by the reduction's input
            h = reduction(f"reduce_{stage}", h, prev, f)
        for c in range(6):
            prev, h = h, normal(f"normal_{stage}_{c}", h, prev, f)
    x = n.gap("avgpool", h)
    n.fc("predictions", x[2], 1000)
    return n.model(331, note="approximation: see nasnet_large docstring", approximate=True)


#: Published totals the zoo is checked against (tests/test_zoo.py, report): name -> (params, params relative
#: tolerance, MACs, MACs relative tolerance, source). Sources: TV = torchvision model docs ("Params", "GFLOPS" =
#: MACs); KERAS = keras.io/api/applications (totals include BN moving statistics); Howard 2017 Table 8; Zoph 2018
#: Table 2; timm model card darknet53.c2ns_in1k; Papers with Code Xception. Tolerances: exact for torchvision
#: integers, half a unit of the last published digit for rounded values, 1 % for Keras totals (non-trainable BN
#: statistics), 5 % on NASNet-Large MACs (approximation).
PUBLISHED = {
    "alexnet": (61_100_840, 0, 0.71e9, 0.005 / 0.71, "TV alexnet"),
    "vgg16": (138_357_544, 0, 15.47e9, 0.005 / 15.47, "TV vgg16"),
    "vgg19": (143_667_240, 0, 19.63e9, 0.005 / 19.63, "TV vgg19"),
    "resnet18": (11_689_512, 0, 1.81e9, 0.005 / 1.81, "TV resnet18"),
    "resnet34": (21_797_672, 0, 3.66e9, 0.005 / 3.66, "TV resnet34"),
    "resnet50": (25_557_032, 0, 4.09e9, 0.005 / 4.09, "TV resnet50"),
    "resnet101": (44_549_160, 0, 7.80e9, 0.005 / 7.80, "TV resnet101"),
    "resnet152": (60_192_808, 0, 11.51e9, 0.005 / 11.51, "TV resnet152"),
    "googlenet": (6_624_904, 0, 1.50e9, 0.005 / 1.50, "TV googlenet (aux classifiers dropped at inference)"),
    "mobilenet_v2": (3_504_872, 0, 0.30e9, 0.005 / 0.30, "TV mobilenet_v2"),
    "squeezenet": (1_248_424, 0, 0.82e9, 0.005 / 0.82, "TV squeezenet1_0"),
    "densenet121": (7_978_856, 0, 2.83e9, 0.005 / 2.83, "TV densenet121"),
    # torchvision's inception_v3 (27,161,264 params) includes the auxiliary classifier; Keras's does not.
    # MACs: TV 5.71 G includes the aux head (~3 MMAC at 5x5 resolution, < 0.1 %).
    "inception_v3": (23_851_784, 0.01, 5.71e9, 0.005 / 5.71, "KERAS InceptionV3 params; TV inception_v3 GMACs"),
    "mobilenet_v1": (4_253_864, 0.01, 569e6, 0.5 / 569, "KERAS MobileNet params; Howard 2017 Table 8 MACs"),
    "xception": (22_855_952, 0, None, None, "Papers with Code Xception (trainable params; no MAC total found)"),
    "darknet53": (41.6e6, 0.05 / 41.6, 9.3e9, 0.05 / 9.3, "timm darknet53.c2ns_in1k model card"),
    "nasnet_large": (88_949_818, 0.01, 23.8e9, 0.05, "KERAS NASNetLarge params; Zoph 2018 Table 2 MACs"),
}



_BUILDERS = {
    "alexnet": alexnet,
    "vgg16": lambda: vgg(16),
    "vgg19": lambda: vgg(19),
    "resnet18": lambda: resnet(18),
    "resnet34": lambda: resnet(34),
    "resnet50": lambda: resnet(50),
    "resnet101": lambda: resnet(101),
    "resnet152": lambda: resnet(152),
    "googlenet": googlenet,
    "inception_v3": inception_v3,
    "mobilenet_v1": mobilenet_v1,
    "mobilenet_v2": mobilenet_v2,
    "squeezenet": squeezenet,
    "densenet121": densenet,
    "xception": xception,
    "darknet53": darknet53,
    "nasnet_large": nasnet_large,
}

#: Names accepted by :func:`get_model`, in the order used by plots and tables.
MODEL_NAMES = tuple(_BUILDERS)
#: Models entered as explicitly labelled approximations.
APPROXIMATE_MODELS = ("nasnet_large",)

_ALIASES = {"vgg-16": "vgg16", "vgg-19": "vgg19", "inception-v3": "inception_v3", "inceptionv3": "inception_v3",
            "mobilenet-v1": "mobilenet_v1", "mobilenet": "mobilenet_v1", "mobilenetv1": "mobilenet_v1",
            "mobilenet-v2": "mobilenet_v2", "mobilenetv2": "mobilenet_v2", "squeezenet1_0": "squeezenet",
            "densenet-121": "densenet121", "darknet-53": "darknet53", "nasnet-large": "nasnet_large",
            "nasnetlarge": "nasnet_large"}
_ALIASES.update({f"resnet-{d}": f"resnet{d}" for d in (18, 34, 50, 101, 152)})


def list_models() -> list[str]:
    """Known model names."""
    return list(MODEL_NAMES)


@lru_cache(maxsize=None)
def _build(key: str) -> Model:
    return _BUILDERS[key]()


def get_model(name: str) -> Model:
    """The zoo model called ``name`` (case-insensitive; a few hyphenated aliases such as ``resnet-50`` work).

    Raises
    ------
    ValueError
        For an unknown name, listing the known names.
    """
    if not isinstance(name, str):
        raise ValueError(f"model name must be a string, got {name!r}; known models: {', '.join(MODEL_NAMES)}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODEL_NAMES)}")
    return _build(key)


# ------------------------------------------------------------------------------------------------ JSON shape files
#: Most layers one shape file may hold (ours: 100 times NASNet-Large's, the longest zoo model).
MAX_LAYERS = 100_000
#: Longest layer or model name in a shape file.
MAX_NAME = 200
#: Largest shape file read, 16 MiB (ours: NASNet-Large's layers as JSON take about 0.3 MB).
MAX_SHAPES_BYTES = 16 << 20

_SIZE = {"type": "integer", "minimum": 1, "maximum": MAX_SIZE}
_PAD = {"type": "integer", "minimum": 0, "maximum": MAX_SIZE}
_CHANNELS = {"type": "integer", "minimum": 1, "maximum": MAX_CHANNELS}
_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}

#: JSON Schema (draft 2020-12) of one layer of a shape file; ``k`` and ``pad`` are shorthands for ``k_h = k_w``
#: and ``pad_h = pad_w``; an ``fc`` layer may leave out ``in_h``/``in_w`` (they are 1).
LAYER_SCHEMA = {
    "type": "object",
    "required": ["name", "kind", "in_c", "out_c"],
    "properties": {
        "name": _NAME, "kind": {"enum": list(KINDS)}, "in_h": _SIZE, "in_w": _SIZE, "in_c": _CHANNELS,
        "out_c": _CHANNELS, "k": _SIZE, "k_h": _SIZE, "k_w": _SIZE, "stride": _SIZE, "pad": _PAD, "pad_h": _PAD,
        "pad_w": _PAD, "groups": _CHANNELS, "bias": {"type": "boolean"},
        "bn": {"type": "integer", "minimum": 0, "maximum": MAX_CHANNELS}, "ceil_mode": {"type": "boolean"},
    },
    "additionalProperties": False,
    "if": {"required": ["kind"], "properties": {"kind": {"const": "fc"}}},
    "else": {"required": ["in_h", "in_w"]},
}
#: JSON Schema of a shape file (the format :func:`model_to_dict` writes and :func:`load_shapes` reads).
SHAPES_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "layers"],
    "properties": {
        "name": _NAME,
        "layers": {"type": "array", "minItems": 1, "maxItems": MAX_LAYERS, "items": LAYER_SCHEMA},
        "input_hw": _SIZE,
        "chained": {"type": "boolean"},
        "note": {"type": "string", "maxLength": 10_000},
    },
    "additionalProperties": False,
}
_DEFAULTS = {"k_h": 1, "k_w": 1, "stride": 1, "pad_h": 0, "pad_w": 0, "groups": 1, "bias": False, "bn": 0,
             "ceil_mode": False}


def chain_error(layers) -> str | None:
    """Why ``layers`` do not form one chain, or None: each layer must read the previous layer's output (channels,
    and height and width for a conv or pool layer; an fc layer reads it flattened, ``C * H * W``, or pooled to
    ``C``)."""
    for i in range(1, len(layers)):
        p, l = layers[i - 1], layers[i]
        if l.kind == "fc":
            ok = l.in_c == p.out_c if p.kind == "fc" else l.in_c in (p.out_c, p.out_c * p.out_h * p.out_w)
            got = f"in_c = {l.in_c}"
            want = (f"{p.out_c}" if p.kind == "fc" else
                    f"{p.out_c} (pooled) or {p.out_c * p.out_h * p.out_w} (flattened {p.out_c}x{p.out_h}x{p.out_w})")
        else:
            ok = (l.in_c, l.in_h, l.in_w) == (p.out_c, p.out_h, p.out_w)
            got = f"in_c x in_h x in_w = {l.in_c}x{l.in_h}x{l.in_w}"
            want = f"{p.out_c}x{p.out_h}x{p.out_w}"
        if not ok:
            return (f"layers[{i}] ({l.name!r}): {got} but layers[{i - 1}] ({p.name!r}) outputs {want}; each layer "
                    f"reads the previous layer's output (a network listed branch after branch sets "
                    f"\"chained\": false)")
    return None


def model_to_dict(model: Model) -> dict:
    """JSON-serialisable form of a model (the format :func:`load_shapes` reads); ``"chained": false`` for a model
    whose layers do not form one chain (branches listed one after another)."""
    out = {"name": model.name, "input_hw": model.input_hw, "layers": [asdict(l) for l in model.layers]}
    if chain_error(model.layers) is not None:
        out["chained"] = False
    return out


def model_from_dict(data, source: str = "shape data") -> Model:
    """Build and validate a :class:`Model` from a dict ``{"name", "layers": [...], "input_hw"?, "chained"?}``.

    The fields, their types and ranges are :data:`SHAPES_SCHEMA` (checked with ``jsonschema``): each layer needs
    ``name, kind, in_c, out_c`` and, unless ``kind`` is ``fc``, ``in_h, in_w``; optional ``k_h, k_w, stride,
    pad_h, pad_w, groups, bias, bn, ceil_mode`` (defaults 1, 1, 1, 0, 0, 1, false, 0, false); ``k`` and ``pad``
    are shorthands for square kernels and symmetric padding. Then each layer's own rules (:class:`Layer`), unique
    names, and -- unless ``"chained": false`` -- that the layers chain (:func:`chain_error`). Errors name
    ``source``, the layer index and the field.
    """
    problem = schema_error(data, SHAPES_SCHEMA, source)
    if problem:
        raise ValueError(problem)
    layers = []
    for i, raw in enumerate(data["layers"]):
        raw = dict(raw)
        if "k" in raw:
            raw.setdefault("k_h", raw["k"])
            raw.setdefault("k_w", raw.pop("k"))
        if "pad" in raw:
            raw.setdefault("pad_h", raw["pad"])
            raw.setdefault("pad_w", raw.pop("pad"))
        if raw["kind"] == "fc":
            raw.setdefault("in_h", 1)
            raw.setdefault("in_w", 1)
        kw = {**_DEFAULTS, **{k: int(v) if isinstance(v, float) else v for k, v in raw.items()}}
        try:
            layers.append(Layer(**kw))
        except ValueError as e:
            raise ValueError(f"{source}: layers[{i}]: {e}") from None
    names = [l.name for l in layers]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise ValueError(f"{source}: duplicate layer name(s) {dup}")
    if not any(l.kind != "pool" for l in layers):
        raise ValueError(f"{source}: 'layers' has no conv or fc layer")
    if data.get("chained", True):
        problem = chain_error(layers)
        if problem:
            raise ValueError(f"{source}: {problem}")
    return Model(data["name"], tuple(layers), int(data.get("input_hw", layers[0].in_h)), str(data.get("note", "")))


def load_shapes(path, source: str | None = None) -> Model:
    """Load a model's layer shapes from a JSON file (:data:`SHAPES_SCHEMA`, the format of :func:`model_to_dict`),
    validating every field (:func:`model_from_dict`).

    ``source`` names the file in messages (default ``"shapes file 'PATH'"``; the CLI passes its option). ValueError
    when the file is missing, not a regular file, above :data:`MAX_SHAPES_BYTES`, not UTF-8 JSON, or invalid.
    """
    path = Path(path)
    source = f"{source or 'shapes file'} {str(path)!r}"
    if not path.exists():
        raise ValueError(f"{source} does not exist")
    if not path.is_file():
        raise ValueError(f"{source} is not a regular file (a folder or device); give a .json file")
    size = path.stat().st_size
    if size > MAX_SHAPES_BYTES:
        raise ValueError(f"{source} has {size} bytes, above the limit of {MAX_SHAPES_BYTES} for a shape file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{source} is not valid JSON: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise ValueError(f"{source} cannot be read ({e.strerror or e})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{source} is not valid JSON: {e}") from None
    except (ValueError, RecursionError) as e:  # a number of more than 4300 digits, nesting too deep
        raise ValueError(f"{source} is not valid JSON: {type(e).__name__}: {' '.join(str(e).split())[:120]}") \
            from None
    return model_from_dict(data, source=source)
