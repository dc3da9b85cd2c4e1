"""``mram-accel aimc irdrop``: DC IR-drop solve of a crossbar (sot-mram-aimc-doevenspeck-imec.txt, Fig. 15).

::

    mram-accel aimc irdrop --g G.npy --v V.npy --r-wire OHMS --out I.npy [--json]

G float64 ``(rows, cols)`` in siemens, V float64 ``(batch, rows)`` in volts, I float64 ``(batch, cols)`` in amperes:
the currents into the 0 V sense nodes of the columns with every wire segment at ``--r-wire`` ohms. The node layout
(drivers at column 0 of each row, sense nodes below the last row of each column) is :mod:`model.aimc.irdrop`'s; with
``--r-wire 0`` I is ``V @ G``. Bad input (missing or unreadable file, dtype other than float64, wrong number of
dimensions, zero-size array, NaN or infinity, negative conductance or resistance, V not matching G's rows) exits 2
with one line naming the parameter; I is written only after a successful solve (temporary file, then rename).
"""

from __future__ import annotations

import json
import re
import time

import numpy as np

from model.checks import parse_real
from model.aimc.irdrop import Crossbar, check_conductances, check_voltages
from scripts.common.files import load_npy, out_npy_path, save_npy

__all__ = ["register", "load_float64"]


def load_float64(path: str, option: str) -> np.ndarray:
    """The array in the ``.npy`` file ``path``; ValueError naming ``option`` if missing, unreadable or not float64."""
    a = load_npy(path, option)
    if a.dtype != np.float64:
        raise ValueError(f"{option}: {path} must hold a float64 array, got dtype {a.dtype}")
    return a


def _irdrop(args) -> int:
    r_wire = parse_real(args.r_wire, "--r-wire", min=0, unit="ohm")
    out = out_npy_path(args.out)
    g = check_conductances(load_float64(args.g, "--g"), name=f"--g ({args.g})")
    v = check_voltages(load_float64(args.v, "--v"), g.shape[0], name=f"--v ({args.v})", g_name=f"--g ({args.g})")
    t0 = time.perf_counter()
    xb = Crossbar(g, r_wire)
    t1 = time.perf_counter()
    current = xb.currents(v, method=args.method)
    t2 = time.perf_counter()
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


def register(subparsers) -> None:
    """Add ``aimc irdrop`` to the ``mram-accel`` sub-commands."""
    p = subparsers.add_parser("aimc", help="SOT-MRAM analog in-memory computing (Doevenspeck et al.): irdrop",
                              description="SOT-MRAM analog in-memory computing tools.")
    sub = p.add_subparsers(dest="aimc_command", required=True, metavar="aimc-command")
    q = sub.add_parser("irdrop", help="DC IR-drop solve of a crossbar for a batch of input vectors (Fig. 15)",
                       description=__doc__.split("\n\n")[0])
    q.add_argument("--g", required=True, metavar="G.npy", help="conductances, float64 (rows, cols), siemens, >= 0")
    q.add_argument("--v", required=True, metavar="V.npy", help="input voltages, float64 (batch, rows), volts")
    q.add_argument("--r-wire", required=True, metavar="OHMS", help="resistance of every wire segment, ohms, >= 0")
    q.add_argument("--out", required=True, metavar="I.npy", help="sense currents, float64 (batch, cols), amperes")
    q.add_argument("--json", action="store_true", help="print one JSON object with the run's numbers")
    q.add_argument("--method", choices=("auto", "direct", "transfer"), default="auto",
                   help="direct: one solve per input vector; transfer: solve the unit vectors, then V @ G_eff; "
                        "auto (default): transfer when the batch exceeds the rows")
    # argparse takes "-1" as a value but "-0.5e-3" or "-inf" as an unknown option; let every number-like word be a
    # value, so that a negative --r-wire reaches the range check and its clear message (exit 2 either way).
    q._negative_number_matcher = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)
    q.set_defaults(func=_irdrop)
