"""Tests of model.bit_errors.weights: first-order loss by hand, flip counts at BER 0 / 1, seeding, single flips.

The digits CNN (:mod:`model.digits_cnn`) is the network; the checks do not depend on its trained values:
at BER 0 nothing flips (accuracy = clean, exactly), at BER 1 every bit of the group flips (a known count),
and every Monte-Carlo / single-flip number is recomputed from its documented random stream.
"""

import numpy as np
import pytest

from model.bit_errors.flips import count_flipped_bits, flip_bits
from model.digits_cnn import DigitsCNN, load_test_set
from model.bit_errors.weights import (Curve, StoredWeights, accuracy_sweep, expected_flips, first_order_loss,
                                 normalized_loss_pct, single_flip_losses)

SEED = 2026


@pytest.fixture(scope="module")
def net():
    model = DigitsCNN.load()
    x, y = load_test_set()
    return model, x, y, {fmt: StoredWeights(model, fmt, x, y) for fmt in ("bf16", "int8")}


# --------------------------------------------------------------------------------------------- definitions
def test_first_order_loss_formula():
    sens = [np.zeros(4)] * 15 + [np.array([10.0, 20.0, 30.0, 40.0])]  # only bit 15 hurts, mean 25 %
    est, lo, hi = first_order_loss(sens, 1000, lambda b: 1e-4)
    assert est == pytest.approx(1000 * 1e-4 * 25)
    se = 1000 * 1e-4 * np.std([10, 20, 30, 40], ddof=1) / 2
    assert (hi - est) == pytest.approx(1.96 * se) and (est - lo) == pytest.approx(1.96 * se)


def test_first_order_loss_per_bit_ber_by_hand():
    # c = n_words * BER_b = (0.1, 0.01); means (3, 10) -> 0.3 + 0.1 = 0.4.
    # Variance of the mean: bit 0 var([2, 4], ddof=1) / 2 = 1 -> c0^2 * 1 = 0.01; bit 1 one sample -> 0.
    est, lo, hi = first_order_loss([np.array([2.0, 4.0]), np.array([10.0])], 100, lambda b: (1e-3, 1e-4)[b])
    assert est == pytest.approx(0.4, rel=1e-12)
    assert hi - est == pytest.approx(1.96 * 0.1, rel=1e-12) and est - lo == pytest.approx(1.96 * 0.1, rel=1e-12)
    with pytest.raises(ValueError, match="at least one sample per bit"):
        first_order_loss([np.array([1.0]), np.array([])], 100, lambda b: 1e-3)


def test_normalized_loss_and_expected_flips():
    assert normalized_loss_pct(0.8, 0.6) == pytest.approx(25.0, rel=1e-12)
    assert normalized_loss_pct(0.5, 0.5) == 0.0 and normalized_loss_pct(0.5, 0.6) < 0
    np.testing.assert_allclose(normalized_loss_pct(0.5, np.array([0.5, 0.25, 0.0])), [0, 50, 100])
    # Sec. V-C: "less than 3" flips in a 12 MB buffer at 1e-8 over 3 mechanisms: 3 * 96e6 * 1e-8 = 2.88
    assert expected_flips(12e6 * 8, 1e-8, mechanisms=3) == pytest.approx(2.88, rel=1e-12)
    assert expected_flips(1000, 0.01) == pytest.approx(10.0, rel=1e-12)


def test_curve_validation():
    assert Curve("bf16").mode == "all" and Curve("int8", "split").msb_bits is None
    with pytest.raises(ValueError, match="mode must be one of"):
        Curve("bf16", "msb")
    with pytest.raises(ValueError, match="msb_bits applies only to mode='split'"):
        Curve("bf16", "all", 8)


# ------------------------------------------------------------------------------------------ stored weights
def test_stored_weights_layout_and_clean_accuracy(net):
    model, x, y, stored = net
    for fmt, width in (("bf16", 16), ("int8", 8)):
        st = stored[fmt]
        assert st.n_words == model.n_parameters and st.width == width and st.n_bits == model.n_parameters * width
        assert st.clean_acc == model.quantized(fmt).accuracy(x, y)
        assert st.accuracy(st.flat.copy()) == st.clean_acc
    st = stored["bf16"]
    j = int(np.flatnonzero(st.flat.astype(np.float32) != 0)[0])
    bad = st.with_flipped_bit(j, 15)  # the BF16 sign bit
    assert bad[j].astype(np.float32) == -st.flat[j].astype(np.float32)
    assert count_flipped_bits(st.flat, bad) == 1


# --------------------------------------------------------------------------------------------- Monte Carlo
def test_sweep_flip_counts_at_ber_zero_and_one(net):
    _, _, _, stored = net
    curves = {"all": Curve("bf16"), "split9": Curve("bf16", "split", 9), "int8": Curve("int8", "split", 4)}
    res = accuracy_sweep(stored, curves, [0.0, 1.0], 2, SEED, ber_msb=0.0)
    n16, n8 = stored["bf16"].n_words, stored["int8"].n_words
    for key in curves:
        accs, flips = res[key, 0.0]
        assert flips.tolist() == [0, 0]
        assert accs.tolist() == [stored[curves[key].fmt].clean_acc] * 2
    assert res["all", 1.0].flipped_bits.tolist() == [16 * n16] * 2          # every bit
    assert res["split9", 1.0].flipped_bits.tolist() == [(16 - 9) * n16] * 2  # bits 6..0 only (MSB group at 0)
    assert res["int8", 1.0].flipped_bits.tolist() == [(8 - 4) * n8] * 2      # bits 3..0 only
    assert set(res) == {(k, b) for k in curves for b in (0.0, 1.0)}


def test_sweep_uses_the_documented_random_stream(net):
    _, _, _, stored = net
    curves = {"other": Curve("int8"), "bf16": Curve("bf16", "split", 8)}
    seen = []

    def progress(it, desc=""):
        seen.append(desc)
        return it

    res = accuracy_sweep(stored, curves, [1e-3, 2e-2], 3, SEED, ber_msb=1e-3, stream=5, progress=progress)
    assert seen == ["sweep"]
    st = stored["bf16"]
    for s in range(3):  # curve 1, BER index 1, seed s
        bad = flip_bits(st.flat, mode="split", ber_msb=1e-3, ber_lsb=2e-2, msb_bits=8,
                        rng=np.random.default_rng([SEED, 5, 1, 1, s]))
        assert res["bf16", 2e-2].flipped_bits[s] == count_flipped_bits(st.flat, bad)
        assert res["bf16", 2e-2].accuracy[s] == st.accuracy(bad)
    again = accuracy_sweep(stored, curves, [1e-3, 2e-2], 3, SEED, ber_msb=1e-3, stream=5)
    for k in res:
        assert np.array_equal(res[k].accuracy, again[k].accuracy)
        assert np.array_equal(res[k].flipped_bits, again[k].flipped_bits)


def test_sweep_rejects_bad_arguments(net):
    _, _, _, stored = net
    with pytest.raises(ValueError, match="n_seeds must be an integer >= 1"):
        accuracy_sweep(stored, {"a": Curve("bf16")}, [1e-3], 0, SEED)
    with pytest.raises(ValueError, match=r"no weights for format\(s\) \['float32'\]"):
        accuracy_sweep(stored, {"a": Curve("float32")}, [1e-3], 1, SEED)


# -------------------------------------------------------------------------------------------- single flips
def test_single_flips_recomputed_from_their_samples(net):
    _, _, _, stored = net
    st = stored["bf16"]
    f = single_flip_losses(st, 2, SEED, stream=7)
    assert len(f.losses) == len(f.values) == len(f.index) == 16
    rng = np.random.default_rng([SEED, 7, 999])
    for bit in range(16):
        idx = rng.choice(st.n_words, size=2, replace=False)  # the documented draw, bit by bit
        assert np.array_equal(f.index[bit], idx)
        assert np.array_equal(f.values[bit], st.flat[idx].astype(np.float32))
        for k, j in enumerate(idx):
            assert f.losses[bit][k] == normalized_loss_pct(st.clean_acc, st.accuracy(st.with_flipped_bit(j, bit)))
    with pytest.raises(ValueError, match="n_per_bit must be an integer >= 1"):
        single_flip_losses(st, 0, SEED)
