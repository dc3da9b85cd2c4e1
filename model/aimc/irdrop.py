"""DC IR-drop solver of an analog in-memory-computing crossbar (sot-mram-aimc-doevenspeck-imec.txt, Fig. 15).

The paper's "fully parallel GPU-compatible IR-drop solver performs a DC simulation for each analog MVM" with wire
resistance "both along the activation and summation line" (Fig. 15 (a), (b)). This module is that DC simulation
for a resistive crossbar, in scipy.sparse: the nodal system is built and factorised once per (G, r_wire) and
solved for a whole batch of input vectors as many right-hand sides.

Node layout (the ``mram-accel aimc irdrop`` contract; any other solver can check against it)
----------------------------------------------------------------------------------------------
``G`` is ``(rows, cols)`` in siemens, ``V`` is ``(batch, rows)`` in volts, every wire segment has resistance
``r_wire``:

* cell ``(i, j)`` joins row node ``(i, j)`` to column node ``(i, j)`` with conductance ``G[i, j]``;
* row ``i`` (activation line) is driven by the ideal source ``V[:, i]`` through one segment into row node
  ``(i, 0)``; row nodes ``(i, j)`` and ``(i, j + 1)`` are joined by one segment;
* column nodes ``(i, j)`` and ``(i + 1, j)`` are joined by one segment (summation line); column node
  ``(rows - 1, j)`` reaches the 0 V virtual-ground sense node of column ``j`` through one more segment;
* ``I[:, j]`` is the current into the sense node of column ``j``.

With ``r_wire = 0`` every row node sits at ``V[:, i]`` and every column node at 0 V, so ``I = V @ G``.

Formulation (why it stays accurate as r_wire -> 0)
--------------------------------------------------
Write the node voltages as the ideal ones plus a deviation, ``v = v_ideal + u`` (``v_ideal`` = ``V_i`` on row
``i``, 0 on every column node). Kirchhoff's current law ``Y v = s`` becomes ``Y u = s - Y v_ideal``: only the cells
carry current in the ideal state, so the right-hand side is ``-G[i, j] V_i`` at row node ``(i, j)`` and
``+G[i, j] V_i`` at column node ``(i, j)``. Multiplying by ``r_wire`` gives ``A u = r_wire b`` with
``A = L_wire + r_wire C_cells``: the wire Laplacian (entries 1, 2, -1; the source and sense ends grounded) plus the
cell Laplacian scaled by the dimensionless ``r_wire G``. ``A`` is symmetric positive definite for every
``r_wire >= 0`` (each row chain is grounded at its source, each column chain at its sense node), so nothing
overflows or loses precision as ``r_wire -> 0``. The output is the sum of the cell currents of the column (equal to
the sense-node current by KCL), ``I = V @ G + sum_i G[i, j] (u_row(i, j) - u_col(i, j))``: the ideal product plus
a correction of order ``r_wire G``. Because ``A`` and the normalised right-hand side depend on ``r_wire`` and ``G``
only through ``r_wire * G``, currents scale as ``I(G, r) / g = I(G / g, r g)`` (used in the report to reuse one
solve for R_ON and wire-resistance pairs with the same ratio; tested).

Unknowns are ordered cell by cell, row node then column node (``2 (i cols + j)`` and ``2 (i cols + j) + 1``),
which keeps the matrix banded-like for the fill-reducing ordering of SuperLU (:func:`scipy.sparse.linalg.splu`).

:func:`solve_dense` is an independent dense reference (the plain nodal matrix ``Y`` in absolute voltages and the
sense-segment current ``v_col(rows-1, j) / r_wire``), for tests on small arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from threadpoolctl import threadpool_limits

from model.checks import check_choice, check_real, describe_range, show_value

__all__ = ["check_conductances", "check_voltages", "check_r_wire", "scaled_nodal_matrix", "Crossbar",
           "solve_currents", "solve_dense", "ideal_currents", "cell_voltage_fraction", "RHS_BLOCK", "MAX_RHS_ELEMENTS"]

#: Right-hand sides per SuperLU solve call. SuperLU's multi-RHS triangular solve does not get faster per vector
#: beyond a few columns; measured on this project's machine with one BLAS thread (256 x 256 array: 16 ms per vector
#: one at a time, 9.3-9.5 ms in blocks of 4-8, 16 ms in blocks of 64), so batches are solved in blocks of this size.
RHS_BLOCK = 8
#: And at most this many right-hand-side elements per block (64 MB of doubles).
MAX_RHS_ELEMENTS = 1 << 23


# ------------------------------------------------------------------------------------------------------- checks
def _check_array(name: str, value, ndim: int, what: str) -> np.ndarray:
    """A float64 array of ``ndim`` dimensions, no zero-size axis, all finite (dtype must already be float64)."""
    a = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if a.dtype != np.float64:
        raise ValueError(f"{name} must be a float64 array {what}, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D float64 array {what}, got {a.ndim}-D shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must be an array {what} with every dimension >= 1, got shape {a.shape}")
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite, got {a[idx].item()} at index {idx}")
    return a


def check_conductances(g, name: str = "G") -> np.ndarray:
    """Check a conductance matrix ``(rows, cols)``: float64, finite, >= 0 siemens, no zero-size axis.

    Raises
    ------
    ValueError
        Naming ``name``, the rule and the first offending index (``"G must be >= 0 S, got -1e-07 at index (0, 3)"``).
    """
    a = _check_array(name, g, 2, "(rows, cols) in siemens")
    neg = a < 0
    if neg.any():
        idx = tuple(int(k) for k in np.argwhere(neg)[0])
        raise ValueError(f"{name} must be {describe_range(0, unit='S')} (conductances), got {a[idx].item()!r} at "
                         f"index {idx}")
    return a


def check_voltages(v, rows: int, name: str = "V", g_name: str = "G") -> np.ndarray:
    """Check an input-voltage batch ``(batch, rows)``: float64, finite, ``rows`` matching the crossbar."""
    a = _check_array(name, v, 2, "(batch, rows) in volts")
    if a.shape[1] != rows:
        raise ValueError(f"{name} must have shape (batch, {rows}) to match {g_name} with {rows} rows, "
                         f"got shape {a.shape}")
    return a


def check_r_wire(r_wire, name: str = "r_wire") -> float:
    """Wire-segment resistance in ohms: a finite number >= 0."""
    return check_real(name, r_wire, min=0, unit="ohm", type_error=False)


# ------------------------------------------------------------------------------------------------------ solver
def _index(rows: int, cols: int):
    """Row-node and column-node unknown indices, both ``(rows, cols)``."""
    cell = np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)
    return 2 * cell, 2 * cell + 1


def scaled_nodal_matrix(g, r_wire: float) -> sp.csc_matrix:
    """``A = L_wire + r_wire C_cells`` (symmetric, CSC), the module docstring's scaled nodal matrix.

    Its right-hand side for inputs ``V`` is ``r_wire G[i, j] V_i`` with sign - at row node ``(i, j)`` (unknown
    ``2 (i cols + j)``) and + at column node ``(i, j)`` (unknown ``2 (i cols + j) + 1``).
    """
    g = check_conductances(g)
    r_wire = check_r_wire(r_wire)
    rows, cols = g.shape
    rn, cn = _index(rows, cols)
    n = 2 * rows * cols
    diag = np.zeros(n)
    ei, ej, ew = [], [], []

    def edge(a, b, w):
        a, b, w = a.ravel(), b.ravel(), np.broadcast_to(w, a.shape).ravel()
        np.add.at(diag, a, w)
        np.add.at(diag, b, w)
        ei.append(a)
        ej.append(b)
        ew.append(w)

    edge(rn[:, :-1], rn[:, 1:], 1.0)            # activation-line segments (i, j)-(i, j+1)
    edge(cn[:-1, :], cn[1:, :], 1.0)            # summation-line segments (i, j)-(i+1, j)
    edge(rn, cn, r_wire * g)                    # cells, conductance scaled by r_wire
    diag[rn[:, 0]] += 1.0                       # driver segment to the (grounded in u) source
    diag[cn[-1, :]] += 1.0                      # sense segment to the virtual ground
    i = np.concatenate(ei)
    j = np.concatenate(ej)
    w = np.concatenate(ew)
    idx = np.arange(n)
    a = sp.coo_matrix((np.concatenate([diag, -w, -w]), (np.concatenate([idx, i, j]), np.concatenate([idx, j, i]))),
                      shape=(n, n))
    return a.tocsc()


class Crossbar:
    """A crossbar with wire resistance, factorised once; :meth:`currents` solves any number of input vectors.

    Parameters
    ----------
    g : numpy.ndarray
        Conductances ``(rows, cols)``, float64, >= 0 siemens.
    r_wire : float
        Resistance of every wire segment in ohms, >= 0 (0: the ideal product, no factorisation).

    Notes
    -----
    The sparse LU (SuperLU, minimum-degree ordering on ``A^T + A`` with symmetric mode, since ``A`` is symmetric
    positive definite) is computed in the constructor; :meth:`currents` only does triangular solves, in blocks of
    :data:`RHS_BLOCK` vectors.
    """

    def __init__(self, g, r_wire: float):
        self.g = check_conductances(g)
        self.r_wire = check_r_wire(r_wire)
        self.rows, self.cols = self.g.shape
        self._lu = None
        self._transfer = None
        if self.r_wire > 0:
            with threadpool_limits(limits=1, user_api="blas"):
                self._lu = splu(scaled_nodal_matrix(self.g, self.r_wire), permc_spec="MMD_AT_PLUS_A",
                                diag_pivot_thresh=0.0, options={"SymmetricMode": True})

    @property
    def n_nodes(self) -> int:
        """Unknown node voltages (row and column nodes)."""
        return 2 * self.rows * self.cols

    def _deviations(self, v: np.ndarray):
        """Yield ``(slice, u_row, u_col)`` per block: node-voltage deviations from the ideal, ``(k, rows, cols)``.

        BLAS runs on one thread meanwhile (threadpoolctl, a scikit-learn dependency): SuperLU's triangular solves
        call BLAS on small supernodes, and a second BLAS thread made them 3x slower on the shared 2-core machine
        (256 x 256 array: 28 ms per vector against 8.6 ms, measured).
        """
        k_max = max(1, min(RHS_BLOCK, MAX_RHS_ELEMENTS // self.n_nodes))
        with threadpool_limits(limits=1, user_api="blas"):
            for start in range(0, v.shape[0], k_max):
                blk = slice(start, min(start + k_max, v.shape[0]))
                q = self.r_wire * self.g[None, :, :] * v[blk, :, None]          # r_wire G_ij V_i, (k, rows, cols)
                rhs = np.empty((q.shape[0], self.rows * self.cols, 2))
                rhs[:, :, 0] = -q.reshape(q.shape[0], -1)
                rhs[:, :, 1] = q.reshape(q.shape[0], -1)
                u = self._lu.solve(np.asfortranarray(rhs.reshape(q.shape[0], -1).T))   # (n_nodes, k)
                u = u.T.reshape(q.shape[0], self.rows, self.cols, 2)
                yield blk, u[..., 0], u[..., 1]

    def transfer_matrix(self) -> np.ndarray:
        """Effective conductances ``G_eff`` ``(rows, cols)`` with ``currents(v) == v @ G_eff`` for every ``v``.

        The network is linear, so by superposition its response to the ``rows`` unit input vectors (solved here as
        one batch of right-hand sides, cached) is its exact response to any input. ``G_eff[i, j]`` is the current
        into sense node ``j`` per volt on row ``i`` with the other rows at 0 V; ``G_eff = G`` when ``r_wire = 0``.
        """
        if self._transfer is None:
            if self._lu is None:
                self._transfer = self.g.copy()
            else:
                eye = np.eye(self.rows)
                self._transfer = self.g + np.concatenate(
                    [np.einsum("kij,ij->kj", ur - uc, self.g) for _, ur, uc in self._deviations(eye)])
        return self._transfer

    def currents(self, v, method: str = "auto") -> np.ndarray:
        """Currents into the sense nodes, ``(batch, cols)`` amperes, for input voltages ``v`` ``(batch, rows)``.

        ``method``: ``"direct"`` solves the nodal system for each vector of the batch (right-hand sides in blocks);
        ``"transfer"`` multiplies by :meth:`transfer_matrix` (``rows`` solves, then one matrix product);
        ``"auto"`` (default) takes ``"transfer"`` when the batch is larger than the number of rows. Both are the
        same linear map and agree to rounding (tested).
        """
        v = check_voltages(v, self.rows)
        method = check_choice("method", method, ("auto", "direct", "transfer"))
        if self._lu is None:
            return v @ self.g
        if method == "transfer" or (method == "auto" and v.shape[0] > self.rows):
            return v @ self.transfer_matrix()
        out = v @ self.g
        for blk, ur, uc in self._deviations(v):
            out[blk] += np.einsum("kij,ij->kj", ur - uc, self.g)
        return out

    def node_voltages(self, v) -> tuple[np.ndarray, np.ndarray]:
        """Absolute row-node and column-node voltages, each ``(batch, rows, cols)``, for inputs ``v``."""
        v = check_voltages(v, self.rows)
        vr = np.broadcast_to(v[:, :, None], (v.shape[0], self.rows, self.cols)).copy()
        vc = np.zeros_like(vr)
        if self._lu is not None:
            for blk, ur, uc in self._deviations(v):
                vr[blk] += ur
                vc[blk] += uc
        return vr, vc


def solve_currents(g, v, r_wire: float) -> np.ndarray:
    """``Crossbar(g, r_wire).currents(v)``: sense currents ``(batch, cols)`` in amperes."""
    return Crossbar(g, r_wire).currents(v)


def ideal_currents(g, v) -> np.ndarray:
    """The ideal analog MVM without wire resistance, ``V @ G`` (Ohm's and Kirchhoff's laws, paper Fig. 1)."""
    g = check_conductances(g)
    return check_voltages(v, g.shape[0]) @ g


def cell_voltage_fraction(g, r_wire: float, v) -> np.ndarray:
    """Voltage across each cell over its ideal voltage, ``(v_row - v_col) / V_i``, ``(rows, cols)`` (Fig. 15 (b)).

    One input vector ``v`` ``(rows,)`` with no zero entry. A cell's current, hence its contribution to the MVM (its
    effective weight), is this fraction of the ideal one: ``1 - fraction`` is the effective-weight loss map.
    """
    v = np.asarray(v, dtype=np.float64) if not isinstance(v, np.ndarray) else v
    if v.ndim != 1:
        raise ValueError(f"v must be one input vector (rows,), got shape {np.shape(v)}")
    if np.any(v == 0):
        raise ValueError(f"v must have no zero entry (the fraction divides by V_i), got {show_value(v)}")
    vr, vc = Crossbar(g, r_wire).node_voltages(v[None, :])
    return (vr[0] - vc[0]) / v[:, None]


def solve_dense(g, v, r_wire: float) -> np.ndarray:
    """Dense reference: the plain nodal system ``Y v = s`` in absolute voltages, solved with numpy.

    Independent of :class:`Crossbar` (no deviation form, no scaling): ``Y`` stamps every segment with ``1 / r_wire``
    and every cell with ``G[i, j]``; the source feeds ``V_i / r_wire`` into row node ``(i, 0)``; the output is the
    current through the last segment of each column, ``v_col(rows-1, j) / r_wire``. Needs ``r_wire > 0`` and
    ``O((2 rows cols)^2)`` memory: small arrays only (tests, the benchmark's dense baseline).
    """
    g = check_conductances(g)
    v = check_voltages(v, g.shape[0])
    r_wire = check_real("r_wire", r_wire, min=0, min_open=True, unit="ohm", type_error=False)
    rows, cols = g.shape
    n = 2 * rows * cols
    gw = 1.0 / r_wire
    y = np.zeros((n, n))
    s = np.zeros((n, v.shape[0]))
    rn, cn = _index(rows, cols)

    def stamp(a, b, w):
        y[a, a] += w
        y[b, b] += w
        y[a, b] -= w
        y[b, a] -= w

    for i in range(rows):
        y[rn[i, 0], rn[i, 0]] += gw
        s[rn[i, 0]] = gw * v[:, i]
        for j in range(cols):
            stamp(rn[i, j], cn[i, j], g[i, j])
            if j + 1 < cols:
                stamp(rn[i, j], rn[i, j + 1], gw)
            if i + 1 < rows:
                stamp(cn[i, j], cn[i + 1, j], gw)
    for j in range(cols):
        y[cn[-1, j], cn[-1, j]] += gw
    x = np.linalg.solve(y, s)
    return (x[cn[-1, :], :] * gw).T
