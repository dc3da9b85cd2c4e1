"""``mram-accel dima matvec``: a matrix-vector product on the behavioural MRAM-DIMA array (``model/dima/array.py``).

::

    mram-accel dima matvec --w W.npy --x X.npy --bw 4 --ba 4 --out Y.npy [--sigma 0.24] [--adc-bits 8] [--seed S]
                           [--tmr 1.5] [--r-access 0.25] [--rtl] [--json]

W holds integers ``(M, N)`` in the signed ``--bw``-bit range, X integers ``(N,)`` or ``(batch, N)`` in the unsigned
``--ba``-bit range; Y (int64, ``(M,)`` or ``(batch, M)``) is ``lsb · Σ_b 2^b Σ_k ±2^k code`` of the ADC codes, one
per (output, weight-bit slice, input-bit plane). With ``--sigma 0`` and ``--adc-bits`` at least the lossless
number (``ceil(log2(N + 1))``, printed) Y equals ``W @ x`` exactly. ``--rtl`` sends the codes through the
post-processing RTL (:class:`hw.dima_post.DIMAPostProcessor`) under Verilator with ``bias = 0``, ``shift = 0``,
``relu = 0`` and an accumulator and output wide enough that nothing wraps or saturates; Y is then the RTL's output
(times the ADC step), checked against the model (exit 1 if it differs). Bad input exits 2 with one line naming the
option, the file and the first offending index; Y is written only after success.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np

from model.checks import parse_int, parse_real
from model.dima.array import (DIMAParams, check_inputs, check_weights, dima_codes, input_range, lossless_adc_bits,
                              recombine, weight_range)
from scripts.common.options import parse_fraction
from scripts.common.files import load_npy, out_npy_path, save_npy

__all__ = ["register", "run_matvec"]


def _load(path: str, option: str) -> np.ndarray:
    a = load_npy(path, option)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{option}: {path} must hold integers, got dtype {a.dtype}")
    return a


def run_matvec(args) -> int:
    """Check every value (ValueError names the option), compute, write Y, print; 0, or 1 if the RTL differs."""
    b_w = parse_int(args.bw, "--bw", min=2, max=16)
    b_a = parse_int(args.ba, "--ba", min=1, max=16)
    sigma = parse_fraction(args.sigma, "--sigma", upper=1.0)
    seed = parse_int(args.seed, "--seed", min=0, max=2**63 - 1)
    tmr = math.inf if str(args.tmr).strip().lower() == "inf" else \
        parse_real(args.tmr, "--tmr", min=0, max=math.inf, min_open=True, max_open=True)
    r_access = parse_real(args.r_access, "--r-access", min=0, max=100)
    out = out_npy_path(args.out)
    w = _load(args.w, "--w")
    x = _load(args.x, "--x")
    if w.ndim != 2 or 0 in w.shape:
        raise ValueError(f"--w: {args.w} must be a 2-D (M, N) array with M, N >= 1, got shape {w.shape}")
    n = w.shape[1]
    lossless = lossless_adc_bits(n)
    w = check_weights(w, b_w, name=f"--w {args.w}")
    x = check_inputs(x, b_a, n, name=f"--x {args.x}")
    try:
        adc_bits = parse_int(args.adc_bits, "--adc-bits", min=1, max=16)
    except ValueError as e:
        raise ValueError(f"{e} ({lossless} bits are lossless for N = {n})") from None
    params = DIMAParams(sigma=sigma, tmr=tmr, r_access=r_access, adc_bits=adc_bits)
    mvm = dima_codes(w, x, b_w, b_a, params, rng=seed)
    y = recombine(mvm.codes, mvm.lsb)
    exact = x.reshape(-1, n) @ w.T
    stats = {"M": int(w.shape[0]), "N": int(n), "batch": int(mvm.codes.shape[0]), "bw": b_w, "ba": b_a,
             "sigma": sigma, "tmr": tmr if math.isfinite(tmr) else "inf", "r_access": r_access, "seed": seed,
             "adc_bits": adc_bits, "lossless_adc_bits": lossless, "adc_lsb": mvm.lsb,
             "adc_full_scale": mvm.full_scale, "conversions": int(mvm.codes.size),
             "weight_range": list(weight_range(b_w)), "input_range": list(input_range(b_a))}
    if adc_bits < lossless:
        print(f"mram-accel dima: note: --adc-bits {adc_bits} < {lossless} lossless bits for N = {n}: codes step by "
              f"{mvm.lsb} counts, so Y approximates W @ x", file=sys.stderr, flush=True)
    if args.rtl:
        print(f"mram-accel dima: {mvm.codes.shape[0] * mvm.codes.shape[1] * b_a} input-bit planes through the "
              "post-processing RTL under Verilator (the first build of a configuration takes about 30 s)",
              file=sys.stderr, flush=True)
        from scripts.rtl.dima import rtl_post
        acc, rec = rtl_post(mvm.codes, b_w, b_a, mvm.adc_bits, seed=seed)
        y_rtl = mvm.lsb * acc
        differ = int(np.count_nonzero(y_rtl != y))
        stats.update({"rtl": True, "rtl_bit_exact": differ == 0, "rtl_cycles": rec["cycles"],
                      "rtl_planes": rec["planes"], "rtl_config": rec["config"]})
        if differ:
            print(f"mram-accel dima: the RTL differs from the model in {differ} of {y.size} outputs",
                  file=sys.stderr, flush=True)
            return 1
        y = y_rtl
    else:
        stats["rtl"] = False
    err = np.abs(y - exact)
    stats.update({"exact": bool(np.all(err == 0)), "max_abs_error": int(err.max()),
                  "mean_abs_error": float(err.mean()), "out": str(out)})
    y = y[0] if x.ndim == 1 else y
    stats["out_shape"] = list(y.shape)
    save_npy(out, y.astype(np.int64))
    if args.json:
        print(json.dumps(stats, indent=1))
    else:
        print(f"a = W x on MRAM-DIMA: W {stats['M']} x {n} ({b_w}-bit), {stats['batch']} input vector(s) "
              f"({b_a}-bit), σ/μ = {sigma:g}, TMR {stats['tmr']}, R_access/R_P = {r_access:g}, seed {seed}")
        print(f"ADC: {adc_bits} bits ({lossless} lossless for N = {n}), step {mvm.lsb} count(s), "
              f"{stats['conversions']} conversions" + (f"; post-processing RTL bit-exact ({stats['rtl_cycles']} "
                                                       "cycles)" if args.rtl else ""))
        print(f"Y {tuple(y.shape)} -> {out}: " + ("equals W @ x exactly" if stats["exact"] else
                                                   f"differs from W @ x: max |error| {stats['max_abs_error']}, "
                                                   f"mean {stats['mean_abs_error']:.3g}"))
    return 0


def register(sub) -> None:
    """Add ``dima matvec`` to ``sub`` (an ``argparse`` sub-parsers object)."""
    p = sub.add_parser("dima", help="MRAM deep in-memory architecture: analog matrix-vector product",
                       description=__doc__.split("\n\n")[0])
    dsub = p.add_subparsers(dest="dima_command", required=True, metavar="command")
    m = dsub.add_parser("matvec", help="a = W x on the behavioural MRAM-DIMA array (optionally through the RTL)",
                        description=__doc__.split("\n\n")[0])
    m.add_argument("--w", required=True, metavar="W.npy", help="weights, integers (M, N) in the signed --bw range")
    m.add_argument("--x", required=True, metavar="X.npy",
                   help="inputs, integers (N,) or (batch, N) in the unsigned --ba range")
    m.add_argument("--bw", required=True, metavar="BITS", help="weight bits B_w, 2..16")
    m.add_argument("--ba", required=True, metavar="BITS", help="input bits B_a, 1..16")
    m.add_argument("--out", required=True, metavar="Y.npy", help="output file (int64)")
    m.add_argument("--sigma", default="0", metavar="FRAC",
                   help="σ/μ of the MTJ conductance per cell, e.g. 0.24 or 24%% (default 0), in [0, 1)")
    m.add_argument("--adc-bits", default="8", metavar="BITS",
                   help="ADC resolution, 1..16 (default 8); ceil(log2(N+1)) bits are lossless")
    m.add_argument("--seed", default="0", metavar="S", help="seed of the cell variation (one seed = one chip)")
    m.add_argument("--tmr", default="1.5", metavar="TMR",
                   help="tunnel magnetoresistance (R_AP - R_P) / R_P, > 0 or 'inf' (default 1.5)")
    m.add_argument("--r-access", default="0.25", metavar="R",
                   help="access-transistor resistance in units of R_P, >= 0 (default 0.25)")
    m.add_argument("--rtl", action="store_true",
                   help="recombine the codes in the post-processing RTL under Verilator (checked against the model)")
    m.add_argument("--json", action="store_true", help="print the run as one JSON object")
    m.set_defaults(func=run_matvec)
