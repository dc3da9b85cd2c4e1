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


def conv_loop(x, w, stride, pad):
    """Direct cross-correlation (torch Conv2d), float64, loops over every output element."""
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((n, m, oh, ow))
    for b in range(n):
        for o in range(m):
            for i in range(oh):
                for j in range(ow):
                    y[b, o, i, j] = np.sum(xp[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw] * w[o])
    return y
