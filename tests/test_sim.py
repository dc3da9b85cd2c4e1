# amaranth: UnusedElaboratable=no
"""The simulation contract (``scripts/sim``): cycle convention, back-pressure, the memory responder, the
scoreboard, error injection; and the sub-array reader that bridges a behavioural array into the bitcounter.

The cocotb side runs the same agents (``tb/test_cosim.py``); both check latencies against the same attributes.
"""

import dataclasses

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from hw.bitcount_reader import BitCountReader
from model.bcnn.bitcounter import ref_bitcount_reader
from model.memory import ArrayModel, BitFlipInjector
from scripts.blocks import BLOCKS
from scripts.sim import (MemoryPorts, MemoryResponder, SimTimeout, Stimulus, StreamDriver, StreamMonitor,
                         StreamPorts, rtl_block, run_amaranth)


class Delay(wiring.Component):
    """``latency`` register stages on data and valid: the cycle convention's reference."""

    data: In(8)
    valid: In(1)
    out: Out(8)
    out_valid: Out(1)

    def __init__(self, latency):
        self.latency = latency
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        d, v = self.data, self.valid
        for i in range(self.latency):
            nd, nv = Signal(8, name=f"d{i}"), Signal(name=f"v{i}")
            m.d.sync += [nd.eq(d), nv.eq(v)]
            d, v = nd, nv
        m.d.comb += [self.out.eq(d), self.out_valid.eq(v)]
        return m


class Queue(wiring.Component):
    """A 4-deep FIFO with ready/valid on both sides: back-pressure in and out."""

    w_data: In(8)
    w_en: In(1)
    w_rdy: Out(1)
    r_data: Out(8)
    r_rdy: Out(1)
    r_en: In(1)

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=8, depth=4)
        m.d.comb += [fifo.w_data.eq(self.w_data), fifo.w_en.eq(self.w_en), self.w_rdy.eq(fifo.w_rdy),
                     self.r_data.eq(fifo.r_data), self.r_rdy.eq(fifo.r_rdy), fifo.r_en.eq(self.r_en)]
        return m


DELAY = StreamPorts(inputs=("data",), valid="valid", outputs=("out",), out_valid="out_valid")
QUEUE = StreamPorts(inputs=("w_data",), valid="w_en", ready="w_rdy", outputs=("r_data",), out_valid="r_rdy",
                    out_ready="r_en")


@pytest.mark.parametrize("latency", [1, 2, 5])
def test_cycle_convention_latency_is_out_minus_in(latency, rng):
    """A value presented in cycle t shows in cycle t + latency, with and without idle cycles."""
    data = rng.integers(0, 256, 50)
    gaps = rng.integers(0, 3, 50)
    driver = StreamDriver(DELAY, {"data": data}, gaps=gaps, rng=rng)
    monitor = StreamMonitor(DELAY, 50)
    run_amaranth(Delay(latency), [driver, monitor])
    assert monitor.outputs["out"] == data.tolist()
    assert np.all(np.array(monitor.out_cycles) - np.array(driver.in_cycles) == latency)
    assert driver.in_cycles[0] == gaps[0] and np.all(np.diff(driver.in_cycles) == gaps[1:] + 1)


def test_back_pressure_both_ways(rng):
    """Random ready patterns on the output side fill the queue; the driver holds a word until it is taken."""
    data = rng.integers(0, 256, 200)
    out_ready = rng.random(4096) < 0.35
    driver = StreamDriver(QUEUE, {"w_data": data}, gaps=rng.integers(0, 2, 200), rng=rng)
    monitor = StreamMonitor(QUEUE, 200, ready=lambda t: bool(out_ready[t]))
    cycles = run_amaranth(Queue(), [driver, monitor])
    assert monitor.outputs["r_data"] == data.tolist()
    held = np.diff(driver.in_cycles) - 1 - np.asarray(driver.gaps[1:])
    assert held.max() > 0, "the test must exercise back-pressure on the input"
    assert cycles > 200 / 0.35 * 0.9


def test_timeout_names_the_busy_agent():
    driver = StreamDriver(DELAY, {"data": [1, 2, 3]})
    monitor = StreamMonitor(DELAY, 10)           # expects more results than can come
    with pytest.raises(SimTimeout, match="StreamMonitor still busy"):
        run_amaranth(Delay(2), [driver, monitor], max_cycles=40)


class FakeIO:
    """Ports as a dict: exercises the responder without a simulator."""

    def __init__(self):
        self.values = {}

    def set(self, name, value):
        self.values[name] = value

    def get(self, name):
        return self.values.get(name, 0)

    def width(self, name):
        return 8


def test_responder_latencies_and_in_order_completion():
    """Reads after `read_latency`, writes after `write_latency`, completions in order, one per cycle."""
    ports = MemoryPorts(addr="a", req="req", rdata="rd", rvalid="rv", wdata="wd", we="we")
    mem = ArrayModel(8, 8, init=range(8))
    resp = MemoryResponder(ports, mem, read_latency=3, write_latency=1)
    io = FakeIO()
    requests = {0: ("w", 5, 99), 1: ("r", 5, 0), 2: ("r", 2, 0), 4: ("w", 2, 7)}
    completions = []
    for t in range(12):
        resp.drive(t, io)
        if io.get("rv"):
            completions.append((t, io.get("rd")))
        kind, addr, data = requests.get(t, (None, 0, 0))
        io.values.update(req=int(kind is not None), we=int(kind == "w"), a=addr, wd=data)
        resp.observe(t, io)
    # write@0 -> 1; read@1 -> 4 (sees the write); read@2 -> 5; write@4 -> 5 is taken, so 6
    assert completions == [(1, 0), (4, 99), (5, 2), (6, 0)]
    assert mem.words[5] == 99 and mem.words[2] == 7
    assert (resp.counters.reads, resp.counters.writes) == (2, 2)
    assert [e[:3] for e in resp.log] == [(1, "w", 5), (4, "r", 5), (5, "r", 2), (6, "w", 2)]


@pytest.mark.parametrize("kwargs,match", [({"read_latency": 0}, "read_latency must be an integer >= 1"),
                                          ({"ready": lambda t: True}, "needs a port group with a ready port")])
def test_responder_bad_arguments(kwargs, match):
    ports = MemoryPorts(addr="a", req="req", rdata="rd", rvalid="rv")
    with pytest.raises(ValueError, match=match):
        MemoryResponder(ports, ArrayModel(4, 8), **kwargs)


def _reader_commands(dut, rng, n, max_rows=None):
    rows = rng.integers(1, (max_rows or dut.max_rows) + 1, n)
    addr = rng.integers(0, dut.depth, n)
    return Stimulus({"cmd_addr": addr, "cmd_rows": rows},
                    memories={"mem": ArrayModel.from_bits(rng.random((dut.depth, dut.width)) < 0.5)},
                    gaps=np.zeros(n, np.int64))


@pytest.mark.parametrize("read_latency", [1, 2, 4])
def test_reader_cycles_match_the_formula(read_latency, rng):
    """With the memory always ready: count after rows + read_latency + bitcounter latency; commands every
    rows + read_latency + 1 cycles; every row read exactly once."""
    dut = BitCountReader(32, 64, 16)
    stim = _reader_commands(dut, rng, 20)
    run = rtl_block(BLOCKS["bitcount_reader"], dut, stim, rng=rng, read_latency=read_latency)
    run.verify()
    rows = stim.inputs["cmd_rows"]
    ins, outs = np.array(run.driver.in_cycles), np.array(run.monitor.out_cycles)
    assert np.array_equal(outs - ins, [dut.count_latency(int(r), read_latency) for r in rows])
    assert np.array_equal(np.diff(ins), [dut.command_period(int(r), read_latency) for r in rows[:-1]])
    resp = run.responders["mem"]
    assert resp.counters.reads == stim.memories["mem"].reads == rows.sum()
    assert [addr for _, _, addr, _ in resp.log] == [
        (int(a) + k) % dut.depth for a, r in zip(stim.inputs["cmd_addr"], rows) for k in range(int(r))]


def test_reader_under_memory_back_pressure_and_gaps(rng):
    """A busy memory (ready 40 % of cycles) and idle command cycles change timing, never the counts."""
    spec = BLOCKS["bitcount_reader"]
    dut = spec.build(width=16, depth=50, max_rows=50)
    run = rtl_block(spec, dut, rng=rng, n=40, gap_probability=0.3, read_latency=2, ready_probability=0.4)
    run.verify()
    assert run.responders["mem"].counters.stalls > 0


def test_bit_errors_injected_through_the_responder(rng):
    """At a BER the served rows differ from the array; the RTL counts what was served, exactly as the golden
    replays it, and differ from the clean counts."""
    spec = BLOCKS["bitcount_reader"]
    dut = spec.build(width=64, depth=32, max_rows=32)
    run = rtl_block(spec, dut, rng=rng, n=30, read_latency=2, ber=0.02)
    run.verify()
    stim, resp = run.stimulus, run.responders["mem"]
    words = stim.memories["mem"].words
    flipped = sum(bin(data ^ words[addr]).count("1") for _, _, addr, data in resp.log)
    assert flipped == resp.counters.injected_bits > 0
    clean = ref_bitcount_reader(words, stim.inputs["cmd_addr"], stim.inputs["cmd_rows"], 64, 32)
    assert [int(v) for v in run.monitor.outputs["count"]] != clean


def test_scoreboard_and_latency_check_catch_errors(rng):
    """A golden off by one, or a wrong latency attribute, fails verify() (so the checks can fail)."""
    spec = BLOCKS["bitcounter"]

    def off_by_one(dut, stim):
        expected = spec.golden(dut, stim)
        expected.outputs["count"] = expected.outputs["count"] + 1
        return expected

    dut = spec.build(width=8, max_rows=8)
    run = rtl_block(dataclasses.replace(spec, golden=off_by_one), dut, rng=rng, n=10)
    with pytest.raises(AssertionError, match="count expected"):
        run.verify()
    run = rtl_block(dataclasses.replace(spec, latency="tree_stages"), spec.build(width=8, max_rows=8), rng=rng, n=10)
    with pytest.raises(AssertionError, match="latencies"):
        run.verify()


def test_missing_result_is_reported():
    from scripts.sim import Scoreboard
    sb = Scoreboard("x", {"y": [1, 2]})
    sb.add({"y": 1})
    with pytest.raises(AssertionError, match="1 of 2 expected results never came"):
        sb.check()


def test_array_model_and_injector(rng):
    bits = rng.random((10, 37)) < 0.5
    mem = ArrayModel.from_bits(bits)
    assert np.array_equal(mem.bits(), bits)
    mem.write(3, (1 << 40) - 1)                       # masked to the width
    assert mem.read(3) == (1 << 37) - 1 and (mem.reads, mem.writes) == (1, 1)
    with pytest.raises(IndexError, match=r"addr must be in \[0, 10\)"):
        mem.read(10)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        ArrayModel(0, 8)
    inj = BitFlipInjector(0.01, 64, seed=5)
    assert [inj.flips(k) for k in range(50)] == [BitFlipInjector(0.01, 64, seed=5).flips(k) for k in range(50)]
    n = 4000
    total = sum(bin(inj.flips(k)).count("1") for k in range(n))
    mean, sd = n * 64 * 0.01, np.sqrt(n * 64 * 0.01 * 0.99)
    assert abs(total - mean) < 5 * sd, f"{total} flips, expected {mean:.0f} +- {5 * sd:.0f} (5 sigma, binomial)"
    assert BitFlipInjector(0.0, 8).flips(3) == 0
    with pytest.raises(ValueError, match="ber"):
        BitFlipInjector(1.5, 8)


def test_random_pattern_depends_on_seed_and_cycle_only():
    """The one seeded ready pattern of the responders and monitors: None at probability 1, on about as often as
    asked, the same answer however often a cycle is asked, and read from ``origin()`` when one is given."""
    from scripts.sim.contract import random_pattern

    assert random_pattern(1.0, np.random.default_rng(0)) is None
    p = random_pattern(0.3, np.random.default_rng(5))
    on = [p(t) for t in range(20000)]
    assert abs(np.mean(on) - 0.3) < 0.02                                   # ~5 sigma of 20000 draws
    assert [p(t) for t in range(100)] == on[:100]                          # asking again changes nothing
    assert on[:100] == [random_pattern(0.3, np.random.default_rng(5))(t) for t in range(100)]
    start = [0]
    q = random_pattern(0.3, np.random.default_rng(5), origin=lambda: start[0])
    start[0] = 1000
    assert [q(1000 + t) for t in range(100)] == on[:100]                   # counted from the origin
