"""Tests of model.stt_ai.synth_scaling (the cell-count fits of the PE array) and, slow, a real 2 x 2 synthesis."""

import pytest

from model.stt_ai.synth_scaling import PAPER_COLS, PAPER_ROWS, fit_cells, fit_shape, flip_flops


def test_flip_flops_counts_every_dff_type():
    assert flip_flops({"$_SDFF_PP0_": 10, "$_SDFFE_PP0P_": 3, "$_DFF_P_": 2, "$_DFFE_PN_": 1,
                       "$_AND_": 100, "$_MUX_": 7, "$scopeinfo": 4}) == 16
    assert flip_flops({}) == 0
    with pytest.raises(ValueError, match="cells_by_type"):
        flip_flops([("$_DFF_P_", 1)])


def test_fit_cells_two_points_is_exact_line():
    fit = fit_cells([2, 4], [2, 4], [100 + 4 * 50, 100 + 16 * 50])
    assert fit.intercept == pytest.approx(100) and fit.per_pe == pytest.approx(50)
    assert fit.predict(42, 14) == pytest.approx(100 + 588 * 50)
    assert fit.max_residual == pytest.approx(0, abs=1e-9)
    assert fit.pes == (4, 16)


def test_fit_cells_least_squares_and_errors():
    fit = fit_cells([1, 2, 3], [1, 1, 1], [10, 21, 29])  # slope 9.5, intercept 1
    assert fit.per_pe == pytest.approx(9.5) and fit.intercept == pytest.approx(1.0)
    assert fit.max_residual == pytest.approx(1.0)
    with pytest.raises(ValueError, match="rows, cols must give at least two different PE counts"):
        fit_cells([2, 1], [1, 2], [5, 5])
    with pytest.raises(ValueError, match="same length"):
        fit_cells([1, 2], [1, 2], [5])
    with pytest.raises(ValueError, match="rows must be >= 1"):
        fit_cells([0, 2], [1, 2], [5, 6])
    with pytest.raises(ValueError, match="cells must be finite"):
        fit_cells([1, 2], [1, 2], [5, float("nan")])
    with pytest.raises(ValueError, match="rows must be >= 1"):
        fit.predict(0, 3)


def test_fit_shape_separates_row_column_and_pe_terms():
    def size(r, c):
        return 500 + 7 * r - 300 * c + 10_000 * r * c

    shapes = [(1, 1), (2, 1), (1, 2), (2, 2), (4, 4)]
    fit = fit_shape([r for r, _ in shapes], [c for _, c in shapes], [size(r, c) for r, c in shapes])
    assert (fit.fixed, fit.per_row, fit.per_col, fit.per_pe) == pytest.approx((500, 7, -300, 10_000))
    assert fit.max_residual == pytest.approx(0, abs=1e-6)
    assert fit.predict(42, 14) == pytest.approx(size(42, 14))
    with pytest.raises(ValueError, match="rows, cols must include"):
        fit_shape([1, 2, 4], [1, 2, 4], [1, 2, 3])  # square arrays only: rows and cols not separable


@pytest.mark.slow
def test_synth_2x2_array_and_monotone_extrapolation():
    """Yosys on the 2 x 2-PE array (~25 s on 2 busy cores; cached afterwards) and the line through the 1 x 1
    array's count: positive, growing with the PE count."""
    from scripts.blocks import BLOCKS
    from scripts.rtl.flow import synth
    from scripts.toolchain.yosys import synth_component

    two = synth(["pe_array"], config="2x2")["pe_array"]
    one = synth_component(BLOCKS["pe_array"].build(rows=1, cols=1), "pe_array_1x1")
    assert two["cells"] > one["cells"] > 0
    assert flip_flops(two["cells_by_type"]) > flip_flops(one["cells_by_type"]) > 0
    fit = fit_cells([1, 2], [1, 2], [one["cells"], two["cells"]])
    assert fit.per_pe > 0
    predicted = [fit.predict(n, n) for n in (1, 2, 4, 8)] + [fit.predict(PAPER_ROWS, PAPER_COLS)]
    assert all(b > a > 0 for a, b in zip(predicted, predicted[1:]))
