"""``pytest -m exhaustive``: the BF16 multiplier on all 2^32 operand pairs (and with ``ftz=True``) in packed
lanes under Verilator, on a Dask LocalCluster (``MRAM_DASK_SCHEDULER`` for a real cluster).

First a seeded random sixteenth of the 256 shards (``mram-accel exhaustive bf16_mul --fraction 1/16``), then,
if the measured time per shard projects the rest to at most ``MRAM_EXHAUSTIVE_BUDGET_MIN`` minutes (default 60),
the remaining shards. The record under ``build/exhaustive/`` keeps the shards done, so an interrupted run resumes
and any shard replays alone (``--shards N``). The FP32 adder's run on every pair of bfloat16-representable values
is offered by the same command (``mram-accel exhaustive fp32_add``) and not run here.
"""

import json
import os

import pytest

from scripts.cli import main
from scripts.rtl.exhaustive import Record


def median_shard_seconds(path, ftz):
    import numpy as np

    done = Record(path).done("bf16_mul", ftz)
    return float(np.median([r["seconds"] for r in done.values()])) if done else None

pytestmark = pytest.mark.exhaustive


@pytest.mark.parametrize("ftz", [False, True], ids=["ieee", "ftz"])
def test_bf16_mul_exhaustive(ftz, capsys):
    flag = ["--ftz"] if ftz else []
    capsys.readouterr()
    assert main(["exhaustive", "bf16_mul", *flag, "--fraction", "1/16", "--seed", "0", "--json"]) == 0
    sample = json.loads(capsys.readouterr().out)
    assert sample["done_total"] >= 16
    budget = float(os.environ.get("MRAM_EXHAUSTIVE_BUDGET_MIN", "60")) * 60
    # seconds per shard: of this sample, or of the record when the sample's shards were done before
    per_shard = sample["seconds_per_shard"] or median_shard_seconds(sample["record"], ftz)
    workers = os.cpu_count() or 1
    remaining = 256 - sample["done_total"]
    projected = (per_shard or 0) * remaining / workers
    with capsys.disabled():
        print(f"\nbf16_mul{' ftz' if ftz else ''}: sample of {sample['requested']} shards passed; "
              f"{remaining} shards left, projected {projected / 60:.1f} min on {workers} workers "
              f"(budget {budget / 60:.0f} min)")
    if per_shard is None or projected <= budget:
        assert main(["exhaustive", "bf16_mul", *flag, "--json"]) == 0
        full = json.loads(capsys.readouterr().out)
        assert full["done_total"] == 256 and full["vectors_checked"] == 1 << 32
