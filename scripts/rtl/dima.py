"""MRAM-DIMA's ``--rtl`` bridge: the array's ADC codes through the post-processing RTL under Verilator."""

from __future__ import annotations

import numpy as np

from model.dima.array import acc_width_for, post_stream, to_signed
from scripts.rtl.cosim import run_stimulus
from scripts.sim.block import Stimulus

__all__ = ["rtl_post"]


def rtl_post(codes: np.ndarray, b_w: int, b_a: int, slice_bits: int, seed: int = 0) -> tuple[np.ndarray, dict]:
    """The codes ``(batch, M, B_a, B_w)`` through the post-processing RTL under Verilator (bias, shift, relu 0;
    ``acc_width = b_out`` = :func:`model.dima.array.acc_width_for`): the accumulated values (batch, M) and the run's
    record (cycles, configuration)."""
    width = acc_width_for(b_w, b_a, slice_bits)
    config = {"b_w": b_w, "slice_bits": slice_bits, "acc_width": width, "b_out": width}
    inputs = post_stream(codes, slice_bits, acc_width=width)
    res = run_stimulus("dima_post", Stimulus(inputs), config=config, seed=seed)
    out = to_signed(np.array(res["outputs"]["out"], dtype=object).astype(np.int64), width)
    return out.reshape(codes.shape[:2]), {"config": config, "cycles": int(res["cycles"]),
                                          "planes": int(len(inputs["first"]))}
