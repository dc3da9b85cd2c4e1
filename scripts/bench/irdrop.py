"""Benchmark of the crossbar IR-drop solver (:mod:`model.aimc.irdrop`; sot-mram-aimc-doevenspeck-imec.txt, Fig. 15).

One run, one array (default 256 x 256 devices: 128 ternary pairs per row at R_ON = 6 MOhm, TMR 150 %, the 22-nm
wire-segment estimate of :data:`model.aimc.devices.R_WIRE_22NM_OHM`) and one batch of input vectors (default 1000, uniform in
[0, 0.1] V), timed four ways:

* **sparse, direct** -- :class:`model.aimc.irdrop.Crossbar`: SuperLU factorisation once, then one triangular solve per
  input vector (blocks of right-hand sides);
* **sparse, transfer** -- the same factorisation, the ``rows`` unit input vectors solved, then ``V @ G_eff``
  (superposition; what the report's CNN inference uses);
* **ideal MVM** -- ``V @ G`` (no wire resistance: the lower bound on any solver's time);
* **dense** -- the same nodal matrix as a dense LU (``scipy.linalg.lu_factor`` / ``lu_solve``). At 256 x 256 it has
  131 072 unknowns: 137 GB of float64 and ~1.5e15 flops for the LU, infeasible here. The program therefore times
  the dense solve at the largest size it allows (``--dense-size``, default 48 x 48 = 4608 unknowns, 170 MB),
  checks it against the sparse solver there (and the sparse solver against :func:`model.aimc.irdrop.solve_dense`), and
  extrapolates to the full size as ``t_LU (n / n_d)^3 + t_solve (n / n_d)^2`` (the dense LU and triangular-solve
  cost laws), stating that this is an extrapolation.

Every time is the best of ``--repeat`` runs; ratios are between times measured in this run. Usage::

    python scripts/bench/irdrop.py [--size 256] [--vectors 1000] [--dense-size 48] [--repeat 2]
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.linalg as sla

from model.aimc.devices import R_ON_OHM, R_WIRE_22NM_OHM, TMR, crossbar_conductances
from model.aimc.irdrop import Crossbar, scaled_nodal_matrix, solve_dense
from scripts.common.options import check_ranges
from scripts.bench.timing import best_time


def _array(size: int, rng) -> np.ndarray:
    t = rng.integers(-1, 2, (size, size // 2))
    g_p = 1 / R_ON_OHM
    return crossbar_conductances(t, g_p, g_p / (1 + TMR))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=256, help="array rows = columns (devices), even (default 256)")
    ap.add_argument("--vectors", type=int, default=1000, help="input vectors in the batch (default 1000)")
    ap.add_argument("--dense-size", type=int, default=48, help="array size of the timed dense solve (default 48)")
    ap.add_argument("--repeat", type=int, default=2, help="repetitions, best time kept (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="random seed of weights and inputs (default 0)")
    args = ap.parse_args(argv)
    check_ranges(ap, args, {"size": (2, 1024), "vectors": (1, 100_000), "dense_size": (2, 96), "repeat": (1, 20),
                            "seed": (0, 2**31)})
    if args.size % 2 or args.dense_size % 2:
        ap.error("--size and --dense-size must be even (differential pairs)")
    rng = np.random.default_rng(args.seed)
    r = R_WIRE_22NM_OHM
    n = args.size
    g = _array(n, rng)
    v = rng.uniform(0, 0.1, (args.vectors, n))

    t_fac, xb = best_time(lambda: Crossbar(g, r), args.repeat)
    t_direct, i_direct = best_time(lambda: xb.currents(v, "direct"), args.repeat)

    def transfer():
        xb._transfer = None                          # time the unit solves too, not a cached matrix
        return xb.currents(v, "transfer")
    t_transfer, i_transfer = best_time(transfer, args.repeat)
    t_ideal, i_ideal = best_time(lambda: v @ g, max(args.repeat, 5))
    agree = np.abs(i_direct - i_transfer).max() / np.abs(i_direct).max()
    drop = np.abs(i_direct - i_ideal).max() / np.abs(i_ideal).max()

    # dense baseline at the largest feasible size, checked against both sparse paths there
    nd = args.dense_size
    gd = _array(nd, rng)
    vd = rng.uniform(0, 0.1, (args.vectors, nd))
    a_dense = scaled_nodal_matrix(gd, r).toarray()
    t_lu, lu = best_time(lambda: sla.lu_factor(a_dense, check_finite=False), args.repeat)
    k = min(args.vectors, 64)
    q = r * gd[None] * vd[:k, :, None]
    rhs = np.stack([-q.reshape(k, -1), q.reshape(k, -1)], axis=2).reshape(k, -1).T
    t_lus, u = best_time(lambda: sla.lu_solve(lu, rhs, check_finite=False), args.repeat)
    u = u.T.reshape(k, nd, nd, 2)
    i_dense = vd[:k] @ gd + np.einsum("kij,ij->kj", u[..., 0] - u[..., 1], gd)
    xbd = Crossbar(gd, r)
    i_sparse_d = xbd.currents(vd[:k], "direct")
    dense_agree = np.abs(i_dense - i_sparse_d).max() / np.abs(i_dense).max()
    ref_agree = np.abs(solve_dense(gd[:8, :8], vd[:3, :8], r) - Crossbar(gd[:8, :8], r).currents(vd[:3, :8])).max() \
        / np.abs(vd[:3, :8] @ gd[:8, :8]).max()
    t_sparse_d, _ = best_time(lambda: Crossbar(gd, r).currents(vd, "direct"), args.repeat)
    t_dense_d = t_lu + t_lus * args.vectors / k

    n_nodes, n_nodes_d = 2 * n * n, 2 * nd * nd
    scale = n_nodes / n_nodes_d
    t_dense_full = t_lu * scale ** 3 + t_lus / k * args.vectors * scale ** 2
    mem_full = n_nodes ** 2 * 8

    t_sparse = t_fac + t_direct
    t_sparse_tr = t_fac + t_transfer
    print(f"array {n} x {n} devices ({n_nodes} unknowns), r_wire = {r:.3g} ohm, R_ON = {R_ON_OHM / 1e6:g} MOhm, "
          f"{args.vectors} input vectors; best of {args.repeat}")
    print(f"  {'sparse factorisation (SuperLU)':<52} {t_fac:10.4f} s")
    print(f"  {f'sparse direct solves ({args.vectors} vectors)':<52} {t_direct:10.4f} s "
          f"({1e3 * t_direct / args.vectors:.3g} ms per vector)")
    print(f"  {f'sparse transfer route ({n} unit solves + V @ G_eff)':<52} {t_transfer:10.4f} s")
    print(f"  {'ideal MVM V @ G':<52} {t_ideal:10.6f} s")
    print(f"  IR drop: max |I - V @ G| / max |V @ G| = {drop:.3g}; direct vs transfer agree to {agree:.2g}")
    print(f"ratios (same run): sparse direct total / ideal = {t_sparse / t_ideal:.3g}; "
          f"sparse transfer total / ideal = {t_sparse_tr / t_ideal:.3g}; "
          f"direct / transfer = {t_sparse / t_sparse_tr:.3g}")
    print(f"dense solve at {nd} x {nd} ({n_nodes_d} unknowns, {n_nodes_d ** 2 * 8 / 1e6:.0f} MB): LU {t_lu:.3f} s, "
          f"{k} right-hand sides {t_lus:.3f} s -> {args.vectors} vectors {t_dense_d:.3f} s; sparse at the same "
          f"size {t_sparse_d:.3f} s: dense / sparse = {t_dense_d / t_sparse_d:.3g} (measured); results agree to "
          f"{dense_agree:.2g} (dense LU) and {ref_agree:.2g} (solve_dense, 8 x 8)")
    feasible = "infeasible here" if mem_full > 4e9 else "not run at this size"
    print(f"dense at {n} x {n} ({feasible}): the matrix alone is {mem_full / 1e9:.3g} GB; EXTRAPOLATED from "
          f"{nd} x {nd} with LU ~ n^3 and solves ~ n^2: {t_dense_full:.3g} s ({t_dense_full / 3600:.3g} h), i.e. "
          f"dense / sparse direct = {t_dense_full / t_sparse:.3g} and dense / ideal = {t_dense_full / t_ideal:.3g} "
          f"(extrapolated, not measured)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
