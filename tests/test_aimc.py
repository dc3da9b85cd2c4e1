"""model.aimc.devices (differential-pair weights, spreads, Fig. 11 inverse, geometry) and model.aimc.net (ternary CNN,
gradients, crossbar inference) against independent math: Monte Carlo, bisection, hand arithmetic, finite
differences, a loop convolution and the ideal product.

Monte Carlo bounds: a sample standard deviation of ``n`` Gaussian-ish draws has standard error about
``sigma / sqrt(2 (n - 1))`` (more for heavier tails; the radius model's squared Gaussian is close to Gaussian at
r0 / s ~ 11); we accept 5 standard errors, a false failure probability below 1e-6 per check for a correct model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.aimc import devices as aimc
from model.aimc.devices import (GaussianStates, RadiusModel, crossbar_conductances, diameter_for_resistance,
                        effective_weight, max_conductance_spread, max_cv_p, monte_carlo_sigmas, pair_conductances,
                        radius_model_cv, resistance_from_ra, sample_weights, sigma_radius_for_cv, weight_sigmas)
from model.aimc.net import (DEFAULT_WEIGHTS, LAYERS, CrossbarNetwork, _patches, _patches_adjoint,
                            load_models, load_test_set, loss_and_grads, noise_errors, ternarize, train)
from model.aimc.irdrop import solve_dense

K = 5.0


# --------------------------------------------------------------------------------------------------- device
def test_resistance_from_ra_by_hand():
    # 20 kOhm um^2 over a circle of 80 nm diameter: area = pi * 0.04^2 um^2 = 0.0050265 um^2 -> 3.979 MOhm
    assert resistance_from_ra(20e3 * 1e-12, 80e-9) == pytest.approx(20e3 / (math.pi * 0.04 ** 2), rel=1e-12)
    assert resistance_from_ra(20e3 * 1e-12, 80e-9) == pytest.approx(3.979e6, rel=1e-3)
    d = diameter_for_resistance(20e3 * 1e-12, 6e6)
    assert math.pi * (d / 2) ** 2 == pytest.approx(20e3 * 1e-12 / 6e6, rel=1e-12)


def test_radius_model_cv_against_sampling(rng):
    r0, s, n = 32e-9, 3e-9, 400_000
    g = rng.normal(r0, s, n) ** 2
    cv = g.std() / g.mean()
    assert abs(radius_model_cv(r0, s) - cv) < K * cv / math.sqrt(2 * n) * 1.5
    assert sigma_radius_for_cv(radius_model_cv(r0, s), r0) == pytest.approx(s, rel=1e-9)
    assert radius_model_cv(r0, 1e-12) == pytest.approx(2e-12 / r0, rel=1e-6)          # first order: 2 s / r0


@pytest.mark.parametrize("cv_p,cv_ap,tmr", [(0.08, 0.08, 1.5), (0.18, 0.05, 1.5), (0.03, 0.12, 0.8)])
def test_weight_sigmas_analytic_vs_monte_carlo(seed, cv_p, cv_ap, tmr):
    states = GaussianStates(1 / 6e6, cv_p, cv_ap, tmr)
    n = 40_000
    mc = monte_carlo_sigmas(states, n, 3, seed)
    exact = weight_sigmas(cv_p, cv_ap, tmr)
    for level in aimc.LEVELS:
        se = exact[level] / math.sqrt(2 * (n - 1) * 3)
        assert abs(mc[level].mean() - exact[level]) < K * se, (level, mc[level], exact[level])


def test_radius_model_weights_monte_carlo(seed):
    model = RadiusModel()
    rng = np.random.default_rng(seed)
    exact = model.weight_sigmas()
    n = 200_000
    for level in aimc.LEVELS:
        w = sample_weights(model, level, n, rng)
        assert abs(w.mean() - level) < K * exact[level] / math.sqrt(n)                 # unbiased levels
        assert abs(w.std(ddof=1) - exact[level]) < K * exact[level] / math.sqrt(2 * n) * 1.5


def test_fig11_inverse_by_bisection():
    """The largest spread from max_conductance_spread is where the forward spread crosses the target."""
    def bisect(f, target):
        lo, hi = 0.0, 2.0
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
        return lo

    for sigma_w in (0.05, 0.15, 0.3):
        c_pm = bisect(lambda c: weight_sigmas(c, c, 1.5)[1], sigma_w)
        c_0 = bisect(lambda c: weight_sigmas(0.0, c, 1.5)[0], sigma_w)
        assert max_conductance_spread(sigma_w, 1, 1.5) == pytest.approx(c_pm, rel=1e-9)
        assert max_conductance_spread(sigma_w, -1, 1.5) == pytest.approx(c_pm, rel=1e-9)
        assert max_conductance_spread(sigma_w, 0, 1.5) == pytest.approx(c_0, rel=1e-9)
        cp = bisect(lambda c: weight_sigmas(c, 0.05, 1.5)[1], sigma_w)
        assert max_cv_p(sigma_w, 0.05, 1.5) == pytest.approx(cp, rel=1e-9)


def test_fig11_levels_zero_tolerates_more_than_pm1():
    """Level 0 uses two AP devices only; +-1 has the larger P conductance (1 + TMR times G_AP) in it."""
    for tmr in (0.5, 1.5, 3.0):
        assert max_conductance_spread(0.15, 0, tmr) > max_conductance_spread(0.15, 1, tmr)


def test_pair_encoding_fig9():
    gp, gap = 3.0, 1.0
    plus, minus = pair_conductances(np.array([1, -1, 0]), gp, gap)
    np.testing.assert_array_equal(plus, [gp, gap, gap])
    np.testing.assert_array_equal(minus, [gap, gp, gap])
    np.testing.assert_array_equal(effective_weight(plus, minus, gp, gap), [1, -1, 0])


def test_crossbar_conductances_differential_product(rng):
    """Ideal crossbar: I+ - I- of each column pair is (V @ t) (G_P - G_AP)."""
    t = rng.integers(-1, 2, (7, 5))
    gp, gap = 1 / 6e6, 0.4 / 6e6
    g = crossbar_conductances(t, gp, gap)
    v = rng.uniform(0, 0.2, (3, 7))
    i = v @ g
    np.testing.assert_allclose(i[:, 0::2] - i[:, 1::2], (v @ t) * (gp - gap), rtol=1e-12, atol=1e-30)


@pytest.mark.parametrize("call,match", [
    (lambda: weight_sigmas(-0.1, 0.1), "cv_p must be"),
    (lambda: weight_sigmas(0.1, 0.1, 0.0), "tmr must be"),
    (lambda: weight_sigmas(0.1, 0.1, -1.5), "tmr must be"),
    (lambda: max_conductance_spread(-0.15, 1), "sigma_w must be"),
    (lambda: max_conductance_spread(0.15, 2), "level must be"),
    (lambda: max_cv_p(0.1, 0.5), "cv_ap must be <="),
    (lambda: GaussianStates(1e-7, 0.1, float("nan")), "cv_ap must be"),
    (lambda: RadiusModel(sigma_radius=-1e-9), "sigma_radius must be"),
    (lambda: RadiusModel(tmr=0), "tmr must be"),
    (lambda: resistance_from_ra(-1.0, 80e-9), "ra must be"),
    (lambda: crossbar_conductances(np.zeros((0, 3)), 1.0, 0.5), "non-empty"),
    (lambda: crossbar_conductances(np.array([[2, 0]]), 1.0, 0.5), "ternary"),
    (lambda: effective_weight(1.0, 0.5, 0.5, 1.0), "g_p must be > g_ap"),
    (lambda: monte_carlo_sigmas(GaussianStates(1e-7, 0.1, 0.1), 1, 2, 0), "n_samples must be"),
    (lambda: RadiusModel().sample_g("X", 3, np.random.default_rng(0)), "state must be"),
])
def test_bad_parameters(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_table1_has_every_column():
    assert len(aimc.TABLE_I_COLUMNS) == 6
    assert all(len(cells) == 6 for _, cells in aimc.TABLE_I)
    assert [m for m, _ in aimc.TABLE_I] == ["sigma_W", "R_ON", "V_WR"]


# ------------------------------------------------------------------------------------------------- network
def _small_net(rng, scale=0.3):
    w = [rng.normal(0, scale, (fi, fo)) for _, _, fi, fo in LAYERS]
    b = [rng.normal(0, 0.1, fo) for *_, fo in LAYERS]
    return w, b


def test_im2col_is_a_3x3_convolution(rng):
    x = rng.normal(size=(2, 3, 4, 5))                      # NCHW
    w = rng.normal(size=(3, 3, 3, 4))                      # (ky, kx, c_in, c_out): the crossbar row order
    got = (_patches(x) @ w.reshape(27, 4)).reshape(2, 4, 5, 4)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = np.zeros_like(got)
    for i in range(4):
        for j in range(5):
            ref[:, i, j] = np.einsum("ncab,abco->no", xp[:, :, i:i + 3, j:j + 3], w)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    d = rng.normal(size=(2 * 4 * 5, 27))                   # col2im is the adjoint: <im2col x, d> = <x, col2im d>
    assert np.sum(_patches(x) * d) == pytest.approx(np.sum(x * _patches_adjoint(d, x.shape)), rel=1e-12)


def test_gradients_against_finite_differences(rng):
    w, b = _small_net(rng)
    x = rng.uniform(0, 1, (6, 1, 8, 8))
    y = rng.integers(0, 10, 6)
    _, gw, gb = loss_and_grads(x, y, w, b)
    h = 1e-6
    for k in range(5):
        for _ in range(3):
            idx = tuple(rng.integers(0, s) for s in w[k].shape)
            wp = [a.copy() for a in w]
            wm = [a.copy() for a in w]
            wp[k][idx] += h
            wm[k][idx] -= h
            num = (loss_and_grads(x, y, wp, b)[0] - loss_and_grads(x, y, wm, b)[0]) / (2 * h)
            assert gw[k][idx] == pytest.approx(num, rel=1e-4, abs=1e-8), (k, idx)
        j = int(rng.integers(0, b[k].size))
        bp = [a.copy() for a in b]
        bm = [a.copy() for a in b]
        bp[k][j] += h
        bm[k][j] -= h
        num = (loss_and_grads(x, y, w, bp)[0] - loss_and_grads(x, y, w, bm)[0]) / (2 * h)
        assert gb[k][j] == pytest.approx(num, rel=1e-4, abs=1e-8), (k, j)


def test_ternarize_by_hand():
    w = np.array([0.05, -0.9, 0.4, -0.1, 1.3, 0.0])
    # mean |w| = 2.75 / 6 = 0.4583; delta = 0.7 * 0.4583 = 0.3208: -0.9, 0.4, 1.3 survive; alpha = 2.6 / 3
    t, alpha = ternarize(w)
    np.testing.assert_array_equal(t, [0, -1, 1, 0, 1, 0])
    assert alpha == pytest.approx(2.6 / 3)


def test_training_learns_and_stays_ternary(seed):
    from model.aimc.net import load_split
    xtr, ytr, xte, yte, _ = load_split(0)
    m = train(xtr[:300], ytr[:300], 0.1, seed % 1000, epochs=8, batch=32, lr=1e-2)   # 8 seeds: error 0.13-0.33
    assert all(set(np.unique(t)) <= {-1, 0, 1} for t in m.ternary)
    assert m.error(xte, yte) < 0.5                        # chance is 0.9


@pytest.fixture(scope="module")
def committed():
    models, test_idx, meta = load_models()
    x, y = load_test_set(test_idx)
    return models, x, y, meta


def test_committed_weights_are_small_and_sound(committed):
    models, x, y, meta = committed
    assert DEFAULT_WEIGHTS.stat().st_size < 200_000
    sigmas = sorted({s for s, _ in models})
    assert sigmas[0] == 0.0 and len(sigmas) >= 3
    base = models[(0.0, 0)]
    assert base.error(x, y) < 0.06
    assert len(x) == 540 and meta["n_train"] + len(x) == 1797


def test_noise_draws_are_reproducible_and_zero_noise_is_clean(committed, seed):
    models, x, y, _ = committed
    m = models[(0.0, 0)]
    np.testing.assert_array_equal(noise_errors(m, x, y, 0.0, 3, seed), m.error(x, y))
    a = noise_errors(m, x[:100], y[:100], 0.2, 3, [seed, 1])
    np.testing.assert_array_equal(a, noise_errors(m, x[:100], y[:100], 0.2, 3, [seed, 1]))


def test_crossbar_network_without_wire_resistance_is_the_network(committed):
    models, x, y, _ = committed
    m = models[(0.0, 0)]
    xb = CrossbarNetwork(m, 6e6, 0.0)
    np.testing.assert_allclose(xb.forward(x[:50]), m.forward(x[:50]), rtol=1e-9, atol=1e-9)


def test_crossbar_network_ir_drop(committed):
    """Only r_wire / R_ON matters (two independent factorisations); the fc3 array matches a dense solve. (Direct
    and transfer solves of one array are compared in tests/test_irdrop.py.)"""
    models, x, y, _ = committed
    m = models[(0.0, 0)]
    a = CrossbarNetwork(m, 2e4, 2.0, method="direct")
    logits = a.forward(x[:4])
    np.testing.assert_allclose(CrossbarNetwork(m, 4e4, 4.0, method="direct").forward(x[:4]), logits, rtol=1e-9,
                               atol=1e-9)
    assert np.abs(logits - m.forward(x[:4])).max() > 1e-3                       # the drop is visible here
    v = np.random.default_rng(0).uniform(0, 0.1, (2, 84))
    np.testing.assert_allclose(a.arrays[4].currents(v), solve_dense(a.arrays[4].g, v, 2.0), rtol=1e-10)


def test_pack_ternary_round_trip(rng):
    from model.aimc.net import pack_ternary, unpack_ternary
    for shape in ((1, 1), (9, 6), (7, 5)):
        t = rng.integers(-1, 2, shape)
        packed = pack_ternary(t)
        assert packed.dtype == np.uint8 and packed.size == -(-t.size // 5)
        np.testing.assert_array_equal(unpack_ternary(packed, shape), t)
    assert pack_ternary([1, 0, -1, 1, -1, 0]).tolist() == [2 + 1 * 3 + 0 * 9 + 2 * 27 + 0 * 81, 1]  # t + 1, base 3
    with pytest.raises(ValueError, match="ternary"):
        pack_ternary([2])


def test_knee_r_on_by_hand():
    from model.aimc.net import knee_r_on
    r = [1e4, 1e6, 1e5]                                   # any order
    e = [0.05, 0.02, 0.02]
    # threshold 0.03 first crossed between 1e5 (0.02) and 1e4 (0.05): a third of the way in log R_ON
    assert knee_r_on(r, e, 0.02, 0.01) == pytest.approx(1e5 * 10 ** (-1 / 3), rel=1e-12)
    assert math.isnan(knee_r_on(r, [0.02, 0.02, 0.02], 0.02, 0.01))
    assert knee_r_on(r, [0.5, 0.5, 0.5], 0.02, 0.01) == 1e6
    with pytest.raises(ValueError, match="rise must be"):
        knee_r_on(r, e, 0.02, 0.0)


def test_equal_loss_r_on_scales_with_array_size_squared():
    """IR drop is set by r_wire G N^2 (continuum limit of both lines): equal loss needs R_ON ~ N^2."""
    from model.aimc.net import array_loss, equal_loss_r_on
    r16 = equal_loss_r_on(16, 16, 0.05, 2.0, 0)
    r32 = equal_loss_r_on(32, 32, 0.05, 2.0, 0)
    assert array_loss(32, 32, r32, 2.0, 0)[0] == pytest.approx(0.05, rel=2e-3)
    assert 3.6 < r32 / r16 < 4.4


def test_layer_losses_grow_with_the_array(committed):
    from model.aimc.net import layer_losses
    models, *_ = committed
    losses = layer_losses(models[(0.0, 0)], 6e6, 2.0)
    assert len(losses) == 5 and all(0 < m <= w < 1 for m, w in losses)
    assert losses[2][0] > losses[0][0]                    # fc1 (64 x 240) drops more than conv1 (9 x 12)
    half = layer_losses(models[(0.0, 0)], 12e6, 2.0)      # first order: loss ~ 1 / R_ON
    assert half[2][0] == pytest.approx(losses[2][0] / 2, rel=0.02)


def test_variation_grid_statistics(committed):
    from model.aimc.net import VariationGrid, variation_grid
    from model.stats import t_interval
    rng = np.random.default_rng(1)
    err = rng.uniform(0, 0.2, (2, 3, 2, 4))
    g = VariationGrid((0.0, 0.3), (0.0, 0.15), err)
    np.testing.assert_allclose(g.per_seed(0.3, 0.15), err[1, :, 1].mean(axis=1))
    assert g.mean_ci(0.3, 0.0) == pytest.approx(t_interval(err[1, :, 0].mean(axis=1)))
    assert g.diff_ci((0.3, 0.15), (0.0, 0.15)) == pytest.approx(
        t_interval(err[1, :, 1].mean(axis=1) - err[0, :, 1].mean(axis=1)))
    with pytest.raises(ValueError, match="not in the grid"):
        g.per_seed(0.2, 0.0)
    models, x, y, _ = committed
    sub = {k: m for k, m in models.items() if k[0] in (0.0, 0.3) and k[1] in (0, 1)}
    grid = variation_grid(sub, x[:60], y[:60], (0.0, 0.3), 2, 5)
    assert grid.errors.shape == (2, 2, 2, 2)
    assert grid.errors[0, 0, 0, 0] == sub[(0.0, 0)].error(x[:60], y[:60])
