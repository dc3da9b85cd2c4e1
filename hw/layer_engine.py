"""The accelerator core of Fig. 2: the PE array feeding the scratchpad controller, one port to the global buffer.

Source: ``stt-ai-mishty-sadi.txt``, Fig. 2 and Sections III-IV.D. :class:`hw.pe_array.PEArray` results go,
with their tags, into :class:`hw.scratchpad.Scratchpad`; when the scratchpad cannot take a result (a
read-after-write hazard or a busy global-buffer port) the whole array holds (one clock enable), and so must the
feeder: the array's inputs of a cycle are taken only when ``ready`` is high. The global buffer (STT-MRAM,
:class:`model.stt_ai.glb.GlobalBuffer`) sits behind ``glb_*`` and is served by the simulation's memory responder.

Ports
-----
act, valid, mode, wsel, w_en, w_row, w_bank, w_data, tag_valid, tag
    The array's inputs (:class:`hw.pe_array.PEArray`); ``tag`` is a :func:`hw.scratchpad.tag_layout` value.
ready : Out(1)
    This cycle's inputs are taken (else hold them).
glb_addr, glb_req, glb_we, glb_wdata, glb_rdata, glb_rvalid, glb_ready
    Global-buffer port of the scratchpad.
array_out_valid : Out(1)
    A result row leaves the array this cycle (it enters the scratchpad when ``ready``): for cycle counts.
spad_reads, spad_writes, glb_reads, glb_writes, hazard_stalls, glb_stalls
    The scratchpad's counters.
busy : Out(1)
    Results still in the bottom row or the scratchpad, or GLB requests outstanding.
"""

from __future__ import annotations

from amaranth.hdl import EnableInserter, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.fp_common import check_bool
from hw.pe_array import LANES, PEArray
from hw.scratchpad import COUNTERS, Scratchpad, tag_layout
from model.checks import check_int

__all__ = ["LayerEngine"]


class LayerEngine(wiring.Component):
    """``rows x cols`` PE array + two-bank scratchpad of ``bank_words`` words, GLB port of ``glb_addr_width`` bits.

    Parameters
    ----------
    rows, cols : int
        H_A and W_A (PEs); the systolic array is ``rows x 3*cols`` MACs.
    bank_words : int
        Scratchpad words per bank; a word is ``3 * cols`` binary32 values.
    glb_addr_width : int
        Global-buffer word address bits.
    ftz : bool
        Flush-to-zero everywhere (default ``False``).

    Attributes
    ----------
    latency : int
        Bottom-row operands to the scratchpad write, no stall: array (11) + scratchpad (5).
    """

    def __init__(self, rows: int = 4, cols: int = 4, *, bank_words: int = 256, glb_addr_width: int = 20,
                 ftz: bool = False):
        self.rows = check_int("rows", rows, min=1, max=256)
        self.cols = check_int("cols", cols, min=1, max=256)
        self.bank_words = check_int("bank_words", bank_words, min=1, max=1 << 20)
        self.glb_addr_width = check_int("glb_addr_width", glb_addr_width, min=1, max=32)
        self._ftz = check_bool("ftz", ftz)
        self.lanes = LANES * self.cols
        if (2 * self.bank_words - 1).bit_length() > self.glb_addr_width:
            raise ValueError(f"glb_addr_width={glb_addr_width} cannot address 2 * bank_words = "
                             f"{2 * self.bank_words} scratchpad words")
        arr = PEArray.ports(self.rows, self.cols, tag_layout(self.glb_addr_width).size)
        sp = Scratchpad.ports(self.lanes, self.glb_addr_width)
        ports = {name: arr[name] for name in ("act", "valid", "mode", "wsel", "w_en", "w_row", "w_bank", "w_data",
                                                "tag_valid")}
        ports["tag"] = In(tag_layout(self.glb_addr_width).size)
        ports["ready"] = Out(1)
        ports.update({name: sp[name] for name in ("glb_addr", "glb_req", "glb_we", "glb_wdata", "glb_rdata",
                                                  "glb_rvalid", "glb_ready", "busy")})
        ports["array_out_valid"] = Out(1)
        ports.update({name: Out(32) for name in COUNTERS})
        super().__init__(ports)

    latency = PEArray.latency + Scratchpad.latency
    ftz = property(lambda self: self._ftz)

    @property
    def macs(self) -> int:
        return self.rows * self.lanes

    def elaborate(self, platform):
        m = Module()
        arr = PEArray(self.rows, self.cols, tag_width=tag_layout(self.glb_addr_width).size, ftz=self._ftz)
        sp = Scratchpad(self.lanes, self.bank_words, glb_addr_width=self.glb_addr_width, ftz=self._ftz)
        m.submodules.array = EnableInserter(sp.ready)(arr)
        m.submodules.scratchpad = sp
        for name in ("act", "valid", "mode", "wsel", "w_en", "w_row", "w_bank", "w_data", "tag_valid"):
            m.d.comb += getattr(arr, name).eq(getattr(self, name))
        m.d.comb += [
            arr.tag.eq(self.tag),
            sp.data.eq(arr.psum_out), sp.valid.eq(arr.out_valid), sp.tag.eq(arr.tag_out),
            self.ready.eq(sp.ready), self.array_out_valid.eq(arr.out_valid),
        ]
        m.d.comb += self.busy.eq(arr.busy | sp.busy)
        for name in ("glb_addr", "glb_req", "glb_we", "glb_wdata", *COUNTERS):
            m.d.comb += getattr(self, name).eq(getattr(sp, name))
        for name in ("glb_rdata", "glb_rvalid", "glb_ready"):
            m.d.comb += getattr(sp, name).eq(getattr(self, name))
        return m
