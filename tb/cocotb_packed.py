"""cocotb testbench of a registry block in packed lanes (:class:`scripts.sim.packed.PackedLanes`).

A clock cycle costs one write of ``din`` and one read of ``dout``; stimulus, packing, unpacking and the golden are
numpy over whole batches of cycles (:mod:`scripts.sim.packed_run`). ``$DUT_PARAMS`` (from
:func:`scripts.rtl.cosim.packed_cosim`): ``block``, ``config``, ``lanes``, ``job`` (random vectors, or shards of an
exhaustive run), ``io`` (``"stream"``: whole batches through the DPI-C buffer of :mod:`scripts.sim.stream`, one
``await`` per batch, the numpy work of the next batch and the check of the last one in a worker thread while the
simulator runs; ``"vpi"``: per cycle through the simulator's VPI as 32-bit vector values,
:mod:`scripts.sim.vpi_fast`; ``"cocotb"``: per cycle through cocotb's handles as Python ints), ``inject`` (a fault
the checker must catch: ``golden``, ``drop``, ``latency``), ``profile`` (a cProfile of the run's Python into the
result) and ``result_file``.
"""

import json
import time

from concurrent.futures import ThreadPoolExecutor

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge, Timer

from scripts.blocks import BLOCKS, packed_dut
from scripts.sim import func_coverage
from scripts.sim.cocotb_backend import CLOCK_PERIOD_NS, dut_params, np_rng, start
from scripts.sim.packed_run import Batch, PackedChecker, batches_for


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


def _injected(batches, inject, block: str, ftz: bool):
    """The batches, sampled into the functional coverage (a no-op unless ``$MRAM_RTL_COVERAGE`` is set), with one
    expected result wrong if ``inject == "golden"`` (bit 0 of lane 0 of the first)."""
    first = True
    for b in batches:
        lanes = next(iter(b.expected.values())).shape[1]
        func_coverage.record(block, b.inputs, ftz=ftz, valid=np.broadcast_to(np.asarray(b.valid)[:, None],
                                                                               (len(b.valid), lanes)))
        if first and inject == "golden":
            name = next(iter(b.expected))
            want = np.array(b.expected[name], copy=True)
            want[0, 0] ^= 1
            b = Batch(b.inputs, b.valid, {**b.expected, name: want}, b.anchors, b.label)
        first = False
        yield b


class _Dropper:
    """``inject == "drop"``: clears ``out_valid`` of the first result that comes out (a dropped result)."""

    def __init__(self, inject):
        self.armed = inject == "drop"

    def __call__(self, words: np.ndarray) -> np.ndarray:
        if self.armed:
            hit = np.flatnonzero(words[:, -1] & 1)
            if len(hit):
                words = words.copy()
                words[hit[0], -1] &= ~np.uint64(1)
                self.armed = False
        return words


async def _stream(top, checker, batches, drop, profiler) -> dict:
    """The batch stream path: Python once per batch (see the module docstring)."""
    from scripts.sim.stream import StreamPort

    port = StreamPort(top.layout.dout_words)
    pool = ThreadPoolExecutor(1, thread_name_prefix="stream-numpy")
    busy = {"numpy": 0.0}

    def timed(f, *a):
        t = time.perf_counter()
        try:
            return f(*a)
        finally:
            busy["numpy"] += time.perf_counter() - t

    drained = []

    def prepare():
        batch = next(batches, None)
        if batch is not None:
            return port.prepare(checker.submit(batch))
        if not drained:                         # then idle cycles until every result is out
            drained.append(True)
            return port.prepare(checker.drain_words())
        return None

    t_sim = t_wait = 0.0
    checks = []
    nxt = pool.submit(timed, prepare)
    try:
        while True:
            t1 = time.perf_counter()
            bufs = nxt.result()                 # ready unless numpy is slower than the simulator
            t_wait += time.perf_counter() - t1
            if bufs is None:
                break
            nxt = pool.submit(timed, prepare)   # the next batch is made while this one simulates
            port.load(*bufs)
            t2 = time.perf_counter()
            if profiler:
                profiler.enable()
            await Timer(len(bufs[0]) * CLOCK_PERIOD_NS, "ns")
            if profiler:
                profiler.disable()
            t_sim += time.perf_counter() - t2
            checks.append(pool.submit(timed, lambda w: checker.collect(drop(w)), port.collect()))
            while checks and checks[0].done():
                checks.pop(0).result()          # a mismatch raises here, a batch or two late
        for c in checks:
            c.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return {"sim_seconds": t_sim, "numpy_seconds": busy["numpy"], "wait_seconds": t_wait}


@cocotb.test()
async def packed_bit_exact(dut):
    """Every lane of every cycle bit-exact against the block's golden, at the block's latency."""
    p = dut_params()
    top = packed_dut(p)
    spec = BLOCKS[p["block"]]
    inject = p.get("inject")
    ftz = bool(p.get("config", {}).get("ftz", False))
    checker = PackedChecker(spec, top, spec.latency_of(top) + (1 if inject == "latency" else 0))
    drop = _Dropper(inject)
    io = p.get("io", "vpi")
    if io == "stream":
        profiler = None
        if p.get("profile"):
            import cProfile
            profiler = cProfile.Profile()
        await start(dut)
        t0 = time.perf_counter()
        times = await _stream(top, checker, _injected(iter(batches_for(p, spec, top, np_rng())), inject,
                                                       spec.name, ftz), drop, profiler)
        checker.finish()
        _finish(dut, p, top, {**checker.stats, "seconds": time.perf_counter() - t0, **times, "io": io}, profiler)
        return
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
        checker.collect(drop(port.finish(out)))
        t_prep += (t2 - t1) + (time.perf_counter() - t3)
        t_sim += t3 - t2

    batches = _injected(iter(batches_for(p, spec, top, np_rng())), inject, spec.name, ftz)
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
    _finish(dut, p, top, stats, profiler)


def _finish(dut, p, top, stats, profiler) -> None:
    func_coverage.export()                 # a no-op unless $MRAM_RTL_COVERAGE is set
    if profiler:
        import io as _io
        import pstats
        buf = _io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(8)
        stats["profile"] = buf.getvalue()
    dut._log.info("packed %s x%d: %s", p["block"], top.lanes, {k: v for k, v in stats.items() if k != "profile"})
    with open(p["result_file"], "w") as f:
        json.dump(stats, f)
