"""What several test files share (test files never import each other)."""

from __future__ import annotations

import numpy as np

from scripts.sim import simulate_stream

#: A hand-checkable four-layer network (``tests/test_dse.py``, ``tests/test_glb_explore.py``).
TINY = {
    "name": "tiny",
    "layers": [
        {"name": "A", "kind": "conv", "in_h": 6, "in_w": 6, "in_c": 3, "out_c": 4, "k": 3, "bias": True},
        {"name": "B", "kind": "conv", "in_h": 4, "in_w": 4, "in_c": 4, "out_c": 2, "k": 3, "pad": 1, "bn": 2},
        {"name": "C", "kind": "fc", "in_c": 32, "out_c": 10, "bias": True},
        {"name": "D", "kind": "fc", "in_c": 10, "out_c": 5, "bias": True},
    ],
}


def rtl_run(dut, spec, operands, gaps=None):
    """Stream ``operands`` into the block's input ports; return its one output (uint32) and the stream record."""
    r = simulate_stream(dut, spec.stream, dict(zip(spec.stream.inputs, operands)), gaps=gaps)
    return r.outputs[spec.stream.outputs[0]].astype(np.uint32), r


def measured_latency(cls, spec, operands) -> int:
    """Cycles from input to result of one isolated operation, observed in the simulator."""
    _, r = rtl_run(cls(), spec, [np.array([x]) for x in operands])
    return int(r.out_cycles[0] - r.in_cycles[0])
