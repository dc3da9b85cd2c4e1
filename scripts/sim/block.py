"""What a block declares to the registry (:class:`BlockSpec`) and one checked run of it (:class:`BlockRun`).

:class:`BlockRun` turns a registry entry, a component and a seed into agents (stream driver, monitor with an
in-order scoreboard against the block's ``ref_*`` golden, one :class:`~scripts.sim.contract.MemoryResponder` per
memory port served from the stimulus' behavioural model) and, after either backend ran them, checks every result
bit-exactly and every latency against the component's latency attribute::

    run = BlockRun(BLOCKS["bitcounter"], dut, rng, n=500, gap_probability=0.2)
    run_amaranth(dut, run.agents)            # or, inside cocotb: await run_cocotb(dut, run.agents)
    run.verify()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
from amaranth.hdl import Shape

from model.checks import check_int, check_real

from scripts.sim.contract import (MemoryPorts, MemoryResponder, Scoreboard, StreamDriver, StreamMonitor,
                                  StreamPorts, random_pattern)

__all__ = ["Stimulus", "Expected", "BlockSpec", "BlockRun", "StreamResult", "random_gaps"]


@dataclass
class Stimulus:
    """One test's input: transactions, the behavioural models behind the memory ports, optional fixed gaps.

    Attributes
    ----------
    inputs : dict of port -> int array (N,)
        One entry per input transaction.
    memories : dict of memory-port-group name -> model object
        Served by a :class:`~scripts.sim.contract.MemoryResponder` each.
    gaps : int array (N,), optional
        Idle cycles before each transaction (overrides the run's random gaps; corner streams use it).
    describe : callable(i) -> str, optional
        Names transaction ``i`` in failure messages.
    inject : callable(access, addr, data) -> data, optional
        The memory responders' error-injection hook; the golden replays it (set by :class:`BlockRun`).
    """

    inputs: dict
    memories: dict = field(default_factory=dict)
    gaps: np.ndarray | None = None
    describe: Callable[[int], str] | None = None
    inject: Callable[[int, int, int], int] | None = None

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values()))) if self.inputs else 0


@dataclass
class Expected:
    """The golden's results: ``outputs`` (port -> array, one per result) and, when results are not one per
    input, ``anchors``: the index of the input transaction each result's latency is measured from."""

    outputs: dict
    anchors: np.ndarray | None = None


@dataclass(frozen=True)
class BlockSpec:
    """A registry entry (``scripts/blocks/__init__.py``): everything the flows need to know about one ``hw/`` block.

    Attributes
    ----------
    name : str
        Registry key and top-level module name of the Verilog.
    factory : callable(**config) -> wiring.Component
    config : dict
        The default (paper) configuration, ``factory(**config)``.
    stream : StreamPorts
        Port groups: inputs, outputs, valid names.
    latency : str or None
        Name of the component attribute giving the fixed latency (None: variable, not checked per result).
    stimulus : callable(component, rng, n) -> Stimulus
        Seeded stimulus: corners first, then random transactions (``n`` sets the size).
    golden : callable(component, Stimulus) -> Expected
        The ``ref_*`` golden on that stimulus.
    memories : dict of group name -> MemoryPorts
        Request ports that a responder serves from ``Stimulus.memories``.
    lanes : bool
        The block can be wrapped in :class:`scripts.sim.lanes.Lanes` (one result per input, fixed latency).
    cosim : dict of config name -> dict
        Verilator configurations run by ``tb/test_cosim.py``: ``config`` (factory kwargs), ``n``, ``gaps``
        (probability of an idle cycle), ``lanes``, ``read_latency``, ``ready`` (probability a memory port is
        ready), ``ber`` (bit errors injected into reads), ``slow`` (only with ``-m slow``).
    source : str
        Paper reference.
    configs : dict of name -> dict
        Further named configurations (factory keywords) the flows accept with ``--config NAME``, e.g. ``paper``
        when the paper's size is too large to be the default.
    verified_by : tuple of str
        For a block that is not a stream block (``stream`` None: the PE array, the scratchpad, the layer
        engine), the test files that verify it against its golden instead of the generic block runner.
    packed : dict of config name -> dict
        Packed-lane Verilator runs (:class:`scripts.sim.packed.PackedLanes`, ``tb/test_cosim.py``): ``config``,
        ``lanes``, ``n`` (vectors), ``gaps``, ``slow``. Needs ``lanes`` True or ``packed_stimulus``.
    packed_shared : tuple of str
        Inputs carried once for all packed lanes (besides ``valid``), e.g. the bitcounter's ``first``/``last``.
    packed_stimulus : callable(component, rng, cycles, lanes) -> (inputs, expected), optional
        For a block that is not elementwise: ``inputs`` ``(cycles, lanes)`` (shared ``(cycles,)``), ``expected``
        its golden results ``(n, lanes)`` plus ``"_anchors"``, the cycles that produce them.
    """

    name: str
    factory: Callable
    config: Mapping
    stream: StreamPorts | None
    latency: str | None
    stimulus: Callable | None
    golden: Callable | None
    memories: Mapping[str, MemoryPorts] = field(default_factory=dict)
    lanes: bool = False
    cosim: Mapping[str, Mapping] = field(default_factory=dict)
    source: str = ""
    configs: Mapping[str, Mapping] = field(default_factory=dict)
    verified_by: tuple = ()
    packed: Mapping[str, Mapping] = field(default_factory=dict)
    packed_shared: tuple = ()
    packed_stimulus: Callable | None = None

    def build(self, **overrides):
        """The component in the default configuration, with ``overrides`` applied."""
        return self.factory(**{**self.config, **overrides})

    def config_params(self, config: str | None = None) -> dict:
        """Factory keywords of the named configuration (``None``: the default); ValueError naming the known ones."""
        if config is None:
            return dict(self.config)
        if config not in self.configs:
            raise ValueError(f"--config: block {self.name!r} has no configuration {config!r}; known: "
                             f"{sorted(self.configs) or 'none'}")
        return {**self.config, **self.configs[config]}

    def build_named(self, config: str | None = None):
        """The component in the named configuration (``None``: the default)."""
        return self.factory(**self.config_params(config))

    def latency_of(self, component) -> int | None:
        return None if self.latency is None else int(getattr(component, self.latency))


def random_gaps(rng: np.random.Generator, n: int, probability: float, max_run: int = 8) -> np.ndarray:
    """Idle cycles before each of ``n`` transactions: each cycle idle with ``probability`` (runs capped)."""
    if probability <= 0:
        return np.zeros(n, np.int64)
    return np.minimum(rng.geometric(1 - probability, n) - 1, max_run).astype(np.int64)


@dataclass
class StreamResult:
    """What a stream run observed: results per output port, and the cycles of inputs and results."""

    outputs: dict
    in_cycles: np.ndarray
    out_cycles: np.ndarray

    @property
    def latencies(self) -> np.ndarray:
        """Per transaction: cycles from its input cycle to its result's cycle (one result per input)."""
        if self.in_cycles.size != self.out_cycles.size:
            raise ValueError(f"{self.in_cycles.size} inputs but {self.out_cycles.size} results")
        return self.out_cycles - self.in_cycles

    @property
    def result_intervals(self) -> np.ndarray:
        """Cycles between consecutive results."""
        return np.diff(self.out_cycles)


class BlockRun:
    """Agents for one checked run of a registry block, and the checks after it (see the module docstring).

    Parameters
    ----------
    spec : BlockSpec
    component : wiring.Component
        The block (or a :class:`~scripts.sim.lanes.Lanes` wrapper of it).
    rng : numpy Generator
        Stimulus, gaps, idle-cycle garbage and memory ready patterns all come from it.
    n : int
        Stimulus size, passed to ``spec.stimulus``.
    gap_probability : float
        Probability of an idle cycle before a transaction (ignored when the stimulus fixes its gaps).
    lanes : int
        Transactions per cycle (the component is then a ``Lanes`` wrapper).
    read_latency, write_latency : int
        Of every memory responder.
    ready_probability : float
        Probability that a memory port's ``ready`` is high in a cycle (1: always).
    out_ready_probability : float
        Probability that the monitor holds the block's ``out_ready`` high in a cycle (blocks with ``out_ready``;
        1: always). Below 1 the results may wait, so each latency is checked as at least the block's.
    ber : float
        Bit error rate injected into every word a memory responder reads
        (:class:`model.memory.BitFlipInjector`, seeded from ``rng``; the golden replays it).
    stimulus : Stimulus, optional
        Use this instead of ``spec.stimulus(component, rng, n)``.
    """

    def __init__(self, spec: BlockSpec, component, rng: np.random.Generator, n: int = 200, *,
                 gap_probability: float = 0.0, lanes: int = 1, read_latency: int = 1, write_latency: int = 1,
                 ready_probability: float = 1.0, out_ready_probability: float = 1.0, ber: float = 0.0,
                 stimulus: Stimulus | None = None):
        check_int("n", n, min=0)
        check_real("gap_probability", gap_probability, min=0, max=1, max_open=True)
        check_real("ready_probability", ready_probability, min=0, max=1, min_open=True)
        check_real("out_ready_probability", out_ready_probability, min=0, max=1, min_open=True)
        check_real("ber", ber, min=0, max=1)
        self.spec, self.component, self.lanes = spec, component, check_int("lanes", lanes, min=1)
        self.stimulus = stim = stimulus if stimulus is not None else spec.stimulus(component, rng, n)
        inputs = {k: np.asarray(v) for k, v in stim.inputs.items()}
        n_in = len(stim)
        pad = (-n_in) % lanes                       # fill the last cycle's lanes with copies of transaction 0
        if pad:
            inputs = {k: np.concatenate([v, np.repeat(v[:1], pad)]) for k, v in inputs.items()}
        steps = (n_in + pad) // lanes
        gaps = stim.gaps if stim.gaps is not None else random_gaps(rng, steps, gap_probability)
        self.driver = StreamDriver(spec.stream, inputs, gaps=gaps, rng=rng, lanes=lanes)
        if ber > 0:
            from model.memory import BitFlipInjector
            width = min(Shape.cast(component.signature.members[p.rdata].shape).width for p in spec.memories.values())
            stim.inject = BitFlipInjector(ber, width, seed=int(rng.integers(1 << 31)))
        self.expected = spec.golden(component, stim)
        n_out = len(next(iter(self.expected.outputs.values())))
        self.scoreboard = Scoreboard(spec.name, self.expected.outputs, describe=self._describe)
        self._n_out = n_out
        expect_steps = -(-n_out // lanes) if lanes > 1 else n_out
        out_ready = random_pattern(out_ready_probability, rng) if spec.stream.out_ready is not None else None
        self._stalls = out_ready is not None
        self.monitor = StreamMonitor(spec.stream, expect_steps, ready=out_ready, lanes=lanes,
                                     on_result=self._on_result)
        self.responders = {}
        for group, ports in spec.memories.items():
            if group not in stim.memories:
                raise ValueError(f"{spec.name}: the stimulus has no model for memory port group {group!r}")
            ready = random_pattern(ready_probability, rng) if ports.ready is not None else None
            self.responders[group] = MemoryResponder(ports, stim.memories[group], read_latency=read_latency,
                                                     write_latency=write_latency, ready=ready, inject=stim.inject)
        self.agents = [self.driver, *self.responders.values(), self.monitor]
        self._seen = 0

    def _describe(self, i: int) -> str:
        if self.stimulus.describe is None:
            return ""
        anchors = self.expected.anchors
        j = int(anchors[i]) if anchors is not None and i < len(anchors) else i
        return self.stimulus.describe(j)

    def _on_result(self, result: dict) -> None:
        if self._seen < self._n_out:             # lane padding produces extra results; they are not checked
            self.scoreboard.add(result)
        self._seen += 1

    def verify(self) -> None:
        """Every result bit-exact and in order; every result at the block's latency after its input."""
        self.scoreboard.check()
        latency = self.spec.latency_of(self.component)
        if latency is None:
            return
        anchors = self.expected.anchors
        in_cycles = np.array(self.driver.in_cycles)
        out_cycles = np.array(self.monitor.out_cycles)
        if anchors is None:
            anchors = np.arange(self._n_out)
        steps = np.unique(np.asarray(anchors) // self.lanes)
        if len(out_cycles) != len(steps):
            raise AssertionError(f"{self.spec.name}: {len(out_cycles)} result cycles for {len(steps)} inputs")
        observed = out_cycles - in_cycles[steps]
        if self._stalls and np.all(observed >= latency):      # back-pressure: a result may wait
            return
        if not np.all(observed == latency):
            raise AssertionError(f"{self.spec.name}: latencies {sorted(set(observed.tolist()))} cycles, expected "
                                 f"{latency} (the `{self.spec.latency}` attribute)")
