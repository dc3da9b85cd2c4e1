"""model.aimc.irdrop against independent math: a dense nodal solve, the closed-form 1x1 and single-row circuits, the
first-order (linear-in-r_wire) IR-drop expansion, current conservation, scaling, and the r_wire -> 0 limit."""

from __future__ import annotations

import numpy as np
import pytest

from model.aimc.irdrop import Crossbar, cell_voltage_fraction, ideal_currents, solve_currents, solve_dense

R_ON = 6e6


def _random(rng, rows, cols, batch):
    g = rng.uniform(0.2, 1.0, (rows, cols)) / R_ON
    v = rng.uniform(-0.2, 0.2, (batch, rows))
    return g, v


@pytest.mark.parametrize("rows,cols", [(1, 1), (1, 6), (5, 1), (4, 7), (9, 3)])
@pytest.mark.parametrize("r_wire", [1e-3, 2.0, 3e3, 1e6])
def test_sparse_matches_dense_reference(rng, rows, cols, r_wire):
    g, v = _random(rng, rows, cols, 5)
    sparse = solve_currents(g, v, r_wire)
    dense = solve_dense(g, v, r_wire)
    scale = np.abs(dense).max()
    np.testing.assert_allclose(sparse, dense, rtol=0, atol=1e-11 * scale)


def test_one_cell_is_a_series_circuit(rng):
    """1x1: driver segment, cell, sense segment in series: I = V / (2 r + 1 / G)."""
    g = np.array([[rng.uniform(1e-7, 1e-3)]])
    v = rng.uniform(-1, 1, (4, 1))
    for r in (0.5, 1e3, 1e5):
        np.testing.assert_allclose(solve_currents(g, v, r)[:, 0], v[:, 0] / (2 * r + 1 / g[0, 0]), rtol=1e-12)


def test_single_row_ladder_by_hand():
    """1 x 2 with hand-solved nodal equations: row nodes a, b; each cell to its own column chain (one sense segment).

    Cell j sees its row node through G_j and ground through r (column = 1 node + 1 segment): branch conductance
    h_j = G_j / (1 + r G_j). Node b: (a - b)/r = h_2 b -> b = a / (1 + r h_2). Node a: (V - a)/r = h_1 a + h_2 b.
    """
    r, g1, g2, v = 10.0, 1e-2, 3e-2, 0.7
    h1, h2 = g1 / (1 + r * g1), g2 / (1 + r * g2)
    a = v / (1 + r * h1 + r * h2 / (1 + r * h2))
    b = a / (1 + r * h2)
    expected = np.array([[h1 * a, h2 * b]])
    got = solve_currents(np.array([[g1, g2]]), np.array([[v]]), r)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_zero_wire_resistance_is_the_ideal_product(rng):
    g, v = _random(rng, 6, 5, 7)
    np.testing.assert_array_equal(solve_currents(g, v, 0.0), v @ g)
    np.testing.assert_array_equal(ideal_currents(g, v), v @ g)


def test_converges_to_ideal_linearly_as_r_wire_goes_to_zero(rng):
    g, v = _random(rng, 8, 6, 3)
    v = np.abs(v) + 0.05
    ideal = v @ g
    devs = [np.abs(solve_currents(g, v, r) - ideal).max() / np.abs(ideal).max() for r in (1.0, 1e-1, 1e-2, 1e-6)]
    for a, b in zip(devs[:2], devs[1:3]):
        assert 9.5 < a / b < 10.5            # first order in r_wire
    assert devs[-1] < 1e-9                   # and no loss of precision near 0 (deviation form)


def _first_order(g, v, r):
    """IR drop to first order in r: cell currents at ideal voltages, then the line drops they cause.

    Row i, segment k (driver segment k = 0) carries sum_{j >= k} G_ij V_i; row node j drops by r times the sum of
    the currents of segments 0..j. Column j, segment below node i carries sum_{i' <= i} G_i'j V_i'; column node i
    rises by r times the sum of segments i..rows-1. Cell current G_ij (V_i - drop - rise).
    """
    rows, cols = g.shape
    out = np.zeros((v.shape[0], cols))
    for b in range(v.shape[0]):
        cell = g * v[b][:, None]
        seg_row = np.cumsum(cell[:, ::-1], axis=1)[:, ::-1]          # current through row segment k
        drop = r * np.cumsum(seg_row, axis=1)
        seg_col = np.cumsum(cell, axis=0)                             # current through the segment below node i
        rise = r * np.cumsum(seg_col[::-1], axis=0)[::-1]
        out[b] = (g * (v[b][:, None] - drop - rise)).sum(axis=0)
    return out


def test_first_order_expansion(rng):
    """The solver minus the first-order expansion is O(r^2): halving r quarters the remainder."""
    g, v = _random(rng, 12, 10, 2)
    rem = []
    for r in (2e3, 1e3):
        rem.append(np.abs(solve_currents(g, v, r) - _first_order(g, v, r)).max())
    assert 3.8 < rem[0] / rem[1] < 4.2
    first = np.abs(_first_order(g, v, 1e3) - v @ g).max()
    assert rem[1] < 0.05 * first


def test_current_conservation(rng):
    """Current out of the drivers equals current into the sense nodes (KCL over the whole array)."""
    g, v = _random(rng, 7, 9, 4)
    r = 5e3
    xb = Crossbar(g, r)
    vr, _ = xb.node_voltages(v)
    source = ((v - vr[:, :, 0]) / r).sum(axis=1)
    np.testing.assert_allclose(xb.currents(v).sum(axis=1), source, rtol=1e-10)


def test_depends_on_r_wire_times_g_only(rng):
    """I(G, r) / s = I(G / s, r s): the dimensionless r_wire G sets the IR drop."""
    g, v = _random(rng, 6, 8, 3)
    a = solve_currents(g, v, 2.0)
    b = solve_currents(g / 10.0, v, 20.0) * 10.0
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_transfer_and_direct_agree(rng):
    g, v = _random(rng, 5, 11, 40)
    xb = Crossbar(g, 4e4)
    np.testing.assert_allclose(xb.currents(v, "transfer"), xb.currents(v, "direct"), rtol=1e-12, atol=0)
    np.testing.assert_allclose(v[:3] @ xb.transfer_matrix(), solve_dense(g, v[:3], 4e4), rtol=1e-11)


def test_worst_cell_is_far_from_driver_and_sense(rng):
    """Fig. 15 (b): uniform array, all inputs on: the cell at the far end of row 0 (last column, top) loses most."""
    g = np.full((16, 24), 1 / R_ON)
    frac = cell_voltage_fraction(g, 5e3, np.full(16, 0.2))
    assert np.unravel_index(np.argmin(frac), frac.shape) == (0, 23)
    assert np.all((frac > 0) & (frac < 1))
    assert np.all(np.diff(frac, axis=1) < 0)          # along every activation line, away from the driver
    assert np.all(np.diff(frac, axis=0) > 0)          # along every summation line, towards the sense node


@pytest.mark.parametrize("call,match", [
    (lambda g, v: solve_currents(-g, v, 1.0), r"G must be >= 0 S .* at index \(0, 0\)"),
    (lambda g, v: solve_currents(g, v, -1.0), "r_wire must be"),
    (lambda g, v: solve_currents(g, v, float("nan")), "r_wire must be"),
    (lambda g, v: solve_currents(g.astype(np.float32), v, 1.0), "G must be a float64 array"),
    (lambda g, v: solve_currents(g[0], v, 1.0), "G must be a 2-D"),
    (lambda g, v: solve_currents(g[:0], v[:, :0], 1.0), "every dimension >= 1"),
    (lambda g, v: solve_currents(g, v[:, :2], 1.0), r"V must have shape \(batch, 3\)"),
    (lambda g, v: solve_currents(g, np.full_like(v, np.nan), 1.0), "V must be finite"),
    (lambda g, v: solve_dense(g, v, 0.0), "r_wire must be"),
    (lambda g, v: Crossbar(g, 1.0).currents(v, "lu"), "method must be one of"),
])
def test_bad_arguments(call, match):
    g = np.full((3, 4), 1e-7)
    v = np.full((2, 3), 0.1)
    with pytest.raises(ValueError, match=match):
        call(g, v)


def test_bench_irdrop_smoke(capsys):
    """The benchmark program runs end to end on a tiny array and prints its ratios (no timing assertion)."""
    from scripts.bench.irdrop import main
    assert main(["--size", "8", "--vectors", "12", "--dense-size", "4", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "ratios (same run)" in out and "EXTRAPOLATED" in out
