"""Testbench-only wrapper: ``lanes`` copies of a streaming component side by side, ports concatenated.

cocotb pays a fixed Python cost per clock cycle, so to check 10^5+ vectors per CI run through Verilator the
floating-point testbenches drive ``lanes`` independent copies of the real component at once: every port
named in ``shared`` (``valid``) goes to all copies, every other port is the copies' ports concatenated (lane 0
in the least significant bits). Outputs named in ``shared`` come from lane 0 (all lanes see the same
``valid``, so their output-valid flags are identical). Each lane is the unmodified RTL block; the single-copy
top level is tested on its own as well.
"""

from __future__ import annotations

from typing import Callable

from amaranth.hdl import Cat, Module, Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Lanes"]


class Lanes(wiring.Component):
    """``lanes`` instances of ``factory()`` with concatenated ports (see module docstring)."""

    def __init__(self, factory: Callable[[], wiring.Component], lanes: int, shared=("valid",),
                 shared_out=("result_valid", "out_valid", "product_valid", "sum_valid")):
        if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"lanes must be an integer >= 1, not {lanes!r}")
        self._copies = [factory() for _ in range(lanes)]
        self._shared = set(shared) | set(shared_out)
        ports = {}
        for name, member in self._copies[0].signature.members.items():
            width = Shape.cast(member.shape).width
            flow = In if member.flow == wiring.In else Out
            ports[name] = flow(width if name in self._shared else width * lanes)
        super().__init__(ports)

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
