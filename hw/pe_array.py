"""Array of ``rows x cols`` reconfigurable PEs: systolic (FC) and row-stationary convolution dataflows.

Source: ``stt-ai-mishty-sadi.txt``, Sections III.A-B, Figs. 2-5, Table I. ``rows`` = H_A, ``cols`` = W_A PEs,
so the systolic array is ``rows x 3*cols`` MACs (W_SA = P_s * W_A, P_s = 3).

Dataflow (both modes; the mode is per row and per cycle, as in :class:`hw.pe.ReconfigurablePE`):

* **Weights stay** in the PEs: every MAC has two weight registers (banks). The loader writes one array row per
  cycle into a bank (``w_*`` ports) while the other bank computes; the bank a vector uses travels with it
  (``wsel``), so loading the next tile hides behind the current one (double buffering, our decision: the paper
  only says "the array is loaded with N_wt_per_step weights").
* **Partial sums flow down**: PE ``(r, c)`` adds to what PE ``(r-1, c)`` produced; row 0 starts from ``+0``.
  Mode 0 (Fig. 3 (b), Fig. 5 (a)): three independent MAC columns per PE, ``psum_i <- out_i`` of the PE above.
  Mode 1 (Fig. 3 (c), Fig. 4): ``psum0 <- pe_out`` of the PE above, so a PE column sums ``3 * rows`` products:
  kernel rows (and input channels) stacked down a column, as the row-stationary mapping accumulates them.
* **Skewed inputs**: a PE's result leaves one PE latency (11 cycles) after its operands, so row ``r`` takes the
  operands of a vector ``11 * r`` cycles after row 0 (the classic systolic skew, done by the feeder,
  :func:`model.stt_ai.pe_array.program_conv` / ``program_fc``). In return every row accepts a new operand set every
  cycle: fully pipelined, initiation interval 1.
* **Tags** (the scratchpad address of a result) enter with the bottom row's operands and leave with its results.

Ports
-----
act : In(rows * cols * 3 * 16)
    bfloat16 activations, PE ``(r, c)`` lane ``i`` at bits ``16 * ((r * cols + c) * 3 + i)``.
valid, mode, wsel : In(rows)
    Per row: operands present, PE mode (0 systolic, 1 convolution), weight bank to use.
w_en : In(1), w_row : In(range(rows)), w_bank : In(1), w_data : In(cols * 3 * 16)
    Weight write of one row: MAC lane ``(c, i)`` of row ``w_row``, bank ``w_bank``, gets bits
    ``16 * (c * 3 + i)`` of ``w_data``; it applies to operands from the next cycle on.
tag_valid : In(1), tag : In(tag_width)
    Presented with the bottom row's operands.
psum_out : Out(cols * 3 * 32)
    Bottom row results: mode 0 lane ``3 c + i`` = MAC ``i`` of PE ``c``; mode 1 lane ``c`` = ``pe_out`` of column
    ``c`` (lanes ``cols..`` zero). The mode is the bottom row's, carried with the tag.
out_valid : Out(1), tag_out : Out(tag_width)
    The tag presented ``latency`` cycles earlier, and its valid bit.
busy : Out(1)
    A tagged result is on its way down the bottom row.

Attributes
----------
latency : int
    Bottom-row operands to ``psum_out``: one PE latency, 11 cycles. Row ``r``'s skew is ``r * latency``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.fp_common import check_bool, delay
from hw.pe import ReconfigurablePE
from model.checks import check_int

__all__ = ["PEArray", "LANES"]

LANES = 3


class PEArray(wiring.Component):
    """``rows x cols`` ReconfigurablePEs with double-buffered stationary weights and psums flowing down.

    Parameters
    ----------
    rows, cols : int
        H_A rows and W_A PE columns (3 * cols MAC columns in systolic mode), each >= 1.
    tag_width : int
        Width of the tag that travels with the bottom row's results (>= 1).
    ftz : bool
        Flush-to-zero in every multiplier and adder (default ``False``).
    """

    latency = ReconfigurablePE.latency_conv

    def __init__(self, rows: int = 4, cols: int = 4, *, tag_width: int = 32, ftz: bool = False):
        self.rows = check_int("rows", rows, min=1, max=256)
        self.cols = check_int("cols", cols, min=1, max=256)
        self.tag_width = check_int("tag_width", tag_width, min=1, max=256)
        self._ftz = check_bool("ftz", ftz)
        super().__init__(self.ports(self.rows, self.cols, self.tag_width))

    @staticmethod
    def ports(rows: int, cols: int, tag_width: int) -> dict:
        """The port members of a ``rows x cols`` array (also used by :class:`hw.layer_engine.LayerEngine`)."""
        return {
            "act": In(16 * rows * cols * LANES), "valid": In(rows), "mode": In(rows), "wsel": In(rows),
            "w_en": In(1), "w_row": In(range(rows)), "w_bank": In(1), "w_data": In(16 * LANES * cols),
            "tag_valid": In(1), "tag": In(tag_width),
            "psum_out": Out(32 * LANES * cols), "out_valid": Out(1), "tag_out": Out(tag_width), "busy": Out(1),
        }

    ftz = property(lambda self: self._ftz)

    @property
    def macs(self) -> int:
        return self.rows * self.cols * LANES

    def elaborate(self, platform):
        m = Module()
        rows, cols = self.rows, self.cols
        above = None                    # previous row's PEs
        bottom_mode = Signal()
        for r in range(rows):
            wsel = self.wsel[r]
            row_pes = []
            for c in range(cols):
                pe = ReconfigurablePE(ftz=self._ftz)
                m.submodules[f"pe_{r}_{c}"] = pe
                row_pes.append(pe)
                for i in range(LANES):
                    lane = (r * cols + c) * LANES + i
                    banks = [Signal(16, name=f"w_{r}_{c}_{i}_b{b}") for b in range(2)]
                    for b, reg in enumerate(banks):
                        with m.If(self.w_en & (self.w_row == r) & (self.w_bank == b)):
                            m.d.sync += reg.eq(self.w_data.word_select(c * LANES + i, 16))
                    m.d.comb += [getattr(pe, f"act{i}").eq(self.act.word_select(lane, 16)),
                                 getattr(pe, f"wgt{i}").eq(Mux(wsel, banks[1], banks[0]))]
                m.d.comb += [pe.mode.eq(self.mode[r]), pe.valid.eq(self.valid[r])]
                if above is None:
                    m.d.comb += [pe.psum0.eq(0), pe.psum1.eq(0), pe.psum2.eq(0)]
                else:
                    up = above[c]
                    # The row above produced this vector's partial sums in this very cycle (skew = latency),
                    # so this row's own mode input selects the mode-1 chain (pe_out) or the MAC columns.
                    m.d.comb += [pe.psum0.eq(Mux(self.mode[r], up.pe_out, up.out0)),
                                 pe.psum1.eq(up.out1), pe.psum2.eq(up.out2)]
            above = row_pes
        m.d.comb += bottom_mode.eq(self.mode[rows - 1])
        out_mode = delay(m, bottom_mode, self.latency, "out_mode")
        systolic = Cat(*[getattr(pe, f"out{i}") for pe in above for i in range(LANES)])
        conv = Cat(*[pe.pe_out for pe in above], Const(0, 32 * (LANES - 1) * cols))
        in_flight = [self.tag_valid]
        for i in range(self.latency):
            reg = Signal(name=f"tag_valid_d{i + 1}")
            m.d.sync += reg.eq(in_flight[-1])
            in_flight.append(reg)
        m.d.comb += [
            self.psum_out.eq(Mux(out_mode, conv, systolic)),
            self.out_valid.eq(in_flight[-1]),
            self.busy.eq(Cat(*in_flight[1:]).any()),
            self.tag_out.eq(delay(m, self.tag, self.latency, "tag_out")),
        ]
        return m
