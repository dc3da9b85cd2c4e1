"""``mram-accel aimc irdrop``: DC IR-drop solve of a crossbar (sot-mram-aimc-doevenspeck-imec.txt, Fig. 15).

::

    mram-accel aimc irdrop --g G.npy --v V.npy --r-wire OHMS --out I.npy [--json] [--method auto|direct|transfer]

G float64 ``(rows, cols)`` in siemens, V float64 ``(batch, rows)`` in volts, I float64 ``(batch, cols)`` in amperes
(``.npy`` files, C or Fortran order, at most 2^27 elements each): the currents into the 0 V sense nodes of the
columns with every wire segment at ``--r-wire`` ohms. The node layout (drivers at column 0 of each row, sense nodes
below the last row of each column; printed below) is :mod:`model.aimc.irdrop`'s; with ``--r-wire 0`` I is
``V @ G``. Example::

    python -c "import numpy as np; np.save('G.npy', np.full((64, 32), 1/6e6)); np.save('V.npy', np.full((4, 64), 0.2))"
    mram-accel aimc irdrop --g G.npy --v V.npy --r-wire 2.5 --out I.npy --json

Ranges: G in [0, 1] S, V in [-100, 100] V, ``--r-wire`` in [0, 1e6] ohm. Together they keep ``r_wire * G`` at most
1e6, where the solver still agrees with a dense reference to 3e-9 (measured; beyond, the cell voltages are
differences of nearly equal node voltages and lose digits, about 2e-15 times ``r_wire * G``). Bad input (missing
or unreadable file, dtype other than float64,
wrong number of dimensions, zero-size array, NaN or infinity, a value out of range, V not matching G's rows, a
result that is not finite) exits 2 with one line naming the parameter; I is written only after a successful solve
(temporary file, then rename). ``--json`` prints ``rows``, ``cols``, ``batch``, ``r_wire_ohm``, ``nodes``,
``method``, ``factor_s``, ``solve_s``, ``max_abs_current_a``, ``max_rel_deviation_from_ideal``, ``out``,
``out_shape``.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np

from model.checks import parse_real
from scripts.cli import add_help_text
from scripts.common.files import load_npy, out_npy_path, save_npy

__all__ = ["register", "load_float64", "MAX_R_WIRE_OHM", "MAX_G_S", "MAX_ABS_V"]

#: Largest ``--r-wire`` (ours: a segment between two neighbouring cells has a few ohms in the paper's layout,
#: Fig. 9; 10^6 ohm leaves five decades).
MAX_R_WIRE_OHM = 1e6
#: Largest conductance in G (ours: a 1-ohm cell; the paper's SOT-MRAM cells have R_ON of megaohms, Table I). With
#: :data:`MAX_R_WIRE_OHM` it bounds ``r_wire * G`` by 1e6, where the sparse solver agrees with the dense reference
#: :func:`model.aimc.irdrop.solve_dense` to 3e-9 relative (measured; the error grows as 2e-15 times the product).
MAX_G_S = 1.0
#: Largest |V| in V (ours: 100 V, far above any read voltage; keeps V @ G finite).
MAX_ABS_V = 100.0


def load_float64(path: str, option: str) -> np.ndarray:
    """The array in the ``.npy`` file ``path``; ValueError naming ``option`` if missing, unreadable or not float64."""
    a = load_npy(path, option)
    if a.dtype != np.float64:
        raise ValueError(f"{option}: {path} must hold a float64 array, got dtype {a.dtype}")
    return a


def _bound(a: np.ndarray, limit: float, option: str, path: str, what: str) -> None:
    bad = np.abs(a) > limit
    if bad.any():
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{option} ({path}) must hold {what}, got {a[idx].item()!r} at index {idx}")


def _irdrop(args) -> int:
    from model.aimc.irdrop import Crossbar, check_conductances, check_voltages

    r_wire = parse_real(args.r_wire, "--r-wire", min=0, max=MAX_R_WIRE_OHM, unit="ohm")
    out = out_npy_path(args.out)
    g = check_conductances(load_float64(args.g, "--g"), name=f"--g ({args.g})")
    _bound(g, MAX_G_S, "--g", args.g, f"conductances in [0, {MAX_G_S:g}] S")
    v = check_voltages(load_float64(args.v, "--v"), g.shape[0], name=f"--v ({args.v})", g_name=f"--g ({args.g})")
    _bound(v, MAX_ABS_V, "--v", args.v, f"voltages in [-{MAX_ABS_V:g}, {MAX_ABS_V:g}] V")
    t0 = time.perf_counter()
    # Within the ranges above the nodal matrix is positive definite and the currents finite; the two guards below
    # keep a failed solve (SuperLU's "Factor is exactly singular", NaN) one line naming --r-wire if that changes.
    try:
        xb = Crossbar(g, r_wire)
    except RuntimeError as e:
        raise ValueError(f"--r-wire {args.r_wire}: the nodal matrix of --g ({args.g}) cannot be factorised "
                         f"({e})") from None
    t1 = time.perf_counter()
    current = xb.currents(v, method=args.method)
    t2 = time.perf_counter()
    if not np.isfinite(current).all():
        raise ValueError(f"--r-wire {args.r_wire}: the solve gave non-finite currents for --g ({args.g}) and --v "
                         f"({args.v}); nothing written")
    ideal = v @ g
    scale = float(np.max(np.abs(ideal)))
    dev = float(np.max(np.abs(current - ideal)) / scale) if scale > 0 else 0.0
    save_npy(out, current)
    method = args.method if args.method != "auto" else ("transfer" if v.shape[0] > g.shape[0] else "direct")
    summary = {"rows": int(g.shape[0]), "cols": int(g.shape[1]), "batch": int(v.shape[0]), "r_wire_ohm": r_wire,
               "nodes": xb.n_nodes if r_wire > 0 else 0, "method": method if r_wire > 0 else "ideal",
               "factor_s": t1 - t0, "solve_s": t2 - t1, "max_abs_current_a": float(np.max(np.abs(current))),
               "max_rel_deviation_from_ideal": dev, "out": str(out), "out_shape": list(current.shape)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{g.shape[0]} x {g.shape[1]} crossbar, {v.shape[0]} input vectors, r_wire = {r_wire:g} ohm: "
              f"I {current.shape} -> {out}")
        print(f"largest |I - V @ G| / max |V @ G| = {dev:.4g} (IR drop); {summary['nodes']} nodes, factorised in "
              f"{summary['factor_s']:.3f} s, solved in {summary['solve_s']:.3f} s ({summary['method']})")
    return 0


def _node_layout() -> str:
    """The node-layout section of :mod:`model.aimc.irdrop`'s docstring (the contract of the output), for --help."""
    from model.aimc import irdrop
    from scripts.cli import plain_doc

    doc = irdrop.__doc__
    start = doc.index("Node layout")
    end = doc.index("Formulation", start)
    return plain_doc(doc[start:end]).strip()


def register(subparsers) -> None:
    """Add ``aimc irdrop`` to the ``mram-accel`` sub-commands."""
    p = subparsers.add_parser("aimc", help="SOT-MRAM analog in-memory computing (Doevenspeck et al.): irdrop",
                              description="SOT-MRAM analog in-memory computing tools.")
    sub = p.add_subparsers(dest="aimc_command", required=True, metavar="aimc-command")
    q = sub.add_parser("irdrop", help="DC IR-drop solve of a crossbar for a batch of input vectors (Fig. 15)")
    add_help_text(q, _node_layout)
    q.add_argument("--g", required=True, metavar="G.npy", help="conductances, float64 (rows, cols), siemens, in "
                                                               f"[0, {MAX_G_S:g}]")
    q.add_argument("--v", required=True, metavar="V.npy", help="input voltages, float64 (batch, rows), volts, in "
                                                               f"[-{MAX_ABS_V:g}, {MAX_ABS_V:g}]")
    q.add_argument("--r-wire", required=True, metavar="OHMS", help="resistance of every wire segment, ohms, in "
                                                                   f"[0, {MAX_R_WIRE_OHM:g}]")
    q.add_argument("--out", required=True, metavar="I.npy", help="sense currents, float64 (batch, cols), amperes")
    q.add_argument("--json", action="store_true", help="print one JSON object with the run's numbers")
    q.add_argument("--method", choices=("auto", "direct", "transfer"), default="auto",
                   help="direct: one solve per input vector; transfer: solve the unit vectors, then V @ G_eff; "
                        "auto (default): transfer when the batch exceeds the rows")
    # argparse takes "-1" as a value but "-0.5e-3" or "-inf" as an unknown option; let every number-like word be a
    # value, so that a negative --r-wire reaches the range check and its clear message (exit 2 either way).
    q._negative_number_matcher = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)
    q.set_defaults(func=_irdrop)
