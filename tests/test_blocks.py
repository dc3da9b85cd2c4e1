# amaranth: UnusedElaboratable=no
"""Every registry block (``scripts/blocks/__init__.py``) in the Amaranth simulator, through the shared contract.

Registry-driven, so a new block is covered by adding its entry: its ports exist, its default (paper) configuration
elaborates, its own seeded stimulus runs bit-exactly against its golden with idle cycles (and, for blocks with a
memory port, through the memory responder with a read latency and a busy memory), and a lanes wrapper of it
(where allowed) gives the same results. Block-specific tests are in ``tests/test_<block>.py``.
"""

import numpy as np
import pytest
from amaranth.hdl import Fragment, Shape

from scripts.blocks import BLOCKS, select
from scripts.blocks import dut_for
from scripts.rtl.cosim import cosim_cases
from scripts.sim import rtl_block

#: Small configurations for the Amaranth simulator (the paper's sizes run under Verilator in tb/).
SMALL = {"bitcounter": {"width": 16, "max_rows": 16}, "bitcount_reader": {"width": 16, "depth": 40, "max_rows": 24}}
N = {"bitcounter": 20, "bitcount_reader": 20}


STREAM_BLOCKS = sorted(n for n, s in BLOCKS.items() if s.stream is not None)


@pytest.mark.parametrize("name", sorted(n for n, s in BLOCKS.items() if s.stream is None))
def test_non_stream_entry_names_its_tests(name):
    """A block outside the generic stream runner names the test files that verify it, and they exist."""
    from scripts.toolchain.paths import REPO
    spec = BLOCKS[name]
    dut = spec.build()
    assert spec.latency_of(dut) >= 1
    Fragment.get(dut, None)
    assert spec.verified_by and all((REPO / f).is_file() for f in spec.verified_by), spec.verified_by


@pytest.mark.parametrize("name", STREAM_BLOCKS)
def test_entry_matches_the_component(name):
    spec = BLOCKS[name]
    dut = spec.build()
    Fragment.get(dut, None)                       # the default (paper) configuration elaborates
    members = dut.signature.members
    groups = [*spec.stream.inputs, *spec.stream.outputs, *spec.stream.shared]
    for ports in spec.memories.values():
        groups += [p for p in (ports.addr, ports.req, ports.rdata, ports.rvalid, ports.wdata, ports.we, ports.ready)
                   if p]
    missing = [p for p in groups if p not in members]
    assert not missing, f"{name}: registry names ports the component lacks: {missing}"
    for p in spec.stream.shared:
        assert Shape.cast(members[p].shape).width == 1, f"{name}.{p} must be one bit"
    if spec.latency is not None:
        assert isinstance(spec.latency_of(dut), int) and spec.latency_of(dut) >= 1


@pytest.mark.parametrize("name", STREAM_BLOCKS)
def test_block_against_its_golden(name, seed):
    spec = BLOCKS[name]
    rng = np.random.default_rng(seed)
    dut = spec.build(**SMALL.get(name, {}))
    extra = {"read_latency": 3, "ready_probability": 0.6} if spec.memories else {}
    run = rtl_block(spec, dut, rng=rng, n=N.get(name, 150), gap_probability=0.25, **extra)
    run.verify()
    assert run.scoreboard.observed == run.scoreboard.n > 0


@pytest.mark.parametrize("name", sorted(n for n, s in BLOCKS.items() if s.stream and s.stream.out_ready))
def test_block_under_back_pressure(name, seed):
    """``out_ready`` held low at random: every result still bit-exact and in order, some results waited (so the
    stalls happened), and each waited at least the block's latency."""
    spec = BLOCKS[name]
    dut = spec.build(**SMALL.get(name, {}))
    run = rtl_block(spec, dut, rng=np.random.default_rng(seed), n=N.get(name, 150), gap_probability=0.1,
                    out_ready_probability=0.5)
    run.verify()
    steps = np.asarray(run.expected.anchors if run.expected.anchors is not None else np.arange(run._n_out))
    waited = np.array(run.monitor.out_cycles) - np.array(run.driver.in_cycles)[steps]
    assert run.scoreboard.observed == run.scoreboard.n > 0 and waited.max() > spec.latency_of(dut)


@pytest.mark.parametrize("name", sorted(n for n, s in BLOCKS.items() if s.lanes))
def test_lanes_wrapper(name, seed):
    """Three copies side by side (the last cycle padded): the same results as the golden, in order."""
    spec = BLOCKS[name]
    dut = dut_for(spec, {"lanes": 3})
    run = rtl_block(spec, dut, rng=np.random.default_rng(seed), n=40, lanes=3, gap_probability=0.2)
    run.verify()


def test_registry_lookup_errors():
    with pytest.raises(ValueError, match=r"unknown block\(s\) \['nope'\]; known blocks"):
        select(["bitcounter", "nope"])
    with pytest.raises(ValueError, match="cannot be wrapped in lanes"):
        dut_for(BLOCKS["bitcounter"], {"lanes": 2})
    assert all(block in BLOCKS for block, _ in cosim_cases())


def test_a_new_block_is_one_registry_entry_away(tmp_path, monkeypatch):
    """A block the flows have never seen: one BlockSpec entry, and Verilog, lint and the checked Amaranth run
    all pick it up (the Verilator co-simulation reads the same registry in ``tb/test_cosim.py``)."""
    from amaranth.hdl import Module, Signal
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from scripts import blocks
    from scripts.rtl import flow
    from scripts.sim import BlockSpec, Expected, Stimulus, StreamPorts

    class Negate(wiring.Component):
        """Two's complement of an 8-bit value, two register stages."""
        a: In(8)
        valid: In(1)
        y: Out(8)
        y_valid: Out(1)
        latency = 2

        def elaborate(self, platform):
            m = Module()
            r, v = Signal(8), Signal()
            m.d.sync += [r.eq(-self.a), v.eq(self.valid), self.y.eq(r), self.y_valid.eq(v)]
            return m

    spec = BlockSpec(name="negate", factory=Negate, config={},
                     stream=StreamPorts(inputs=("a",), valid="valid", outputs=("y",), out_valid="y_valid"),
                     latency="latency", stimulus=lambda dut, rng, n: Stimulus({"a": rng.integers(0, 256, n)}),
                     golden=lambda dut, stim: Expected({"y": (-stim.inputs["a"]) % 256}))
    monkeypatch.setitem(blocks.BLOCKS, "negate", spec)
    assert "module negate" in flow.generate(["negate"], out_dir=tmp_path)["negate"].read_text()
    assert flow.lint(["negate"]) == {"negate": []}
    rtl_block(spec, spec.build(), rng=np.random.default_rng(1), n=50, gap_probability=0.3).verify()
    wrong = BlockSpec(**{**spec.__dict__, "golden": lambda dut, stim: Expected({"y": stim.inputs["a"]})})
    with pytest.raises(AssertionError, match="y expected"):
        rtl_block(wrong, wrong.build(), rng=np.random.default_rng(1), n=50).verify()
