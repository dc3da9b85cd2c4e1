"""CIM bitcounter of the SOT-MRAM binary-CNN accelerator.

Source: ``sot-mram-bcnn-fan-angizi.txt``, Fig. 3d and Table I ("Bit-Count"): the sense amplifiers of a
256-column SOT-MRAM sub-array (1024 x 256) deliver one row of in-memory AND results per read, and a CMOS
bit-counter "counts upward only when the read data is binary '1'". A binary convolution is
``I (*) W = BitCount(and(I(B), W(B)))`` (Table I, Bin-AND / Bit-Count rows); its operands may span several
rows, so the counter accumulates successive rows until the group ends.

Design decisions (the paper gives no micro-architecture):

* One row per cycle is reduced by a balanced adder tree of ``ceil(log2(width))`` levels, with a pipeline
  register after every ``levels_per_stage`` levels (and after the last level); a final accumulator stage adds
  the row's popcount to the running group total.
* ``count`` is ``ceil_log2(width * max_rows + 1)`` bits wide, so a group of up to ``max_rows`` all-ones rows is
  counted exactly. A longer group is outside the contract: the total wraps modulo ``2**count_width``
  (the golden model :func:`model.bcnn.bitcounter.ref_bitcounter` wraps the same way).
* ``first`` on a valid row starts a new group even if the previous one had no ``last`` (its partial total is
  dropped). ``first``/``last`` are ignored on cycles with ``valid`` low.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from model.checks import check_int

__all__ = ["BitCounter"]


class BitCounter(wiring.Component):
    """Pipelined popcount adder tree with group accumulation.

    Parameters
    ----------
    width : int
        Bits per sensed row, 1 .. 4096 (default 256: the paper's sub-array has 256 columns).
    max_rows : int
        Longest group in rows, >= 1 (default 1024: the sub-array's row count). Sets the width of ``count``.
    levels_per_stage : int
        Adder-tree levels between pipeline registers, >= 1 (default 2).

    Ports
    -----
    bits : In(width)
        One sensed row (AND results of the in-memory logic).
    valid : In(1)
        ``bits``, ``first`` and ``last`` carry a row this cycle. May drop for any number of cycles in a group.
    first : In(1)
        This row starts a new group.
    last : In(1)
        This row ends the group (a one-row group has ``first`` and ``last``).
    count : Out(count_width)
        The group's total popcount, ``count_width = ceil_log2(width * max_rows + 1)``; held until the next total.
    count_valid : Out(1)
        One-cycle pulse: ``count`` carries a finished group.

    Attributes
    ----------
    latency : int
        Cycles from the ``valid`` of a group's ``last`` row to its ``count_valid``:
        ``ceil(ceil(log2(width)) / levels_per_stage) + 1`` (tree stages + accumulator).
        Throughput is one row per cycle; groups follow each other with no idle cycle.
    """

    def __init__(self, width: int = 256, max_rows: int = 1024, *, levels_per_stage: int = 2):
        self._width = check_int("width", width, min=1, max=4096)
        self._max_rows = check_int("max_rows", max_rows, min=1)
        self._levels_per_stage = check_int("levels_per_stage", levels_per_stage, min=1)
        self._count_width = ceil_log2(self._width * self._max_rows + 1)
        super().__init__({
            "bits": In(self._width),
            "valid": In(1),
            "first": In(1),
            "last": In(1),
            "count": Out(self._count_width),
            "count_valid": Out(1),
        })

    width = property(lambda self: self._width)
    max_rows = property(lambda self: self._max_rows)
    levels_per_stage = property(lambda self: self._levels_per_stage)
    count_width = property(lambda self: self._count_width)

    @property
    def tree_levels(self) -> int:
        """Adder levels of the popcount tree, ``ceil(log2(width))``."""
        return ceil_log2(self._width)

    @property
    def tree_stages(self) -> int:
        """Pipeline registers in the adder tree."""
        return -(-self.tree_levels // self._levels_per_stage)

    @property
    def latency(self) -> int:
        return self.tree_stages + 1

    def elaborate(self, platform):
        m = Module()

        values = [self.bits[i] for i in range(self._width)]
        ctrl = Cat(self.valid, self.first, self.last)
        level = 0
        stage = 0
        while len(values) > 1:
            pairs = [values[i] + values[i + 1] for i in range(0, len(values) - 1, 2)]
            values = pairs + ([values[-1]] if len(values) % 2 else [])
            level += 1
            if level % self._levels_per_stage == 0 or len(values) == 1:
                regs = []
                for i, value in enumerate(values):
                    reg = Signal(len(value), name=f"s{stage}_sum{i}")
                    m.d.sync += reg.eq(value)
                    regs.append(reg)
                ctrl_reg = Signal(3, name=f"s{stage}_ctrl")
                m.d.sync += ctrl_reg.eq(ctrl)
                values, ctrl = regs, ctrl_reg
                stage += 1
        assert stage == self.tree_stages

        row_count = values[0]
        row_valid, row_first, row_last = ctrl[0], ctrl[1], ctrl[2]
        acc = Signal(self._count_width)
        total = Signal(self._count_width)
        m.d.comb += total.eq(Mux(row_first, row_count, acc + row_count))
        with m.If(row_valid):
            m.d.sync += acc.eq(total)
        m.d.sync += self.count_valid.eq(row_valid & row_last)
        with m.If(row_valid & row_last):
            m.d.sync += self.count.eq(total)
        return m
