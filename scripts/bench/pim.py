"""Benchmark of the bit-level SOT-MRAM PIM model (model/pim/arith.py): column-parallel FP32 additions and
multiplications executed as sub-array operations, timed against numpy float32 on the same data.

One pass of ``--lanes`` operations (default 1024: every column of the 1024 x 1024 sub-array) per operation, best
of ``--repeat`` runs, in the same process; the results are checked bit for bit against numpy (every NaN made the
canonical 0x7FC00000) and the simulated in-memory latency of one pass is printed beside the wall-clock times.
Usage (from the repository root, with the project installed by ``pip install -e .``)::

    python scripts/bench/pim.py [--lanes N] [--repeat N] [--seed N] [--mantissa S] [--multiplier S]
"""

from __future__ import annotations

import argparse

import numpy as np

from model.pim import arith as pa
from model.fp_golden import random_add_vectors, random_fp32
from scripts.common.options import check_ranges
from scripts.bench.timing import best_time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lanes", type=int, default=pa.LANES, help=f"operations per pass (default {pa.LANES})")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions, best time kept (default 3)")
    ap.add_argument("--seed", type=int, default=2026, help="operand seed (default 2026)")
    ap.add_argument("--mantissa", choices=pa.MANTISSA, default=pa.MANTISSA[0],
                    help=f"addition schedule (default {pa.MANTISSA[0]})")
    ap.add_argument("--multiplier", choices=pa.MULTIPLIER, default=pa.MULTIPLIER[0],
                    help=f"multiplication schedule (default {pa.MULTIPLIER[0]})")
    args = ap.parse_args(argv)
    check_ranges(ap, args, {"lanes": (1, pa.LANES), "repeat": (1, 100), "seed": (0, 2**32 - 1)})
    a, b = random_add_vectors(args.seed, args.lanes)
    rng = np.random.default_rng(args.seed)
    ma, mb = random_fp32(rng, args.lanes), random_fp32(rng, args.lanes)
    print(f"{args.lanes} column-parallel FP32 operations per pass, best of {args.repeat} (schedules: mantissa "
          f"{args.mantissa}, multiplier {args.multiplier})")
    for op, (x, y) in (("add", (a, b)), ("mul", (ma, mb))):
        xf, yf = x.view(np.float32), y.view(np.float32)
        t_pim, run = best_time(lambda: pa.fp32_op(op, xf, yf, mantissa=args.mantissa, multiplier=args.multiplier),
                               args.repeat)
        ufunc = np.add if op == "add" else np.multiply
        with np.errstate(all="ignore"):
            t_np, _ = best_time(lambda: ufunc(xf, yf), max(args.repeat, 20))
        differ = int(np.count_nonzero(run.bits != pa.ref_fp32(op, xf, yf)))
        if differ:
            raise SystemExit(f"fp32 {op}: {differ} results differ from numpy float32")
        steps = run.per_op_steps
        print(f"fp32 {op}: bit-level model {t_pim * 1e3:9.2f} ms   numpy float32 {t_np * 1e6:8.2f} us   "
              f"ratio x{t_pim / t_np:,.0f}   ({steps['read']:g} read / {steps['write']:g} write / "
              f"{steps['search']:g} search steps = {run.per_op_time_s * 1e6:.3f} us simulated; results bit-exact)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
