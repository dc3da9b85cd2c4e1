"""cocotb testbenches of the BF16 MAC and the reconfigurable PE: bit-exact against ``model/fp_golden.py``.

``$DUT_PARAMS``: ``kind`` ("mac" or "pe"), ``lanes`` (copies side by side, see ``tb/lanes.py``), ``random``
(number of seeded random vectors after the TestFloat-style corners), ``latency``, ``ftz``, ``gaps``
(probability that ``valid`` drops in a cycle). PE vectors mix both modes and switch mode between
consecutive vectors; the corners alternate modes every vector and in runs.
"""

import json
import os

import cocotb
import numpy as np

from model.fp_golden import (corner_mac_vectors, corner_pe_vectors, random_mac_vectors, random_pe_vectors,
                             ref_mac, ref_pe)
from support import check_vectors, dut_params, np_rng, start


def _report(stats):
    if os.environ.get("BENCH_OUT"):  # scripts/bench_fp.py
        with open(os.environ["BENCH_OUT"], "w") as f:
            json.dump(stats, f)


@cocotb.test()
async def vectors_bit_exact(dut):
    """Corners, then seeded random vectors with special values mixed in, streamed one per cycle per lane."""
    p = dut_params()
    rng = np_rng()
    seed = int(rng.integers(1 << 31))
    ftz = bool(p.get("ftz", False))
    if p["kind"] == "mac":
        ca, cb, cc = corner_mac_vectors()
        ra, rb, rc = random_mac_vectors(seed, p["random"])
        a, b, c = np.concatenate([ca, ra]), np.concatenate([cb, rb]), np.concatenate([cc, rc])
        expected = {"result": (ref_mac(a, b, c, ftz=ftz), 32)}
        inputs = {"a": (a, 16), "b": (b, 16), "c": (c, 32)}
        out_valid = "result_valid"

        def describe(i):
            return f"a={int(a[i]):#06x} b={int(b[i]):#06x} c={int(c[i]):#010x}"
        idle = {"valid": 0}
    else:
        cm, cact, cwgt, cps = corner_pe_vectors()
        rm, ract, rwgt, rps = random_pe_vectors(seed, p["random"])
        mode = np.concatenate([cm, rm])
        acts, wgts, psums = (np.concatenate([x, y]) for x, y in ((cact, ract), (cwgt, rwgt), (cps, rps)))
        outs, pe_out = ref_pe(mode, acts, wgts, psums, ftz=ftz)
        inputs = {"mode": (mode, 1)}
        for i in range(3):
            inputs[f"act{i}"] = (acts[:, i], 16)
            inputs[f"wgt{i}"] = (wgts[:, i], 16)
            inputs[f"psum{i}"] = (psums[:, i], 32)
        expected = {f"out{i}": (outs[:, i], 32) for i in range(3)}
        expected["pe_out"] = (pe_out, 32)
        out_valid = "out_valid"

        def describe(i):
            return (f"mode={int(mode[i])} acts={[hex(int(x)) for x in acts[i]]} wgts={[hex(int(x)) for x in wgts[i]]} "
                    f"psums={[hex(int(x)) for x in psums[i]]}")
        idle = {"valid": 0}
    await start(dut, idle=idle)
    stats = await check_vectors(dut, inputs, expected, lanes=p["lanes"], latency=p["latency"], out_valid=out_valid,
                                rng=rng, gap_probability=p.get("gaps", 0.0), describe=describe)
    _report(stats)
