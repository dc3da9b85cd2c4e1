"""Benchmark of the vectorised MRAM-DIMA analog model (:func:`model.dima.array.dima_codes`) against numpy ``W @ x``.

Measures, in one run, matrix-vector products per second of

* **analog, batched** -- the behavioural array on a whole batch of input vectors at once (one chip: the cell
  variation drawn once, every (plane, vector) against every (slice, row) in one BLAS call), recombined to ``a``;
* **analog, one vector at a time** -- the same model called per vector (a fresh chip each call, as a naive use
  would), to show what the batching buys;
* **numpy** ``X @ W.T`` on the same batch (the exact digital product),

and prints the rates and the ratio numpy / analog (the price of the analog model: ``B_a · B_w`` binary products in
the bit-serial mapping, one real product in the dima mapping, the variation and the ADC). At σ = 0 with a lossless
ADC the analog result must equal ``W @ x`` (checked). Usage::

    python scripts/bench/dima.py [--m 300] [--n 64] [--batch 2000] [--bw 4] [--ba 4] [--sigma 0.1] [--repeat 3]
                                 [--encoding twos|sign-magnitude|differential] [--mapping bit-serial|dima]
"""

from __future__ import annotations

import argparse

import numpy as np

from model.checks import check_choice
from model.dima.array import ENCODINGS, MAPPINGS, DIMAParams, dima_matvec, weight_range
from scripts.common.options import check_ranges
from scripts.bench.timing import best_time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--m", type=int, default=300, help="rows M (outputs), 1..4096 (default 300: the MLP's fc1)")
    ap.add_argument("--n", type=int, default=64, help="columns N (inputs), 1..4096 (default 64)")
    ap.add_argument("--batch", type=int, default=2000, help="input vectors, 1..100000 (default 2000)")
    ap.add_argument("--bw", type=int, default=4, help="weight bits, 2..16 (default 4)")
    ap.add_argument("--ba", type=int, default=4, help="input bits, 1..16 (default 4)")
    ap.add_argument("--sigma", type=float, default=0.1, help="σ/μ of the cell conductance, 0..1 (default 0.1)")
    ap.add_argument("--single", type=int, default=200, help="vectors timed one at a time, 1..100000 (default 200)")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions, best time kept, 1..100 (default 3)")
    ap.add_argument("--encoding", default="twos", help=f"weight encoding, one of {ENCODINGS} (default twos)")
    ap.add_argument("--mapping", default="bit-serial", help=f"mapping, one of {MAPPINGS} (default bit-serial)")
    args = ap.parse_args(argv)
    for name, choices in (("encoding", ENCODINGS), ("mapping", MAPPINGS)):
        try:
            check_choice(f"--{name}", getattr(args, name), choices)
        except ValueError as e:
            ap.error(str(e))
    check_ranges(ap, args, {"m": (1, 4096), "n": (1, 4096), "batch": (1, 100_000), "bw": (2, 16), "ba": (1, 16),
                            "sigma": (0, 1), "single": (1, 100_000), "repeat": (1, 100)})
    rng = np.random.default_rng(0)
    lo, hi = weight_range(args.bw, args.encoding)
    w = rng.integers(lo, hi + 1, (args.m, args.n))
    x = rng.integers(0, 1 << args.ba, (args.batch, args.n))
    mode = {"encoding": args.encoding, "mapping": args.mapping}
    ideal = DIMAParams(adc_bits=None, **mode)
    if not np.array_equal(dima_matvec(w, x[:50], args.bw, args.ba, ideal), x[:50] @ w.T):
        raise SystemExit("the analog model at σ = 0 with a lossless ADC differs from W @ x")
    params = DIMAParams(sigma=args.sigma, adc_bits=None, **mode)
    t_batch = best_time(lambda: dima_matvec(w, x, args.bw, args.ba, params, rng=1), args.repeat)[0]
    single = x[:min(args.single, args.batch)]
    t_single = best_time(lambda: [dima_matvec(w, v, args.bw, args.ba, params, rng=1) for v in single], args.repeat)[0]
    t_numpy = best_time(lambda: x @ w.T, max(args.repeat, 5))[0]
    r_batch, r_single, r_numpy = args.batch / t_batch, len(single) / t_single, args.batch / t_numpy
    print(f"W {args.m} x {args.n} ({args.bw}-bit, {args.encoding}), inputs {args.ba}-bit, {args.mapping} mapping, "
          f"σ/μ = {args.sigma:g}, lossless ADC; best of {args.repeat}")
    print(f"analog model, batch of {args.batch}: {r_batch:,.0f} MVM/s   one vector at a time: {r_single:,.0f} MVM/s   "
          f"numpy W @ x (batch): {r_numpy:,.0f} MVM/s")
    print(f"ratio numpy / analog (batched): {r_numpy / r_batch:.1f}   batched / one-at-a-time analog: "
          f"{r_batch / r_single:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
