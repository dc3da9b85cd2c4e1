"""MRAM-DIMA's ``--rtl`` bridge: the array's ADC codes through the post-processing RTL under Verilator."""

from __future__ import annotations

import numpy as np

from model.dima.array import AnalogMVM, acc_width_for, post_stream, to_signed
from scripts.rtl.cosim import run_stimulus
from scripts.sim.block import Stimulus

__all__ = ["rtl_post", "rtl_config"]

#: Widest accumulator the bridge reads back as int64 values.
MAX_ACC_WIDTH = 62


def rtl_config(mvm: AnalogMVM, b_w: int, b_a: int) -> dict:
    """The ``dima_post`` configuration for the codes of ``mvm``: its encoding, mapping and ADC step
    (``lsb_shift = log2(lsb)``, so the RTL's output is the value ``a`` itself), ``acc_width = b_out`` =
    :func:`model.dima.array.acc_width_for` (nothing wraps or saturates); keys at their defaults are left out.
    ValueError (naming ``--adc-bits``) when that accumulator is wider than 62 bits."""
    lsb_shift = int(mvm.lsb).bit_length() - 1
    width = acc_width_for(b_w, b_a, mvm.adc_bits, mvm.encoding, mvm.mapping, lsb_shift)
    if width > MAX_ACC_WIDTH:
        raise ValueError(f"--adc-bits: --rtl needs an accumulator of {width} bits for {mvm.adc_bits}-bit codes, "
                         f"more than the {MAX_ACC_WIDTH} it reads back; use fewer --adc-bits, --bw or --ba")
    config = {"b_w": b_w, "slice_bits": mvm.adc_bits, "acc_width": width, "b_out": width}
    extra = {"encoding": (mvm.encoding, "twos"), "mapping": (mvm.mapping, "bit-serial"), "lsb_shift": (lsb_shift, 0)}
    config.update({k: v for k, (v, default) in extra.items() if v != default})
    return config


def rtl_post(mvm: AnalogMVM, b_w: int, b_a: int, seed: int = 0) -> tuple[np.ndarray, dict]:
    """The codes of ``mvm`` (``(batch, M, P, S)``) through the post-processing RTL under Verilator (bias, shift,
    relu 0; :func:`rtl_config`): the values ``a`` (batch, M) and the run's record (cycles, planes,
    configuration)."""
    config = rtl_config(mvm, b_w, b_a)
    width = config["acc_width"]
    inputs = post_stream(mvm.codes, mvm.adc_bits, acc_width=width)
    res = run_stimulus("dima_post", Stimulus(inputs), config=config, seed=seed)
    out = to_signed(np.array(res["outputs"]["out"], dtype=object).astype(np.int64), width)
    return out.reshape(mvm.codes.shape[:2]), {"config": config, "cycles": int(res["cycles"]),
                                              "planes": int(len(inputs["first"]))}
