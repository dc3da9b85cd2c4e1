"""Layer controller: runs one conv or FC layer from a descriptor, fetching every operand from the global buffer.

Source: ``stt-ai-mishty-sadi.txt``, Fig. 2 and Sections III.B, IV (the global buffer holds weights and fmaps; the
PE array is loaded from it; the ofmap goes through ReLU and max-pooling "to serve as the input to the following
layer"). The paper gives no micro-architecture of the control; ours, with every choice named:

* **Descriptor** (:func:`descriptor_layout`): the layer's shapes and the loop bounds the host's compiler derives from
  them (:func:`model.stt_ai.network.plan_network`: no divider in the RTL), the tensors' base addresses in the global
  buffer (GLB) and the ReLU / pool / FP32-output flags. ``start`` with a descriptor runs the layer; ``done`` pulses
  once its output is in the GLB. One image per run (batch 1: the retention times of eqs. (5)-(11) are per
  inference).
* **Mapping and order** are those of :mod:`model.stt_ai.pe_array` (passes of (output channel, ofmap-row group, chunk)
  for a conv, (output tile, chunk) for an FC layer; the same tags), so the operands that enter each array row, the
  weight rows written into each (row, bank) and the tags are in the order of
  :func:`model.stt_ai.pe_array.build_program`'s reference program; the cycles they enter at differ (this controller
  waits for its GLB reads).
* **GLB layouts** (:mod:`model.stt_ai.network` writes them): an ifmap row of a conv input is one word (``W <= 2 *
  lanes`` bfloat16, the least significant first); an FC input is rows of ``x_row_len`` elements, a word each; conv
  weights one word per (output channel, kernel-row segment) holding its 3 taps; FC weights one word per (output
  tile, input) holding the tile's ``lanes`` weights; biases one bfloat16 per word; the raw FP32 ofmap is the
  scratchpad's output words (``oaddr`` of the tags); the post-processed ofmap rows of ``y_row_len`` elements a word.
* **Fetch**: one request port; a destination FIFO routes the in-order completions. Per pass a weight job (``rows``
  reads into a staging buffer) and an operand job (conv: the ifmap row under each PE, ``rows x cols`` reads; FC: the
  input under each row, ``rows`` reads) fill double buffers (weights: the array's two banks; operands: two line
  buffers), so pass ``j + 1`` is fetched while pass ``j`` streams. Out-of-range rows (padding, idle rows) are
  zero-filled without a read.
* **Weight writes** go to bank ``j % 2`` one row per cycle; row ``r`` waits until pass ``j - 2``'s last operand
  set has reached row ``r`` (``11 r`` array cycles after its issue); pass ``j`` issues once its staging is
  complete and its row 0 is written (later rows are then written before their skewed operands arrive).
* **Skew**: the controller issues one operand set per array cycle for all rows; row ``r``'s operands, valid, mode
  and bank select are delayed by ``11 r`` array cycles and the tag by ``11 (rows - 1)`` (:class:`hw.pe_array.PEArray`
  takes row ``r``'s operands ``11 r`` cycles after row 0's). Everything array-facing advances only when the
  scratchpad takes results (``ready``).
* **Post phase**, after the array and scratchpad drain: the raw FP32 ofmap is read once (conv: a group's ``OW``
  words, transposed in a buffer so the rows stream row-major), the bias of each map (FC: each output) read, and the
  elements stream through :class:`hw.ofmap_post.OfmapPost` (bias, ReLU, 2x2 max-pool, bfloat16 rounding: the
  T_pool_relu of eqs. (7), (11)); its results are packed ``y_row_len`` to a word and written to ``ybase`` on.

Ports
-----
desc : In(descriptor_layout(addr_width)), start : In(1)
    The layer, taken when ``start`` is high while idle.
busy : Out(1), done : Out(1)
    Running; ``done`` pulses in the cycle the layer's last write completed.
act, valid, mode, wsel, w_en, w_row, w_bank, w_data, tag_valid, tag
    To the array (:class:`hw.layer_engine.LayerEngine`), already skewed.
ready : In(1), engine_busy : In(1)
    The engine takes this cycle's inputs; results still in the array or scratchpad.
mem_addr, mem_req, mem_we, mem_wdata, mem_rdata, mem_rvalid, mem_ready
    The controller's GLB request port (:class:`scripts.sim.contract.MemoryPorts` semantics).
post_* : to and from :class:`hw.ofmap_post.OfmapPost`.
issue : Out(1)
    An operand set enters the skew this cycle (taken when ``ready``): for cycle measurements.
weight_reads, operand_reads, post_reads, post_writes, wait_weights, wait_operands, post_cycles : Out(32)
    Counters of the current layer (reset by ``start``): GLB reads of each job, words written by the post phase,
    array cycles an issue waited for weights / operands, cycles of the post phase.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from hw.fp_common import delay
from hw.pe_array import LANES
from model.checks import check_int

__all__ = ["LayerController", "descriptor_layout", "CONTROLLER_COUNTERS", "DIM_BITS"]

#: Bits of every shape field of the descriptor.
DIM_BITS = 12
CONTROLLER_COUNTERS = ("weight_reads", "operand_reads", "post_reads", "post_writes", "wait_weights",
                       "wait_operands", "post_cycles")
PE_LATENCY = 11


def descriptor_layout(addr_width: int) -> data.StructLayout:
    """The layer descriptor (:func:`model.stt_ai.network.plan_network` fills it): ``conv``, ``relu``, ``pool``,
    ``out_fp32`` flags; shapes ``c, k, h, w, kh, kw, stride, pad, oh, ow``; loop bounds ``segs`` (S), ``red`` (the
    reduction rows G = C kh S, FC: IN), ``chunks``, ``groups``, ``spad_words``; FC input ``x_row_len``, output
    ``y_row_len`` and ``y_elems``; base addresses ``xbase, wbase, bbase, obase, sbase, ybase``."""
    d = DIM_BITS
    fields = {"conv": 1, "relu": 1, "pool": 1, "out_fp32": 1}
    fields.update({name: d for name in ("c", "k", "h", "w", "oh", "ow", "chunks", "groups")})
    fields.update({"kh": 4, "kw": 4, "stride": 4, "pad": 4, "segs": 4, "red": 16, "spad_words": 16,
                   "x_row_len": 8, "y_row_len": 8, "y_elems": 20})
    fields.update({name: addr_width for name in ("xbase", "wbase", "bbase", "obase", "sbase", "ybase")})
    return data.StructLayout(fields)


# destination kinds of the fetch FIFO
_D_NONE, _D_WGT, _D_LB, _D_TB, _D_BIAS = range(5)


class LayerController(wiring.Component):
    """Descriptor-driven control of a ``rows x cols`` :class:`hw.layer_engine.LayerEngine` and its ofmap path.

    Parameters
    ----------
    rows, cols : int
        The array (H_A, W_A PEs); ``3 * cols`` lanes.
    addr_width : int
        GLB word address bits.
    tag_width : int
        Width of the engine's tag (:func:`hw.scratchpad.tag_layout`).
    fifo_depth : int
        Outstanding GLB requests of the controller (default 16).

    Attributes
    ----------
    latency : int
        Array cycles from an operand set's issue to the bottom row receiving it: the skew, ``11 (rows - 1)``.
    """

    def __init__(self, rows: int = 4, cols: int = 4, *, addr_width: int = 24, tag_width: int = 51,
                 fifo_depth: int = 16):
        self.rows = check_int("rows", rows, min=1, max=64)
        self.cols = check_int("cols", cols, min=1, max=64)
        self.addr_width = check_int("addr_width", addr_width, min=4, max=32)
        self.tag_width = check_int("tag_width", tag_width, min=1, max=256)
        self.fifo_depth = check_int("fifo_depth", fifo_depth, min=2, max=256)
        self.lanes = LANES * self.cols
        width = 32 * self.lanes
        ports = {
            "desc": In(descriptor_layout(self.addr_width)), "start": In(1), "busy": Out(1), "done": Out(1),
            "act": Out(16 * self.rows * self.lanes), "valid": Out(self.rows), "mode": Out(self.rows),
            "wsel": Out(self.rows), "w_en": Out(1), "w_row": Out(range(self.rows)), "w_bank": Out(1),
            "w_data": Out(16 * self.lanes), "tag_valid": Out(1), "tag": Out(self.tag_width),
            "ready": In(1), "engine_busy": In(1), "issue": Out(1),
            "mem_addr": Out(self.addr_width), "mem_req": Out(1), "mem_we": Out(1), "mem_wdata": Out(width),
            "mem_rdata": In(width), "mem_rvalid": In(1), "mem_ready": In(1),
            "post_data": Out(32), "post_bias": Out(32), "post_relu": Out(1), "post_pool": Out(1),
            "post_first": Out(1), "post_width": Out(DIM_BITS), "post_valid": Out(1), "post_ready": In(1),
            "post_out": In(16), "post_out_fp32": In(32), "post_out_valid": In(1), "post_out_ready": Out(1),
        }
        ports.update({name: Out(32) for name in CONTROLLER_COUNTERS})
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return PE_LATENCY * (self.rows - 1)

    @property
    def max_width(self) -> int:
        """Widest conv input row and output row: one GLB word of bfloat16 (``2 * lanes``)."""
        return 2 * self.lanes

    def elaborate(self, platform):
        m = Module()
        H, CA, L, AW = self.rows, self.cols, self.lanes, self.addr_width
        width = 32 * L
        VPW = 2 * L                                   # bfloat16 values per word

        d = Signal(descriptor_layout(AW))             # the running layer
        phase = Signal(range(4))                      # 0 idle, 1 compute, 2 post, 3 finishing
        en = self.ready

        # ------------------------------------------------------------------ counters
        counters = {name: getattr(self, name) for name in CONTROLLER_COUNTERS}
        with m.If(self.start & (phase == 0)):
            m.d.sync += [c.eq(0) for c in counters.values()]

        # ------------------------------------------------------------------ fetch port and destination FIFO
        dest_layout = data.StructLayout({"kind": 3, "b": 1, "r": 8, "c": 8, "lane": 8})
        fifo = SyncFIFO(width=dest_layout.size, depth=self.fifo_depth)
        m.submodules.dest = fifo
        req_addr = Signal(AW)
        req_we = Signal()
        req_wdata = Signal(width)
        req_dest = Signal(dest_layout)
        req = Signal()                                # a job wants to request this cycle
        room = fifo.level < self.fifo_depth - 1
        accepted = Signal()
        m.d.comb += [
            self.mem_addr.eq(req_addr), self.mem_we.eq(req_we), self.mem_wdata.eq(req_wdata),
            self.mem_req.eq(req & room),
            accepted.eq(req & room & self.mem_ready),
            fifo.w_en.eq(accepted), fifo.w_data.eq(req_dest.as_value()),
            fifo.r_en.eq(self.mem_rvalid),
        ]
        resp = data.View(dest_layout, fifo.r_data)
        rv = self.mem_rvalid
        rdata = self.mem_rdata

        # ------------------------------------------------------------------ pass bookkeeping
        # Fetch side (jobs), weight writer and issue side each walk the passes; a pass is (k, g, q).
        T = Signal(32)                                # array time: cycles with `ready`
        with m.If(en):
            m.d.sync += T.eq(T + 1)
        last_issue = Array([Signal(32, name=f"last_issue_{p}") for p in range(2)])
        issued_passes = Signal(32)                    # passes whose every operand set was issued
        written_passes = Signal(32)                   # passes whose weights are all in the array
        staged_passes = Signal(32)                    # passes whose weight staging is complete
        wjobs = Signal(32)                            # weight jobs whose requests are all out
        filled_passes = Signal(32)                    # passes whose line buffer is complete
        total_passes = Signal(32)

        # staging (weights of one pass) and line buffers (operands of two passes)
        staging = [Signal(16 * L, name=f"staging_{r}") for r in range(H)]
        staged = Signal(H)                            # rows of the staging buffer received
        lb = [[[Signal(width, name=f"lb_{b}_{r}_{c}") for c in range(CA)] for r in range(H)] for b in range(2)]
        lb_off = [[Signal(8, name=f"lb_off_{b}_{r}") for r in range(H)] for b in range(2)]    # 3 seg (conv)
        lb_taps = [[Signal(3, name=f"lb_taps_{b}_{r}") for r in range(H)] for b in range(2)]  # taps < kw
        lb_fc = [[Signal(16, name=f"lb_fc_{b}_{r}") for r in range(H)] for b in range(2)]
        lb_count = [Signal(16, name=f"lb_count_{b}") for b in range(2)]  # entries received

        # ------------------------------------------------------------------ the job sequencer (fetch side)
        # Jobs in order: for each pass j, W(j) then X(j). Loop state of the pass being fetched:
        fk = Signal(DIM_BITS)
        fg = Signal(DIM_BITS)
        fq = Signal(DIM_BITS)
        fj = Signal(32)
        # chunk-start decomposition of the reduction row gi = q * rows + r: conv (ch, kr, seg), FC ii
        cs_ch, cs_kr, cs_seg, cs_gi = Signal(DIM_BITS), Signal(4), Signal(4), Signal(16)
        w_ch, w_kr, w_seg, w_gi = Signal(DIM_BITS), Signal(4), Signal(4), Signal(16)   # working copy
        jr = Signal(8)                               # row of the job
        jc = Signal(8)                               # column (conv operand job)
        job = Signal(range(4))                       # 0 none, 1 weights, 2 operands, 3 next pass
        fb = fj[0]
        fetch_active = Signal()

        def step_row():
            """Advance the working decomposition by one reduction row."""
            stmts = [w_gi.eq(w_gi + 1)]
            last_seg = w_seg == d.segs - 1
            last_kr = w_kr == d.kh - 1
            stmts.append(w_seg.eq(Mux(last_seg, 0, w_seg + 1)))
            stmts.append(w_kr.eq(Mux(last_seg, Mux(last_kr, 0, w_kr + 1), w_kr)))
            stmts.append(w_ch.eq(Mux(last_seg & last_kr, w_ch + 1, w_ch)))
            return stmts

        row_ok = w_gi < d.red
        # FC operand address: element ii of the (single) image, rows of x_row_len elements a word
        fc_word = Signal(16)
        fc_lane = Signal(8)
        cs_fc_word, cs_fc_lane = Signal(16), Signal(8)

        # conv operand: ifmap row ih = (g cols + c) stride + kr - pad under PE (r, c)
        oh_c = Signal(DIM_BITS + 8)
        ihp = Signal(20)                             # ih + pad, unsigned
        ih = Signal(16)
        m.d.comb += [ihp.eq(oh_c * d.stride + w_kr), ih.eq(ihp - d.pad)]
        conv_entry_ok = row_ok & (oh_c < d.oh) & (ihp >= d.pad) & (ihp - d.pad < d.h)

        # response routing (staged rows and line-buffer counts also grow from the zero fills below: one sum)
        staged_resp, staged_zero = Signal(H), Signal(H)
        lb_resp = [Signal(name=f"lb_resp_{b}") for b in range(2)]
        lb_zero = [Signal(name=f"lb_zero_{b}") for b in range(2)]
        m.d.sync += staged.eq(staged | staged_resp | staged_zero)
        for b in range(2):
            m.d.sync += lb_count[b].eq(lb_count[b] + lb_resp[b] + lb_zero[b])
        # Every register below is written from flat strobes (a response, or a zero fill of the jobs), which keeps
        # the elaborated netlist small.
        resp_wgt = rv & (resp.kind == _D_WGT)
        resp_lb = rv & (resp.kind == _D_LB)
        zero_wgt = Signal()                           # the weight job zero-fills row `jr` (an idle row)
        zero_lb = Signal()                            # the operand job zero-fills entry (fb, jr, jc)
        seg_set = Signal()                            # the operand job records row jr's segment in buffer fb
        m.d.comb += [staged_resp.eq(Cat(resp_wgt & (resp.r == r) for r in range(H))),
                     staged_zero.eq(Cat(zero_wgt & (jr == r) for r in range(H)))]
        for r in range(H):
            with m.If(resp_wgt & (resp.r == r)):
                m.d.sync += staging[r].eq(rdata[:16 * L])
            with m.Elif(zero_wgt & (jr == r)):
                m.d.sync += staging[r].eq(0)
        for b in range(2):
            m.d.comb += [lb_resp[b].eq(resp_lb & (resp.b == b)), lb_zero[b].eq(zero_lb & (fb == b))]
            for r in range(H):
                r_resp = resp_lb & (resp.b == b) & (resp.r == r)
                r_zero = zero_lb & (fb == b) & (jr == r)
                with m.If(r_resp):
                    m.d.sync += lb_fc[b][r].eq(rdata.word_select(resp.lane, 16))
                with m.Elif(r_zero):
                    m.d.sync += lb_fc[b][r].eq(0)
                for c in range(CA):
                    with m.If(r_resp & (resp.c == c)):
                        m.d.sync += lb[b][r][c].eq(rdata)
                    with m.Elif(r_zero & (jc == c)):
                        m.d.sync += lb[b][r][c].eq(0)
                with m.If(seg_set & (fb == b) & (jr == r)):
                    m.d.sync += [lb_off[b][r].eq(3 * w_seg),
                                 lb_taps[b][r].eq(Cat(row_ok & (3 * w_seg + i < d.kw) for i in range(3)))]


        m.d.comb += req.eq(0)
        with m.If(phase == 1):
            with m.Switch(job):
                with m.Case(0):                       # start the pass's weight job when the staging is free
                    with m.If(fj < total_passes):
                        with m.If(written_passes == fj):
                            m.d.sync += [job.eq(1), jr.eq(0), staged.eq(0), w_ch.eq(cs_ch), w_kr.eq(cs_kr),
                                         w_seg.eq(cs_seg), w_gi.eq(cs_gi)]
                with m.Case(1):                       # weights: one word per row
                    with m.If(d.conv):
                        m.d.comb += req_addr.eq(d.wbase + fk * d.red + w_gi)
                    with m.Else():
                        m.d.comb += req_addr.eq(d.wbase + fg * d.c + w_gi)
                    m.d.comb += [req_dest.kind.eq(_D_WGT), req_dest.r.eq(jr)]
                    adv = Signal()
                    with m.If(row_ok):
                        m.d.comb += [req.eq(1), adv.eq(accepted)]
                        with m.If(accepted):
                            m.d.sync += counters["weight_reads"].eq(counters["weight_reads"] + 1)
                    with m.Else():                    # idle row: zero weights, no read
                        m.d.comb += [adv.eq(1), zero_wgt.eq(1)]
                    with m.If(adv):
                        m.d.sync += step_row()
                        m.d.sync += jr.eq(jr + 1)
                        with m.If(jr == H - 1):
                            # the next chunk starts where this one ended
                            m.d.sync += [job.eq(2), jr.eq(0), jc.eq(0), wjobs.eq(fj + 1)]
                with m.Case(2):                       # operands into line buffer fb
                    with m.If(issued_passes + 2 > fj):          # line buffer fb is free (pass j-2 issued)
                        with m.If((jr == 0) & (jc == 0) & ~fetch_active):
                            m.d.sync += [fetch_active.eq(1), w_ch.eq(cs_ch), w_kr.eq(cs_kr), w_seg.eq(cs_seg),
                                         w_gi.eq(cs_gi), fc_word.eq(cs_fc_word), fc_lane.eq(cs_fc_lane),
                                         oh_c.eq(fg * CA)]
                        with m.Elif(fetch_active):
                            adv = Signal()
                            entry_last = Signal()
                            with m.If(d.conv):
                                m.d.comb += [req_addr.eq(d.xbase + w_ch * d.h + ih),
                                             entry_last.eq(jc == CA - 1)]
                            with m.Else():
                                m.d.comb += [req_addr.eq(d.xbase + fc_word), entry_last.eq(1)]
                            ok = Mux(d.conv, conv_entry_ok, row_ok)
                            m.d.comb += [req_dest.kind.eq(_D_LB), req_dest.b.eq(fb), req_dest.r.eq(jr),
                                         req_dest.c.eq(jc), req_dest.lane.eq(fc_lane)]
                            with m.If(ok):
                                m.d.comb += [req.eq(1), adv.eq(accepted)]
                                with m.If(accepted):
                                    m.d.sync += counters["operand_reads"].eq(counters["operand_reads"] + 1)
                            with m.Else():
                                m.d.comb += [adv.eq(1), zero_lb.eq(1)]
                            with m.If(adv):
                                m.d.comb += seg_set.eq(jc == 0)         # the row's segment: taps and offset
                                with m.If(entry_last):
                                    m.d.sync += [jc.eq(0), jr.eq(jr + 1), oh_c.eq(fg * CA)]
                                    m.d.sync += step_row()
                                    m.d.sync += [fc_lane.eq(Mux(fc_lane == d.x_row_len - 1, 0, fc_lane + 1)),
                                                 fc_word.eq(Mux(fc_lane == d.x_row_len - 1, fc_word + 1,
                                                                fc_word))]
                                    with m.If(jr == H - 1):
                                        m.d.sync += [job.eq(3), fetch_active.eq(0)]
                                with m.Else():
                                    m.d.sync += [jc.eq(jc + 1), oh_c.eq(oh_c + 1)]
                with m.Case(3):                       # next pass: (k, g, q) and the chunk start
                    last_q = fq == d.chunks - 1
                    last_g = fg == d.groups - 1
                    m.d.sync += [fj.eq(fj + 1), job.eq(0), fq.eq(Mux(last_q, 0, fq + 1))]
                    with m.If(last_q):
                        m.d.sync += [cs_ch.eq(0), cs_kr.eq(0), cs_seg.eq(0), cs_gi.eq(0), cs_fc_word.eq(0),
                                     cs_fc_lane.eq(0), fg.eq(Mux(last_g, 0, fg + 1))]
                        with m.If(last_g):
                            m.d.sync += fk.eq(fk + 1)
                    with m.Else():                    # the working copy ended at the next chunk's start
                        m.d.sync += [cs_ch.eq(w_ch), cs_kr.eq(w_kr), cs_seg.eq(w_seg), cs_gi.eq(w_gi),
                                     cs_fc_word.eq(fc_word), cs_fc_lane.eq(fc_lane)]

        # line buffer complete: every entry of the job arrived (conv rows x cols, FC rows)
        entries = Mux(d.conv, H * CA, H)
        for b in range(2):
            with m.If((phase == 1) & (lb_count[b] == entries) & (filled_passes[0] == b)):
                m.d.sync += [filled_passes.eq(filled_passes + 1), lb_count[b].eq(0)]

        with m.If((phase == 1) & (staged == (1 << H) - 1) & (staged_passes == written_passes) &
                  (staged_passes < wjobs)):
            m.d.sync += staged_passes.eq(staged_passes + 1)

        # ------------------------------------------------------------------ the weight writer
        wr_row = Signal(8)
        wj = written_passes
        bank_free = Signal()
        row_free_at = Signal(32)
        free_base = Signal(32)      # pass j-2's last issue, latched at row 0 (pass j's own issue may overwrite it)
        m.d.comb += [row_free_at.eq(Mux(wr_row == 0, last_issue[wj[0]], free_base) + PE_LATENCY * wr_row),
                     bank_free.eq((wj < 2) | ((issued_passes + 1 >= wj) & (T >= row_free_at)))]
        writing = (phase == 1) & (staged_passes > wj) & bank_free
        m.d.comb += [self.w_en.eq(writing), self.w_row.eq(wr_row[:len(self.w_row)] if H > 1 else 0),
                     self.w_bank.eq(wj[0])]
        sel = Signal(16 * L)
        for r in range(H):
            with m.If(wr_row == r):
                m.d.comb += sel.eq(staging[r])
        m.d.comb += self.w_data.eq(Mux(d.conv, Cat(*([sel[:48]] * CA)), sel))
        row0_written = Signal(32)                    # passes whose row 0 is written (issue may start)
        with m.If(writing & en):
            with m.If(wr_row == 0):
                m.d.sync += [row0_written.eq(wj + 1), free_base.eq(last_issue[wj[0]])]
            with m.If(wr_row == H - 1):
                m.d.sync += [wr_row.eq(0), written_passes.eq(wj + 1)]
            with m.Else():
                m.d.sync += wr_row.eq(wr_row + 1)

        # ------------------------------------------------------------------ the issue side
        ij = issued_passes
        ib = ij[0]
        ik, ig, iq = Signal(DIM_BITS), Signal(DIM_BITS), Signal(DIM_BITS)
        pos = Signal(DIM_BITS)                       # position in the pass (output column; FC: 0)
        xcol = Signal(16)                            # pos * stride
        obase_g = Signal(AW)                         # obase + (k groups + g) P
        npos = Mux(d.conv, d.ow, 1)
        operands_in = filled_passes > ij
        weights_in = row0_written > ij
        can = (phase == 1) & (ij < total_passes) & operands_in & weights_in
        m.d.comb += self.issue.eq(can)
        any_issued = Signal()                        # waits count from the first issue on (the array's cycles)
        with m.If(can & en):
            m.d.sync += any_issued.eq(1)
        with m.If((phase == 1) & (ij < total_passes) & en & any_issued):
            with m.If(~weights_in):
                m.d.sync += counters["wait_weights"].eq(counters["wait_weights"] + 1)
            with m.Elif(~operands_in):
                m.d.sync += counters["wait_operands"].eq(counters["wait_operands"] + 1)

        # operands of this set, unskewed
        act0 = [[Signal(16, name=f"act0_{r}_{l}") for l in range(L)] for r in range(H)]
        for r in range(H):
            for c in range(CA):
                for i in range(3):
                    idxp = Signal(16, name=f"idxp_{r}_{c}_{i}")      # input column + pad
                    idx = Signal(16, name=f"idx_{r}_{c}_{i}")
                    entry = Mux(ib, lb[1][r][c], lb[0][r][c])
                    off = Mux(ib, lb_off[1][r], lb_off[0][r])
                    taps = Mux(ib, lb_taps[1][r], lb_taps[0][r])
                    m.d.comb += [idxp.eq(xcol + off + i), idx.eq(idxp - d.pad)]
                    conv_v = Mux(taps[i] & (idxp >= d.pad) & (idx < d.w),
                                 entry.word_select(idx[:max(1, (VPW - 1).bit_length())], 16), 0)
                    fc_v = Mux(ib, lb_fc[1][r], lb_fc[0][r])
                    m.d.comb += act0[r][c * 3 + i].eq(Mux(d.conv, conv_v, fc_v))
        w = pos
        in_spad = w < d.spad_words
        paddr = Mux(d.chunks > 1, Mux(in_spad, w, d.sbase + w - d.spad_words), 0)
        oaddr = obase_g + w
        tag0 = Signal(self.tag_width)
        m.d.comb += tag0.eq(Cat(iq > 0, in_spad, iq == d.chunks - 1, paddr[:AW], oaddr[:AW]))

        with m.If(can & en):
            last_pos = pos == npos - 1
            m.d.sync += [pos.eq(Mux(last_pos, 0, pos + 1)), xcol.eq(Mux(last_pos, 0, xcol + d.stride))]
            with m.If(last_pos):
                m.d.sync += [issued_passes.eq(ij + 1), last_issue[ib].eq(T)]
                last_q = iq == d.chunks - 1
                m.d.sync += iq.eq(Mux(last_q, 0, iq + 1))
                with m.If(last_q):
                    m.d.sync += obase_g.eq(obase_g + npos)
                    with m.If(ig == d.groups - 1):
                        m.d.sync += [ig.eq(0), ik.eq(ik + 1)]
                    with m.Else():
                        m.d.sync += ig.eq(ig + 1)

        # skew: row r by 11 r array cycles, the tag by 11 (rows - 1)
        mode0 = d.conv
        for r in range(H):
            row_in = Cat(*act0[r], can, mode0, ib)
            row_out = delay(m, row_in, PE_LATENCY * r, f"skew{r}", en=en)
            m.d.comb += [self.act.word_select(r, 16 * L).eq(row_out[:16 * L]), self.valid[r].eq(row_out[16 * L]),
                         self.mode[r].eq(row_out[16 * L + 1]), self.wsel[r].eq(row_out[16 * L + 2])]
        tag_out = delay(m, Cat(tag0, can), PE_LATENCY * (H - 1), "skew_tag", en=en)
        m.d.comb += [self.tag.eq(tag_out[:self.tag_width]), self.tag_valid.eq(tag_out[self.tag_width])]

        # ------------------------------------------------------------------ the post phase
        pk = Signal(DIM_BITS)                        # conv map / FC: output tile
        pg = Signal(DIM_BITS)
        pc = Signal(8)                               # row of the group / lane of the FC tile
        pw = Signal(DIM_BITS)                        # column (conv)
        pstate = Signal(range(8))
        tb = Array([Signal(32 * CA, name=f"tb_{i}") for i in range(VPW)])
        tb_fc = Signal(width)
        tb_count = Signal(16)
        bias = Signal(32)
        got_bias = Signal()
        raw_addr = Signal(AW)
        req_n = Signal(16)                           # reads requested in this step
        with m.If(rv & (resp.kind == _D_TB)):
            m.d.sync += [tb[resp.lane].eq(rdata[:32 * CA]), tb_fc.eq(rdata), tb_count.eq(tb_count + 1)]
        with m.If(rv & (resp.kind == _D_BIAS)):
            m.d.sync += [bias.eq(Cat(Const(0, 16), rdata[:16])), got_bias.eq(1)]

        # packer of the results
        pack = Signal(width)
        pack_n = Signal(8)                           # elements in `pack`
        pack_full = Signal()
        y_addr = Signal(AW)
        y_done = Signal(24)                          # elements written
        y_taken = Signal(24)                         # elements received from OfmapPost
        m.d.comb += self.post_out_ready.eq(~pack_full)
        with m.If(self.post_out_valid & ~pack_full):
            m.d.sync += y_taken.eq(y_taken + 1)
            with m.If(d.out_fp32):
                m.d.sync += pack.word_select(pack_n[:max(1, (L - 1).bit_length())], 32).eq(self.post_out_fp32)
            with m.Else():
                m.d.sync += pack.word_select(pack_n[:max(1, (VPW - 1).bit_length())], 16).eq(self.post_out)
            m.d.sync += pack_n.eq(pack_n + 1)
            with m.If((pack_n + 1 == d.y_row_len) | (y_taken + 1 == d.y_elems)):
                m.d.sync += pack_full.eq(1)
        writing_y = (phase >= 2) & pack_full
        feed = Signal()
        with m.If(phase == 2):
            with m.If(writing_y):                    # packed words first
                m.d.comb += [req.eq(1), req_addr.eq(y_addr), req_we.eq(1), req_wdata.eq(pack),
                             req_dest.kind.eq(_D_NONE)]
                with m.If(accepted):
                    m.d.sync += [pack_full.eq(0), pack.eq(0), pack_n.eq(0), y_addr.eq(y_addr + 1),
                                 y_done.eq(y_taken), counters["post_writes"].eq(counters["post_writes"] + 1)]
            with m.Switch(pstate):
                with m.Case(0):                      # bias of the map (conv) / of the element (FC)
                    with m.If(~writing_y):
                        m.d.comb += [req.eq(1), req_addr.eq(d.bbase + Mux(d.conv, pk, pk * L + pc)),
                                     req_dest.kind.eq(_D_BIAS)]
                        with m.If(accepted):
                            m.d.sync += [pstate.eq(1), got_bias.eq(0),
                                         counters["post_reads"].eq(counters["post_reads"] + 1)]
                with m.Case(1):                      # raw words of the group (conv: OW of them; FC: the tile)
                    with m.If(d.conv | (pc == 0)):             # the group's (tile's) raw words
                        with m.If((req_n < npos) & ~writing_y):
                            m.d.comb += [req.eq(1), req_addr.eq(raw_addr + req_n), req_dest.kind.eq(_D_TB),
                                         req_dest.lane.eq(req_n)]
                            with m.If(accepted):
                                m.d.sync += [req_n.eq(req_n + 1),
                                             counters["post_reads"].eq(counters["post_reads"] + 1)]
                        with m.If((tb_count == npos) & got_bias):
                            m.d.sync += [pstate.eq(2), req_n.eq(0)]
                    with m.Elif(got_bias):
                        m.d.sync += pstate.eq(2)
                with m.Case(2):                      # stream the elements
                    m.d.comb += feed.eq(1)
        # the element fed this cycle
        conv_elem = tb[pw].word_select(pc[:max(1, (CA - 1).bit_length())] if CA > 1 else 0, 32)
        fc_elem = tb_fc.word_select(pc[:max(1, (L - 1).bit_length())] if L > 1 else 0, 32)
        oh_p = Signal(DIM_BITS + 8)
        m.d.comb += oh_p.eq(pg * CA + pc)
        elem_ok = Mux(d.conv, oh_p < d.oh, pk * L + pc < d.k)
        m.d.comb += [self.post_data.eq(Mux(d.conv, conv_elem, fc_elem)), self.post_bias.eq(bias),
                     self.post_relu.eq(d.relu), self.post_pool.eq(d.pool & d.conv),
                     self.post_first.eq(Mux(d.conv, (oh_p == 0) & (pw == 0), (pk == 0) & (pc == 0))),
                     self.post_width.eq(d.ow), self.post_valid.eq(feed & elem_ok)]
        with m.If(feed & (~elem_ok | self.post_ready)):
            # advance (conv: pw, then row pc of the group, then group, then map; FC: lane, then tile)
            with m.If(d.conv):
                last_w = pw == d.ow - 1
                last_c = (pc == CA - 1) | (oh_p + 1 >= d.oh)
                m.d.sync += pw.eq(Mux(last_w, 0, pw + 1))
                with m.If(last_w):
                    m.d.sync += pc.eq(Mux(last_c, 0, pc + 1))
                    with m.If(last_c):
                        m.d.sync += [tb_count.eq(0), raw_addr.eq(raw_addr + npos)]
                        with m.If(pg == d.groups - 1):
                            m.d.sync += [pg.eq(0), pk.eq(pk + 1), pstate.eq(0)]
                            with m.If(pk == d.k - 1):
                                m.d.sync += pstate.eq(3)
                        with m.Else():
                            m.d.sync += [pg.eq(pg + 1), pstate.eq(1)]
            with m.Else():
                last_l = (pc == L - 1) | (pk * L + pc + 1 >= d.k)
                m.d.sync += [pc.eq(Mux(last_l, 0, pc + 1)), pstate.eq(0)]
                with m.If(last_l):
                    m.d.sync += [tb_count.eq(0), raw_addr.eq(raw_addr + 1), pk.eq(pk + 1)]
                    with m.If(pk == d.groups - 1):
                        m.d.sync += pstate.eq(3)

        # ------------------------------------------------------------------ phases
        m.d.comb += self.busy.eq(phase != 0)
        m.d.sync += self.done.eq(0)
        with m.If(phase >= 2):
            m.d.sync += counters["post_cycles"].eq(counters["post_cycles"] + 1)
        with m.Switch(phase):
            with m.Case(0):
                with m.If(self.start):
                    m.d.sync += [d.eq(self.desc), phase.eq(1),
                                 total_passes.eq(Mux(self.desc.conv, self.desc.k, 1) * self.desc.groups *
                                                 self.desc.chunks),
                                 fj.eq(0), fk.eq(0), fg.eq(0), fq.eq(0), job.eq(0), fetch_active.eq(0),
                                 cs_ch.eq(0), cs_kr.eq(0), cs_seg.eq(0), cs_gi.eq(0), cs_fc_word.eq(0),
                                 cs_fc_lane.eq(0),
                                 any_issued.eq(0), issued_passes.eq(0), written_passes.eq(0), staged_passes.eq(0), wjobs.eq(0),
                                 filled_passes.eq(0), row0_written.eq(0), wr_row.eq(0),
                                 ik.eq(0), ig.eq(0), iq.eq(0), pos.eq(0), xcol.eq(0), obase_g.eq(self.desc.obase),
                                 lb_count[0].eq(0), lb_count[1].eq(0), staged.eq(0),
                                 pk.eq(0), pg.eq(0), pc.eq(0), pw.eq(0), pstate.eq(0), tb_count.eq(0),
                                 req_n.eq(0), raw_addr.eq(self.desc.obase), y_addr.eq(self.desc.ybase),
                                 y_done.eq(0), y_taken.eq(0), pack.eq(0), pack_n.eq(0), pack_full.eq(0)]
            with m.Case(1):
                with m.If((ij == total_passes) & ~self.engine_busy & (T > last_issue[(ij - 1)[0]] +
                                                                      PE_LATENCY * H + 1)):
                    m.d.sync += phase.eq(2)
            with m.Case(2):
                with m.If((pstate == 3) & (y_done == d.y_elems) & ~pack_full & (fifo.level == 0) & ~accepted):
                    m.d.sync += phase.eq(3)
            with m.Case(3):
                m.d.sync += [phase.eq(0), self.done.eq(1)]
        return m
