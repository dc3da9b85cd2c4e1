"""The accelerator of Fig. 2 as one block: layer controller, PE array + scratchpad, ofmap path, one global-buffer port.

Source: ``stt-ai-mishty-sadi.txt``, Fig. 2. :class:`hw.layer_controller.LayerController` runs a layer descriptor:
it fetches weights and operands from the global buffer (GLB), drives :class:`hw.layer_engine.LayerEngine` and
streams the finished ofmap through :class:`hw.ofmap_post.OfmapPost` back into the GLB. The GLB
(:class:`model.stt_ai.glb.GlobalBuffer`) sits behind ``glb_*``, served by the simulation's memory responder.

The one GLB port is shared by the scratchpad (spills, results) and the controller (fetches, post-processed ofmap):
the scratchpad has priority (it holds the array), completions come back in order and a FIFO of requester ids
routes each ``rvalid`` to its requester.

Ports
-----
desc, start, busy, done
    The controller's (:class:`hw.layer_controller.LayerController`); ``desc`` is the packed
    :func:`hw.layer_controller.descriptor_layout`.
glb_addr, glb_req, glb_we, glb_wdata, glb_rdata, glb_rvalid, glb_ready
    The GLB port (words of ``96 * cols`` bits).
act, valid, wsel, w_en, w_row, w_bank, w_data, tag_valid, tag, ready, issue, array_out_valid : Out
    What enters the array this cycle (taken when ``ready``), for schedule checks and cycle measurements.
spad_reads, ..., glb_stalls; weight_reads, ..., post_cycles : Out(32)
    The scratchpad's and the controller's counters.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from hw.layer_controller import CONTROLLER_COUNTERS, LayerController, descriptor_layout
from hw.layer_engine import LayerEngine
from hw.ofmap_post import OfmapPost
from hw.pe_array import LANES
from hw.scratchpad import COUNTERS, tag_layout
from model.checks import check_int

__all__ = ["Accelerator", "OBSERVED"]

#: The array inputs the accelerator exposes for the schedule check.
OBSERVED = ("act", "valid", "wsel", "w_en", "w_row", "w_bank", "w_data", "tag_valid", "tag")


class Accelerator(wiring.Component):
    """``rows x cols`` accelerator: controller, engine (banks of ``bank_words``), ofmap path, GLB port.

    Parameters
    ----------
    rows, cols : int
        The PE array (H_A x W_A PEs, ``3 cols`` lanes).
    bank_words : int
        Scratchpad words per bank.
    glb_addr_width : int
        GLB word address bits.

    Attributes
    ----------
    latency : int
        Array cycles from an operand set's issue to its result row's scratchpad write, no stall: the skew
        ``11 (rows - 1)`` plus :attr:`hw.layer_engine.LayerEngine.latency`.
    """

    def __init__(self, rows: int = 4, cols: int = 4, *, bank_words: int = 256, glb_addr_width: int = 24):
        self.rows = check_int("rows", rows, min=1, max=64)
        self.cols = check_int("cols", cols, min=1, max=64)
        self.bank_words = check_int("bank_words", bank_words, min=1, max=1 << 20)
        self.glb_addr_width = check_int("glb_addr_width", glb_addr_width, min=4, max=32)
        self.lanes = LANES * self.cols
        width = 32 * self.lanes
        tw = tag_layout(self.glb_addr_width).size
        ports = {"desc": In(descriptor_layout(self.glb_addr_width).size), "start": In(1), "busy": Out(1),
                 "done": Out(1),
                 "glb_addr": Out(self.glb_addr_width), "glb_req": Out(1), "glb_we": Out(1),
                 "glb_wdata": Out(width), "glb_rdata": In(width), "glb_rvalid": In(1), "glb_ready": In(1),
                 "act": Out(16 * self.rows * self.lanes), "valid": Out(self.rows), "wsel": Out(self.rows),
                 "w_en": Out(1), "w_row": Out(range(self.rows)), "w_bank": Out(1), "w_data": Out(16 * self.lanes),
                 "tag_valid": Out(1), "tag": Out(tw), "ready": Out(1), "issue": Out(1),
                 "array_out_valid": Out(1)}
        ports.update({name: Out(32) for name in COUNTERS + CONTROLLER_COUNTERS})
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return 11 * (self.rows - 1) + LayerEngine.latency

    @property
    def max_width(self) -> int:
        """Widest conv input row: one GLB word of bfloat16."""
        return 2 * self.lanes

    def elaborate(self, platform):
        m = Module()
        aw = self.glb_addr_width
        eng = LayerEngine(self.rows, self.cols, bank_words=self.bank_words, glb_addr_width=aw)
        ctl = LayerController(self.rows, self.cols, addr_width=aw, tag_width=tag_layout(aw).size)
        post = OfmapPost(max_width=max(2, 2 * self.lanes))
        m.submodules.engine, m.submodules.controller, m.submodules.post = eng, ctl, post

        for name in ("act", "valid", "mode", "wsel", "w_en", "w_row", "w_bank", "w_data", "tag_valid", "tag"):
            m.d.comb += getattr(eng, name).eq(getattr(ctl, name))
        for name in OBSERVED:
            m.d.comb += getattr(self, name).eq(getattr(ctl, name))
        m.d.comb += [ctl.ready.eq(eng.ready), ctl.engine_busy.eq(eng.busy), self.ready.eq(eng.ready),
                     self.issue.eq(ctl.issue), self.array_out_valid.eq(eng.array_out_valid),
                     ctl.desc.eq(self.desc), ctl.start.eq(self.start), self.busy.eq(ctl.busy),
                     self.done.eq(ctl.done)]
        for name in ("data", "bias", "relu", "pool", "first", "width", "valid", "out_ready"):
            m.d.comb += getattr(post, name).eq(getattr(ctl, f"post_{name}"))
        for name in ("ready", "out", "out_fp32", "out_valid"):
            m.d.comb += getattr(ctl, f"post_{name}").eq(getattr(post, name))
        for name in COUNTERS:
            m.d.comb += getattr(self, name).eq(getattr(eng, name))
        for name in CONTROLLER_COUNTERS:
            m.d.comb += getattr(self, name).eq(getattr(ctl, name))

        # GLB arbiter: the scratchpad first; an id FIFO routes the in-order completions
        ids = SyncFIFO(width=1, depth=32)
        m.submodules.ids = ids
        room = ids.level < 31
        sp_go = eng.glb_req & room
        ctl_go = ctl.mem_req & ~eng.glb_req & room
        m.d.comb += [
            self.glb_req.eq(sp_go | ctl_go),
            self.glb_addr.eq(Mux(eng.glb_req, eng.glb_addr, ctl.mem_addr)),
            self.glb_we.eq(Mux(eng.glb_req, eng.glb_we, ctl.mem_we)),
            self.glb_wdata.eq(Mux(eng.glb_req, eng.glb_wdata, ctl.mem_wdata)),
            eng.glb_ready.eq(self.glb_ready & room),
            ctl.mem_ready.eq(self.glb_ready & room & ~eng.glb_req),
            ids.w_en.eq((sp_go | ctl_go) & self.glb_ready), ids.w_data.eq(ctl_go),
            ids.r_en.eq(self.glb_rvalid),
            eng.glb_rdata.eq(self.glb_rdata), ctl.mem_rdata.eq(self.glb_rdata),
            eng.glb_rvalid.eq(self.glb_rvalid & ~ids.r_data[0]),
            ctl.mem_rvalid.eq(self.glb_rvalid & ids.r_data[0]),
        ]
        return m
