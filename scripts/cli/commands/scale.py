"""``mram-accel exhaustive`` and ``mram-accel sweep``: verification and Monte Carlo runs scaled out on Dask.

::

    mram-accel exhaustive bf16_mul|fp32_add [--ftz] [--shards 0-15,200 | --fraction 1/16 [--seed N]]
                          [--lanes 256] [--per-task 2] [--record FILE] [--scheduler ADDRESS] [--workers N]
                          [--serial] [--json]
    mram-accel sweep bit-errors|bcnn-variation|dse [--seeds N] [--scheduler ADDRESS] [--workers N] [--serial]
                     [--check-serial] [--json]

Both run their tasks on a Dask ``LocalCluster`` (one worker process per core) unless ``--scheduler ADDRESS`` (or
``$MRAM_DASK_SCHEDULER``) names a running cluster, or ``--serial`` asks for no Dask at all
(:mod:`scripts.rtl.scaleout`). ``exhaustive`` (:mod:`scripts.rtl.exhaustive`) skips the shards already in its record
(default ``build/exhaustive/<block>.jsonl``) and exits 1 on the first pair that differs from the golden.
``sweep`` prints a digest of its numbers; ``--check-serial`` also runs it serially and exits 1 if they differ.
"""

from __future__ import annotations

import hashlib
import json
import sys
from fractions import Fraction


from model.checks import parse_int
from scripts.toolchain.paths import BUILD

__all__ = ["register", "SWEEPS", "run_sweep", "digest"]


def _fraction(text: str) -> float:
    try:
        f = Fraction(text)
    except (ValueError, ZeroDivisionError):
        f = None
    if f is None or not 0 < f <= 1:
        raise ValueError(f"--fraction: give a fraction in (0, 1] such as 1/16 or 0.25, got {text!r}")
    return float(f)


def _progress(desc: str, quiet: bool):
    if quiet:
        return None
    from tqdm import tqdm
    return lambda it, total=None: tqdm(it, total=total, desc=desc, unit="task", file=sys.stderr)


def _exhaustive(args) -> int:
    from scripts.rtl.exhaustive import Record, parse_shards, run_exhaustive, select_shards, SHARDS
    from scripts.rtl.scaleout import mapper_for

    if args.shards and args.fraction:
        raise ValueError("--shards/--fraction: give one of them")
    lanes = parse_int(args.lanes, "--lanes", min=1, max=1024)
    if (1 << 24) % (lanes * 1024):
        raise ValueError(f"--lanes: must be a power of two in 1..1024 (it divides the 2^24 pairs of a shard), "
                         f"got {lanes}")
    per_task = parse_int(args.per_task, "--per-task", min=1, max=SHARDS)
    workers = parse_int(args.workers, "--workers", min=1, max=256) if args.workers else None
    seed = parse_int(args.seed, "--seed", min=0)
    if args.shards:
        shards = parse_shards(args.shards)
    elif args.fraction:
        shards = select_shards(_fraction(args.fraction), seed)
    else:
        shards = list(range(SHARDS))
    record = Record(args.record or BUILD / "exhaustive" / f"{args.block}{'_ftz' if args.ftz else ''}.jsonl")
    with mapper_for(args.scheduler, workers, args.serial) as mapper:
        try:
            summary = run_exhaustive(args.block, shards, record, ftz=args.ftz, lanes=lanes, per_task=per_task,
                                     mapper=mapper, progress=_progress(f"{args.block} shards", args.json))
        except AssertionError as e:
            print(f"mram-accel exhaustive: MISMATCH: {e}", file=sys.stderr)
            return 1
    done = summary["done_total"]
    per_shard = summary["median_shard_seconds"]
    summary.update({"shards": shards, "record": str(record.path),
                    "seconds_per_shard": per_shard,
                    "projected_full_cpu_seconds": per_shard * SHARDS if per_shard else None})
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(f"{args.block}{' ftz' if args.ftz else ''}: {summary['ran']} shards checked now "
              f"({summary['skipped']} already in {record.path}), {done}/{SHARDS} shards done in all, "
              f"{summary['vectors_checked']:,} pairs bit-exact; wall {summary['wall_seconds']:.0f} s"
              + (f"; {per_shard:.1f} s per shard per worker, full run ~{per_shard * SHARDS / 60:.0f} worker-minutes"
                 if per_shard else ""))
    return 0


# --- sweeps -------------------------------------------------------------------------------------------------------

def _sweep_bit_errors(seeds: int, seed: int, mapper):
    from model.digits_cnn import DigitsCNN, load_test_set
    from model.bit_errors.weights import Curve, StoredWeights, accuracy_sweep

    model = DigitsCNN.load()
    x, y = load_test_set()
    stored = {"bf16": StoredWeights(model, "bf16", x, y)}
    curves = {"bf16-all": Curve("bf16", "all"), "bf16-split8": Curve("bf16", "split", 8)}
    res = accuracy_sweep(stored, curves, [1e-4, 1e-3, 1e-2], seeds, seed, mapper=mapper)
    return {f"{k}@{b:g}": {"accuracy": v.accuracy.tolist(), "flipped_bits": v.flipped_bits.tolist()}
            for (k, b), v in res.items()}


def _sweep_bcnn(seeds: int, seed: int, mapper):
    from model.bcnn.accuracy import accuracy_sweep
    from model.bcnn.net import BCNN, load_test_set
    from model.bcnn.subarray import SOTDevice

    net = BCNN.load()
    x, y = load_test_set()
    devices = [SOTDevice().with_variation(s) for s in (0.08, 0.16)]
    r = accuracy_sweep(net, x[:60], y[:60], devices, [seed + i for i in range(seeds)], "and_popcount",
                       mapper=mapper)
    return {"acc": r["acc"].tolist(), "product_errors": r["product_errors"].tolist()}


def _sweep_dse(seeds: int, seed: int, mapper):
    from model.stt_ai.glb_explore import explore
    from model.zoo import MODEL_NAMES

    ex = explore(MODEL_NAMES, [1, 8], [12], [42], [16], mapper=mapper)
    return {"glb": {"|".join(map(str, k)): int(v) for k, v in ex.glb.items()},
            "retention_max_s": {k: float(v.max) for k, v in ex.ret.items()}}


#: name -> (function(seeds, seed, mapper) -> JSON-able result, what it runs)
SWEEPS = {
    "bit-errors": (_sweep_bit_errors, "digits CNN accuracy under stored-weight bit errors (Monte Carlo over seeds)"),
    "bcnn-variation": (_sweep_bcnn, "binary CNN through the SOT-MRAM sub-array under device variation (seeds)"),
    "dse": (_sweep_dse, "global-buffer design-space exploration over the model zoo (one task per model)"),
}


def digest(result) -> str:
    """SHA-256 of the canonical JSON of a sweep's numbers (equal digests: identical results)."""
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def run_sweep(name: str, seeds: int, seed: int, mapper):
    return SWEEPS[name][0](seeds, seed, mapper)


def _sweep(args) -> int:
    from scripts.rtl.scaleout import mapper_for, serial_mapper

    seeds = parse_int(args.seeds, "--seeds", min=2, max=1000)
    seed = parse_int(args.seed, "--seed", min=0)
    workers = parse_int(args.workers, "--workers", min=1, max=256) if args.workers else None
    with mapper_for(args.scheduler, workers, args.serial) as mapper:
        result = run_sweep(args.name, seeds, seed, mapper)
    out = {"sweep": args.name, "seeds": seeds, "seed": seed, "digest": digest(result),
           "mode": "serial" if args.serial else ("scheduler" if args.scheduler else "dask")}
    code = 0
    if args.check_serial:
        serial = digest(run_sweep(args.name, seeds, seed, serial_mapper))
        out["serial_digest"] = serial
        out["identical_to_serial"] = serial == out["digest"]
        code = 0 if out["identical_to_serial"] else 1
    if args.json:
        out["result"] = result
        print(json.dumps(out, indent=1))
    else:
        print(f"sweep {args.name}: digest {out['digest'][:16]}"
              + (f"; serial run {'identical' if code == 0 else 'DIFFERS'}" if args.check_serial else ""))
    return code


def register(sub) -> None:
    p = sub.add_parser("exhaustive", help="exhaustive BF16 multiplier / FP32 adder check in packed lanes on Dask")
    p.add_argument("block", choices=("bf16_mul", "fp32_add"))
    p.add_argument("--ftz", action="store_true", help="the ftz=True configuration (DAZ/FTZ)")
    p.add_argument("--shards", help="shards to run, e.g. 0-15,200 (default: all 256)")
    p.add_argument("--fraction", help="a seeded random fraction of the shards, e.g. 1/16")
    p.add_argument("--seed", default="0", help="seed of --fraction (default 0)")
    p.add_argument("--lanes", default="256", help="packed lanes per Verilator run (default 256)")
    p.add_argument("--per-task", default="2", help="shards per task (default 2)")
    p.add_argument("--record", help="resumable record (default build/exhaustive/<block>[_ftz].jsonl)")
    _scale_flags(p)
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(func=_exhaustive)

    s = sub.add_parser("sweep", help="a Monte Carlo or design-space sweep on Dask (results identical to serial)")
    s.add_argument("name", choices=sorted(SWEEPS), help="; ".join(f"{k}: {v[1]}" for k, v in SWEEPS.items()))
    s.add_argument("--seeds", default="4", help="Monte Carlo seeds per point, >= 2 (default 4)")
    s.add_argument("--seed", default="2026", help="base seed (default 2026)")
    s.add_argument("--check-serial", action="store_true", help="also run serially; exit 1 if the results differ")
    _scale_flags(s)
    s.add_argument("--json", action="store_true", help="the numbers and their digest as JSON")
    s.set_defaults(func=_sweep)


def _scale_flags(p) -> None:
    p.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (default: $MRAM_DASK_SCHEDULER, "
                                                          "else a LocalCluster)")
    p.add_argument("--workers", help="LocalCluster worker processes (default: the machine's cores)")
    p.add_argument("--serial", action="store_true", help="run in this process, without Dask")
