"""Exhaustive verification of the BF16 multiplier (all 2^32 operand pairs) and of the FP32 adder on every pair of
bfloat16-representable values, in packed lanes under Verilator, sharded and resumable, on Dask.

Sharding: shard ``s`` (0..255) holds every pair whose first operand's bfloat16 pattern has ``s`` as its high
byte: ``a = s * 256 + i`` (i < 256) against all 65536 ``b``, ``2^24`` pairs. A shard replays alone
(``--shards s``). A task is one Verilator run over a few shards (:func:`run_shards`); the run checks every pair
against :func:`model.fp_golden.ref_bf16_mul` (or ``ref_fp32_add`` on ``a << 16``, ``b << 16``) bit for bit, so a
task either returns its shards or fails naming the first differing pair. The record (JSON lines, one per shard
done: block, ftz, shard, vectors, seconds) makes a run resumable: shards already in it are skipped.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from scripts.blocks.exhaustive import PAIRS_PER_SHARD, SHARDS, mul_batches

__all__ = ["SHARDS", "PAIRS_PER_SHARD", "BLOCKS", "select_shards", "parse_shards", "mul_batches", "run_shards",
           "Record", "RECORD_SCHEMA", "run_exhaustive", "measured_cost"]

#: Blocks with an exhaustive run: operand construction of a shard's pairs and the golden.
BLOCKS = ("bf16_mul", "fp32_add")


def parse_shards(text: str) -> list[int]:
    """``"0-15,200,255"`` -> shard numbers; ValueError naming ``--shards`` and the allowed range."""
    out = []
    try:
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            lo_i, hi_i = int(lo), int(hi) if hi else int(lo)
            if not 0 <= lo_i <= hi_i < SHARDS:
                raise ValueError
            out += range(lo_i, hi_i + 1)
    except ValueError:
        raise ValueError(f"--shards: give shard numbers or ranges in 0..{SHARDS - 1} such as '0-15,200', "
                         f"got {text!r}") from None
    return sorted(set(out))


def select_shards(fraction: float, seed: int) -> list[int]:
    """A seeded random ``fraction`` of the shards (at least one), sorted."""
    k = max(1, round(SHARDS * fraction))
    return sorted(np.random.default_rng(seed).choice(SHARDS, k, replace=False).tolist())


def run_shards(block: str, shards: Sequence[int], *, ftz: bool = False, lanes: int = 256, cxx_opt: str = "-O1",
               batch_cycles: int = 1024) -> dict:
    """One task: the ``shards`` of ``block`` in one Verilator run (the build is cached per configuration, so a
    worker builds it once). Returns ``{"shards", "vectors", "seconds", "sim_seconds", "host", "io"}`` (``io``: the
    cocotb path); AssertionError on a mismatch."""
    from scripts.rtl.cosim import packed_cosim

    t0 = time.perf_counter()
    job = {"generator": "scripts.blocks.exhaustive:mul_batches", "shards": list(map(int, shards)),
           "batch_cycles": batch_cycles}
    stats = packed_cosim(block, lanes, job, config={"ftz": bool(ftz)}, cxx_opt=cxx_opt)
    if stats["results"] != len(shards) * PAIRS_PER_SHARD:
        raise AssertionError(f"{block}: {stats['results']} results checked for {len(shards)} shards")
    return {"shards": list(map(int, shards)), "vectors": stats["results"], "seconds": time.perf_counter() - t0,
            "sim_seconds": stats["seconds"], "host": os.uname().nodename, "io": stats.get("io", "stream")}


#: JSON Schema of one line of a record (draft 2020-12): what :meth:`Record.done` and the report read.
RECORD_SCHEMA = {
    "type": "object",
    "required": ["block", "ftz", "shard", "vectors", "seconds"],
    "properties": {
        "block": {"enum": list(BLOCKS)},
        "ftz": {"type": "boolean"},
        "shard": {"type": "integer", "minimum": 0, "maximum": SHARDS - 1},
        "vectors": {"type": "integer", "minimum": 1, "maximum": PAIRS_PER_SHARD},
        "seconds": {"type": "number", "minimum": 0, "maximum": 1e7},
        "sim_seconds": {"type": "number", "minimum": 0, "maximum": 1e7},
        "lanes": {"type": "integer", "minimum": 1, "maximum": 1024},
        "host": {"type": "string", "maxLength": 255},
        "io": {"enum": ["stream", "vpi", "cocotb"]},
        "when": {"type": "string", "maxLength": 64},
    },
}
#: Largest record read (ours: 256 shards x 2 configurations take 90 kB; 64 MiB leaves room for many reruns).
MAX_RECORD_BYTES = 64 << 20


class Record:
    """The resumable record: one JSON line per shard done (``block``, ``ftz``, ``shard``, ``vectors``,
    ``seconds``, ``sim_seconds``, ``lanes``, ``host``, ``when``, ``io``: the cocotb path, absent in records made
    before the stream path; :data:`RECORD_SCHEMA`).

    ``option`` names the record in messages (``"--record"``). Reading a record that is a folder, not a regular
    file, above :data:`MAX_RECORD_BYTES`, not UTF-8, or has a line that is not JSON or breaks the schema is a
    ValueError naming the file, the line and the field.
    """

    def __init__(self, path: Path | str, option: str | None = None):
        self.path = Path(path)
        self.label = f"{option} {str(self.path)!r}" if option else f"record {str(self.path)!r}"

    def check(self) -> None:
        """ValueError unless the record is absent or a regular file of at most :data:`MAX_RECORD_BYTES`."""
        if not self.path.exists():
            return
        if self.path.is_dir():
            raise ValueError(f"{self.label} is a folder; give a .jsonl file")
        if not self.path.is_file():
            raise ValueError(f"{self.label} is not a regular file (a device, pipe or socket)")
        size = self.path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise ValueError(f"{self.label} has {size} bytes, above the limit of {MAX_RECORD_BYTES}")

    def done(self, block: str, ftz: bool) -> dict[int, dict]:
        """``{shard: row}`` of the shards of ``block`` (with ``ftz``) in the record; every line is validated."""
        from model.checks import schema_error

        self.check()
        if not self.path.exists():
            return {}
        try:
            text = self.path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{self.label} is not a JSON-lines record: not UTF-8 text (byte {e.start})") from None
        out = {}
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except (ValueError, RecursionError) as e:
                raise ValueError(f"{self.label}: line {n} is not valid JSON ({' '.join(str(e).split())[:100]})") \
                    from None
            problem = schema_error(r, RECORD_SCHEMA, f"{self.label}: line {n}")
            if problem:
                raise ValueError(problem)
            if r["block"] == block and r["ftz"] == ftz:
                out[int(r["shard"])] = r
        return out

    def add(self, rows: list[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
            f.flush()
            os.fsync(f.fileno())


def measured_cost(path: Path | str, block: str = "bf16_mul", ftz: bool = False) -> dict | None:
    """The cost of a run from a record: ``{"shards", "median_s", "max_s", "total_s", "lanes", "hosts", "when"}``
    (seconds per shard per worker, simulator start-up included; the first tasks of a run also waited for the
    Verilator build, hence the median), or None when the record has no shard of ``block``."""
    done = Record(path).done(block, ftz)
    if not done:
        return None
    sec = [r["seconds"] for r in done.values()]
    return {"shards": len(done), "median_s": float(np.median(sec)), "max_s": max(sec), "total_s": sum(sec),
            "lanes": sorted({r.get("lanes") for r in done.values() if r.get("lanes")}),
            "hosts": sorted({r.get("host", "?") for r in done.values()}),
            "when": max(r.get("when", "") for r in done.values())}


def run_exhaustive(block: str, shards: Sequence[int], record: Record, *, ftz: bool = False, lanes: int = 256,
                   per_task: int = 2, mapper=None, progress=None, cxx_opt: str = "-O1") -> dict:
    """Run the shards not yet in ``record`` as tasks of ``per_task`` shards through ``mapper`` (serial or Dask,
    :mod:`scripts.rtl.scaleout`), recording each task's shards as it completes. Returns a summary."""
    if block not in BLOCKS:
        raise ValueError(f"block must be one of {BLOCKS}, got {block!r}")
    done = record.done(block, ftz)
    todo = [s for s in shards if s not in done]
    tasks = [todo[i:i + per_task] for i in range(0, len(todo), per_task)]
    t0 = time.perf_counter()

    def task(group):
        return run_shards(block, group, ftz=ftz, lanes=lanes, cxx_opt=cxx_opt)

    results = []

    def on_result(res):
        # seconds: the task's wall time per shard, simulator start-up included (the first tasks of a run also
        # wait for the Verilator build, so projections take the median over the record)
        per = res["seconds"] / len(res["shards"])
        sim = res["sim_seconds"] / len(res["shards"])
        record.add([{"block": block, "ftz": ftz, "shard": s, "vectors": PAIRS_PER_SHARD, "seconds": per,
                     "sim_seconds": sim, "lanes": lanes, "host": res["host"], "io": res["io"],
                     "when": time.strftime("%Y-%m-%d %H:%M:%S")} for s in res["shards"]])
        results.append(res)

    if mapper is None:
        from scripts.rtl.scaleout import serial_mapper
        mapper = serial_mapper
    for res in mapper(task, tasks, progress=progress, on_result=on_result):
        pass
    wall = time.perf_counter() - t0
    all_done = record.done(block, ftz)
    per_shard = [r["seconds"] / len(r["shards"]) for r in results]
    return {"block": block, "ftz": ftz, "requested": len(shards), "skipped": len(shards) - len(todo),
            "ran": len(todo), "wall_seconds": wall, "done_total": len(all_done),
            "vectors_checked": sum(r["vectors"] for r in all_done.values()),
            "median_shard_seconds": float(np.median(per_shard)) if per_shard else None}
