"""Tests of model.digits_cnn: numpy inference reproduces torch's training-time outputs and accuracy.

The npz holds torch's float32 logits and predictions on the stored test split (float32 weights, and
weights rounded to BF16). numpy and torch sum in different orders, so logits are compared against the
derived bound of :func:`model.digits_cnn.float32_error_bound` (each within ``E`` of the exact value, so
within ``2E`` of each other); predictions and accuracy must match exactly.
"""

from __future__ import annotations

import hashlib
import json

import ml_dtypes
import numpy as np
import pytest

from model.digits_cnn import (DEFAULT_WEIGHTS, PARAM_NAMES, DigitsCNN, float32_error_bound, load_test_set)


@pytest.fixture(scope="module")
def stored():
    with np.load(DEFAULT_WEIGHTS, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def model():
    return DigitsCNN.load()


@pytest.fixture(scope="module")
def test_set():
    return load_test_set()


def test_metadata_and_json_agree(stored, model):
    meta = json.loads(str(stored["metadata"]))
    side = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    assert meta == side == model.metadata
    assert meta["n_parameters"] == model.n_parameters == 3658
    for k in ("seed", "torch_version", "test_accuracy", "architecture"):
        assert k in meta


def test_test_set_is_the_one_trained_against(stored, model, test_set):
    x, y = test_set
    assert x.shape == (model.metadata["n_test"], 1, 8, 8) and x.dtype == np.float32
    assert hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest() == model.metadata["test_images_sha256"]


def test_bf16_rounding_matches_torch_bit_exactly(stored, model):
    words, _ = model.encode("bf16")
    for k in PARAM_NAMES:
        assert words[k].dtype == np.dtype(ml_dtypes.bfloat16)
        assert np.array_equal(words[k].view(np.uint16), stored[f"{k}.bf16"]), k


@pytest.mark.parametrize("fmt,suffix", [("float32", ""), ("bf16", "_bf16")])
def test_numpy_reproduces_torch(stored, model, test_set, fmt, suffix):
    x, y = test_set
    m = model.quantized(fmt)
    logits = m.forward(x)
    bound = float32_error_bound(m, x)
    torch_logits = stored[f"test_logits{suffix}"]
    diff = np.abs(logits.astype(np.float64) - torch_logits)
    print(f"{fmt}: max |numpy - torch| = {diff.max():.3g}, max bound 2E = {2 * bound.max():.3g}")
    assert np.all(diff <= 2 * bound)
    # Predictions can only differ where the top-2 margin is <= 4E; none of the stored images is that close.
    top2 = np.sort(logits, axis=1)[:, -2:]
    assert np.all(top2[:, 1] - top2[:, 0] > 4 * bound.max(axis=1))
    assert np.array_equal(m.predict(x), stored[f"test_pred{suffix}"])
    key = "test_accuracy" if fmt == "float32" else "test_accuracy_bf16"
    assert m.accuracy(x, y) == model.metadata[key]


def test_error_bound_holds_against_float64_and_is_not_vacuous(model, test_set):
    """float64 is ~exact at this scale (its own error ~1e-16 relative): float32 must be within E of it."""
    x, _ = test_set
    from model.nn import conv2d, max_pool

    a = x.astype(np.float64)
    p = {k: v.astype(np.float64) for k, v in model.params.items()}
    a = max_pool(np.maximum(conv2d(a, p["conv1.weight"], p["conv1.bias"], pad=1), 0))
    a = max_pool(np.maximum(conv2d(a, p["conv2.weight"], p["conv2.bias"], pad=1), 0)).reshape(len(a), -1)
    a = np.maximum(a @ p["fc1.weight"].T + p["fc1.bias"], 0)
    ref = a @ p["fc2.weight"].T + p["fc2.bias"]
    bound = float32_error_bound(model, x)
    err = np.abs(model.forward(x) - ref)
    assert np.all(err <= bound)
    assert 0 < bound.max() < 1e-2 * np.abs(ref).max()  # small against the logits, not an infinite tolerance


def test_int8_roundtrip_within_half_a_step(model):
    words, scales = model.encode("int8")
    q = model.decode(words, "int8", scales)
    for k in PARAM_NAMES:
        assert words[k].dtype == np.int8 and words[k].min() >= -127
        assert np.all(np.abs(q.params[k] - model.params[k]) <= scales[k] / 2 * (1 + 1e-6)), k


def test_int8_accuracy_close_to_float(model, test_set):
    x, y = test_set
    # int8 per-tensor quantisation perturbs weights by <= 0.4 % of max|w|; allow a few images (1 % = 5.4).
    assert abs(model.quantized("int8").accuracy(x, y) - model.metadata["test_accuracy"]) <= 0.01


def test_nan_logits_count_as_wrong(model, test_set):
    x, y = test_set
    params = dict(model.params)
    params["fc2.bias"] = params["fc2.bias"].copy()
    params["fc2.bias"][3] = np.nan
    broken = DigitsCNN(params)
    assert np.all(broken.predict(x) == -1)
    assert broken.accuracy(x, y) == 0.0
    params["fc2.bias"][3] = np.inf  # +inf is an ordinary maximum
    assert np.all(DigitsCNN(params).predict(x) == 3)


def test_accepts_n_8_8_input(model, test_set):
    x, _ = test_set
    assert np.array_equal(model.forward(x[:5, 0]), model.forward(x[:5]))


@pytest.mark.parametrize("shape", [(5, 64), (5, 2, 8, 8), (5, 1, 8, 7), (8, 8), (5, 1, 1, 8, 8)])
def test_wrong_input_shape_names_expected_shape(model, shape):
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 8, 8\)"):
        model.forward(np.zeros(shape, np.float32))


def test_bad_params_formats_and_labels(model, test_set):
    x, y = test_set
    params = dict(model.params)
    params["fc1.weight"] = np.zeros((32, 63), np.float32)
    with pytest.raises(ValueError, match=r"params\['fc1.weight'\] must have shape \(32, 64\)"):
        DigitsCNN(params)
    with pytest.raises(ValueError, match="params is missing"):
        DigitsCNN({"conv1.weight": model.params["conv1.weight"]})
    with pytest.raises(ValueError, match=r"weight_format must be one of \('float32', 'bf16', 'int8'\)"):
        model.quantized("fp8")
    words, _ = model.encode("bf16")
    with pytest.raises(ValueError, match="scales"):
        model.decode(model.encode("int8")[0], "int8")
    with pytest.raises(ValueError, match="must have dtype"):
        model.decode(words, "int8", {})
    with pytest.raises(ValueError, match=r"y must have shape \(540,\)"):
        model.accuracy(x, y[:-1])
    with pytest.raises(FileNotFoundError, match="not found"):
        DigitsCNN.load("/nonexistent/weights.npz")


@pytest.mark.slow
def test_training_is_deterministic_and_matches_committed_weights(tmp_path):
    """Re-train (needs torch, the 'train' extra; ~5 s) and compare with the committed npz bit-exactly.

    Only meaningful with the torch build that produced the file (BLAS kernels differ across builds/CPUs).
    """
    torch = pytest.importorskip("torch")
    meta = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    if torch.__version__ != meta["torch_version"]:
        pytest.skip(f"weights made with torch {meta['torch_version']}, installed {torch.__version__}")
    from scripts.train.digits_cnn import save, train

    arrays, new_meta = train(meta["seed"], meta["epochs"])
    save(arrays, new_meta, tmp_path / "d.npz")
    with np.load(DEFAULT_WEIGHTS) as old, np.load(tmp_path / "d.npz") as new:
        for k in old.files:
            if k != "metadata":
                assert np.array_equal(old[k], new[k]), k
    assert new_meta["test_accuracy"] == meta["test_accuracy"]
