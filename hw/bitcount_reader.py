"""Sub-array reader + bitcounter: groups of rows read from an MRAM array through a memory request port, counted.

Source: ``sot-mram-bcnn-fan-angizi.txt``, Fig. 3d and Table I: the in-memory AND results of the SOT-MRAM
sub-array are sensed one row per read and counted by a CMOS bit-counter, ``I (*) W = BitCount(and(I(B), W(B)))``.
This block is the digital side of that path: it takes a command (first row, number of rows), issues one row read
per cycle on its memory port, and feeds the returned rows unchanged into :class:`hw.bitcounter.BitCounter`. The
array itself is a behavioural model served to this port by the memory responder
(:class:`scripts.sim.contract.MemoryResponder`), so any MRAM array model (and its bit errors) plugs in.

Design decisions (the paper gives no micro-architecture):

* One command at a time: ``cmd_ready`` is high only when every row of the previous command has come back, so the
  group boundaries of the returned rows are known from one counter. Rows are requested back to back while
  ``mem_ready`` is high; the memory may return them any number of cycles later, in order (``mem_rvalid``).
* Addresses wrap modulo ``depth``. A command with ``cmd_rows = 0`` is accepted and ignored (no read, no count).

Golden: :func:`model.bcnn.bitcounter.ref_bitcount_reader`.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.bitcounter import BitCounter
from model.checks import check_int

__all__ = ["BitCountReader"]


class BitCountReader(wiring.Component):
    """Reads ``cmd_rows`` rows from ``cmd_addr`` on through the memory port and bit-counts them as one group.

    Parameters
    ----------
    width : int
        Bits per row, 1 .. 4096 (default 256: the paper's sub-array columns).
    depth : int
        Rows of the array, >= 1 (default 1024: the paper's sub-array rows).
    max_rows : int, optional
        Longest group, 1 .. ``depth`` (default ``depth``); sets the widths of ``cmd_rows`` and ``count``.

    Ports
    -----
    cmd_addr : In(ceil_log2(depth))
        First row of the group.
    cmd_rows : In(ceil_log2(max_rows + 1))
        Rows in the group (0: ignored).
    cmd_valid : In(1), cmd_ready : Out(1)
        Command handshake (transfer in a cycle with both high).
    mem_addr : Out(ceil_log2(depth)), mem_req : Out(1), mem_ready : In(1)
        Row read request (issued in a cycle with ``mem_req`` and ``mem_ready`` high).
    mem_rdata : In(width), mem_rvalid : In(1)
        Returned row, in request order, any number of cycles later.
    count : Out(count_width), count_valid : Out(1)
        The group's popcount (see :class:`hw.bitcounter.BitCounter`); one-cycle pulse.

    Methods
    -------
    count_latency(rows, read_latency)
        Cycles from the command's transfer to ``count_valid``, with the memory always ready:
        ``rows + read_latency + BitCounter.latency``.
    command_period(rows, read_latency)
        Cycles from one command's transfer to the next one's at the earliest: ``rows + read_latency + 1``.
    """

    def __init__(self, width: int = 256, depth: int = 1024, max_rows: int | None = None):
        self._width = check_int("width", width, min=1, max=4096)
        self._depth = check_int("depth", depth, min=1)
        self._max_rows = depth if max_rows is None else check_int("max_rows", max_rows, min=1, max=depth)
        self._counter = BitCounter(width, self._max_rows)
        addr_w = max(1, ceil_log2(depth))
        super().__init__({
            "cmd_addr": In(addr_w),
            "cmd_rows": In(ceil_log2(self._max_rows + 1)),
            "cmd_valid": In(1),
            "cmd_ready": Out(1),
            "mem_addr": Out(addr_w),
            "mem_req": Out(1),
            "mem_ready": In(1),
            "mem_rdata": In(width),
            "mem_rvalid": In(1),
            "count": Out(self._counter.count_width),
            "count_valid": Out(1),
        })

    width = property(lambda self: self._width)
    depth = property(lambda self: self._depth)
    max_rows = property(lambda self: self._max_rows)
    count_width = property(lambda self: self._counter.count_width)

    def count_latency(self, rows: int, read_latency: int) -> int:
        return rows + read_latency + self._counter.latency

    def command_period(self, rows: int, read_latency: int) -> int:
        return rows + read_latency + 1

    def elaborate(self, platform):
        m = Module()
        m.submodules.counter = counter = self._counter

        rows = Signal.like(self.cmd_rows)        # rows of the current group
        to_issue = Signal.like(self.cmd_rows)    # requests still to issue
        returned = Signal.like(self.cmd_rows)    # rows returned so far
        addr = Signal.like(self.mem_addr)
        busy = Signal()

        m.d.comb += [
            self.cmd_ready.eq(~busy),
            self.mem_req.eq(busy & (to_issue != 0)),
            self.mem_addr.eq(addr),
        ]
        with m.If(self.cmd_valid & ~busy & (self.cmd_rows != 0)):
            m.d.sync += [busy.eq(1), rows.eq(self.cmd_rows), to_issue.eq(self.cmd_rows), returned.eq(0),
                         addr.eq(self.cmd_addr)]
        with m.If(self.mem_req & self.mem_ready):
            m.d.sync += to_issue.eq(to_issue - 1)
            m.d.sync += addr.eq(Mux(addr == self._depth - 1, 0, addr + 1))   # wraps modulo depth

        last = returned == rows - 1
        m.d.comb += [
            counter.bits.eq(self.mem_rdata),
            counter.valid.eq(busy & self.mem_rvalid),
            counter.first.eq(returned == 0),
            counter.last.eq(last),
            self.count.eq(counter.count),
            self.count_valid.eq(counter.count_valid),
        ]
        with m.If(busy & self.mem_rvalid):
            m.d.sync += returned.eq(returned + 1)
            with m.If(last):
                m.d.sync += busy.eq(0)
        return m

