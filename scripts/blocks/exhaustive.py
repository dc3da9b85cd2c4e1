"""Exhaustive stimulus of the FP blocks for packed-lane runs: the operand pairs of a shard, with the golden.

Shard ``s`` (0..255) holds every pair whose first operand's bfloat16 pattern has ``s`` as its high byte:
``a = s * 256 + i`` (i < 256) against all 65536 ``b``, ``2^24`` pairs. The packed run inside the simulator
(:func:`scripts.sim.packed_run.batches_for`) loads :func:`mul_batches` by name from the job; the launcher is
:mod:`scripts.rtl.exhaustive`.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from model import fp_golden as fp
from scripts.sim.packed_run import Batch

__all__ = ["SHARDS", "PAIRS_PER_SHARD", "mul_batches"]

SHARDS = 256
PAIRS_PER_SHARD = 1 << 24


def mul_batches(job: dict, spec, top) -> Iterator[Batch]:
    """Packed-run batches of the job's shards (``job["shards"]``), ``job["batch_cycles"]`` cycles each."""
    lanes = top.lanes
    ftz = bool(getattr(top, "ftz", False))
    per_batch = int(job.get("batch_cycles", 1024)) * lanes
    if PAIRS_PER_SHARD % per_batch:
        raise ValueError(f"batch_cycles x lanes = {per_batch} must divide {PAIRS_PER_SHARD}")
    b_all = np.arange(1 << 16, dtype=np.uint32)
    for shard in job["shards"]:
        for start in range(0, PAIRS_PER_SHARD, per_batch):
            idx = np.arange(start, start + per_batch, dtype=np.uint32)
            a = (np.uint32(shard) << np.uint32(8)) | (idx >> np.uint32(16))
            b = b_all[idx & np.uint32(0xFFFF)]
            if spec.name == "bf16_mul":
                want = fp.ref_bf16_mul(a.astype(np.uint16), b.astype(np.uint16), ftz=ftz)
                ins = {"a": a, "b": b}
                key = "product"
            else:
                a32, b32 = a << np.uint32(16), b << np.uint32(16)
                want = fp.ref_fp32_add(a32, b32, ftz=ftz)
                ins = {"a": a32, "b": b32}
                key = "sum"
            cycles = per_batch // lanes
            yield Batch({k: v.reshape(cycles, lanes) for k, v in ins.items()}, np.ones(cycles, bool),
                        {key: want.reshape(cycles, lanes)}, np.arange(cycles),
                        f"(shard {shard}, pairs {start}..{start + per_batch - 1} of the shard)")
