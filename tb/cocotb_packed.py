"""cocotb testbench of a registry block in packed lanes (:class:`scripts.sim.packed.PackedLanes`).

A clock cycle costs one write of ``din`` and one read of ``dout``; stimulus, packing, unpacking and the golden are
numpy over whole batches of cycles (:mod:`scripts.sim.packed_run`). ``$DUT_PARAMS`` (from
:func:`scripts.rtl.cosim.packed_cosim`): ``block``, ``config``, ``lanes``, ``job`` (random vectors, or shards of an
exhaustive run), ``io`` (``"vpi"``: the words move through the simulator's VPI as 32-bit vector values,
:mod:`scripts.sim.vpi_fast`; ``"cocotb"``: through cocotb's handles as Python ints), ``profile`` (a cProfile of the
run's Python into the result) and ``result_file``.
"""

import json
import time

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

from scripts.blocks import BLOCKS, packed_dut
from scripts.sim.cocotb_backend import dut_params, np_rng, start
from scripts.sim.packed_run import PackedChecker, batches_for


class _CocotbPort:
    """``din``/``dout`` through cocotb's handles: one Python int per cycle and direction."""

    def __init__(self, dut, layout):
        self.din, self.dout, self.n_out = dut.din, dut.dout, layout.dout_words

    def prepare(self, words: np.ndarray):
        data, n = words.astype("<u8").tobytes(), words.shape[1] * 8
        return [int.from_bytes(data[t * n:(t + 1) * n], "little") for t in range(len(words))]

    def put(self, rows, t):
        self.din.value = rows[t]

    def new_out(self, cycles):
        return []

    def get(self, out, t):
        out.append(self.dout.value)

    def finish(self, out) -> np.ndarray:
        n = self.n_out * 8
        raw = b"".join(v.to_unsigned().to_bytes(n, "little") for v in out)
        return np.frombuffer(raw, "<u8").reshape(len(out), -1)


class _VpiPort:
    """``din``/``dout`` as VPI vector values copied from and into numpy rows (no Python int per cycle)."""

    def __init__(self, dut, layout):
        from scripts.sim.vpi_fast import VpiVector

        self.vin = VpiVector(dut.din._path, len(dut.din))
        self.vout = VpiVector(dut.dout._path, len(dut.dout))
        self.n_out = layout.dout_words
        self._words = VpiVector.words

    def prepare(self, words: np.ndarray):
        return self._words(words, self.vin.nwords)

    def new_out(self, cycles):
        return np.zeros((cycles, self.n_out * 2, 2), np.uint32)

    def finish(self, out) -> np.ndarray:
        return np.ascontiguousarray(out[:, :, 0]).view("<u8").reshape(len(out), -1)


@cocotb.test()
async def packed_bit_exact(dut):
    """Every lane of every cycle bit-exact against the block's golden, at the block's latency."""
    p = dut_params()
    top = packed_dut(p)
    spec = BLOCKS[p["block"]]
    checker = PackedChecker(spec, top, spec.latency_of(top))
    io = p.get("io", "vpi")
    if io == "vpi":
        from scripts.sim.vpi_fast import available
        if not available():            # a simulator that does not export its VPI: cocotb's handles instead
            io = "cocotb"
    port = (_VpiPort if io == "vpi" else _CocotbPort)(dut, top.layout)
    edge = RisingEdge(dut.clk)
    profiler = None
    if p.get("profile"):
        import cProfile
        profiler = cProfile.Profile()
    await start(dut)
    t_sim = t_prep = 0.0
    t0 = time.perf_counter()

    async def run(words):
        nonlocal t_sim, t_prep
        t1 = time.perf_counter()
        rows = port.prepare(words)
        out = port.new_out(len(words))
        t2 = time.perf_counter()
        if profiler:
            profiler.enable()
        if io == "vpi":    # immediate writes in the edge's callback, before its evaluation: sampled at this edge
            put, get = port.vin.put, port.vout.get_into
            a_in, s_in = rows.ctypes.data, rows.strides[0]
            a_out, s_out = out.ctypes.data, out.strides[0]
            for t in range(len(words)):
                await edge
                put(a_in + t * s_in)
                get(a_out + t * s_out)
        else:              # cocotb's writes land after the edge's evaluation: sampled at the next edge
            for t in range(len(words)):
                port.put(rows, t)
                await edge
                port.get(out, t)
        if profiler:
            profiler.disable()
        t3 = time.perf_counter()
        checker.collect(port.finish(out))
        t_prep += (t2 - t1) + (time.perf_counter() - t3)
        t_sim += t3 - t2

    batches = iter(batches_for(p, spec, top, np_rng()))
    while True:
        t1 = time.perf_counter()              # stimulus and golden are made when the next batch is drawn
        batch = next(batches, None)
        if batch is None:
            break
        words = checker.submit(batch)
        t_prep += time.perf_counter() - t1
        await run(words)
    await run(checker.drain_words())
    checker.finish()
    stats = {**checker.stats, "seconds": time.perf_counter() - t0, "sim_seconds": t_sim, "numpy_seconds": t_prep,
             "io": io}
    if profiler:
        import io as _io
        import pstats
        buf = _io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(8)
        stats["profile"] = buf.getvalue()
    dut._log.info("packed %s x%d: %s", p["block"], top.lanes, {k: v for k, v in stats.items() if k != "profile"})
    with open(p["result_file"], "w") as f:
        json.dump(stats, f)
