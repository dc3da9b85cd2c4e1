"""Scaling of the PE array's synthesised size: linear fits of Yosys cell counts against the array shape.

Source: ``stt-ai-mishty-sadi.txt``, Section V.F and Table III (the reconfigurable core array "with 42x42 MACs",
4.08 mm^2 at 14 nm); Table I / Section III.B.2 for the shape, W_SA = P_s * W_A with P_s = 3, so the paper's
42 x 42 MACs are H_A = 42 rows of W_A = 14 reconfigurable PEs (:class:`hw.pe_array.PEArray` ``(42, 14)``). The
paper gives the area only, no gate or cell count; the numbers fitted here are Yosys generic cells
(``synth -flatten``), which are not standard cells of a library and have no area.

Why a line in the PE count: :class:`hw.pe_array.PEArray` is ``rows x cols`` identical
:class:`hw.pe.ReconfigurablePE` plus, per PE, two 48-bit weight banks with their write enables and the bank
multiplexer, and (below row 0) the mode multiplexer of the partial-sum chain. What does not scale with
``rows * cols`` is small next to a PE (~10.5 k cells):

* per column: the bottom row's output multiplexer (96 bits: systolic lanes or ``pe_out``), and row 0's PEs,
  whose partial sums are the constant ``+0`` so Yosys removes part of their adders and pipeline registers
  (a *negative* per-column term);
* per row: the weight-write row decoder (``w_row == r``);
* fixed: the tag and valid delay lines (``latency`` = 11 stages of ``tag_width + 2`` bits).

:func:`fit_cells` fits ``cells = a + b * PEs``; fitted on square arrays it folds the row and column terms into
``a`` and ``b``. :func:`fit_shape` separates them (``a + r * rows + c * cols + p * rows * cols``) when
rectangular arrays were synthesised as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.checks import check_int

__all__ = ["PAPER_ROWS", "PAPER_COLS", "PAPER_MACS", "PAPER_CORE_AREA_MM2", "flip_flops", "LinearFit",
           "fit_cells", "ShapeFit", "fit_shape"]

#: The paper's array (Table III "with 42x42 MACs"): H_A = 42 rows of W_A = 14 PEs of P_s = 3 MACs.
PAPER_ROWS = 42
PAPER_COLS = 14
PAPER_MACS = 42 * 42
#: Table III, "Functional Core: Reconfigurable core with 42x42 MACs", area at 14 nm after place and route.
PAPER_CORE_AREA_MM2 = 4.08


def flip_flops(cells_by_type: dict) -> int:
    """Number of flip-flops among Yosys generic cells (every ``$_*DFF*_`` type: ``$_DFF_P_``, ``$_SDFF_PP0_``,
    ``$_SDFFE_PP0P_``, ``$_DFFE_PP_``, ...).

    Parameters
    ----------
    cells_by_type : dict
        ``{cell type: count}``, e.g. the ``cells_by_type`` of a :func:`scripts.toolchain.yosys.synth_verilog`
        result.

    Returns
    -------
    int
    """
    if not isinstance(cells_by_type, dict):
        raise ValueError(f"cells_by_type must be a dict of cell type -> count, got {type(cells_by_type).__name__}")
    return int(sum(int(n) for kind, n in cells_by_type.items() if "DFF" in str(kind).upper()))


def _shapes(rows, cols, values, name):
    rows = np.asarray([check_int("rows", r, min=1) for r in np.ravel(rows)], dtype=float)
    cols = np.asarray([check_int("cols", c, min=1) for c in np.ravel(cols)], dtype=float)
    values = np.asarray(values, dtype=float).ravel()
    if not (len(rows) == len(cols) == len(values)):
        raise ValueError(f"rows, cols and {name} must have the same length, got {len(rows)}, {len(cols)} and "
                         f"{len(values)}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{name} must be finite numbers >= 0, got {values.tolist()}")
    return rows, cols, values


@dataclass(frozen=True)
class LinearFit:
    """``value = intercept + per_pe * PEs``, least squares over the synthesised arrays.

    Attributes
    ----------
    intercept : float
        ``a``: what does not scale with the PE count (plus, on square arrays, the row and column terms).
    per_pe : float
        ``b``: cells (or flip-flops) per reconfigurable PE, i.e. per 3 MACs.
    pes : tuple of int
        The PE counts fitted.
    values : tuple of float
        The fitted values.
    """

    intercept: float
    per_pe: float
    pes: tuple
    values: tuple

    def predict(self, rows: int, cols: int) -> float:
        """The fitted value for a ``rows x cols``-PE array (``rows * cols`` PEs)."""
        return self.intercept + self.per_pe * check_int("rows", rows, min=1) * check_int("cols", cols, min=1)

    @property
    def max_residual(self) -> float:
        """Largest ``|fit - value|`` over the fitted arrays (0 for two points: the line goes through both)."""
        fit = self.intercept + self.per_pe * np.asarray(self.pes, dtype=float)
        return float(np.max(np.abs(fit - np.asarray(self.values))))


def fit_cells(rows, cols, cells) -> LinearFit:
    """Fit ``cells = a + b * PEs`` (PEs = ``rows * cols``) to synthesised arrays by least squares.

    Parameters
    ----------
    rows, cols : sequence of int
        Shape of each synthesised array (PE rows and PE columns, each >= 1).
    cells : sequence of float
        Its cell count (or any other size measure, e.g. :func:`flip_flops`), >= 0.

    Returns
    -------
    LinearFit

    Raises
    ------
    ValueError
        If the lengths differ, or fewer than two different PE counts are given (``rows``/``cols`` named).
    """
    r, c, y = _shapes(rows, cols, cells, "cells")
    pes = r * c
    if len(np.unique(pes)) < 2:
        raise ValueError(f"rows, cols must give at least two different PE counts to fit a line, got "
                         f"{sorted(set(int(p) for p in pes))}")
    b, a = np.polyfit(pes, y, 1)
    return LinearFit(float(a), float(b), tuple(int(p) for p in pes), tuple(float(v) for v in y))


@dataclass(frozen=True)
class ShapeFit:
    """``value = fixed + per_row * rows + per_col * cols + per_pe * rows * cols`` (least squares).

    Attributes
    ----------
    fixed, per_row, per_col, per_pe : float
        The four terms (see the module docstring for what each holds in :class:`hw.pe_array.PEArray`).
    max_residual : float
        Largest ``|fit - value|`` over the fitted arrays (0 when exactly four shapes were given).
    """

    fixed: float
    per_row: float
    per_col: float
    per_pe: float
    max_residual: float

    def predict(self, rows: int, cols: int) -> float:
        """The fitted value for a ``rows x cols``-PE array."""
        r, c = check_int("rows", rows, min=1), check_int("cols", cols, min=1)
        return self.fixed + self.per_row * r + self.per_col * c + self.per_pe * r * c


def fit_shape(rows, cols, cells) -> ShapeFit:
    """Separate the row, column and PE terms: fit ``a + r * rows + c * cols + p * rows * cols``.

    Parameters
    ----------
    rows, cols : sequence of int
        Shapes of the synthesised arrays; they must determine all four terms (e.g. 1x1, 2x1, 1x2, 2x2).
    cells : sequence of float
        Cell counts, >= 0.

    Returns
    -------
    ShapeFit

    Raises
    ------
    ValueError
        If the lengths differ or the shapes do not determine the four terms (``rows``/``cols`` named).
    """
    r, c, y = _shapes(rows, cols, cells, "cells")
    design = np.column_stack([np.ones_like(r), r, c, r * c])
    if np.linalg.matrix_rank(design) < 4:
        raise ValueError(f"rows, cols must include at least two row counts, two column counts and a shape that "
                         f"separates rows * cols from both (e.g. 1x1, 2x1, 1x2, 2x2), got "
                         f"{[f'{int(a)}x{int(b)}' for a, b in zip(r, c)]}")
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = float(np.max(np.abs(design @ coef - y)))
    return ShapeFit(*(float(v) for v in coef), max_residual=residual)
