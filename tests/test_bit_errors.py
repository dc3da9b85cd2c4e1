"""Tests of model.bit_errors.flips: flip rates (binomial bounds), independence, modes, reproducibility, validation.

Statistical bounds: the number of flips in ``N`` bits at probability ``p`` is Binomial(N, p), mean ``Np``,
standard deviation ``sqrt(Np(1-p))``. We accept ``|k - Np| <= 5 sd``; with ``Np >= ~300`` the normal
approximation holds and a correct implementation fails one such check with probability ~5.7e-7 (16
per-position checks in one test: < 1e-5). The seeds are fixed (printed on failure), so the tests are
deterministic; the bound says the fixed seed is not a lucky pick.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from model.bit_errors.flips import (MODES, count_flipped_bits, flip_bits, flipped_bits_per_position, split_groups)

SEED = 20261122
K_SIGMA = 5.0


def _within(k: int, n: int, p: float, what: str) -> None:
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    assert abs(k - mean) <= K_SIGMA * sd, f"{what}: {k} flips, expected {mean:.1f} ± {K_SIGMA}·{sd:.2f} (seed {SEED})"


def _bf16_words(n: int, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n).astype(ml_dtypes.bfloat16)


@pytest.mark.parametrize("n_words,ber", [(200_000, 1e-4),   # k << N/50: numpy's hash-set path
                                         (100_000, 0.05),   # k > N/50: partial-shuffle path
                                         (500, 0.3)])       # N < 10000: small-population path
def test_flip_rate_all_mode_bf16(n_words, ber):
    print(f"seed {SEED}")
    w = _bf16_words(n_words)
    out = flip_bits(w, ber, rng=np.random.default_rng(SEED))
    _within(count_flipped_bits(w, out), n_words * 16, ber, f"total, N={n_words * 16}, p={ber}")
    if n_words * ber >= 20:  # enough flips per position for the normal approximation
        for bit, k in enumerate(flipped_bits_per_position(w, out)):
            _within(int(k), n_words, ber, f"bit {bit}")


def test_flips_independent_across_bits_of_a_word():
    """Words with >= 2 flips: P = 1 - (1-p)^16 - 16 p (1-p)^15 (a one-flip-per-word bug would give 0)."""
    print(f"seed {SEED}")
    n, p = 200_000, 0.05
    w = np.zeros(n, dtype=np.uint16)
    out = flip_bits(w, p, rng=np.random.default_rng(SEED))
    per_word = np.unpackbits(out.view(np.uint8)).reshape(n, 16).sum(axis=1)
    p2 = 1 - (1 - p) ** 16 - 16 * p * (1 - p) ** 15
    _within(int(np.count_nonzero(per_word >= 2)), n, p2, "words with >= 2 flips")
    _within(int(np.count_nonzero(per_word == 0)), n, (1 - p) ** 16, "words with no flip")


def test_split_mode_rates_and_groups_bf16():
    print(f"seed {SEED}")
    n = 200_000
    w = _bf16_words(n)
    out = flip_bits(w, mode="split", ber_msb=1e-3, ber_lsb=2e-2, rng=np.random.default_rng(SEED))
    pos = flipped_bits_per_position(w, out)
    _within(int(pos[8:].sum()), n * 8, 1e-3, "MSB group 15..8")
    _within(int(pos[:8].sum()), n * 8, 2e-2, "LSB group 7..0")


@pytest.mark.parametrize("msb_bits", [None, 9, 0, 16])
def test_split_never_flips_msb_when_ber_msb_zero(msb_bits):
    w = _bf16_words(50_000)
    out = flip_bits(w, mode="split", ber_msb=0.0, ber_lsb=0.5, msb_bits=msb_bits, rng=np.random.default_rng(SEED))
    n_msb = 8 if msb_bits is None else msb_bits
    pos = flipped_bits_per_position(w, out)
    assert pos[16 - n_msb:].sum() == 0, f"MSB group flipped: {pos} (seed {SEED})"
    assert np.all(pos[:16 - n_msb] > 0)


def test_split_never_flips_lsb_when_ber_lsb_zero_int8():
    w = np.random.default_rng(SEED).integers(-128, 128, 50_000).astype(np.int8)
    out = flip_bits(w, mode="split", ber_msb=0.5, ber_lsb=0.0, rng=np.random.default_rng(SEED))
    pos = flipped_bits_per_position(w, out)
    assert pos[:4].sum() == 0 and np.all(pos[4:] > 0), pos
    assert out.dtype == np.int8


def test_split_groups_bf16_and_int8():
    msb, lsb = split_groups(16)
    assert msb.tolist() == list(range(15, 7, -1)) and lsb.tolist() == list(range(7, -1, -1))
    msb, lsb = split_groups(16, 9)
    assert msb.tolist() == list(range(15, 6, -1)) and lsb.tolist() == list(range(6, -1, -1))
    msb, lsb = split_groups(8)
    assert msb.tolist() == [7, 6, 5, 4] and lsb.tolist() == [3, 2, 1, 0]


def test_extreme_probabilities_are_exact():
    w = _bf16_words(1000)
    u = w.view(np.uint16)
    assert np.array_equal(flip_bits(w, 0.0, rng=np.random.default_rng(1)).view(np.uint16), u)
    assert np.array_equal(flip_bits(w, 1.0, rng=np.random.default_rng(1)).view(np.uint16), ~u)
    out = flip_bits(w, mode="split", ber_msb=1.0, ber_lsb=0.0, rng=np.random.default_rng(1))
    assert np.array_equal(out.view(np.uint16), u ^ np.uint16(0xFF00))
    f = np.linspace(-3, 3, 64, dtype=np.float32)
    assert np.array_equal(flip_bits(f, 1.0, rng=np.random.default_rng(1)).view(np.uint32), ~f.view(np.uint32))


def test_input_untouched_shape_dtype_kept():
    w = _bf16_words(600).reshape(10, 6, 10)
    before = w.copy()
    out = flip_bits(w, 0.2, rng=np.random.default_rng(SEED))
    assert np.array_equal(w.view(np.uint16), before.view(np.uint16))
    assert out.shape == w.shape and out.dtype == w.dtype
    assert count_flipped_bits(w, out) > 0


def test_reproducible_by_seed():
    w = _bf16_words(10_000)
    a = flip_bits(w, 1e-2, rng=np.random.default_rng(7))
    b = flip_bits(w, 1e-2, rng=np.random.default_rng(7))
    c = flip_bits(w, 1e-2, rng=np.random.default_rng(8))
    assert np.array_equal(a.view(np.uint16), b.view(np.uint16))
    assert not np.array_equal(a.view(np.uint16), c.view(np.uint16))
    s1 = flip_bits(w, mode="split", ber_msb=1e-3, ber_lsb=1e-2, rng=np.random.default_rng(7))
    s2 = flip_bits(w, mode="split", ber_msb=1e-3, ber_lsb=1e-2, rng=np.random.default_rng(7))
    assert np.array_equal(s1.view(np.uint16), s2.view(np.uint16))


def test_low_ber_memory_does_not_scale_with_bits():
    """At BER 1e-9 nothing per bit may be allocated (a per-bit draw on 1.6e7 bits needs >= 16 MB).

    Functional check, not a timing assertion: tracemalloc's peak (numpy reports its buffers to it) stays
    below the output copy (2 MB) plus 1 MB.
    """
    import tracemalloc

    w = np.zeros(1_000_000, dtype=np.uint16)
    rng = np.random.default_rng(SEED)
    tracemalloc.start()
    try:
        out = flip_bits(w, 1e-9, rng=rng)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < w.nbytes + 1_000_000, f"peak {peak} B"
    assert count_flipped_bits(w, out) <= 5


@pytest.mark.parametrize("kwargs,param", [
    (dict(ber=-0.1), "ber"), (dict(ber=1.5), "ber"), (dict(ber=float("nan")), "ber"),
    (dict(mode="split", ber_msb=1.2, ber_lsb=1e-5), "ber_msb"),
    (dict(mode="split", ber_msb=1e-8, ber_lsb=-1e-5), "ber_lsb"),
])
def test_ber_out_of_range_names_parameter_and_range(kwargs, param):
    with pytest.raises(ValueError, match=rf"{param} must be in \[0, 1\]"):
        flip_bits(np.zeros(4, np.uint16), rng=np.random.default_rng(0), **kwargs)


def test_unknown_mode_and_inconsistent_arguments():
    w = np.zeros(4, np.uint16)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"mode must be one of \('all', 'split'\)"):
        flip_bits(w, 1e-3, mode="msb", rng=rng)
    assert MODES == ("all", "split")
    with pytest.raises(ValueError, match="ber is required"):
        flip_bits(w, mode="all", rng=rng)
    with pytest.raises(ValueError, match="needs both ber_msb and ber_lsb"):
        flip_bits(w, mode="split", ber_msb=1e-8, rng=rng)
    with pytest.raises(ValueError, match="ber must not be given"):
        flip_bits(w, 1e-3, mode="split", ber_msb=1e-8, ber_lsb=1e-5, rng=rng)
    with pytest.raises(ValueError, match="apply only to mode='split'"):
        flip_bits(w, 1e-3, ber_msb=1e-8, rng=rng)
    with pytest.raises(ValueError, match=r"msb_bits must be an integer in \[0, 16\]"):
        flip_bits(w, mode="split", ber_msb=1e-8, ber_lsb=1e-5, msb_bits=17, rng=rng)
    with pytest.raises(ValueError, match="words must have a numeric dtype"):
        flip_bits(np.zeros(4, bool), 1e-3, rng=rng)
    with pytest.raises(ValueError, match="words must have a numeric dtype"):
        flip_bits(np.zeros(4, np.complex128), 1e-3, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        flip_bits(w, 1e-3, rng=123)
    with pytest.raises(TypeError, match="ber must be a real number"):
        flip_bits(w, "1e-3", rng=rng)
    with pytest.raises(ValueError, match="same shape and dtype"):
        count_flipped_bits(np.zeros(3, np.uint16), np.zeros(4, np.uint16))


# --------------------------------------------------------------------------- the report experiment
# (its analysis functions are tested in tests/test_stats.py and tests/test_weight_errors.py)

def test_report_experiment_quick(tmp_path):
    from scripts.report.experiments.bit_errors import bit_errors
    from scripts.report.lib import Context

    section = bit_errors(Context(report_dir=tmp_path, quick=True, seed=2026, show_progress=False))
    text = section.markdown("bit errors", tmp_path)
    assert "STT-AI Ultra" in text and "Student-t" in text
    assert all(f.path.is_file() and f.path.stat().st_size > 10_000 for f in section.figures)
    ultra = [c for c in section.comparisons if c.quantity.startswith("normalized top-1 loss, STT-AI Ultra")]
    assert len(ultra) == 2 and all(c.paper == 1.0 for c in ultra)
    # all-bits at 1e-1 destroys a BF16 network (the exponent MSB flips in ~10 % of the words): a sweep that
    # did not flip anything would fail here.
    assert "| bf16-all | 1e-01 | 0 |" in text or "| bf16-all | 1e-01 | 0." in text
