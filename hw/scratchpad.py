"""Scratchpad controller: partial ofmaps in two SRAM banks, accumulate-on-write in FP32, spill to the global buffer.

Source: ``stt-ai-mishty-sadi.txt``, Section IV.D and V.E: "a small global SRAM scratchpad ... in addition to a
large global STT-MRAM buffer"; partial ofmaps "need to be stored somewhere in memory to be added to the next
partial ofmap"; "The 52KB SRAM Scratchpad is divided into two banks". The paper has no micro-architecture; ours:

* A word is one row of the PE array's results, ``lanes`` binary32 values. Every result arrives with a tag
  (:func:`tag_layout`): ``acc`` (add to the stored partial, else it is the first one), ``in_spad`` (the partial
  lives in the scratchpad at ``paddr``, else it was spilled to the global buffer (GLB) at ``paddr``: the
  runner spills the part of a partial ofmap that does not fit), ``last`` (the sum is final: write it to the GLB
  at ``oaddr`` instead of back to ``paddr``).
* Read-modify-write pipeline: read (1 cycle, SRAM; or a GLB read through the memory port, waiting for its
  ``rvalid``), ``lanes`` FP32 adders (:class:`hw.fp32_add.FP32Adder`, 4 cycles: ``fl32(new + old)``), write.
  A first contribution skips the add (written as it came).
* Read-after-write hazard: a result whose partial is still in the pipeline (not yet written) waits (``ready``
  low) until that write retires; the SRAM read port is transparent to the write of the same cycle. So the
  accumulation order is exactly arrival order, whatever the spacing.
* The GLB port (:class:`scripts.sim.contract.MemoryPorts` semantics: requests complete in order, one
  ``rvalid`` pulse each, writes included) is shared: writes from the pipeline's end go first; a read waits for
  its own ``rvalid`` by counting the completions ahead of it.

Ports
-----
data : In(32 * lanes), valid : In(1), tag : In(tag_layout(...))
    One result row; consumed in a cycle where ``ready`` is high (hold it otherwise).
ready : Out(1)
    The head result is taken this cycle (or there is none).
glb_addr, glb_req, glb_we, glb_wdata, glb_rdata, glb_rvalid, glb_ready
    The global-buffer memory port (words of ``32 * lanes`` bits).
spad_reads, spad_writes, glb_reads, glb_writes : Out(32)
    Access counters (words); ``hazard_stalls`` and ``glb_stalls`` count cycles a valid head waited.
busy : Out(1)
    Results in flight or GLB requests outstanding.

Attributes
----------
latency : int
    Cycles from taking a result to its write (no stall): 1 read + 4 add = 5.
"""

from __future__ import annotations

from amaranth.hdl import Cat, EnableInserter, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.fp32_add import FP32Adder
from hw.fp_common import check_bool, delay
from model.checks import check_int

__all__ = ["Scratchpad", "tag_layout"]

COUNTERS = ("spad_reads", "spad_writes", "glb_reads", "glb_writes", "hazard_stalls", "glb_stalls")


def tag_layout(glb_addr_width: int) -> data.StructLayout:
    """Tag of one result row: ``acc``, ``in_spad``, ``last`` flags, partial address ``paddr`` (scratchpad word,
    or GLB word when spilled) and output address ``oaddr`` (GLB word), each ``glb_addr_width`` bits."""
    return data.StructLayout({"acc": 1, "in_spad": 1, "last": 1, "paddr": glb_addr_width,
                              "oaddr": glb_addr_width})


class Scratchpad(wiring.Component):
    """Two-bank SRAM scratchpad with an FP32 read-modify-write pipeline and a global-buffer spill port.

    Parameters
    ----------
    lanes : int
        binary32 values per word (the PE array's ``3 * cols`` result lanes), >= 1.
    bank_words : int
        Words per bank (the paper: 2 x 26 KB; :func:`model.stt_ai.pe_array.bank_words_for` converts bytes), >= 1.
    glb_addr_width : int
        Address bits of the global buffer port, enough for ``2 * bank_words`` scratchpad words too.
    ftz : bool
        Flush-to-zero in the adders (default ``False``).
    """

    latency = 1 + FP32Adder.latency

    def __init__(self, lanes: int = 12, bank_words: int = 256, *, glb_addr_width: int = 20, ftz: bool = False):
        self.lanes = check_int("lanes", lanes, min=1, max=1024)
        self.bank_words = check_int("bank_words", bank_words, min=1, max=1 << 20)
        self.glb_addr_width = check_int("glb_addr_width", glb_addr_width, min=1, max=32)
        if (2 * self.bank_words - 1).bit_length() > self.glb_addr_width:
            raise ValueError(f"glb_addr_width={glb_addr_width} cannot address 2 * bank_words = "
                             f"{2 * self.bank_words} scratchpad words")
        self._ftz = check_bool("ftz", ftz)
        super().__init__(self.ports(self.lanes, self.glb_addr_width))

    @staticmethod
    def ports(lanes: int, glb_addr_width: int) -> dict:
        """The port members (also used by :class:`hw.layer_engine.LayerEngine`)."""
        width = 32 * lanes
        ports = {"data": In(width), "valid": In(1), "tag": In(tag_layout(glb_addr_width)), "ready": Out(1),
                 "glb_addr": Out(glb_addr_width), "glb_req": Out(1), "glb_we": Out(1), "glb_wdata": Out(width),
                 "glb_rdata": In(width), "glb_rvalid": In(1), "glb_ready": In(1), "busy": Out(1)}
        ports.update({name: Out(32) for name in COUNTERS})
        return ports

    def elaborate(self, platform):
        m = Module()
        lanes, width = self.lanes, 32 * self.lanes
        tag = self.tag
        pipe_en = Signal()              # the pipeline moves (its end is not waiting for the GLB port)

        # --- the two SRAM banks -------------------------------------------------------------------------
        banks = []
        for b in range(2):
            mem = Memory(shape=width, depth=self.bank_words, init=[])
            m.submodules[f"bank{b}"] = mem
            wp = mem.write_port()
            rp = mem.read_port(transparent_for=(wp,))
            banks.append((wp, rp))

        # --- pipeline stage registers: S1 (after the read) .. S5 (write) ----------------------------------
        s1 = {k: Signal(w, name=f"s1_{k}") for k, w in
              (("valid", 1), ("acc", 1), ("in_spad", 1), ("last", 1), ("paddr", self.glb_addr_width),
               ("oaddr", self.glb_addr_width), ("bank", 1), ("from_glb", 1), ("data", width), ("glb_old", width))}
        glb_old = Signal(width)
        stages = [s1]
        for k in range(2, 1 + FP32Adder.latency + 1):
            prev = stages[-1]
            stages.append({f: delay(m, prev[f], 1, f"s{k}_{f}", en=pipe_en) for f in
                           ("valid", "acc", "in_spad", "last", "paddr", "oaddr", "data")})
        tail = stages[-1]

        def dest(st):
            """(to GLB, address) of a stage's write."""
            to_glb = st["last"] | ~st["in_spad"]
            return to_glb, Mux(st["last"], st["oaddr"], st["paddr"])

        # --- the head: hazards and the GLB read ---------------------------------------------------------
        needs_spad = self.valid & tag.acc & tag.in_spad
        needs_glb = self.valid & tag.acc & ~tag.in_spad
        hazard = Signal()
        hits = []
        for k, st in enumerate(stages):
            to_glb, addr = dest(st)
            same = st["valid"] & (addr == tag.paddr)
            if k < len(stages) - 1:     # the SRAM read port is transparent to the tail's write
                hits.append(same & ~to_glb & needs_spad)
            hits.append(same & to_glb & needs_glb)
        m.d.comb += hazard.eq(Cat(*hits).any())

        tail_to_glb, tail_addr = dest(tail)
        tail_glb = tail["valid"] & tail_to_glb
        m.d.comb += pipe_en.eq(~(tail_glb & ~self.glb_ready))

        rd_state = Signal(2)            # 0 idle, 1 waiting for the read's rvalid, 2 data captured
        ahead = Signal(16)              # completions still due before our read's
        outstanding = Signal(16)
        head_rd_req = Signal()
        m.d.comb += head_rd_req.eq((rd_state == 0) & needs_glb & ~hazard & ~tail_glb)
        accepted = (self.glb_req & self.glb_ready)
        with m.If(accepted & ~self.glb_rvalid):
            m.d.sync += outstanding.eq(outstanding + 1)
        with m.Elif(~accepted & self.glb_rvalid):
            m.d.sync += outstanding.eq(outstanding - 1)
        with m.If(head_rd_req & self.glb_ready):
            m.d.sync += [rd_state.eq(1), ahead.eq(outstanding - self.glb_rvalid)]
        with m.Elif((rd_state == 1) & self.glb_rvalid):
            with m.If(ahead == 0):
                m.d.sync += [rd_state.eq(2), glb_old.eq(self.glb_rdata)]
            with m.Else():
                m.d.sync += ahead.eq(ahead - 1)

        go = Signal()                   # the head result enters the pipeline this cycle
        m.d.comb += [
            go.eq(self.valid & ~hazard & (~needs_glb | (rd_state == 2)) & pipe_en),
            self.ready.eq(~self.valid | go),
            self.glb_req.eq(tail_glb | head_rd_req),
            self.glb_we.eq(tail_glb),
            self.glb_addr.eq(Mux(tail_glb, tail_addr, tag.paddr)),
        ]
        with m.If(go & needs_glb):
            m.d.sync += rd_state.eq(0)

        # Scratchpad read (both banks read the index; S1 picks one); 2 banks split the address space in halves.
        head_bank = tag.paddr >= self.bank_words
        head_index = Mux(head_bank, tag.paddr - self.bank_words, tag.paddr)
        for wp, rp in banks:
            m.d.comb += [rp.addr.eq(head_index), rp.en.eq(pipe_en)]
        with m.If(pipe_en):
            m.d.sync += [s1["valid"].eq(go), s1["acc"].eq(tag.acc), s1["in_spad"].eq(tag.in_spad),
                         s1["last"].eq(tag.last), s1["paddr"].eq(tag.paddr), s1["oaddr"].eq(tag.oaddr),
                         s1["bank"].eq(head_bank), s1["from_glb"].eq(needs_glb), s1["data"].eq(self.data),
                         s1["glb_old"].eq(glb_old)]
        old = Mux(s1["from_glb"], s1["glb_old"], Mux(s1["bank"], banks[1][1].data, banks[0][1].data))

        # --- FP32 add, lane by lane -----------------------------------------------------------------------
        sums = []
        for i in range(lanes):
            add = FP32Adder(ftz=self._ftz)
            m.submodules[f"add{i}"] = EnableInserter(pipe_en)(add)
            m.d.comb += [add.a.eq(s1["data"].word_select(i, 32)), add.b.eq(old.word_select(i, 32)),
                         add.valid.eq(s1["valid"] & s1["acc"])]
            sums.append(add.sum)
        total = Signal(width)
        m.d.comb += total.eq(Mux(tail["acc"], Cat(*sums), tail["data"]))

        # --- the write ------------------------------------------------------------------------------------
        tail_spad = tail["valid"] & ~tail_to_glb
        tail_bank = tail["paddr"] >= self.bank_words
        tail_index = Mux(tail_bank, tail["paddr"] - self.bank_words, tail["paddr"])
        for b, (wp, rp) in enumerate(banks):
            m.d.comb += [wp.addr.eq(tail_index), wp.data.eq(total),
                         wp.en.eq(tail_spad & (tail_bank == b))]
        m.d.comb += self.glb_wdata.eq(total)

        # --- counters and busy ------------------------------------------------------------------------------
        incs = {"spad_reads": go & needs_spad, "spad_writes": tail_spad,
                "glb_reads": head_rd_req & self.glb_ready, "glb_writes": tail_glb & self.glb_ready,
                "hazard_stalls": self.valid & hazard, "glb_stalls": self.valid & ~hazard & ~go}
        for name, inc in incs.items():
            counter = getattr(self, name)
            with m.If(inc):
                m.d.sync += counter.eq(counter + 1)
        m.d.comb += self.busy.eq(Cat(*[st["valid"] for st in stages]).any() | (outstanding != 0) | (rd_state != 0))
        return m

