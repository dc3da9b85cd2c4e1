"""Benchmark of the binary matrix product: binary MACs per second through the SOT-MRAM sub-array model.

Three paths on the same +/-1 data, in one run, each checked against the exact product:

* **numpy** -- ``X @ W`` on int32 (the baseline every ratio is against);
* **sub-array model** -- :func:`model.bcnn.cim.cim_matmul` (vectorised sensing of whole programs, numpy popcount);
* **RTL** -- the same with every sensed row counted by the RTL bit-count reader under Verilator
  (:class:`scripts.rtl.bcnn.RtlCounter`), smaller data (the cocotb loop runs one row per cycle).

It prints binary MACs/s of each and the ratios, and where the model's time goes (sensing, packing, counting;
measured with cProfile). Usage (from the repository root, with the project installed)::

    python scripts/bench/bcnn.py [--n 256] [--k 1024] [--m 64] [--rtl-n 16] [--no-rtl] [--repeat 3]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import numpy as np

from model.bcnn.cim import cim_matmul
from scripts.common.options import check_ranges
from scripts.bench.timing import best_time


def _profile(fn, top: int = 6) -> list[str]:
    prof = cProfile.Profile()
    prof.runcall(fn)
    st = pstats.Stats(prof)
    total = st.total_tt
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]    # by own time
    return [f"  {v[2] / total:6.1%}  {k[2]} ({k[0].rsplit('/', 1)[-1]}:{k[1]})" for k, v in rows]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=256, help="rows of X (default 256)")
    ap.add_argument("--k", type=int, default=1024, help="dot-product length (default 1024)")
    ap.add_argument("--m", type=int, default=64, help="columns of W (default 64)")
    ap.add_argument("--rtl-n", type=int, default=16, help="rows of X on the RTL path (default 16)")
    ap.add_argument("--no-rtl", action="store_true", help="skip the Verilator path")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions, best kept (default 3)")
    args = ap.parse_args(argv)
    check_ranges(ap, args, {"n": (1, 1 << 16), "k": (1, 16384), "m": (1, 1 << 14), "rtl_n": (1, 4096),
                            "repeat": (1, 100)})
    rng = np.random.default_rng(0)
    x = rng.choice(np.array([-1, 1], np.int8), (args.n, args.k))
    w = rng.choice(np.array([-1, 1], np.int8), (args.k, args.m))
    macs = args.n * args.k * args.m
    exact = x.astype(np.int32) @ w.astype(np.int32)

    t_np, _ = best_time(lambda: x.astype(np.int32) @ w.astype(np.int32), args.repeat)
    print(f"data: X {x.shape}, W {w.shape}: {macs:,} binary MACs")
    print(f"numpy X @ W (int32):        {macs / t_np:12.4g} MACs/s   (baseline)")
    for form in ("and_or", "and_popcount"):
        t, (y, stats) = best_time(lambda: cim_matmul(x, w, form=form), args.repeat)
        assert np.array_equal(y, exact), "the sub-array model differs from X @ W"
        print(f"sub-array model, {form:12s}: {macs / t:12.4g} MACs/s   ratio to numpy 1/{t / t_np:.0f}   "
              f"({stats.sense_ops + stats.read_ops:,} row senses, {(stats.sense_ops + stats.read_ops) / t:.3g}/s)")
    print("where the model's time goes (own time, cProfile, and_or):")
    print("\n".join(_profile(lambda: cim_matmul(x, w))))
    if not args.no_rtl:
        from scripts.rtl.bcnn import RtlCounter

        xr = x[:args.rtl_n]
        cim_matmul(xr[:1], w[:, :1], counter=RtlCounter())          # build (cached) outside the timing
        counter = RtlCounter()
        t0 = time.perf_counter()
        y, stats = cim_matmul(xr, w, counter=counter)
        t_rtl = time.perf_counter() - t0
        assert np.array_equal(y, exact[:args.rtl_n]), "the RTL path differs from X @ W"
        rmacs = xr.shape[0] * args.k * args.m
        t_np_r, _ = best_time(lambda: xr.astype(np.int32) @ w.astype(np.int32), args.repeat)
        print(f"RTL (Verilator, cocotb):    {rmacs / t_rtl:12.4g} MACs/s   ratio to numpy 1/{t_rtl / t_np_r:.0f}   "
              f"({counter.cycles:,} cycles, {counter.cycles / t_rtl:.3g} cycles/s, {counter.runs} run(s) incl. "
              "simulator start-up)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
