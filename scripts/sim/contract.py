"""The simulation contract: port groups, agents (driver, monitor, memory responder), scoreboard, cycle loop.

One contract, two simulators. A testbench is a list of **agents**, plain Python objects that the cycle loop of
a backend (:func:`scripts.sim.amaranth_backend.run_amaranth` or :func:`scripts.sim.cocotb_backend.run_agents`)
calls once per clock cycle; the agents never see which simulator runs them.

Cycle convention (both backends)
--------------------------------
Cycle 0 is the first clock period after reset. In cycle ``t`` the loop

1. calls ``agent.drive(t, io)`` on every agent: ``io.set(port, value)`` puts a value on a DUT input for cycle
   ``t`` (held until set again);
2. lets the clock edge that ends cycle ``t`` happen;
3. calls ``agent.observe(t, io)``: ``io.get(port)`` is the value the port had *during* cycle ``t``
   (sampled at that edge, before the flip-flops update).

So a block of latency ``L`` whose input transaction is presented in cycle ``t`` shows its result in cycle
``t + L``: latency = ``out_cycle - in_cycle``, in both simulators. A valid/ready transfer happens in the cycle
where both are high.

Agents
------
:class:`StreamDriver` (valid gaps, idle cycles carry garbage or hold the last values, back-pressure where the
port group has ``ready``), :class:`StreamMonitor` (optional ``out_ready`` pattern), :class:`MemoryResponder`
(serves a request port from a behavioural model object: read/write latency in cycles, access counters, an
error-injection hook) and :class:`Scoreboard` (in-order comparison with a ``ref_*`` golden).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np

from model.checks import check_choice, check_int

__all__ = ["StreamPorts", "MemoryPorts", "IO", "Agent", "StreamDriver", "StreamMonitor", "MemoryResponder",
           "random_pattern",
           "Scoreboard", "SimTimeout", "cycle_loop", "AccessCounters", "pack_lanes", "unpack_lanes", "gaps_from_valid"]


# --- port groups ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StreamPorts:
    """A block's streaming port groups (names of its ``wiring`` ports).

    Attributes
    ----------
    inputs : tuple of str
        Data inputs of one transaction (all presented in the same cycle).
    valid : str
        Input-valid port.
    outputs : tuple of str
        Data outputs of one result.
    out_valid : str
        Output-valid port.
    ready : str, optional
        Input-ready port (an output of the DUT): back-pressure on the input stream.
    out_ready : str, optional
        Output-ready port (an input of the DUT): back-pressure on the output stream.
    """

    inputs: tuple[str, ...]
    valid: str
    outputs: tuple[str, ...]
    out_valid: str
    ready: str | None = None
    out_ready: str | None = None

    @property
    def shared(self) -> tuple[str, ...]:
        """Handshake ports: one bit for all lanes of a :class:`scripts.sim.lanes.Lanes` wrapper."""
        return tuple(p for p in (self.valid, self.out_valid, self.ready, self.out_ready) if p)


@dataclass(frozen=True)
class MemoryPorts:
    """A block's request port to a memory or MRAM array, served by :class:`MemoryResponder`.

    A request is made in a cycle where ``req`` is high (and ``ready``, when the port has one); ``we`` high makes
    it a write of ``wdata``. Every request completes, in order, with a one-cycle ``rvalid`` pulse (a read with
    its data on ``rdata``) ``read_latency`` / ``write_latency`` cycles later, or later when completions queue.
    """

    addr: str
    req: str
    rdata: str
    rvalid: str
    wdata: str | None = None
    we: str | None = None
    ready: str | None = None


# --- the io view an agent gets -----------------------------------------------------------------------------

class IO(Protocol):
    """What a backend gives the agents (see the module docstring for when each call may be made)."""

    def set(self, name: str, value: int) -> None: ...
    def get(self, name: str) -> int: ...
    def width(self, name: str) -> int: ...


class Agent:
    """Base class: an object the cycle loop calls every cycle. ``done`` ends the run once every agent is done."""

    #: DUT ports the agent reads in :meth:`observe` (the Amaranth backend samples exactly these at each edge).
    watches: tuple[str, ...] = ()

    def drive(self, t: int, io: IO) -> None:
        pass

    def observe(self, t: int, io: IO) -> None:
        pass

    @property
    def done(self) -> bool:
        return True


class SimTimeout(AssertionError):
    """The agents were not done within the cycle budget."""


def cycle_loop(io: IO, agents: Sequence[Agent], max_cycles: int):
    """The one cycle loop, a generator that both backends drive: each ``yield t`` asks the backend to let the
    clock edge ending cycle ``t`` happen (and, in the Amaranth backend, to sample the watched ports at it).

    Returns (as ``StopIteration.value``) the number of cycles run. Raises :class:`SimTimeout` after
    ``max_cycles`` cycles.
    """
    t = 0
    while True:
        for a in agents:
            a.drive(t, io)
        yield t
        for a in agents:
            a.observe(t, io)
        t += 1
        if all(a.done for a in agents):
            return t
        if t >= max_cycles:
            busy = [type(a).__name__ for a in agents if not a.done]
            raise SimTimeout(f"not done after {max_cycles} cycles: {', '.join(busy)} still busy")


# --- lane packing ----------------------------------------------------------------------------------------------

def pack_lanes(values: np.ndarray, width: int) -> list[int]:
    """Rows of ``values`` (cycles, lanes) as Python ints, lane 0 in the least significant ``width`` bits."""
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    if values.shape[1] == 1:
        return [int(v) for v in values[:, 0].tolist()]
    if width in (8, 16, 32, 64):
        raw = values.astype(f"<u{width // 8}")
        return [int.from_bytes(row.tobytes(), "little") for row in raw]
    return [sum(int(v) << (width * i) for i, v in enumerate(row)) for row in values.tolist()]


def unpack_lanes(ints: Sequence[int], width: int, lanes: int) -> list[int]:
    """Inverse of :func:`pack_lanes`, flattened: lane 0 of the first int, lane 1, ..., lane 0 of the next."""
    if lanes == 1:
        return list(ints)
    mask = (1 << width) - 1
    return [(v >> (width * i)) & mask for v in ints for i in range(lanes)]


def gaps_from_valid(valid: Sequence[bool]) -> np.ndarray:
    """Idle cycles before each valid cycle of a per-cycle ``valid`` pattern (trailing idles dropped)."""
    gaps, run = [], 0
    for v in valid:
        if v:
            gaps.append(run)
            run = 0
        else:
            run += 1
    return np.array(gaps, dtype=np.int64)


# --- stream driver ---------------------------------------------------------------------------------------------

def random_pattern(probability: float, rng: np.random.Generator,
                   origin: Callable[[], int] | None = None) -> Callable[[int], bool] | None:
    """A seeded per-cycle on/off pattern (a ``ready`` or ``out_ready`` of a responder or monitor): on with
    ``probability`` in each cycle; ``None`` (always on) when it is 1. 2^16 draws, made once, are read by the cycle
    counted from ``origin()`` (default 0), so the pattern depends only on the seed and that cycle, never on how
    often it is asked."""
    if probability >= 1:
        return None
    on = rng.random(1 << 16) < probability
    if origin is None:
        return lambda t: bool(on[t & 0xFFFF])
    return lambda t: bool(on[(t - origin()) & 0xFFFF])


def _pattern(spec, name: str) -> Callable[[int], bool]:
    """A per-cycle on/off pattern: None (always on) or a callable cycle -> bool."""
    if spec is None:
        return lambda t: True
    if callable(spec):
        return spec
    raise TypeError(f"{name} must be None or a callable cycle -> bool, not {spec!r}")


class StreamDriver(Agent):
    """Presents transactions on a :class:`StreamPorts` input group.

    Parameters
    ----------
    ports : StreamPorts
    inputs : mapping of port name -> sequence of N integers
        One value per transaction (per lane: ``N`` must be a multiple of ``lanes``; transaction ``k`` of cycle
        ``j`` goes to lane ``k``).
    gaps : sequence of N // lanes ints, optional
        Idle cycles (``valid`` low) before each transaction; default none (full rate).
    idle : {"garbage", "hold"}
        What the data inputs carry in idle cycles: random values from ``rng`` (default, so a block that
        ignores ``valid`` shows up) or the previous values.
    rng : numpy Generator, optional
        Source of the garbage; required for ``idle="garbage"`` with gaps (under back-pressure the transaction
        stays on the port).
    lanes : int
        Transactions per cycle (for a :class:`scripts.sim.lanes.Lanes` wrapper).

    Attributes
    ----------
    in_cycles : list of int
        Cycle in which each transaction (each lane group) was accepted.
    """

    def __init__(self, ports: StreamPorts, inputs: Mapping[str, Sequence[int]], *, gaps=None,
                 idle: str = "garbage", rng: np.random.Generator | None = None, lanes: int = 1):
        check_choice("idle", idle, ("garbage", "hold"))
        lanes = check_int("lanes", lanes, min=1)
        self.ports, self.lanes, self.idle, self.rng = ports, lanes, idle, rng
        self._names = list(inputs)
        n = {len(v) for v in inputs.values()}
        if len(n) > 1:
            raise ValueError(f"all input sequences must have the same length, got {sorted(n)}")
        self.n = n.pop() if n else 0
        if self.n % lanes:
            raise ValueError(f"{self.n} transactions do not fill {lanes} lanes")
        self.steps = self.n // lanes
        self._raw = {k: np.asarray(v) for k, v in inputs.items()}
        self._packed: dict[str, list[int]] | None = None
        self.gaps = np.zeros(self.steps, np.int64) if gaps is None else np.asarray(gaps, np.int64)
        if self.gaps.shape != (self.steps,):
            raise ValueError(f"gaps must have {self.steps} entries (one per cycle of transactions), "
                             f"got shape {self.gaps.shape}")
        self.watches = (ports.ready,) if ports.ready else ()
        self.in_cycles: list[int] = []
        self._i = 0                      # next transaction step
        self._idle_left = int(self.gaps[0]) if self.steps else 0
        self._presenting = False

    def _pack(self, io: IO) -> None:
        self._packed = {k: pack_lanes(np.asarray(v).reshape(-1, self.lanes), io.width(k) // self.lanes)
                        for k, v in self._raw.items()}
        self._widths = {k: io.width(k) for k in self._names}

    def _garbage(self, io: IO) -> None:
        if self.idle == "garbage":
            if self.rng is None:
                raise ValueError("StreamDriver(idle='garbage') needs an rng for idle cycles")
            for k in self._names:
                io.set(k, int(self.rng.integers(0, 1 << min(self._widths[k], 62))))

    def drive(self, t: int, io: IO) -> None:
        if self._packed is None:
            self._pack(io)
        if self._i >= self.steps:
            if self._presenting or t == 0:
                io.set(self.ports.valid, 0)
                self._presenting = False
            return
        if self._idle_left > 0:
            io.set(self.ports.valid, 0)
            self._garbage(io)
            self._presenting = False
            return
        for k in self._names:
            io.set(k, self._packed[k][self._i])
        io.set(self.ports.valid, 1)
        self._presenting = True

    def observe(self, t: int, io: IO) -> None:
        if self._i >= self.steps:
            return
        if self._idle_left > 0:
            self._idle_left -= 1
            return
        if self.ports.ready is None or io.get(self.ports.ready):
            self.in_cycles.append(t)
            self._i += 1
            if self._i < self.steps:
                self._idle_left = int(self.gaps[self._i])
        # else: back-pressure, the same transaction stays on the port

    @property
    def done(self) -> bool:
        return self._i >= self.steps


class StreamMonitor(Agent):
    """Records the results of a :class:`StreamPorts` output group: every cycle with ``out_valid`` (and ``out_ready``).

    Parameters
    ----------
    ports : StreamPorts
    expect : int
        Results to wait for (counted per lane group); the run ends when all have come (and every agent is done).
    ready : callable cycle -> bool, optional
        ``out_ready`` pattern when the group has ``out_ready`` (default: always ready).
    lanes : int
    on_result : callable(dict), optional
        Called with each result (port -> int, one call per lane), e.g. :meth:`Scoreboard.add`.

    Attributes
    ----------
    outputs : dict of port -> list of int
        Recorded values (lanes unpacked, lane 0 first).
    out_cycles : list of int
        Cycle of each result (per lane group).
    """

    def __init__(self, ports: StreamPorts, expect: int, *, ready=None, lanes: int = 1, on_result=None):
        self.ports, self.expect, self.lanes, self.on_result = ports, expect, lanes, on_result
        self._ready = _pattern(ready, "ready")
        self.watches = (ports.out_valid, *ports.outputs)
        self.outputs: dict[str, list[int]] = {k: [] for k in ports.outputs}
        self.out_cycles: list[int] = []
        self._raw: dict[str, list[int]] = {k: [] for k in ports.outputs}
        self._ready_now = True

    def drive(self, t: int, io: IO) -> None:
        if self.ports.out_ready:
            self._ready_now = bool(self._ready(t))
            io.set(self.ports.out_ready, int(self._ready_now))

    def observe(self, t: int, io: IO) -> None:
        if not io.get(self.ports.out_valid) or not self._ready_now:
            return
        self.out_cycles.append(t)
        for k in self.ports.outputs:
            value = io.get(k)
            if self.lanes == 1:
                self.outputs[k].append(value)
            else:
                self.outputs[k].extend(unpack_lanes([value], io.width(k) // self.lanes, self.lanes))
        if self.on_result is not None:
            m = len(self.outputs[self.ports.outputs[0]])
            for j in range(m - self.lanes, m):
                self.on_result({k: self.outputs[k][j] for k in self.ports.outputs})

    @property
    def done(self) -> bool:
        return len(self.out_cycles) >= self.expect


# --- memory responder ------------------------------------------------------------------------------------------

class MemoryModel(Protocol):
    """What :class:`MemoryResponder` needs of a behavioural array model (e.g. :class:`model.memory.ArrayModel`)."""

    def read(self, addr: int) -> int: ...
    def write(self, addr: int, data: int) -> None: ...


@dataclass
class AccessCounters:
    """Accesses served by a :class:`MemoryResponder` (and the cycles its ``ready`` was low with ``req`` high)."""

    reads: int = 0
    writes: int = 0
    stalls: int = 0
    injected_bits: int = 0


class MemoryResponder(Agent):
    """Serves a block's :class:`MemoryPorts` request port from a behavioural model object.

    Parameters
    ----------
    ports : MemoryPorts
    model : object with ``read(addr) -> int`` and ``write(addr, data)``
        The behavioural memory / MRAM array (:class:`model.memory.ArrayModel` or any MRAM model).
    read_latency, write_latency : int
        Cycles from the request to its ``rvalid`` pulse, >= 1. Completions are in order, one per cycle at most:
        a request completes at ``max(its due cycle, previous completion + 1)``.
    ready : callable cycle -> bool, optional
        When the port has ``ready``: the responder accepts requests in cycles where this is true (busy banks,
        refresh, ...). Default: always ready.
    inject : callable(access, addr, data) -> data, optional
        Error-injection hook applied to each read's data as it is served (``access`` counts reads from 0), e.g.
        :class:`model.memory.BitFlipInjector`. The counters record how many bits it changed.

    Notes
    -----
    The model is read and written when a request *completes*, so completions see each other in order. A
    response is driven in its completion cycle only (``rvalid`` low and ``rdata`` 0 otherwise).

    Attributes
    ----------
    counters : AccessCounters
    log : list of (cycle, "r"/"w", addr, data)
        Every completed access with the data served (after injection) or written.
    """

    def __init__(self, ports: MemoryPorts, model: MemoryModel, *, read_latency: int = 1, write_latency: int = 1,
                 ready=None, inject=None):
        read_latency = check_int("read_latency", read_latency, min=1, type_error=False)
        write_latency = check_int("write_latency", write_latency, min=1, type_error=False)
        if ready is not None and ports.ready is None:
            raise ValueError("a ready pattern needs a port group with a ready port")
        self.ports, self.model = ports, model
        self.read_latency, self.write_latency = read_latency, write_latency
        self._ready = _pattern(ready, "ready")
        self.inject = inject
        self.counters = AccessCounters()
        self.log: list[tuple[int, str, int, int]] = []
        self.watches = tuple(p for p in (ports.req, ports.addr, ports.we, ports.wdata) if p)
        self._queue: deque = deque()     # (due cycle, is_write, addr, wdata)
        self._last_done = -1
        self._ready_now = True
        self._driving = False

    def drive(self, t: int, io: IO) -> None:
        if self.ports.ready:
            self._ready_now = bool(self._ready(t))
            io.set(self.ports.ready, int(self._ready_now))
        if self._queue and self._queue[0][0] <= t:
            _, is_write, addr, wdata = self._queue.popleft()
            if is_write:
                self.model.write(addr, wdata)
                self.counters.writes += 1
                self.log.append((t, "w", addr, wdata))
                io.set(self.ports.rdata, 0)
            else:
                data = self.model.read(addr)
                if self.inject is not None:
                    served = int(self.inject(self.counters.reads, addr, data))
                    self.counters.injected_bits += bin(served ^ data).count("1")
                    data = served
                self.counters.reads += 1
                self.log.append((t, "r", addr, data))
                io.set(self.ports.rdata, data)
            io.set(self.ports.rvalid, 1)
            self._last_done = t
            self._driving = True
        elif self._driving or t == 0:
            io.set(self.ports.rvalid, 0)
            io.set(self.ports.rdata, 0)
            self._driving = False

    def observe(self, t: int, io: IO) -> None:
        if not io.get(self.ports.req):
            return
        if not self._ready_now:
            self.counters.stalls += 1
            return
        is_write = bool(io.get(self.ports.we)) if self.ports.we else False
        due = t + (self.write_latency if is_write else self.read_latency)
        due = max(due, (self._queue[-1][0] if self._queue else self._last_done) + 1)
        self._queue.append((due, is_write, io.get(self.ports.addr), io.get(self.ports.wdata) if is_write else 0))

    @property
    def done(self) -> bool:
        return not self._queue


# --- scoreboard ------------------------------------------------------------------------------------------------

class Scoreboard:
    """In-order scoreboard: each observed result must equal the golden model's next expected one.

    Parameters
    ----------
    name : str
        Shown in failures.
    expected : mapping of port -> sequence of int
        The ``ref_*`` golden's results, in order.
    describe : callable(i) -> str, optional
        Names the input of result ``i`` in a mismatch report.
    """

    def __init__(self, name: str, expected: Mapping[str, Sequence[int]], describe=None):
        self.name, self.describe = name, describe
        self.expected = {k: [int(x) for x in np.asarray(v).tolist()] for k, v in expected.items()}
        lengths = {len(v) for v in self.expected.values()}
        if len(lengths) > 1:
            raise ValueError(f"{name}: expected sequences differ in length: {sorted(lengths)}")
        self.n = lengths.pop() if lengths else 0
        self.observed = 0
        self.mismatches: list[str] = []

    def add(self, result: Mapping[str, int]) -> None:
        i = self.observed
        self.observed += 1
        if i >= self.n:
            self.mismatches.append(f"result {i}: unexpected extra result {dict(result)}")
            return
        for k, want in self.expected.items():
            got = int(result[k])
            if got != want[i]:
                where = f" ({self.describe(i)})" if self.describe else ""
                self.mismatches.append(f"result {i}{where}: {k} expected {want[i]:#x}, got {got:#x}")

    def check(self) -> None:
        """Raise ``AssertionError`` listing the first mismatches, or if a result is missing."""
        problems = list(self.mismatches)
        if self.observed < self.n:
            problems.append(f"{self.n - self.observed} of {self.n} expected results never came")
        if problems:
            head = "\n  ".join(problems[:10])
            more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
            raise AssertionError(f"{self.name}: {len(problems)} problem(s) in {self.n} results:\n  {head}{more}")
