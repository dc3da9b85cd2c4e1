"""``mram-accel dima matvec``: a matrix-vector product on the behavioural MRAM-DIMA array (``model/dima/array.py``).

::

    mram-accel dima matvec --w W.npy --x X.npy --bw 4 --ba 4 --out Y.npy [--sigma 0.24] [--adc-bits 8] [--seed S]
                           [--tmr 1.5] [--r-access 0.25] [--encoding twos|sign-magnitude|differential]
                           [--mapping dima|bit-serial] [--rtl] [--json]

W holds integers ``(M, N)`` in the ``--bw``-bit range of the encoding (two's complement ``[-2^(bw-1), 2^(bw-1)-1]``;
sign-magnitude and differential ``±(2^(bw-1)-1)``), X integers ``(N,)`` or ``(batch, N)`` in the unsigned
``--ba``-bit range; Y (int64, ``(M,)`` or ``(batch, M)``) is the recombination of the ADC codes: one code per
(output, weight-bit slice, input-bit plane) with ``--mapping bit-serial`` (default), one per output with
``--mapping dima`` (the whole multi-bit dot product in one analog step). With ``--sigma 0`` and ``--adc-bits`` at
least the lossless number (printed; it depends on N, the mapping and the encoding) Y equals ``W @ x`` exactly.
``--rtl`` sends the codes through the post-processing RTL (:class:`hw.dima_post.DIMAPostProcessor`, in the same
encoding and mapping, the ADC step as its ``lsb_shift``) under Verilator with ``bias = 0``, ``shift = 0``,
``relu = 0`` and an accumulator and output wide enough that nothing wraps or saturates; Y is then the RTL's output,
checked against the model (exit 1 if it differs). ``--json`` adds ``weight_sigma_lsb``: per weight value of the
encoding's range (a string key, e.g. ``"-3"``), the standard deviation in LSB of its analog value before conversion
at the given σ/μ, TMR and access resistance. Bad input exits 2 with one line naming the option, the file and the
first offending index; Y is written only after success.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np

from model.checks import check_choice, parse_int, parse_real
from model.dima.array import (ENCODINGS, MAPPINGS, MAX_ADC_BITS, DIMAParams, check_inputs, check_weights,
                              conversions_per_output, default_full_scale, dima_codes, input_range, is_bipolar,
                              lossless_bits, weight_range, weight_sigma_lsb)
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
    encoding = check_choice("--encoding", args.encoding, ENCODINGS)
    mapping = check_choice("--mapping", args.mapping, MAPPINGS)
    out = out_npy_path(args.out)
    w = _load(args.w, "--w")
    x = _load(args.x, "--x")
    if w.ndim != 2 or 0 in w.shape:
        raise ValueError(f"--w: {args.w} must be a 2-D (M, N) array with M, N >= 1, got shape {w.shape}")
    n = w.shape[1]
    lossless = lossless_bits(default_full_scale(n, b_w, b_a, encoding, mapping), is_bipolar(encoding, mapping))
    w = check_weights(w, b_w, name=f"--w {args.w}", encoding=encoding)
    x = check_inputs(x, b_a, n, name=f"--x {args.x}")
    try:
        adc_bits = parse_int(args.adc_bits, "--adc-bits", min=1, max=MAX_ADC_BITS)
    except ValueError as e:
        where = "" if (encoding, mapping) == ("twos", "bit-serial") else f", {encoding}, {mapping} mapping"
        raise ValueError(f"{e} ({lossless} bits are lossless for N = {n}{where})") from None
    params = DIMAParams(sigma=sigma, tmr=tmr, r_access=r_access, adc_bits=adc_bits, encoding=encoding,
                        mapping=mapping)
    mvm = dima_codes(w, x, b_w, b_a, params, rng=seed)
    y = mvm.values()
    exact = x.reshape(-1, n) @ w.T
    per_output = conversions_per_output(b_w, b_a, encoding, mapping)
    stats = {"M": int(w.shape[0]), "N": int(n), "batch": int(mvm.codes.shape[0]), "bw": b_w, "ba": b_a,
             "sigma": sigma, "tmr": tmr if math.isfinite(tmr) else "inf", "r_access": r_access, "seed": seed,
             "encoding": encoding, "mapping": mapping,
             "adc_bits": adc_bits, "lossless_adc_bits": lossless, "adc_lsb": mvm.lsb, "adc_offset": mvm.offset,
             "adc_full_scale": mvm.full_scale, "conversions": int(mvm.codes.size),
             "conversions_per_output": per_output,
             "weight_range": list(weight_range(b_w, encoding)), "input_range": list(input_range(b_a)),
             "weight_sigma_lsb": weight_sigma_lsb(b_w, params)}
    if adc_bits < lossless:
        print(f"mram-accel dima: note: --adc-bits {adc_bits} < {lossless} lossless bits for N = {n}: codes step by "
              f"{mvm.lsb} units, so Y approximates W @ x", file=sys.stderr, flush=True)
    if args.rtl:
        from scripts.rtl.dima import rtl_config, rtl_post
        rtl_config(mvm, b_w, b_a)                                          # a too-wide accumulator exits 2 first
        print(f"mram-accel dima: {mvm.codes.shape[0] * mvm.codes.shape[1] * mvm.codes.shape[2]} plane(s) of "
              f"{mvm.codes.shape[3]} code(s) through the post-processing RTL under Verilator (the first build of a "
              "configuration takes about 30 s)", file=sys.stderr, flush=True)
        y_rtl, rec = rtl_post(mvm, b_w, b_a, seed=seed)
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
        print(f"a = W x on MRAM-DIMA: W {stats['M']} x {n} ({b_w}-bit, {encoding}), {stats['batch']} input vector(s) "
              f"({b_a}-bit), {mapping} mapping, σ/μ = {sigma:g}, TMR {stats['tmr']}, R_access/R_P = {r_access:g}, "
              f"seed {seed}")
        print(f"ADC: {adc_bits} bits ({lossless} lossless for N = {n}), step {mvm.lsb} unit(s), "
              f"{stats['conversions']} conversions ({per_output} per output)" +
              (f"; post-processing RTL bit-exact ({stats['rtl_cycles']} cycles)" if args.rtl else ""))
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
    m.add_argument("--w", required=True, metavar="W.npy",
                   help="weights, integers (M, N) in the signed --bw range of the --encoding")
    m.add_argument("--x", required=True, metavar="X.npy",
                   help="inputs, integers (N,) or (batch, N) in the unsigned --ba range")
    m.add_argument("--bw", required=True, metavar="BITS", help="weight bits B_w, 2..16")
    m.add_argument("--ba", required=True, metavar="BITS", help="input bits B_a, 1..16")
    m.add_argument("--out", required=True, metavar="Y.npy", help="output file (int64)")
    m.add_argument("--sigma", default="0", metavar="FRAC",
                   help="σ/μ of the MTJ conductance per cell, e.g. 0.24 or 24%% (default 0), in [0, 1)")
    m.add_argument("--adc-bits", default="8", metavar="BITS",
                   help=f"ADC resolution, 1..{MAX_ADC_BITS} (default 8); lossless: ceil(log2(N+1)) bits for two's "
                        "complement bit-serial, one more for the other encodings; about B_w + B_a + log2(N) + 1 "
                        "for --mapping dima (printed)")
    m.add_argument("--seed", default="0", metavar="S", help="seed of the cell variation (one seed = one chip)")
    m.add_argument("--tmr", default="1.5", metavar="TMR",
                   help="tunnel magnetoresistance (R_AP - R_P) / R_P, > 0 or 'inf' (default 1.5)")
    m.add_argument("--r-access", default="0.25", metavar="R",
                   help="access-transistor resistance in units of R_P, >= 0 (default 0.25)")
    m.add_argument("--encoding", default="twos", metavar="ENC",
                   help="weight encoding: twos (default: the sign cell conducts with weight -2^(bw-1)), "
                        "sign-magnitude (the sign as polarity) or differential (two column groups)")
    m.add_argument("--mapping", default="bit-serial", metavar="MAP",
                   help="bit-serial (default: one conversion per output, weight-bit slice and input-bit plane) or "
                        "dima (the multi-bit product in one analog step, one conversion per output)")
    m.add_argument("--rtl", action="store_true",
                   help="recombine the codes in the post-processing RTL under Verilator (checked against the model)")
    m.add_argument("--json", action="store_true", help="print the run as one JSON object")
    m.set_defaults(func=run_matvec)
