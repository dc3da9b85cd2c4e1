"""``mram-accel bcnn matmul``: an exact +/-1 matrix product in the SOT-MRAM sub-array model (optionally counted by
the RTL bitcounter under Verilator).

::

    mram-accel bcnn matmul --x X.npy --w W.npy --out Y.npy [--rtl] [--json]
                           [--form and_or|and_popcount|and_dual] [--sigma S] [--sa-offset V] [--seed N]

X ``(N, K)`` and W ``(K, M)`` are integer arrays (int8) holding only -1 and +1; Y is int32 ``(N, M)``: ``X @ W``
with ideal devices (:func:`model.bcnn.cim.cim_matmul`; ``--form`` picks the exact form: AND and OR senses, AND
senses and operand popcounts, or dual-rail AND senses on true and complement rows). ``--rtl`` counts every sensed
row with :class:`hw.bitcount_reader.BitCountReader` under Verilator (:mod:`scripts.rtl.bcnn`; K up to 16384, 8192
with ``--form and_dual``). ``--sigma`` / ``--sa-offset`` add device-to-device variation (then Y may differ from
``X @ W``; the JSON says by how much). ``--json`` prints the operation counts and the cost of
:func:`model.bcnn.cost.cost_from_stats`. Bad input exits 2 with one line naming the file or parameter; Y is
written only after a successful run.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from model.checks import parse_real
from scripts.common.files import load_npy, out_npy_path, save_npy
from scripts.common.options import parse_fraction, parse_seed

__all__ = ["register", "load_pm1"]


def load_pm1(path: str, option: str) -> np.ndarray:
    """The 2-D -1/+1 integer array in ``path`` as int8; ValueError naming the option, the file and the first
    offending index."""
    a = load_npy(path, option)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"{option}: {path} must be a non-empty 2-D array, got shape {a.shape}")
    if a.dtype.kind not in "iu":
        raise ValueError(f"{option}: {path} has dtype {a.dtype}; it must be int8 holding only -1 and +1 "
                         f"(first entry, index (0, 0), is {a[0, 0].item()!r})")
    bad = (a != 1) & (a != -1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{option}: {path}: entry at index {idx} is {a[idx].item()}; only -1 and +1 are allowed")
    return a.astype(np.int8)


def _matmul(args) -> int:
    from model.bcnn.cim import cim_matmul
    from model.bcnn.cost import CostParams, cost_from_stats
    from model.bcnn.subarray import SOTDevice

    out = out_npy_path(args.out)
    x = load_pm1(args.x, "--x")
    w = load_pm1(args.w, "--w")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"--x/--w: X is {x.shape} and W is {w.shape}; X's columns (K) must equal W's rows")
    sigma = parse_fraction(args.sigma, "--sigma", upper=0.2, max_open=False)
    offset = parse_real(args.sa_offset, "--sa-offset", min=0, max=1)
    seed = parse_seed(args.seed, "--seed")
    device = SOTDevice().with_variation(sigma, offset)
    counter = None
    if args.rtl:
        from scripts.rtl.bcnn import RtlCounter
        from scripts.rtl.bcnn import RTL_CONFIG
        rails = 2 if args.form == "and_dual" else 1                     # rows per chunk in one bitcounter group
        k_max = RTL_CONFIG["max_rows"] // rails * RTL_CONFIG["width"]
        if x.shape[1] > k_max:
            raise ValueError(f"--rtl: K = {x.shape[1]} is above the RTL path's {k_max} for --form {args.form} "
                             f"(groups of up to {RTL_CONFIG['max_rows']} rows of {RTL_CONFIG['width']} bits)")
        counter = RtlCounter(seed=seed)
        print("mram-accel bcnn: counting through the RTL bit-count reader under Verilator (the first build takes "
              "about a minute)", file=sys.stderr, flush=True)
    y, stats = cim_matmul(x, w, form=args.form, device=device, seed=seed, counter=counter)
    exact = x.astype(np.int32) @ w.astype(np.int32)
    differ = int(np.count_nonzero(y != exact))
    if device.ideal and differ:
        print(f"mram-accel bcnn: {differ} products differ from X @ W with ideal devices", file=sys.stderr)
        return 1
    save_npy(out, y)
    cost = cost_from_stats(stats.as_dict(), CostParams(), outputs=y.size)
    if args.json:
        print(json.dumps({"shape": list(y.shape), "form": args.form, "rtl": bool(args.rtl), **stats.as_dict(),
                          "binary_macs": int(x.shape[0] * x.shape[1] * w.shape[1]),
                          "energy_j": cost["energy_j"], "latency_s": cost["latency_s"],
                          "energy_breakdown_j": cost["energy_breakdown_j"], "sigma": sigma, "sa_offset_v": offset,
                          "seed": seed, "products_differing_from_exact": differ,
                          "rtl_cycles": counter.cycles if counter is not None else None}, indent=1))
    else:
        print(f"wrote {out}: {y.shape[0]} x {y.shape[1]} products, {stats.sense_ops} senses, {stats.rows_counted} "
              f"rows counted{' by the RTL' if args.rtl else ''}, {cost['energy_j'] * 1e9:.3g} nJ, "
              f"{cost['latency_s'] * 1e6:.3g} us; {differ} differ from X @ W")
    return 0


def register(sub) -> None:
    p = sub.add_parser("bcnn", help="binary CNN on the dual-mode SOT-MRAM sub-array (sot-mram-bcnn-fan-angizi)")
    ops = p.add_subparsers(dest="bcnn_command", required=True, metavar="operation")
    m = ops.add_parser("matmul", help="exact +/-1 matrix product X @ W in the sub-array model")
    m.add_argument("--x", required=True, metavar="X.npy", help="(N, K) int8 of -1/+1")
    m.add_argument("--w", required=True, metavar="W.npy", help="(K, M) int8 of -1/+1")
    m.add_argument("--out", required=True, metavar="Y.npy", help="int32 (N, M) result")
    m.add_argument("--rtl", action="store_true", help="count through the RTL bitcounter under Verilator")
    m.add_argument("--json", action="store_true", help="machine-readable counts, energy and latency")
    m.add_argument("--form", choices=("and_or", "and_popcount", "and_dual"), default="and_or",
                   help="exact form: AND and OR senses (default), AND senses and operand popcounts, or dual-rail "
                        "AND senses on true and complement rows (the AND reference only)")
    m.add_argument("--sigma", default="0", help="device-to-device sigma/mu of R_P, R_AP, R_access, 0..0.2 "
                                                "(default 0: ideal)")
    m.add_argument("--sa-offset", default="0", help="sense-amplifier offset sigma in volts, 0..1 (default 0)")
    m.add_argument("--seed", default="0", help="seed of the device draws (default 0)")
    m.set_defaults(func=_matmul)
