"""Tests of model.bcnn.net: the committed binary CNN, its binary-matmul hook, and the numpy training script.

The independent references here are: a float64 re-implementation of the network with sliding-window
einsums (no model.bcnn.dpu code), and a binary matmul through the XOR identity
``x . w = K - 2 popcount(x xor w)`` on packed bits.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from model.bcnn.net import (BCNN, BINARY_LAYERS, BN_EPS, DEFAULT_WEIGHTS, PARAM_NAMES, BinaryOperands,
                            load_test_set, reference_matmul)

POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int32)


def xor_popcount_matmul(xb: np.ndarray, wb: np.ndarray) -> np.ndarray:
    """+/-1 dot products as ``K - 2 popcount(xor)`` of the 1/0 encodings, packed 8 bits a byte."""
    k = xb.shape[1]
    xp = np.packbits(xb > 0, axis=1)            # (N, ceil(K/8)); padding bits 0 in both operands
    wp = np.packbits(wb.T > 0, axis=1)          # (M, ceil(K/8))
    differ = POPCOUNT8[xp[:, None, :] ^ wp[None, :, :]].sum(axis=2)
    return (k - 2 * differ).astype(np.int64)


@pytest.fixture(scope="module")
def model():
    return BCNN.load()


@pytest.fixture(scope="module")
def test_set():
    return load_test_set()


@pytest.fixture(scope="module")
def subset(test_set):
    x, y = test_set
    return x[::4], y[::4]  # 135 images: enough for every check, fast


# ------------------------------------------------------------------------------------------------ committed net
def test_committed_accuracy_equals_the_json(model, test_set):
    side = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    assert side == model.metadata
    x, y = test_set
    assert x.shape == (side["n_test"], 1, 8, 8)
    assert hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest() == side["test_images_sha256"]
    acc = model.accuracy(x, y)
    print(f"test accuracy {acc:.4f} ({side['n_test']} images)")
    assert acc == side["test_accuracy"]
    assert acc >= 0.90
    assert DEFAULT_WEIGHTS.stat().st_size < 300_000


def test_binary_layers_describe_the_operands(model, subset):
    """(N per image, K, M) from the conv arithmetic of the weight shapes, and equal to what forward() feeds matmul."""
    x, _ = subset
    p = model.params
    c1, c2, c3, f = (p[k].shape[0] for k in ("conv1.weight", "bconv1.weight", "bconv2.weight", "bfc.weight"))
    side = 8 + 2 * 1 - 3 + 1                          # conv1: 3x3, pad 1
    o1 = side - 3 + 1                                 # bconv1: 3x3 valid
    o2 = o1 // 2 - 3 + 1                              # maxpool 2, bconv2: 3x3 valid
    expected = {"bconv1": (o1 * o1, c1 * 9, c2), "bconv2": (o2 * o2, c2 * 9, c3), "bfc": (1, c3 * o2 * o2, f)}
    layers = model.binary_layers()
    assert tuple(L.name for L in layers) == BINARY_LAYERS
    assert {L.name: (L.n_per_image, L.k, L.m) for L in layers} == expected
    assert [(d["name"], d["n_per_image"], d["k"], d["m"]) for d in model.metadata["binary_layers"]] == \
        [(name, *expected[name]) for name in BINARY_LAYERS]
    capture = {}
    model.forward(x, capture=capture)
    assert set(capture) == set(BINARY_LAYERS)
    for L in layers:
        ops = capture[L.name]
        assert isinstance(ops, BinaryOperands)
        assert ops.xb.shape == (len(x) * L.n_per_image, L.k) and ops.wb.shape == (L.k, L.m)
        assert ops.xb.dtype == np.int8 and ops.wb.dtype == np.int8
        assert set(np.unique(ops.xb)) == {-1, 1} and set(np.unique(ops.wb)) == {-1, 1}
        assert not ops.xb.flags.writeable and not ops.wb.flags.writeable
        assert np.array_equal(ops.dot, ops.xb.astype(np.int64) @ ops.wb.astype(np.int64))
        assert ops.k_scale.shape == (len(x) * L.n_per_image,) and ops.alpha.shape == (L.m,)
    xb, wb = model.operands(x[:3], "bconv2")
    assert np.array_equal(xb, capture["bconv2"].xb[:3]) and np.array_equal(wb, capture["bconv2"].wb)


def test_any_exact_matmul_gives_bit_identical_logits(model, subset):
    x, _ = subset
    ref = model.forward(x)
    assert np.array_equal(ref, model.forward(x, matmul=reference_matmul))
    for mm in (xor_popcount_matmul,
               lambda xb, wb: xb.astype(np.float64) @ wb.astype(np.float64),   # exact in float64
               {"bconv2": xor_popcount_matmul}):
        assert np.array_equal(model.forward(x, matmul=mm), ref)
    # ... and the hook is really used: a matmul off by 2 in one layer changes the logits
    off = model.forward(x, matmul={"bfc": lambda xb, wb: reference_matmul(xb, wb) + 2})
    assert not np.array_equal(off, ref)


def test_matmul_dict_replaces_only_the_named_layers(model, subset):
    x, _ = subset
    calls = []

    def spy(name):
        def mm(xb, wb):
            calls.append((name, xb.shape, wb.shape))
            return reference_matmul(xb, wb)
        return mm

    model.forward(x, matmul={"bconv1": spy("bconv1"), "bfc": spy("bfc")})
    assert [c[0] for c in calls] == ["bconv1", "bfc"]
    model.forward(x, matmul=spy("all"))
    assert [c[0] for c in calls[2:]] == ["all"] * 3
    assert [c[1:] for c in calls[2:]] == [((len(x) * L.n_per_image, L.k), (L.k, L.m)) for L in model.binary_layers()]


# ------------------------------------------------------------------------------------------------ independent ref
def _windows(a, k):
    return np.lib.stride_tricks.sliding_window_view(a, (k, k), axis=(2, 3))  # (N, C, OH, OW, k, k)


def _reference_forward(p, x):
    """The network in float64 from the module docstring, without model.bcnn.dpu; also the min |sign input|."""
    p = {k: v.astype(np.float64) for k, v in p.items()}

    def bn(name, a):
        shape = (1, -1) + (1,) * (a.ndim - 2)
        g = lambda f: p[f"{name}.{f}"].reshape(shape)  # noqa: E731
        return (a - g("mean")) / np.sqrt(g("var") + BN_EPS) * g("gamma") + g("beta")

    margins = []

    def binary(name, h):
        margins.append(np.abs(h).reshape(len(h), -1).min(axis=1))
        s = np.where(h >= 0, 1.0, -1.0)
        w = p[f"{name}.weight"]
        sw = np.where(w >= 0, 1.0, -1.0)
        al = np.abs(w).reshape(len(w), -1).mean(axis=1)
        if h.ndim == 2:
            return (s @ sw.T) * np.abs(h).mean(axis=1, keepdims=True) * al
        kmap = _windows(np.abs(h).mean(axis=1, keepdims=True), 3).mean(axis=(4, 5))[:, 0]   # (N, OH, OW)
        dot = np.einsum("ncijkl,mckl->nmij", _windows(s, 3), sw)
        return dot * kmap[:, None] * al[None, :, None, None]

    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    a = np.maximum(bn("conv1.bn", np.einsum("ncijkl,mckl->nmij", _windows(xp, 3), p["conv1.weight"])), 0)
    a = binary("bconv1", bn("bconv1.bn", a))
    n, c, h, w = a.shape
    a = a.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
    a = binary("bconv2", bn("bconv2.bn", a)).reshape(n, -1)
    a = binary("bfc", bn("bfc.bn", a))
    logits = bn("fc.bn", a) @ p["fc.weight"].T + p["fc.bias"]
    return logits, np.min(margins, axis=0)


def test_forward_matches_an_independent_float64_network(model, test_set):
    """Where no sign input is within 1e-4 of 0 (float32 errors are ~1e-6 here), every binary activation agrees,
    so the logits agree to float32 accuracy; the test requires most images to qualify."""
    x, y = test_set
    ours = model.forward(x).astype(np.float64)
    ref, margin = _reference_forward(model.params, x)
    safe = margin > 1e-4
    print(f"{safe.sum()} of {len(x)} images have every sign input |h| > 1e-4; max |logit diff| "
          f"{np.abs(ours - ref)[safe].max():.3g}")
    assert safe.mean() > 0.9
    np.testing.assert_allclose(ours[safe], ref[safe], rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    assert abs(float(np.mean(ref.argmax(1) == y)) - model.metadata["test_accuracy"]) <= (~safe).sum() / len(y)


# ------------------------------------------------------------------------------------------------ training
def test_training_script_writes_a_loadable_net_whose_accuracy_is_its_json(tmp_path):
    from scripts.train.bcnn import save, train

    arrays, meta = train(seed=3, epochs=1, progress=False)
    arrays2, _ = train(seed=3, epochs=1, progress=False)
    assert all(np.array_equal(arrays[k], arrays2[k]) for k in arrays)  # seeded
    out = tmp_path / "net.npz"
    save(arrays, meta, out)
    assert json.loads(out.with_suffix(".json").read_text()) == meta
    net = BCNN.load(out)
    x, y = load_test_set(out)
    assert net.accuracy(x, y) == meta["test_accuracy"]
    assert set(PARAM_NAMES) <= set(arrays)
    with pytest.raises(ValueError, match=r"--out must end in .npz, got '.*net.txt'"):
        save(arrays, meta, tmp_path / "net.txt")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["net.json", "net.npz"]


def test_training_batch_norm_backward_matches_finite_differences(rng):
    """The batch-statistics batch norm of the training script: analytic gradient vs central differences."""
    from scripts.train.bcnn import _BatchNorm

    x = rng.standard_normal((6, 3, 2, 2))
    bn = _BatchNorm(3)
    bn.gamma, bn.beta = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    up = rng.standard_normal(x.shape)  # loss = sum(up * bn(x))
    bn.forward(x)
    dx = bn.backward(up)
    eps = 1e-6
    for idx in [(0, 0, 0, 0), (3, 1, 1, 0), (5, 2, 1, 1), (2, 0, 1, 1)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num = (np.sum(up * bn.forward(xp)) - np.sum(up * bn.forward(xm))) / (2 * eps)
        assert abs(dx[idx] - num) <= 1e-5 * max(1.0, abs(num)), idx


# ------------------------------------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("call,match", [
    (lambda m, x: m.forward(np.zeros((2, 1, 7, 7))), r"x must have shape \(N, 1, 8, 8\).*got shape \(2, 1, 7, 7\)"),
    (lambda m, x: m.forward(np.full((1, 8, 8), np.nan)), r"x must be finite, got NaN or inf at flat index 0"),
    (lambda m, x: m.forward(x, matmul=lambda a, b: (a @ b)[:-1]), r"matmul for layer 'bconv1' must return shape"),
    (lambda m, x: m.forward(x, matmul=lambda a, b: (a @ b).astype(str)), r"must return a real numeric array"),
    (lambda m, x: m.forward(x, matmul={"conv1": reference_matmul}), r"matmul keys must be in .*got 'conv1'"),
    (lambda m, x: m.forward(x, matmul=3), r"matmul must be None, a callable .*got int"),
    (lambda m, x: m.forward(x, capture=[]), r"capture must be None or a dict, got list"),
    (lambda m, x: m.operands(x, "fc"), r"layer must be one of \('bconv1', 'bconv2', 'bfc'\), got 'fc'"),
    (lambda m, x: m.accuracy(x, np.zeros(3)), r"y must have shape \(2,\) to match x, got \(3,\)"),
    (lambda m, x: BCNN({k: v for k, v in m.params.items() if k != "fc.bias"}), r"params is missing \['fc.bias'\]"),
    (lambda m, x: BCNN({**m.params, "fc.weight": np.zeros((10, 3))}),
     r"params\['fc.weight'\] must have shape \(10, 64\)"),
])
def test_bad_arguments_raise_value_error_naming_the_value(model, test_set, call, match):
    with pytest.raises(ValueError, match=match):
        call(model, test_set[0][:2])


def test_missing_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        BCNN.load(tmp_path / "nope.npz")
