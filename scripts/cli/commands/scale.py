"""``mram-accel exhaustive`` and ``mram-accel sweep``: verification and Monte Carlo runs scaled out on Dask.

::

    mram-accel exhaustive bf16_mul|fp32_add [--ftz] [--shards 0-15,200 | --fraction 1/16 [--seed N]]
                          [--lanes 256] [--per-task 2] [--record FILE.jsonl] [--scheduler ADDRESS] [--workers N]
                          [--serial] [--json]
    mram-accel sweep bit-errors|bcnn-variation|dse [--seeds N] [--seed N] [--scheduler ADDRESS] [--workers N]
                     [--serial] [--check-serial] [--out FILE.json] [--json]

Both run their tasks on a Dask ``LocalCluster`` (one worker process per core) unless ``--scheduler ADDRESS`` (or
``$MRAM_DASK_SCHEDULER``) names a running cluster (``tcp://HOST:PORT``; one that does not answer within 5 s is an
error naming the option or the variable), or ``--serial`` asks for no Dask at all (:mod:`scripts.rtl.scaleout`).

``exhaustive`` (:mod:`scripts.rtl.exhaustive`) checks every operand pair of the chosen shards bit for bit against
the golden in packed lanes under Verilator (shard s: first operand's bfloat16 pattern has high byte s, 2^24
pairs; 256 shards = all 2^32 pairs). It skips the shards already in its record (default
``build/exhaustive/<block>[_ftz].jsonl``; JSON lines with ``block``, ``ftz``, ``shard``, ``vectors``,
``seconds`` and optional ``sim_seconds``, ``lanes``, ``host``, ``when``; a corrupt line is an error naming the
file, the line and the field) and exits 1 on the first pair that differs. Cost: a Verilator build of the packed
model per worker host (minutes, once), then the seconds per shard measured on this machine (below).
Ranges: ``--shards`` 0..255, ``--fraction`` (0, 1], ``--lanes`` a power of two 1..1024, ``--per-task`` 1..256,
``--workers`` 1..256, ``--seed`` 0..2^32-1.

``sweep`` runs a Monte Carlo or design-space sweep, one Dask task per point, each with its own seeds, so the
numbers equal the serial run's; it prints a table (per quantity: mean, 95 % t interval over the seeds, min, max)
and its digest (SHA-256 of the canonical JSON of the numbers), ``--json`` the numbers, ``--out FILE.json`` writes
them (``sweep``, ``seeds``, ``seed``, ``digest``, ``mode``, ``result``). ``--check-serial`` also runs it serially
and exits 1 if they differ. Ranges: ``--seeds`` 2..1000, ``--seed`` 0..2^32-1, ``--workers`` 1..256. Example::

    mram-accel sweep bcnn-variation --seeds 4 --workers 2 --check-serial --out sweep.json
    mram-accel exhaustive bf16_mul --fraction 1/16 --seed 3
"""

from __future__ import annotations

import hashlib
import json
import sys
from fractions import Fraction

from model.checks import parse_int
from scripts.cli import add_help_text
from scripts.common.options import parse_seed
from scripts.toolchain.paths import BUILD

__all__ = ["register", "SWEEPS", "run_sweep", "digest", "sweep_table"]


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


def _with_progress(mapper, desc: str, quiet: bool):
    """``mapper`` that shows a progress bar (stderr) over the tasks of each call unless ``quiet``."""
    if quiet:
        return mapper

    def mapped(func, items, progress=None, on_result=None):
        return mapper(func, items, progress=progress or _progress(desc, False), on_result=on_result)

    return mapped


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
    seed = parse_seed(args.seed, "--seed")
    if args.shards:
        shards = parse_shards(args.shards)
    elif args.fraction:
        shards = select_shards(_fraction(args.fraction), seed)
    else:
        shards = list(range(SHARDS))
    if args.record:
        from scripts.common.files import check_output
        check_output(args.record, "--record", kind="append")
    record = Record(args.record or BUILD / "exhaustive" / f"{args.block}{'_ftz' if args.ftz else ''}.jsonl",
                    option="--record" if args.record else None)
    record.done(args.block, args.ftz)                     # a corrupt record: exit 2 before any work
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


#: Device sigma/mu of the ``bcnn-variation`` sweep, one row of its result per value.
BCNN_SIGMAS = (0.08, 0.16)


def _sweep_bcnn(seeds: int, seed: int, mapper):
    from model.bcnn.accuracy import accuracy_sweep
    from model.bcnn.net import BCNN, load_test_set
    from model.bcnn.subarray import SOTDevice

    net = BCNN.load()
    x, y = load_test_set()
    devices = [SOTDevice().with_variation(s) for s in BCNN_SIGMAS]
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


#: Names of the rows of list-of-lists results (``{sweep: {key: [row names]}}``), for :func:`sweep_table`.
ROW_LABELS = {"bcnn-variation": {k: [f"sigma {v:g}" for v in BCNN_SIGMAS] for k in ("acc", "product_errors")}}


def _leaves(value, path: str, labels: dict):
    """``(name, numbers)`` of a sweep result: dicts by key, a list of lists row by row, a list of numbers whole."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path} {k}".strip(), labels)
    elif isinstance(value, list) and value and isinstance(value[0], list):
        names = labels.get(path.rsplit(" ", 1)[-1], [])
        for i, row in enumerate(value):
            yield from _leaves(row, f"{path} {names[i] if i < len(names) else f'[{i}]'}", labels)
    else:
        yield path, value if isinstance(value, list) else [value]


def sweep_table(name: str, result) -> str:
    """The numbers of a sweep as a text table: per quantity the count, mean, the 95 % Student-t interval of the
    mean over the seeds (:func:`model.stats.t_interval`; ``-`` for one value), min and max."""
    import numpy as np

    from model.stats import t_interval

    rows = []
    for key, values in _leaves(result, "", ROW_LABELS.get(name, {})):
        v = np.asarray(values, dtype=np.float64)
        lo = hi = None
        if v.size >= 2:
            mean, lo, hi = t_interval(v)
        else:
            mean = float(v[0])
        rows.append((key, v.size, mean, lo, hi, float(v.min()), float(v.max())))
    width = max([len("quantity")] + [len(r[0]) for r in rows])
    lines = [f"{'quantity':<{width}} {'n':>4} {'mean':>12} {'95% interval of the mean':>27} {'min':>12} {'max':>12}"]
    for key, n, mean, lo, hi, mn, mx in rows:
        ci = f"[{lo:.6g}, {hi:.6g}]" if lo is not None else "-"
        lines.append(f"{key:<{width}} {n:>4} {mean:>12.6g} {ci:>27} {mn:>12.6g} {mx:>12.6g}")
    return "\n".join(lines)


def digest(result) -> str:
    """SHA-256 of the canonical JSON of a sweep's numbers (equal digests: identical results)."""
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def run_sweep(name: str, seeds: int, seed: int, mapper):
    return SWEEPS[name][0](seeds, seed, mapper)


def _sweep(args) -> int:
    from scripts.rtl.scaleout import mapper_for, serial_mapper

    seeds = parse_int(args.seeds, "--seeds", min=2, max=1000)
    seed = parse_seed(args.seed, "--seed")
    workers = parse_int(args.workers, "--workers", min=1, max=256) if args.workers else None
    out_path = None
    if args.out is not None:
        from scripts.common.files import atomic_write, check_output
        out_path = check_output(args.out, "--out", suffix=".json")
    with mapper_for(args.scheduler, workers, args.serial) as mapper:
        result = run_sweep(args.name, seeds, seed, _with_progress(mapper, f"sweep {args.name}", args.json))
    out = {"sweep": args.name, "seeds": seeds, "seed": seed, "digest": digest(result),
           "mode": "serial" if args.serial else ("scheduler" if args.scheduler else "dask")}
    code = 0
    if args.check_serial:
        serial = digest(run_sweep(args.name, seeds, seed, _with_progress(serial_mapper, "serial check", args.json)))
        out["serial_digest"] = serial
        out["identical_to_serial"] = serial == out["digest"]
        code = 0 if out["identical_to_serial"] else 1
    full = {**out, "result": result}
    if out_path is not None:
        atomic_write(out_path, (json.dumps(full, indent=1) + "\n").encode(), option="--out")
    if args.json:
        print(json.dumps(full, indent=1))
    else:
        print(f"sweep {args.name}: {seeds} seeds from {seed}, {out['mode']}")
        print(sweep_table(args.name, result))
        print(f"digest {out['digest'][:16]}"
              + (f"; serial run {'identical' if code == 0 else 'DIFFERS'}" if args.check_serial else "")
              + (f"; numbers in {out_path}" if out_path is not None else ""))
    return code


def _exhaustive_cost() -> str:
    """The measured cost per shard, from the committed records (scripts/data/exhaustive/), for --help."""
    from pathlib import Path

    from scripts.rtl.exhaustive import SHARDS, measured_cost

    data = Path(__file__).resolve().parents[2] / "data" / "exhaustive"
    lines = []
    for block, ftz in (("bf16_mul", False), ("bf16_mul", True), ("fp32_add", False), ("fp32_add", True)):
        path = data / f"{block}{'_ftz' if ftz else ''}.jsonl"
        try:
            c = measured_cost(path, block, ftz)
        except ValueError:
            c = None
        if c:
            lines.append(f"  {block}{' --ftz' if ftz else ''}: median {c['median_s']:.1f} s per shard per worker "
                         f"({c['lanes'][0] if c['lanes'] else '?'} lanes, host {', '.join(c['hosts'])}, "
                         f"{c['when'][:10]}); all {SHARDS} shards ~{c['median_s'] * SHARDS / 60:.0f} worker-minutes "
                         f"(the run spent {c['total_s'] / 60:.0f}: the first tasks also waited for the Verilator "
                         f"build, up to {c['max_s']:.0f} s per shard)")
    if not lines:
        return "cost per shard: no committed record found under scripts/data/exhaustive/"
    return ("cost measured on this machine (committed records scripts/data/exhaustive/*.jsonl):\n"
            + "\n".join(lines))


def register(sub) -> None:
    p = sub.add_parser("exhaustive", help="exhaustive BF16 multiplier / FP32 adder check in packed lanes on Dask")
    p.add_argument("block", choices=("bf16_mul", "fp32_add"))
    p.add_argument("--ftz", action="store_true", help="the ftz=True configuration (DAZ/FTZ)")
    p.add_argument("--shards", help="shards to run, e.g. 0-15,200 (default: all 256)")
    p.add_argument("--fraction", help="a seeded random fraction of the shards, e.g. 1/16")
    p.add_argument("--seed", default="0", help="seed of --fraction, 0..2^32-1 (default 0)")
    p.add_argument("--lanes", default="256", help="packed lanes per Verilator run, a power of two 1..1024 "
                                                  "(default 256)")
    p.add_argument("--per-task", default="2", help="shards per task, 1..256 (default 2)")
    p.add_argument("--record", metavar="FILE.jsonl",
                   help="resumable record, appended to (default build/exhaustive/<block>[_ftz].jsonl)")
    _scale_flags(p)
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(func=_exhaustive, outputs={})
    add_help_text(p, _exhaustive_cost)

    s = sub.add_parser("sweep", help="a Monte Carlo or design-space sweep on Dask (results identical to serial)")
    s.add_argument("name", choices=sorted(SWEEPS), help="; ".join(f"{k}: {v[1]}" for k, v in SWEEPS.items()))
    s.add_argument("--seeds", default="4", help="Monte Carlo seeds per point, 2..1000 (default 4)")
    s.add_argument("--seed", default="2026", help="base seed, 0..2^32-1 (default 2026)")
    s.add_argument("--check-serial", action="store_true", help="also run serially; exit 1 if the results differ")
    _scale_flags(s)
    s.add_argument("--out", metavar="FILE.json", help="also write the numbers and their digest as JSON")
    s.add_argument("--json", action="store_true", help="the numbers and their digest as JSON")
    s.set_defaults(func=_sweep)


def _scale_flags(p) -> None:
    p.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (default: $MRAM_DASK_SCHEDULER, "
                                                          "else a LocalCluster)")
    p.add_argument("--workers", help="LocalCluster worker processes, 1..256 (default: the machine's cores)")
    p.add_argument("--serial", action="store_true", help="run in this process, without Dask")
