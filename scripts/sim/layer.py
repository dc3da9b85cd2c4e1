"""The layer engine's side of the simulation contract: everything a simulator needs to run one layer.

:class:`LayerRun` holds the operand program (:func:`model.stt_ai.pe_array.build_program`), the global-buffer model
(:class:`model.stt_ai.glb.GlobalBuffer`) and two agents: the :class:`EngineFeeder` (drives the program, holds a cycle
while ``ready`` is low, measures cycles and stalls) and the :class:`~scripts.sim.contract.MemoryResponder` serving the
engine's ``glb_*`` port from the buffer. The same objects run in the Amaranth simulator and, rebuilt from parameters
by :func:`layer_run_from_params`, inside cocotb (``tb/cocotb_layer.py``); :mod:`scripts.rtl.layer` launches them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw.scratchpad import COUNTERS
from model.stt_ai import pe_array as pa
from model.stt_ai.dse import GLB_PAPER_BYTES
from model.stt_ai.glb import GlobalBuffer
from scripts.sim.contract import Agent, MemoryPorts, MemoryResponder, pack_lanes, random_pattern

__all__ = ["GLB_ADDR_WIDTH", "GLB_PORTS", "EngineFeeder", "LayerRun", "LayerResult", "engine_for",
           "layer_run_from_params", "PAPER_BANK_BYTES", "DEFAULT_GLB_BYTES", "CXX_OPT"]


#: Global-buffer word address bits of the engine (fixed, so every layer size shares one Verilator build).
GLB_ADDR_WIDTH = 24
#: Scratchpad bank size of the paper (Section V.E: 52 KB in two banks).
PAPER_BANK_BYTES = pa.PAPER_SPAD_BYTES // 2
#: The paper's global buffer, 12 MB (Section V.A).
DEFAULT_GLB_BYTES = GLB_PAPER_BYTES
#: C++ optimisation of the engine's Verilator build (see :func:`scripts.toolchain.cocotb_runner.build_sim`).
CXX_OPT = "-O0"
GLB_PORTS = MemoryPorts(addr="glb_addr", req="glb_req", rdata="glb_rdata", rvalid="glb_rvalid",
                        wdata="glb_wdata", we="glb_we", ready="glb_ready")


def engine_for(rows: int, cols: int, bank_bytes: int = PAPER_BANK_BYTES):
    """The :class:`hw.layer_engine.LayerEngine` of an array (banks of ``bank_bytes`` each)."""
    from hw.layer_engine import LayerEngine
    return LayerEngine(rows, cols, bank_words=pa.bank_words_for(bank_bytes, cols), glb_addr_width=GLB_ADDR_WIDTH)

class EngineFeeder(Agent):
    """Drives a :class:`model.stt_ai.pe_array.Program` into the engine, one program cycle per ``ready`` cycle.

    Measures ``first_in`` (cycle the first operand set entered row 0), ``last_out`` (cycle the last result row
    left the array into the scratchpad), ``stalls`` (cycles with ``ready`` low in between) and the counters at the
    end. Done when the program is out and the scratchpad is idle.
    """

    watches = ("ready", "array_out_valid", "busy") + COUNTERS

    def __init__(self, prog: pa.Program):
        self.prog = prog
        H, L = prog.act.shape[1], prog.act.shape[2]
        T = prog.cycles
        self._act = pack_lanes(prog.act.reshape(T, H * L), 16)
        bits = 1 << np.arange(H, dtype=object)
        self._valid = (prog.valid.astype(object) * bits).sum(axis=1).tolist()
        self._wsel = (prog.wsel.astype(object) * bits).sum(axis=1).tolist()
        self._mode = ((1 << H) - 1) if prog.mode else 0
        self._wdata = pack_lanes(prog.w_data, 16)
        self.idx = 0
        self.first_in = self.last_out = None
        self.stall_cycles = []
        self.out_steps = []         # array time (cycles with ready high so far) of each result row
        self.ready_cycles = 0
        self.busy = True
        self.counters = {}
        self._sent = None
        self._last = {}

    def drive(self, t, io):
        i = self.idx
        if i == self._sent:
            return
        p = self.prog
        if i < p.cycles:
            values = (("act", self._act[i]), ("valid", self._valid[i]), ("mode", self._mode),
                      ("wsel", self._wsel[i]), ("w_en", int(p.w_en[i])), ("w_row", int(p.w_row[i])),
                      ("w_bank", int(p.w_bank[i])), ("w_data", self._wdata[i]),
                      ("tag_valid", int(p.tag_valid[i])), ("tag", int(p.tag[i])))
        else:
            values = (("valid", 0), ("w_en", 0), ("tag_valid", 0))
        last = self._last
        for name, value in values:          # a simulator write per changed port only (cocotb pays per write)
            if last.get(name) != value:
                io.set(name, value)
                last[name] = value
        self._sent = i

    def observe(self, t, io):
        ready = io.get("ready")
        if self.idx < self.prog.cycles:
            if ready:
                if self.idx == self.prog.first_operand:
                    self.first_in = t
                self.idx += 1
        if io.get("array_out_valid") and ready:
            self.last_out = t
            self.out_steps.append(self.ready_cycles)
        self.ready_cycles += ready
        if not ready and self.first_in is not None:
            self.stall_cycles.append(t)
        if self.idx >= self.prog.cycles:
            self.busy = bool(io.get("busy"))
            if not self.busy:
                self.counters = {name: io.get(name) for name in COUNTERS}

    @property
    def done(self) -> bool:
        return self.idx >= self.prog.cycles and not self.busy

    @property
    def cycles_per_step(self) -> int:
        """N_cyc_per_stp of our array, measured: the most common spacing, in array time (stall cycles are a term of
        their own), of consecutive result rows of the same pass (1 when no pass has two results: the design's
        initiation interval)."""
        passes = self.prog.tag_pass[self.prog.tag_valid][:len(self.out_steps)]
        gaps = np.diff(self.out_steps)[passes[1:] == passes[:-1]]
        return int(np.bincount(gaps).argmax()) if gaps.size else 1

    @property
    def stalls(self) -> int:
        return sum(1 for t in self.stall_cycles if self.first_in <= t <= self.last_out)


@dataclass
class LayerResult:
    """Output bits, golden bits and the run's measurements (:meth:`LayerRun.stats`)."""

    y_bits: np.ndarray
    golden_bits: np.ndarray
    stats: dict

    @property
    def bit_exact(self) -> bool:
        return bool(np.array_equal(self.y_bits, self.golden_bits))


class LayerRun:
    """Program, global buffer, feeder and responder of one layer run (the same objects in both simulators)."""

    def __init__(self, shape: pa.LayerShape, x_bits, w_bits, rows: int, cols: int, *,
                 bank_bytes: int = PAPER_BANK_BYTES, scratchpad: bool = True, glb_bytes: int = DEFAULT_GLB_BYTES,
                 glb_read_latency: int = 2, glb_write_latency: int = 4, glb_ready: float = 1.0, ber: float = 0.0,
                 seed: int = 0):
        self.shape = shape
        bank_words = pa.bank_words_for(bank_bytes, cols)
        self.prog = pa.build_program(shape, x_bits, w_bits, rows, cols, bank_words,
                                     None if scratchpad else 0, GLB_ADDR_WIDTH)
        mp = self.prog.mapping
        width = 32 * mp.lanes
        words = max(1, int(glb_bytes) // (width // 8))
        need = mp.out_words + mp.spill_words
        if need > words or need > 1 << GLB_ADDR_WIDTH:
            raise ValueError(f"glb: the layer needs {need} global-buffer words of {width // 8} bytes, the "
                             f"buffer has {words} ({glb_bytes} bytes)")
        self.glb = GlobalBuffer(words, width, read_latency=glb_read_latency, write_latency=glb_write_latency,
                                ber=ber, seed=seed)
        self.feeder = EngineFeeder(self.prog)
        self.responder = MemoryResponder(GLB_PORTS, self.glb, read_latency=glb_read_latency,
                                         write_latency=glb_write_latency,
                                         ready=random_pattern(glb_ready, np.random.default_rng(seed)))

    @property
    def agents(self):
        return [self.responder, self.feeder]

    def y_bits(self) -> np.ndarray:
        return pa.output_from_glb(self.prog, self.glb.words)

    def stats(self, seconds: float | None = None) -> dict:
        f, mp = self.feeder, self.prog.mapping
        cycles = f.last_out - f.first_in
        terms = pa.cycle_terms(mp, self.prog.bubbles, f.stalls, f.cycles_per_step)
        macs = mp.shape.macs
        array_macs = mp.rows * mp.lanes
        c = f.counters
        out = {"cycles": int(cycles), "formula_cycles": terms["formula_cycles"],
               "predicted_cycles": terms["predicted_cycles"], "terms": terms["terms"],
               "cycles_per_step": f.cycles_per_step, "macs": int(macs), "array_macs": int(array_macs),
               "utilisation": macs / (cycles * array_macs),
               "glb_reads": int(c["glb_reads"]), "glb_writes": int(c["glb_writes"]),
               "spad_reads": int(c["spad_reads"]), "spad_writes": int(c["spad_writes"]),
               "glb_operand_reads": int(self.prog.operand_reads),
               "hazard_stalls": int(c["hazard_stalls"]), "glb_stalls": int(c["glb_stalls"]),
               "passes": mp.passes, "positions_per_pass": mp.positions, "chunks": mp.chunks,
               "spill_words": mp.spill_words, "weight_load_bubbles": self.prog.bubbles, "stalls": f.stalls,
               "glb_model": self.glb.counters(), "array": f"{mp.rows}x{mp.lanes}",
               "pes": f"{mp.rows}x{mp.cols}"}
        if seconds is not None:
            out["sim_seconds"] = seconds
        return out

def layer_run_from_params(p: dict) -> LayerRun:
    """The :class:`LayerRun` the cocotb module rebuilds from :func:`run_layer`'s parameters."""
    with np.load(p["in"]) as z:
        x, w = z["x"], z["w"]
    shape = pa.conv_shape(x.shape, w.shape, p["stride"], p["pad"]) if p["kind"] == "conv" else \
        pa.fc_shape(x.shape, w.shape)
    keys = ("bank_bytes", "scratchpad", "glb_read_latency", "glb_write_latency", "glb_ready", "ber", "seed")
    return LayerRun(shape, x, w, p["rows"], p["cols"], **{k: p[k] for k in keys})
