"""Run a whole conv or FC layer on the RTL accelerator core, with the STT-MRAM global buffer behind the responder.

``run_layer(kind, x_bits, w_bits, ...)`` runs :class:`scripts.sim.layer.LayerRun` (operand program, feeder, global
buffer behind the memory responder) on :class:`hw.layer_engine.LayerEngine` and compares the result read back from
the global buffer bit-exactly with the dataflow golden (:func:`model.stt_ai.pe_array.ref_layer`).
``backend="verilator"`` runs cocotb under Verilator (``tb/cocotb_layer.py``; one build per array configuration,
``build/sim/layer_engine_<rows>x<cols>/``), ``"amaranth"`` the Amaranth simulator (small arrays, tests).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from model.stt_ai import pe_array as pa
from scripts.sim.layer import CXX_OPT, GLB_ADDR_WIDTH, PAPER_BANK_BYTES, LayerResult, LayerRun, engine_for

__all__ = ["run_layer", "engine_key"]

#: The cocotb module that runs a layer (imported by name inside the simulator).
TEST_MODULE = "tb.cocotb_layer"


def engine_key(rows: int, cols: int, bank_bytes: int = PAPER_BANK_BYTES) -> list:
    """Cache key of the engine's Verilator build: its parameters and the RTL sources (no elaboration needed)."""
    from scripts.toolchain.cache import rtl_source_digest
    return ["layer_engine", rows, cols, pa.bank_words_for(bank_bytes, cols), GLB_ADDR_WIDTH, rtl_source_digest()]


def run_layer(kind: str, x_bits, w_bits, *, stride: int = 1, pad: int = 0, rows: int = 4, cols: int = 4,
              backend: str = "verilator", scratchpad: bool = True, bank_bytes: int = PAPER_BANK_BYTES,
              glb_read_latency: int = 2, glb_write_latency: int = 4, glb_ready: float = 1.0, ber: float = 0.0,
              seed: int = 0, waves: bool = False) -> LayerResult:
    """Simulate one layer on the RTL and return its output with the golden and the measurements.

    ``x_bits``/``w_bits`` are bfloat16 patterns (uint16) in the layer layout (conv ``(N, C, H, W)``,
    ``(K, C, kh, kw)``; FC ``(N, IN)``, ``(OUT, IN)``).
    """
    x_bits = np.asarray(x_bits, np.uint16)
    w_bits = np.asarray(w_bits, np.uint16)
    shape = pa.conv_shape(x_bits.shape, w_bits.shape, stride, pad) if kind == "conv" else \
        pa.fc_shape(x_bits.shape, w_bits.shape)
    golden = pa.ref_layer(kind, x_bits, w_bits, rows=rows, cols=cols, stride=stride, pad=pad)
    opts = dict(bank_bytes=bank_bytes, scratchpad=scratchpad, glb_read_latency=glb_read_latency,
                glb_write_latency=glb_write_latency, glb_ready=glb_ready, ber=ber, seed=seed)
    if backend == "amaranth":
        from scripts.sim.amaranth_backend import run_amaranth
        run = LayerRun(shape, x_bits, w_bits, rows, cols, **opts)
        t0 = time.perf_counter()
        run_amaranth(engine_for(rows, cols, bank_bytes), run.agents, max_cycles=10 * run.prog.cycles + 10_000)
        return LayerResult(run.y_bits(), golden, run.stats(time.perf_counter() - t0))
    if backend != "verilator":
        raise ValueError(f"backend must be 'verilator' or 'amaranth', got {backend!r}")
    from scripts.toolchain.cocotb_runner import run_cocotb
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "layer.npz"
        out = Path(tmp) / "out.npz"
        np.savez(spec, x=x_bits, w=w_bits)
        meta = {"kind": kind, "stride": stride, "pad": pad, "rows": rows, "cols": cols, "in": str(spec),
                "out": str(out), **opts}
        run_cocotb(config=f"layer_engine_{rows}x{cols}_b{pa.bank_words_for(bank_bytes, cols)}",
                   component=lambda: engine_for(rows, cols, bank_bytes), toplevel="layer_engine",
                   test_module=TEST_MODULE, params=meta, seed=seed, waves=waves, cxx_opt=CXX_OPT,
                   quiet=True, source_key=engine_key(rows, cols, bank_bytes))
        with np.load(out) as z:
            y = z["y"]
            stats = json.loads(str(z["stats"]))
    return LayerResult(y, golden, stats)
