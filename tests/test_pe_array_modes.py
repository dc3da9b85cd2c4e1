# amaranth: UnusedElaboratable=no
"""The PE array honours its mode per row and per cycle (``hw/pe_array.py``), in the Amaranth simulator.

The layer tests (``tests/test_pe_array.py``) hold one mode for every row during a whole layer, so an array whose
row followed the mode of the row above (or picked the psum chain by it) passed them. Here the operand sets enter
with the documented row skew (row ``r`` takes a set ``11 r`` cycles after row 0) and:

* each set has a random mode (the same in every row, as a controller switching dataflow drives it; or drawn per
  row), a random weight bank, random idle cycles between sets carrying garbage operands and modes, and weight
  writes in the middle of the stream; the golden chains :func:`model.fp_golden.ref_pe` down each PE column as
  ``hw/pe_array.py`` documents;
* a convolution tile streams back-to-back (no idle cycle) into a fully connected tile (and the other way round),
  each tile's operands and weights from :func:`model.stt_ai.pe_array.build_program`, checked against the layer
  goldens :func:`~model.stt_ai.pe_array.ref_conv_dataflow` / :func:`~model.stt_ai.pe_array.ref_fc_dataflow`.

All comparisons are bit-exact. Seeds come from the ``seed``/``rng`` fixtures (replay: ``--seed N``).
"""

import numpy as np
import pytest

from hw.pe_array import LANES, PEArray
from model import fp_golden as g
from model.stt_ai import pe_array as pa
from scripts.sim import Agent, run_amaranth
from scripts.sim.contract import pack_lanes, unpack_lanes

LAT = PEArray.latency


# --- the array's documented semantics -------------------------------------------------------------------------

def ref_array(mode, acts, wgts, *, ftz=False):
    """Bottom-row ``psum_out`` lanes (V, 3 cols) of V operand sets through a ``rows x cols`` array.

    ``mode`` (V, rows) per set and row, ``acts``/``wgts`` (V, rows, 3 cols) bfloat16 as each row sees them.
    As ``hw/pe_array.py`` documents: row 0 starts from +0; row ``r`` takes ``psum0`` = ``pe_out`` (its own mode 1)
    or ``out0`` (mode 0) of the PE above and ``psum1``, ``psum2`` = ``out1``, ``out2``; the bottom row's mode
    picks the output lanes."""
    V, rows, L = acts.shape
    cols = L // LANES
    outs = [np.zeros((V, LANES), np.uint32) for _ in range(cols)]
    pe_out = [np.zeros(V, np.uint32) for _ in range(cols)]
    for r in range(rows):
        for c in range(cols):
            lane = slice(LANES * c, LANES * (c + 1))
            if r == 0:
                psums = np.zeros((V, LANES), np.uint32)
            else:
                psums = outs[c].copy()
                psums[:, 0] = np.where(mode[:, r] == 1, pe_out[c], outs[c][:, 0])
            outs[c], pe_out[c] = g.ref_pe(mode[:, r], acts[:, r, lane], wgts[:, r, lane], psums, ftz=ftz)
    systolic = np.concatenate(outs, axis=1)
    conv = np.zeros_like(systolic)
    conv[:, :cols] = np.stack(pe_out, axis=1)
    return np.where(mode[:, rows - 1:rows] == 1, conv, systolic)


# --- driving the array ----------------------------------------------------------------------------------------

class ArrayStream(Agent):
    """Drives V skewed operand sets and weight writes into a :class:`hw.pe_array.PEArray`; records its results.

    ``entry[v]`` is the cycle set ``v`` enters row 0 (strictly increasing), so row ``r`` gets it at
    ``entry[v] + 11 r`` with its tag (``v``) on the bottom row. ``writes`` maps a cycle to ``(row, bank, data)``.
    Rows without an operand set carry ``garbage`` (random act, mode, wsel) with ``valid`` low.
    """

    watches = ("psum_out", "out_valid", "tag_out")

    def __init__(self, entry, mode, wsel, acts, writes, rng):
        V, rows, L = acts.shape
        self.T = int(entry[-1]) + LAT * rows + 1
        T = self.T
        act = rng.integers(0, 1 << 16, (T, rows, L)).astype(np.uint16)          # garbage where not valid
        self.valid = np.zeros((T, rows), bool)
        md = rng.integers(0, 2, (T, rows))
        ws = rng.integers(0, 2, (T, rows))
        self.tag_valid = np.zeros(T, bool)
        self.tag = rng.integers(0, 4, T)                                       # garbage
        for r in range(rows):
            t = np.asarray(entry) + LAT * r
            act[t, r], self.valid[t, r], md[t, r], ws[t, r] = acts[:, r], True, mode[:, r], wsel[:, r]
        tb = np.asarray(entry) + LAT * (rows - 1)
        self.tag_valid[tb], self.tag[tb] = True, np.arange(V)
        bits = 1 << np.arange(rows)
        self.ports = {"act": pack_lanes(act.reshape(T, rows * L), 16), "valid": (self.valid @ bits).tolist(),
                      "mode": (md @ bits).tolist(), "wsel": (ws @ bits).tolist(),
                      "tag_valid": self.tag_valid.astype(int).tolist(), "tag": self.tag.tolist()}
        self.writes, self.lanes, self.expect = writes, L, V
        self.results = []           # (cycle, tag, psum_out lanes)
        self._last = {}

    def drive(self, t, io):
        values = {k: v[t] for k, v in self.ports.items()} if t < self.T else {"valid": 0, "tag_valid": 0}
        w = self.writes.get(t)
        values["w_en"] = int(w is not None)
        if w is not None:
            values.update(w_row=w[0], w_bank=w[1], w_data=pack_lanes(np.asarray(w[2])[None], 16)[0])
        for k, v in values.items():
            if self._last.get(k) != v:
                io.set(k, int(v))
                self._last[k] = v

    def observe(self, t, io):
        if io.get("out_valid"):
            self.results.append((t, io.get("tag_out"), unpack_lanes([io.get("psum_out")], 32, self.lanes)))

    @property
    def done(self):
        return len(self.results) >= self.expect


def run_array(dut, entry, mode, wsel, acts, writes, rng):
    """Simulate; return the results (V, 3 cols) in tag order, after checking each came ``latency`` cycles after
    its tag and in order."""
    agent = ArrayStream(entry, mode, wsel, acts, writes, rng)
    run_amaranth(dut, [agent], max_cycles=agent.T + 4 * LAT)
    cycles = np.array([c for c, _, _ in agent.results])
    tags = np.array([tag for _, tag, _ in agent.results])
    assert np.array_equal(tags, np.arange(len(entry))), "results out of order or missing"
    # observe(t) sees the edge ending cycle t, i.e. the values of cycle t: out_valid in cycle tag cycle + latency
    assert np.array_equal(cycles, np.flatnonzero(agent.tag_valid) + LAT), "result latency"
    return np.array([lanes for _, _, lanes in agent.results], np.uint32)


def weights_seen(entry, wsel, writes, rows, lanes):
    """The weights (V, rows, lanes) each set meets in each row: bank ``wsel`` at its cycle in that row, a write
    applying from the cycle after it (port contract), the registers starting at 0 (their reset value)."""
    bank = np.zeros((2, rows, lanes), np.uint16)
    V = len(entry)
    seen = np.zeros((V, rows, lanes), np.uint16)
    events = {}
    for v in range(V):
        for r in range(rows):
            events.setdefault(int(entry[v]) + LAT * r, []).append((v, r))
    for t in range(max(max(events), max(writes, default=0)) + 1):
        for v, r in events.get(t, ()):
            seen[v, r] = bank[wsel[v, r], r]
        if t in writes:
            row, b, data = writes[t]
            bank[b, row] = data
    return seen


def _mismatch(got, want, what):
    bad = np.flatnonzero(np.any(got != want, axis=1))
    return (f"{what}: {bad.size} of {len(got)} operand sets differ, first {bad[:8].tolist()}; "
            f"set {bad[0]}: rtl {[hex(x) for x in got[bad[0]]]} golden {[hex(x) for x in want[bad[0]]]}"
            if bad.size else "")


# --- (1) random modes per operand set -------------------------------------------------------------------------

@pytest.mark.parametrize("rows,cols,per_row,ftz", [(3, 2, False, False), (2, 2, True, True)])
def test_random_modes_per_operand_set(rows, cols, per_row, ftz, rng):
    """Mode and bank random per set (``per_row``: per set and row), idle gaps, weights rewritten mid-stream."""
    V, L = 120, LANES * cols
    dut = PEArray(rows, cols, tag_width=7, ftz=ftz)
    mode = rng.integers(0, 2, (V, rows)) if per_row else np.repeat(rng.integers(0, 2, (V, 1)), rows, axis=1)
    wsel = rng.integers(0, 2, (V, rows))
    acts = g.random_bf16(rng, V * rows * L).reshape(V, rows, L)
    # back-to-back mostly (the skew makes rows hold different sets each cycle), some idle cycles
    gaps = np.where(rng.random(V) < 0.85, 0, rng.integers(1, 2 * LAT, V))
    initial = g.random_bf16(rng, 2 * rows * L).reshape(2, rows, L)
    writes = {2 * r + b: (r, b, initial[b, r]) for r in range(rows) for b in range(2)}   # load both banks
    entry = 2 * rows + np.cumsum(gaps) + np.arange(V)
    for t in range(2 * rows, int(entry[-1]) + LAT * rows):                           # rewrites while streaming
        if rng.random() < 0.15:
            writes[t] = (int(rng.integers(rows)), int(rng.integers(2)), g.random_bf16(rng, L))
    # the test reaches what the layer tests do not: mode changes between consecutive sets, and (per_row) rows of
    # one set in different modes, with both output formats at the bottom
    assert np.count_nonzero(np.diff(mode[:, 0])) > V // 4
    assert not per_row or np.count_nonzero(mode.min(axis=1) != mode.max(axis=1)) > V // 4
    got = run_array(dut, entry, mode, wsel, acts, writes, rng)
    want = ref_array(mode, acts, weights_seen(entry, wsel, writes, rows, L), ftz=ftz)
    msg = _mismatch(got, want, f"{rows}x{cols} per_row={per_row} ftz={ftz}")
    assert not msg, msg


# --- (2) a conv tile back-to-back with an FC tile -------------------------------------------------------------

def _tile(prog, bank):
    """(P, rows, L) operands row by row and the weight writes (row, bank, data) of a one-pass program."""
    mp = prog.mapping
    assert mp.passes == 1, "a tile is one pass (one weight load, one chunk)"
    acts = np.stack([prog.act[prog.valid[:, r], r] for r in range(mp.rows)], axis=1)
    writes = [(int(prog.w_row[t]), bank, prog.w_data[t]) for t in np.flatnonzero(prog.w_en)]
    return acts, writes


def _out(prog, rows_out):
    """A one-pass tile's output from the bottom row's results, laid out as the scratchpad would write it."""
    return pa.output_from_glb(prog, pack_lanes(rows_out, 32))


@pytest.mark.parametrize("order", [("conv", "fc"), ("fc", "conv")])
def test_conv_tile_then_fc_tile_back_to_back(order, rng):
    """Two tiles of different dataflow stream with no idle cycle between them; the second tile's weights go
    into the other bank while the first streams. For the ``11 * rows`` cycles after the switch the rows hold
    sets of both tiles at once."""
    rows, cols = 3, 2
    x_conv = g.random_bf16(rng, 2 * 1 * 4 * 9).reshape(2, 1, 4, 9)
    w_conv = g.random_bf16(rng, 9).reshape(1, 1, 3, 3)              # G = C kh S = 3 = rows: one chunk
    x_fc = g.random_bf16(rng, 14 * 3).reshape(14, 3)                  # IN = 3 = rows, OUT = 5 <= 3 cols
    w_fc = g.random_bf16(rng, 5 * 3).reshape(5, 3)
    stride, pad = 2, 1                                                # OH = 2 = cols, OW = 5, 10 positions
    progs = {"conv": pa.build_program(pa.conv_shape(x_conv.shape, w_conv.shape, stride, pad), x_conv, w_conv,
                                      rows, cols, bank_words=64),
             "fc": pa.build_program(pa.fc_shape(x_fc.shape, w_fc.shape), x_fc, w_fc, rows, cols, bank_words=64)}
    first, second = (progs[k] for k in order)
    a0, w0 = _tile(first, bank=0)
    a1, w1 = _tile(second, bank=1)
    P0, P1 = len(a0), len(a1)
    assert min(P0, P1) >= 1
    writes = {t: w for t, w in enumerate(w0)}                         # first tile's bank before it streams
    start = len(w0)
    writes.update({start + 1 + t: w for t, w in enumerate(w1)})       # second tile's bank during the first tile
    entry = start + np.arange(P0 + P1)                                # back-to-back: no idle cycle
    mode = np.repeat(np.r_[np.full(P0, first.mode), np.full(P1, second.mode)][:, None], rows, axis=1)
    wsel = np.repeat(np.r_[np.zeros(P0, int), np.ones(P1, int)][:, None], rows, axis=1)
    acts = np.concatenate([a0, a1])
    got = run_array(PEArray(rows, cols, tag_width=5), entry, mode, wsel, acts, writes, rng)
    for k, prog, rows_out in ((order[0], first, got[:P0]), (order[1], second, got[P0:])):
        x, w = {"conv": (x_conv, w_conv), "fc": (x_fc, w_fc)}[k]
        want = pa.ref_layer(k, x, w, rows=rows, cols=cols, stride=stride, pad=pad)
        y = _out(prog, rows_out)
        bad = np.argwhere(y != want)
        assert y.shape == want.shape and bad.size == 0, \
            f"{k} tile ({'first' if prog is first else 'second'}) differs from its layer golden at {bad[:4].tolist()}"
    # the array-level golden of test (1) agrees, on every lane of every result (mode 1 leaves lanes cols.. zero)
    seen = weights_seen(entry, wsel, writes, rows, LANES * cols)
    msg = _mismatch(got, ref_array(mode, acts, seen), f"{order[0]} then {order[1]}")
    assert not msg, msg
