"""``mram-accel pim fp32 add|mul``: FP32 addition or multiplication executed bit by bit in the SOT-MRAM sub-array.

::

    mram-accel pim fp32 add|mul --a A.npy --b B.npy --out C.npy [--json]
                                [--mantissa one-chain|two-chains] [--multiplier gated|skip|ungated] [--lanes N]

A and B are float32 arrays of one shape. Every element pair is one column of a 1024 x 1024 sub-array; up to 1024
operations run column-parallel in one pass and larger arrays in further passes (``model/pim/arith.py``: read,
write, search and the stateful AND/OR/XOR of ``sot-mram-fp-pim-training-wang.txt`` Fig. 1, the 4-step full adder
of Fig. 3, search-based alignment of Fig. 4 (a), shift-and-add of Fig. 4 (b)). C (float32, the same shape) is what
the array computed, checked bit for bit against numpy float32 with every NaN made the canonical ``0x7FC00000``
(exit 1 if it differs). ``--json`` prints ``steps`` (read, write, search), ``time_s`` and ``energy_j`` per operation
(and again under ``per_operation``) and for all passes under ``total``, with eq. (2) / (3) beside them; also
``variant`` (the schedule choices), ``scopes`` (per-operation cost of the ``ieee`` scope, every phase, and of the
``core`` scope, the phases eq. (2) / (3) and FloatPIM count), ``floatpim`` (the reconstructed FloatPIM cost of the
operation in each scope) and ``cells`` (cells the operation writes: ``written`` without reuse, ``live`` and
``live_core`` with reuse). ``--mantissa`` (addition) and ``--multiplier`` (multiplication) choose the schedule
(``model/pim/arith.py``; results are bit-exact with every choice); ``--lanes`` operations run column-parallel per
pass (default 1024; with ``--multiplier skip`` a pass whose lanes share one multiplier skips its zero bits).
Bad input (unreadable file, not float32, shapes differ, empty array, bad ``--out``, a schedule or lane count
outside its allowed values) exits 2 with one line naming the option; C is written only after a successful run.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from model.checks import check_choice, parse_int
from model.pim import arith as pa
from scripts.common.files import load_npy, out_npy_path, save_npy

__all__ = ["register", "load_float32"]


def load_float32(path: str, option: str) -> np.ndarray:
    """The float32 array stored in the ``.npy`` file ``path``; ValueError naming ``option`` otherwise."""
    a = load_npy(path, option)
    if a.dtype.kind != "f" or a.dtype.itemsize != 4:
        raise ValueError(f"{option}: {path} must hold float32 values, got dtype {a.dtype}")
    a = a.astype(np.float32, copy=False)   # a big-endian float32 file: same values, native byte order
    if a.size == 0:
        raise ValueError(f"{option}: {path} is empty (shape {a.shape}); give at least one value")
    return a


def _fp32(args) -> int:
    out = out_npy_path(args.out)
    mantissa = check_choice("--mantissa", args.mantissa, pa.MANTISSA)
    multiplier = check_choice("--multiplier", args.multiplier, pa.MULTIPLIER)
    lanes = parse_int(args.lanes, "--lanes", min=1, max=pa.LANES)
    a = load_float32(args.a, "--a")
    b = load_float32(args.b, "--b")
    if a.shape != b.shape:
        raise ValueError(f"--b: shape {b.shape} of {args.b} differs from the shape {a.shape} of --a {args.a}; "
                         "A and B must have one shape")
    progress = None
    if a.size > lanes:
        from tqdm import tqdm
        progress = lambda it, desc="": tqdm(it, desc=desc, unit="pass", leave=False, disable=None)  # noqa: E731
    run = pa.fp32_op(args.op, a, b, lanes=lanes, progress=progress, mantissa=mantissa, multiplier=multiplier)
    golden = pa.ref_fp32(args.op, a, b)
    differ = int(np.count_nonzero(run.bits != golden))
    if differ:
        idx = tuple(int(i) for i in np.argwhere(run.bits != golden)[0])
        print(f"mram-accel pim: the in-memory result differs from numpy float32 in {differ} of {a.size} values "
              f"(first at index {idx})", file=sys.stderr, flush=True)
        return 1
    save_npy(out, run.values)
    s = run.summary()
    eq_t, eq_e = pa.eq_cost(args.op, run.params)
    coeff = pa.eq2_add() if args.op == "add" else pa.eq3_mul()
    s.update({"out": str(out), "bit_exact": True, "outputs_differing_from_golden": 0,
              "golden": "numpy float32 (round to nearest even, gradual underflow), every NaN -> 0x7FC00000",
              "equation": {"name": "eq. (2)" if args.op == "add" else "eq. (3)", "coefficients": coeff,
                           "time_s": eq_t, "energy_j": eq_e},
              "floatpim": {sc: {k: v for k, v in pa.floatpim_scoped_cost(run, sc).items() if k != "terms"}
                           for sc in pa.SCOPES}})
    if args.json:
        print(json.dumps(s, indent=1))
        return 0
    p, t = s["per_operation"], s["total"]
    variant = ", ".join(f"{k} {v}" for k, v in s["variant"].items())
    print(f"pim fp32 {args.op} ({variant}): {s['n']} operations in {s['passes']} pass(es) of up to "
          f"{s['lanes_per_pass']} column-parallel lanes ({s['rows_used']} rows per lane) -> {out} (bit-exact vs "
          f"numpy float32, NaN canonical)")
    core = s["scopes"]["core"]
    for name, d in (("per operation", p), ("total", t), ("core scope", core)):
        st = d["steps"]
        print(f"{name + ':':<15} {st['read']:7g} read, {st['write']:7g} write, {st['search']:6g} search steps; "
              f"{d['time_s'] * 1e6:10.4g} us; {d['energy_j'] * 1e12:10.4g} pJ")
    e = s["equation"]
    print(f"{e['name'] + ':':<15} {e['coefficients']['t_read']:7g} read, {e['coefficients']['t_write']:7g} write, "
          f"{e['coefficients']['t_search']:6g} search steps; {e['time_s'] * 1e6:10.4g} us; {e['energy_j'] * 1e12:10.4g}"
          f" pJ (Table 1 write costs, our read/search costs)")
    return 0


def register(subparsers) -> None:
    """Add ``pim`` (sub-command ``fp32``) to the ``mram-accel`` sub-commands."""
    p = subparsers.add_parser("pim", help="digital PIM in the SOT-MRAM sub-array (Wang et al.)",
                              description="Digital processing in a 1T-1R SOT-MRAM sub-array "
                                          "(sot-mram-fp-pim-training-wang.txt).")
    sub = p.add_subparsers(dest="pim_command", required=True, metavar="pim_command")
    f = sub.add_parser("fp32", help="FP32 add or multiply, executed as array operations",
                       description=__doc__.split("\n\n")[0])
    f.add_argument("op", choices=("add", "mul"), help="the operation")
    f.add_argument("--a", required=True, metavar="A.npy", help="first operands (float32 .npy)")
    f.add_argument("--b", required=True, metavar="B.npy", help="second operands (float32 .npy, the shape of A)")
    f.add_argument("--out", required=True, metavar="C.npy", help="results (float32 .npy, written on success)")
    f.add_argument("--json", action="store_true", help="print the step counts, time and energy as JSON")
    f.add_argument("--mantissa", default=pa.MANTISSA[0], metavar="SCHEDULE",
                   help="addition: 'one-chain' (L +- S and a conditional negate, default) or 'two-chains' (S -+ L in "
                        "lockstep)")
    f.add_argument("--multiplier", default=pa.MULTIPLIER[0], metavar="SCHEDULE",
                   help="multiplication: 'gated' (adds only in the columns whose multiplier bit is 1, default), "
                        "'skip' (also no add for a bit no column has set) or 'ungated' (every column adds every bit)")
    f.add_argument("--lanes", default=str(pa.LANES), metavar="N",
                   help="operations per pass, column-parallel, 1 .. 1024 (default 1024)")
    f.set_defaults(func=_fp32)
