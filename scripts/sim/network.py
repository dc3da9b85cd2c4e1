"""The accelerator's side of the simulation contract: a whole network, every tensor in the STT-MRAM global buffer.

:class:`NetworkRun` holds the plan (:func:`model.stt_ai.network.plan_network`), the global-buffer model
(:class:`model.stt_ai.glb.GlobalBuffer`, with the configured errors) and two agents: the :class:`Host` (puts each
image's weights, biases and input into the buffer as the off-chip DMA would, hands the controller one layer
descriptor after the other, reads the logits back, measures every layer) and the
:class:`~scripts.sim.contract.MemoryResponder` serving the accelerator's one ``glb_*`` port from the buffer. The
same objects run in the Amaranth simulator and, rebuilt by :func:`network_run_from_params`, inside cocotb
(``tb/cocotb_network.py``); :mod:`scripts.rtl.network` launches them. :class:`ScheduleMonitor` records what enters
the array, for the check against the reference operand program (:func:`reference_schedule`).
"""

from __future__ import annotations

import numpy as np

from hw.layer_controller import CONTROLLER_COUNTERS
from hw.scratchpad import COUNTERS
from model.stt_ai import network as net
from model.stt_ai import pe_array as pa
from model.stt_ai.dse import GLB_PAPER_BYTES
from model.stt_ai.glb import BankDevice, GlobalBuffer
from model.stt_ai.ofmap import ofmap_post_cycles
from scripts.sim.contract import Agent, MemoryPorts, MemoryResponder, pack_lanes, random_pattern

__all__ = ["GLB_ADDR_WIDTH", "GLB_PORTS", "NetworkRun", "Host", "ScheduleMonitor", "accelerator_for",
           "reference_schedule", "pack_descriptor", "network_run_from_params", "DEFAULT_BANK_BYTES"]

GLB_ADDR_WIDTH = 24
GLB_PORTS = MemoryPorts(addr="glb_addr", req="glb_req", rdata="glb_rdata", rvalid="glb_rvalid",
                        wdata="glb_wdata", we="glb_we", ready="glb_ready")
#: Scratchpad bank of the network runs: 1 KB (the digits CNN's partial ofmaps are a few words; the paper's 26 KB
#: banks would only lengthen the Verilator build).
DEFAULT_BANK_BYTES = 1024
#: The OfmapPost latency (``hw.ofmap_post.OfmapPost.latency``) for T_pool_relu, kept here to avoid elaborating.
POST_LATENCY = 6


def accelerator_for(rows: int, cols: int, bank_words: int):
    """The :class:`hw.accelerator.Accelerator` of a ``rows x cols`` array."""
    from hw.accelerator import Accelerator
    return Accelerator(rows, cols, bank_words=bank_words, glb_addr_width=GLB_ADDR_WIDTH)


def pack_descriptor(fields: dict) -> int:
    """The integer the ``desc`` port takes for a descriptor dict (:func:`hw.layer_controller.descriptor_layout`)."""
    from hw.layer_controller import descriptor_layout
    layout = descriptor_layout(GLB_ADDR_WIDTH)
    value = 0
    for name, f in layout:
        v = int(fields[name])
        if not 0 <= v < 1 << f.width:
            raise ValueError(f"descriptor field {name}={v} does not fit its {f.width} bits")
        value |= v << f.offset
    return value


class Host(Agent):
    """Runs the network image by image, layer by layer, and measures it.

    Per image: a fresh buffer (:meth:`NetworkRun.new_buffer`: its error draws depend only on the seed and the
    image's index, so a run is the same in batches of any size), the weights, biases and the input image written into it (:meth:`GlobalBuffer.load` at
    the current cycle, as the off-chip DMA would before the layers need them), then each layer's descriptor is
    presented with ``start`` and the host waits for ``done``; after the last layer the logits are read from the
    buffer (with its errors). Per layer it records the cycles from ``start`` to ``done``, the array's cycles (first
    operand set in to the last result row out), the stalls, the controller's and scratchpad's counters and the
    buffer's accesses and flips.
    """

    watches = ("done", "issue", "ready", "array_out_valid") + COUNTERS + CONTROLLER_COUNTERS

    def __init__(self, run: "NetworkRun", images: np.ndarray, progress=None):
        """``progress(image index in the whole run, layer name)`` is called as each layer finishes."""
        self.run = run
        self.images = images
        self.progress = progress
        self.image = 0
        self.layer = -1           # -1: load the image
        self.started = None
        self.waiting = False
        self.logits = []
        self.layer_stats: list[list[dict]] = []
        self.occupancy: list[dict] = []      # per image: tensor -> cycles from its first write to its last read
        self.max_age: list[dict] = []        # per image: tensor -> largest age of a word when read
        self.image_cycles: list[int] = []
        self.readout_flips: list[int] = []   # per image: flips in the host's read of the logits
        self.glb_counters: list[dict] = []
        self._image_start = 0
        self._spad = {n: 0 for n in COUNTERS}   # the scratchpad's counters run on: each layer takes its difference
        self._m = None
        self.finished = False

    def _begin_image(self, t):
        r = self.run
        glb = r.new_buffer(self.image, t)
        x = self.images[self.image]
        self._image_start = t
        for lp in r.plan.layers:
            L = lp.layer
            wname, bname = lp.tensors["weights"][0], lp.tensors["bias"][0]
            w = net.conv_weight_words(L.w_bits) if lp.shape.kind == "conv" else \
                net.fc_weight_words(L.w_bits, r.plan.lanes)
            glb.load(r.bases[wname], w, cycle=t)
            glb.load(r.bases[bname], net.bias_words(L.b_bits), cycle=t)
        first = r.plan.layers[0]
        words = net.conv_input_words(x) if first.shape.kind == "conv" else net.row_words(x, first.x_row_len)
        glb.load(r.bases[f"{first.name}.ifmap"], words, cycle=t)
        self.layer_stats.append([])

    def drive(self, t, io):
        self.run.glb.set_cycle(t)
        if self.finished:
            return
        if self.layer == -1:
            self._begin_image(t)
            self.layer = 0
        if not self.waiting:
            lp = self.run.plan.layers[self.layer]
            io.set("desc", self.run.descs[self.layer])
            io.set("start", 1)
            self.waiting = True
            self.started = t
            self._m = {"first_in": None, "last_out": None, "stall_cycles": [], "start": t,
                       "flips0": self.run.flips(), "acc0": (self.run.glb.reads, self.run.glb.writes),
                       "name": lp.name}
        else:
            io.set("start", 0)

    def observe(self, t, io):
        if self.finished or not self.waiting:
            return
        m = self._m
        ready = io.get("ready")
        if io.get("issue") and ready:
            if m["first_in"] is None:
                m["first_in"] = t
        if io.get("array_out_valid") and ready:
            m["last_out"] = t
        if not ready and m["first_in"] is not None:
            m["stall_cycles"].append(t)
        if t > self.started and io.get("done"):
            m["done"] = t
            m["counters"] = {n: int(io.get(n)) for n in CONTROLLER_COUNTERS}
            for n in COUNTERS:
                now = int(io.get(n))
                m["counters"][n] = now - self._spad[n]
                self._spad[n] = now
            m["flips1"] = self.run.flips()
            m["acc1"] = (self.run.glb.reads, self.run.glb.writes)
            self.layer_stats[-1].append(self.run.layer_stats(self.layer, m))
            self.waiting = False
            if self.progress is not None:
                self.progress(self.run.first_index + self.image, self.run.plan.layers[self.layer].name)
            self.layer += 1
            if self.layer == len(self.run.plan.layers):
                before = sum(self.run.flips().values())
                self.logits.append(self.run.read_logits(t))
                self.readout_flips.append(sum(self.run.flips().values()) - before)
                self.image_cycles.append(t - self._image_start)
                tensors = self.run.glb.tensors
                self.occupancy.append({n: rec.occupancy_cycles for n, rec in tensors.items()})
                self.max_age.append({n: rec.max_read_age for n, rec in tensors.items()})
                self.glb_counters.append(self.run.glb.counters())
                self.image += 1
                self.layer = -1
                if self.image == len(self.images):
                    self.finished = True

    @property
    def done(self) -> bool:
        return self.finished


class ScheduleMonitor(Agent):
    """Records what enters the array each cycle it is taken (``ready``): per row the operand sets (activations, bank
    and the weights that bank holds in that cycle, so a weight row overwritten too early shows), per (row, bank)
    the weight rows written, and the tags, in order (:func:`reference_schedule`'s form)."""

    def __init__(self, rows: int, lanes: int):
        self.rows, self.lanes = rows, lanes
        self.watches = ("ready", "act", "valid", "wsel", "w_en", "w_row", "w_bank", "w_data", "tag_valid", "tag")
        self.rows_seq = [[] for _ in range(rows)]
        self.weights: dict = {}
        self.tags: list = []
        self._held: dict = {}

    def observe(self, t, io):
        if not io.get("ready"):
            return
        valid = io.get("valid")
        if valid:
            act = io.get("act")
            wsel = io.get("wsel")
            width = 16 * self.lanes
            for r in range(self.rows):
                if valid >> r & 1:
                    b = wsel >> r & 1
                    self.rows_seq[r].append(((act >> (width * r)) & ((1 << width) - 1), b,
                                             self._held.get((r, b), 0)))
        if io.get("w_en"):
            key = (io.get("w_row"), io.get("w_bank"))
            self.weights.setdefault(key, []).append(io.get("w_data"))
            self._held[key] = io.get("w_data")          # used from the next cycle on
        if io.get("tag_valid"):
            self.tags.append(io.get("tag"))

    def schedule(self) -> dict:
        return {"rows": self.rows_seq, "weights": self.weights, "tags": self.tags}


def reference_schedule(prog: pa.Program, held: dict | None = None) -> dict:
    """The same record of the reference operand program (:func:`model.stt_ai.pe_array.build_program`).

    ``held`` maps (row, bank) to the weights the array holds before the program (default: all zero, after reset);
    it is updated in place, so the records of consecutive layers can be chained."""
    T, H, L = prog.act.shape
    act = pack_lanes(prog.act.reshape(T * H, L), 16)       # operand set of (cycle t, row r) at t * H + r
    w_data = pack_lanes(prog.w_data, 16)
    rows = [[] for _ in range(H)]
    held = {} if held is None else held
    weights: dict = {}
    for t in range(T):
        for r in range(H):
            if prog.valid[t, r]:
                b = int(prog.wsel[t, r])
                rows[r].append((act[t * H + r], b, held.get((r, b), 0)))
        if prog.w_en[t]:
            key = (int(prog.w_row[t]), int(prog.w_bank[t]))
            held[key] = w_data[t]
            weights.setdefault(key, []).append(w_data[t])
    tags = [int(v) for v in prog.tag[prog.tag_valid]]
    return {"rows": rows, "weights": weights, "tags": tags}


class NetworkRun:
    """Plan, global buffer, host and responder of a network run (the same objects in both simulators).

    Parameters
    ----------
    layers : list of NetLayer
    images : array (N, C, H, W) (or (N, IN)) of bfloat16 patterns
    rows, cols : int
        The array.
    bank_bytes : int
        Scratchpad bank size.
    glb_bytes : int
        GLB capacity (default 12 MB, Section V.A).
    delta, ber, ultra : errors of the buffer
        ``delta``: every cell a :class:`model.stt_ai.glb.BankDevice` of this Δ; ``ber``: a flat read bit error
        rate; ``ultra=(Δ_robust, Δ_relaxed)``: STT-AI Ultra's two banks (upper half of every bfloat16 element in
        the robust one). At most one.
    clock_hz : float
        Clock for the retention ages (eq. (14)).
    glb_ready : float
        Probability in (0, 1] that the buffer accepts a request in a cycle (back-pressure; below 1 the array and
        the controller must hold). The pattern is seeded by ``seed`` and starts again at each image.
    seed : int
        Seed of the error draws and the ready pattern (replayable): image ``i`` of the whole run
        (``first_index +`` its place here) gets a buffer seeded from ``(seed, i)``.
    first_index : int
        Index of ``images[0]`` in the whole run.
    tau_s : float, optional
        The thermal attempt time of the device model (default :data:`model.stt_ai.stt_mram.TAU_ATTEMPT_S`).
    """

    def __init__(self, layers, images, rows: int = 4, cols: int = 4, *, bank_bytes: int = DEFAULT_BANK_BYTES,
                 glb_bytes: int = GLB_PAPER_BYTES, delta: float | None = None, ber: float = 0.0,
                 ultra: tuple | None = None, clock_hz: float = 1e9, glb_read_latency: int = 2,
                 glb_write_latency: int = 4, glb_ready: float = 1.0, seed: int = 0, tau_s: float | None = None,
                 first_index: int = 0, progress=None):
        images = np.asarray(images, np.uint16)
        self.bank_words = pa.bank_words_for(bank_bytes, cols)
        self.plan = net.plan_network(layers, images.shape[1:], rows, cols, self.bank_words)
        width = self.plan.word_bits
        self._glb_args = dict(words=max(1, int(glb_bytes) // (width // 8)), width=width,
                              read_latency=glb_read_latency, write_latency=glb_write_latency, ber=ber,
                              clock_hz=clock_hz)
        kw = {} if tau_s is None else {"tau_s": tau_s}
        if delta is not None:
            self._glb_args["device"] = BankDevice(float(delta), **kw)
        elif ultra is not None:
            self._glb_args["ultra"] = (BankDevice(float(ultra[0]), **kw), BankDevice(float(ultra[1]), **kw))
            self._glb_args["element_bits"] = 16
        self.seed, self.first_index = int(seed), int(first_index)
        self.glb = self._buffer(0)
        self.bases = self.plan.allocate(self.glb)
        self.descs = [pack_descriptor(lp.desc) for lp in self.plan.layers]
        self.host = Host(self, images, progress)
        # the same pattern from each image's first cycle: the batch split does not change an image's cycles
        ready = random_pattern(glb_ready, np.random.default_rng([self.seed, 1 << 32]),
                               origin=lambda: self.host._image_start)
        self.responder = MemoryResponder(GLB_PORTS, self.glb, read_latency=glb_read_latency,
                                         write_latency=glb_write_latency, ready=ready)
        self.images = images

    @property
    def agents(self):
        return [self.host, self.responder]

    def image_seed(self, index: int) -> int:
        """The error seed of image ``index`` of the whole run."""
        return int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0])

    def _buffer(self, index: int) -> GlobalBuffer:
        return GlobalBuffer(**self._glb_args, seed=self.image_seed(self.first_index + index))

    def new_buffer(self, index: int, cycle: int) -> GlobalBuffer:
        """A fresh buffer for image ``index`` (of this run), its tensors at the planned bases, served from cycle
        ``cycle`` on."""
        glb = self._buffer(index)
        glb.set_cycle(cycle)
        if self.plan.allocate(glb) != self.bases:
            raise AssertionError("the allocation changed between images")
        self.glb = self.responder.model = glb
        return glb

    def flips(self) -> dict:
        c = self.glb.counters()
        if "banks" in c:
            return {name: b["bit_flips"] for name, b in c["banks"].items()}
        return {"ber": c["injected_bits"]}

    def read_logits(self, t: int) -> np.ndarray:
        lp = self.plan.layers[-1]
        base = self.bases[lp.tensors["ofmap"][0]]
        words = [self.glb.read(base + i, cycle=t) for i in range(lp.y_words)]
        bits = 32 if lp.layer.out_fp32 else 16
        return net.decode_rows(words, lp.y_elems, lp.y_row_len, bits)

    def summary(self) -> dict:
        """What a run measured, JSON-ready: per image the layers' stats, tensor occupancies and cycles; the buffer's
        counters and tensors."""
        h = self.host
        return {"layer_stats": h.layer_stats, "occupancy": h.occupancy, "max_read_age": h.max_age,
                "image_cycles": h.image_cycles, "glb": h.glb_counters, "word_bits": self.plan.word_bits,
                "tensors": {n: {"kind": rec.kind, "base": rec.base, "words": rec.words}
                            for n, rec in self.glb.tensors.items()}}

    def layer_stats(self, i: int, m: dict) -> dict:
        lp = self.plan.layers[i]
        mp, s = lp.mapping, lp.shape
        c = m["counters"]
        cycles = m["done"] - m["start"]
        array_cycles = m["last_out"] - m["first_in"]
        stalls = sum(1 for t in m["stall_cycles"] if t <= m["last_out"])
        terms = pa.cycle_terms(mp, c["wait_weights"], stalls)
        terms["terms"]["operand fetch waits (controller's GLB reads)"] = c["wait_operands"]
        terms["predicted_cycles"] += c["wait_operands"]
        if s.kind == "conv":
            post_formula = ofmap_post_cycles(s.k, s.oh, s.ow, pool=lp.layer.pool, latency=POST_LATENCY)
        else:
            post_formula = ofmap_post_cycles(1, 1, s.k, pool=False, latency=POST_LATENCY)
        f0, f1 = m["flips0"], m["flips1"]
        return {"name": lp.name, "kind": s.kind, "cycles": int(cycles), "array_cycles": int(array_cycles),
                "formula_cycles": terms["formula_cycles"], "predicted_array_cycles": terms["predicted_cycles"],
                "terms": terms["terms"], "post_cycles": c["post_cycles"], "formula_post_cycles": int(post_formula),
                "glb_reads": m["acc1"][0] - m["acc0"][0], "glb_writes": m["acc1"][1] - m["acc0"][1],
                "weight_reads": c["weight_reads"], "operand_reads": c["operand_reads"],
                "post_reads": c["post_reads"], "post_writes": c["post_writes"],
                "spill_reads": c["glb_reads"], "result_writes": c["glb_writes"],
                "bit_flips": sum(f1.values()) - sum(f0.values()),
                "bit_flips_per_bank": {k: f1[k] - f0.get(k, 0) for k in f1}}


def network_run_from_params(p: dict) -> NetworkRun:
    """The :class:`NetworkRun` the cocotb module rebuilds from :func:`scripts.rtl.network.run_network`'s file."""
    from model.digits_cnn import DigitsCNN
    with np.load(p["in"]) as z:
        images = z["images"]
    layers = net.digits_cnn_layers(DigitsCNN.load(p.get("weights")))
    keys = ("bank_bytes", "glb_bytes", "delta", "ber", "ultra", "clock_hz", "glb_ready", "seed", "tau_s",
            "first_index")
    return NetworkRun(layers, images, p["rows"], p["cols"], progress=progress_writer(p.get("progress_file")),
                      **{k: p[k] for k in keys if k in p})


def progress_writer(path: str | None):
    """A ``progress(image, layer)`` that appends ``"image layer"`` lines to ``path`` (read by the launching
    process: :func:`scripts.rtl.network.run_network`), or ``None``."""
    if not path:
        return None

    def progress(image: int, layer: str) -> None:
        with open(path, "a") as f:
            f.write(f"{image} {layer}\n")

    return progress
