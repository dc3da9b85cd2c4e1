"""Testbench-only wrapper: ``lanes`` copies of a streaming block side by side, ports concatenated.

cocotb pays a fixed Python cost per clock cycle, so to check 10^5+ vectors per run through Verilator a test can
drive ``lanes`` independent copies of the real component at once. The handshake ports of the block's
:class:`~scripts.sim.contract.StreamPorts` (``valid``, ``out_valid``, ...; from the registry) are one bit shared
by all copies (outputs from lane 0: every lane sees the same ``valid``, so their flags are identical); every other
port is the copies' ports concatenated, lane 0 in the least significant bits. Each lane is the unmodified block.
"""

from __future__ import annotations

from typing import Callable, Iterable

from amaranth.hdl import Cat, Module, Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from model.checks import check_int

__all__ = ["Lanes", "ForwardToLane"]


class ForwardToLane:
    """Attributes of the wrapped block (latency, ftz, ...) read through a lane wrapper (``_copies[0]``); set
    ``self._forward = True`` at the end of ``__init__``."""

    def __getattr__(self, name):
        if name.startswith("_") or not self.__dict__.get("_forward"):
            raise AttributeError(name)
        return getattr(self._copies[0], name)


class Lanes(ForwardToLane, wiring.Component):
    """``lanes`` instances of ``factory()``; ``shared`` names the one-bit handshake ports (see module docstring)."""

    def __init__(self, factory: Callable[[], wiring.Component], lanes: int, shared: Iterable[str]):
        self._lanes = check_int("lanes", lanes, min=1)
        self._copies = [factory() for _ in range(lanes)]
        self._shared = set(shared)
        members = self._copies[0].signature.members
        unknown = self._shared - set(members)
        if unknown:
            raise ValueError(f"shared ports {sorted(unknown)} are not ports of {type(self._copies[0]).__name__}")
        ports = {}
        for name, member in members.items():
            width = Shape.cast(member.shape).width
            flow = In if member.flow == wiring.In else Out
            ports[name] = flow(width if name in self._shared else width * lanes)
        super().__init__(ports)
        self._forward = True

    lanes = property(lambda self: self._lanes)

    def elaborate(self, platform):
        m = Module()
        for i, copy in enumerate(self._copies):
            m.submodules[f"lane{i}"] = copy
        for name, member in self._copies[0].signature.members.items():
            port = getattr(self, name)
            lane_ports = [getattr(copy, name) for copy in self._copies]
            if member.flow == wiring.In:
                if name in self._shared:
                    m.d.comb += [p.eq(port) for p in lane_ports]
                else:
                    width = len(lane_ports[0])
                    m.d.comb += [p.eq(port[i * width:(i + 1) * width]) for i, p in enumerate(lane_ports)]
            else:
                m.d.comb += port.eq(lane_ports[0] if name in self._shared else Cat(*lane_ports))
        return m
