"""Packed lanes (scripts/sim/packed.py, scripts/sim/packed_run.py): the numpy packing against a per-bit
reference, and the wrapper in the Amaranth simulator checked by the same PackedChecker as the Verilator runs."""

import numpy as np
import pytest

from scripts.blocks import BLOCKS
from scripts.sim.amaranth_backend import run_amaranth
from scripts.sim.contract import Agent, StreamPorts
from scripts.sim.packed import PackedLanes, PackedLayout
from scripts.sim.packed_run import PackedChecker, random_batches


def _ref_pack(layout, inputs, valid, t):
    """din of cycle t bit by bit from the field offsets (the reference of the vectorised packing)."""
    word = int(valid[t]) << layout.valid_bit
    for f in layout.shared_fields:
        word |= int(inputs[f.name][t]) << f.offset
    for lane in range(layout.lanes):
        for f in layout.in_fields:
            v = inputs[f.name][t, lane]
            if f.width > 64:
                v = sum(int(b) << k for k, b in enumerate(v))
            word |= (int(v) & ((1 << f.width) - 1)) << (lane * layout.in_stride + f.offset)
    return word


def test_pack_matches_the_bit_by_bit_reference(rng):
    ports = StreamPorts(inputs=("m", "x", "wide", "y", "s"), valid="v", outputs=("o", "p"), out_valid="ov")
    widths = {"m": 1, "x": 40, "wide": 130, "y": 33, "s": 3, "o": 64, "p": 7, "v": 1, "ov": 1}
    lay = PackedLayout(widths, ports, 5, shared=("s",))
    cycles = 9
    inputs = {"m": rng.integers(0, 2, (cycles, 5)), "x": rng.integers(0, 1 << 40, (cycles, 5)),
              "wide": rng.random((cycles, 5, 130)) < 0.5, "y": rng.integers(0, 1 << 33, (cycles, 5)),
              "s": rng.integers(0, 8, cycles)}
    valid = rng.random(cycles) < 0.7
    words = lay.pack(inputs, valid)
    for t in range(cycles):
        assert words[t] == _ref_pack(lay, inputs, valid, t)
    assert max(words).bit_length() <= lay.din_width
    # no field straddles a 64-bit word; wide fields start on one
    assert all(f.offset // 64 == (f.offset + f.width - 1) // 64 or f.offset % 64 == 0 for f in lay.in_fields)
    # outputs: build dout words by hand and unpack them
    o = rng.integers(0, 1 << 63, (cycles, 5)).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    p = rng.integers(0, 1 << 7, (cycles, 5)).astype(np.uint64)
    ov = rng.random(cycles) < 0.5
    douts = []
    for t in range(cycles):
        w = int(ov[t]) << lay.out_valid_bit
        for lane in range(5):
            for f, v in zip(lay.out_fields, (o[t, lane], p[t, lane])):
                w |= int(v) << (lane * lay.out_stride + f.offset)
        douts.append(w)
    got_valid, got = lay.unpack(douts)
    assert np.array_equal(got_valid, ov) and np.array_equal(got["o"], o) and np.array_equal(got["p"], p)


def test_layout_rejects_bad_use():
    ports = StreamPorts(inputs=("a",), valid="v", outputs=("o",), out_valid="ov")
    with pytest.raises(ValueError, match="shared"):
        PackedLayout({"a": 8, "o": 8, "v": 1, "ov": 1}, ports, 2, shared=("zz",))
    with pytest.raises(ValueError, match="lanes"):
        PackedLayout({"a": 8, "o": 8, "v": 1, "ov": 1}, ports, 0)
    bp = StreamPorts(inputs=("a",), valid="v", outputs=("o",), out_valid="ov", ready="r")
    with pytest.raises(ValueError, match="back-pressure"):
        PackedLanes(lambda: None, bp, 2)


class _PackedAgent(Agent):
    """Drives precomputed din words and records dout every cycle (the Amaranth twin of tb/cocotb_packed.py)."""

    watches = ("dout",)

    def __init__(self, words):
        self.words, self.out = words, []

    def drive(self, t, io):
        io.set("din", self.words[t] if t < len(self.words) else 0)

    def observe(self, t, io):
        self.out.append(io.get("dout"))

    @property
    def done(self):
        return len(self.out) >= len(self.words)


@pytest.mark.parametrize("block,lanes,gaps,config", [("bf16_mac", 3, 0.2, {}), ("reconfigurable_pe", 2, 0.1, {}),
                                                     ("bitcounter", 3, 0.3, {"width": 16, "max_rows": 8}),
                                                     ("bitcounter", 2, 0.0, {"width": 80, "max_rows": 4})])
def test_packed_wrapper_in_the_amaranth_simulator(block, lanes, gaps, config, rng):
    """(The 80-bit bitcounter rows are fields wider than a 64-bit word.)"""
    spec = BLOCKS[block]
    top = PackedLanes(lambda: spec.build(**config), spec.stream, lanes, spec.packed_shared)
    checker = PackedChecker(spec, top, spec.latency_of(top))
    words = []
    for batch in random_batches(spec, top, rng, 120 * lanes, gaps, batch_cycles=40, first_cycles=5):
        words.append(checker.submit(batch))      # batches of 5, 10, 20, 40, 40, 5 cycles of stimulus
    words.append(checker.drain_words())
    all_words = np.concatenate(words)
    data, n = all_words.astype("<u8").tobytes(), all_words.shape[1] * 8
    agent = _PackedAgent([int.from_bytes(data[i * n:(i + 1) * n], "little") for i in range(len(all_words))])
    run_amaranth(top, [agent])
    checker.collect(np.frombuffer(b"".join(w.to_bytes(top.layout.dout_words * 8, "little") for w in agent.out),
                                  "<u8").reshape(len(agent.out), -1))
    checker.finish()
    st = checker.stats
    assert st["vectors"] == 120 * lanes and st["results"] > 0
    if spec.packed_stimulus is None:                       # elementwise: one result per vector
        assert st["results"] == st["vectors"]


def test_default_random_batches_start_short_and_double(rng):
    """The stream path waits only for the first batch: a sixteenth of the full size, doubling up to it; the
    vectors add up and an explicit ``batch_cycles`` keeps every batch that size."""
    from scripts.sim.packed_run import batches_for

    spec = BLOCKS["bf16_mac"]
    top = PackedLanes(lambda: spec.build(), spec.stream, 64)
    full = (1 << 17) // 64
    sizes = [len(b.valid) for b in batches_for({"job": {"n": 64 * (3 * full + 5)}}, spec, top, rng)]
    assert sizes == [full // 16, full // 8, full // 4, full // 2, full, full, full // 16 + 5]   # 15/16 + 2 + 1/16
    fixed = [len(b.valid) for b in batches_for({"job": {"n": 64 * 100, "batch_cycles": 30}}, spec, top, rng)]
    assert fixed == [30, 30, 30, 10]


def test_checker_catches_a_wrong_lane_and_a_wrong_cycle(rng):
    spec = BLOCKS["bf16_mac"]
    top = PackedLanes(lambda: spec.build(), spec.stream, 2)
    lat = spec.latency_of(top)
    batch = next(random_batches(spec, top, rng, 20, 0.0, batch_cycles=10))
    for corrupt in ("value", "cycle"):
        checker = PackedChecker(spec, top, lat)
        checker.submit(batch)
        lay = top.layout
        out = np.zeros((10 + lat, lay.dout_words), np.uint64)
        res = batch.expected["result"].astype(np.uint64)
        out[lat:, :-1] = res.reshape(10, 2)                    # stride 64: lane i = word i
        out[lat:, -1] = 1
        if corrupt == "value":
            out[lat + 4, 1] ^= np.uint64(1)
            with pytest.raises(AssertionError, match="lane 1"):
                checker.collect(out)
        else:
            out = np.roll(out, 1, axis=0)
            with pytest.raises(AssertionError, match="came in cycle"):
                checker.collect(out)


def test_pack_outputs_is_what_unpack_reads(rng):
    ports = StreamPorts(inputs=("a",), valid="v", outputs=("o", "p"), out_valid="ov")
    lay = PackedLayout({"a": 8, "o": 32, "p": 40, "v": 1, "ov": 1}, ports, 3)
    o = rng.integers(0, 1 << 32, (4, 3)).astype(np.uint64)
    p = rng.integers(0, 1 << 40, (4, 3)).astype(np.uint64)
    words = lay.pack_outputs({"o": o, "p": p}, [1, 2, 5, 6], 8)
    valid, got = lay.unpack_words(words)
    assert valid.tolist() == [False, True, True, False, False, True, True, False]
    assert np.array_equal(got["o"][valid], o) and np.array_equal(got["p"][valid], p)
    assert not got["o"][~valid].any()


def test_wide_field_as_words_packs_as_the_bit_matrix(rng):
    """A field wider than 64 bits given as uint64 words (the bitcounter's packed stimulus) packs exactly as the same
    bits given as a bool matrix; a wrong word count is refused."""
    ports = StreamPorts(inputs=("wide", "x"), valid="v", outputs=("o",), out_valid="ov")
    lay = PackedLayout({"wide": 130, "x": 5, "o": 8, "v": 1, "ov": 1}, ports, 3)
    bits = rng.random((6, 3, 130)) < 0.5
    words = np.packbits(np.concatenate([bits, np.zeros((6, 3, 62), bool)], axis=-1), axis=-1,
                        bitorder="little").view("<u8").astype(np.uint64)
    x = rng.integers(0, 32, (6, 3))
    valid = np.ones(6, bool)
    assert np.array_equal(lay.pack_words({"wide": words, "x": x}, valid), lay.pack_words({"wide": bits, "x": x}, valid))
    with pytest.raises(ValueError, match="needs 3 64-bit words"):
        lay.pack_words({"wide": words[..., :2], "x": x}, valid)


def test_bitcounter_packed_stimulus_counts_and_densities(rng):
    """The bitcounter's packed stimulus: each group's golden count equals the popcount of its rows taken bit by
    bit, and the row densities spread over 0..1 in steps of 1/16 (each step's mean within 5 sigma of k/16)."""
    from scripts.blocks import _random_rows

    spec = BLOCKS["bitcounter"]
    dut = spec.build(width=100, max_rows=16)
    inputs, expected = spec.packed_stimulus(dut, rng, 300, 4)
    bits = np.unpackbits(inputs["bits"].view(np.uint8), axis=-1, bitorder="little")
    assert not bits[..., 100:].any()
    starts, ends = np.flatnonzero(inputs["first"]), np.flatnonzero(inputs["last"])
    assert np.array_equal(ends, expected["_anchors"])
    for g, (s, e) in enumerate(zip(starts, ends)):
        assert np.array_equal(expected["count"][g], bits[s:e + 1].sum(axis=(0, 2)) % (1 << dut.count_width))
    rows = _random_rows(rng, (20000,), 4)
    dens = np.bitwise_count(rows).sum(-1) / 256
    k = np.round(dens * 16)
    for step in range(17):
        d = dens[k == step]
        assert len(d) > 0
    sigma = np.sqrt(0.25 / 256)          # the largest spread of a row's density about k / 16
    for step in (0, 4, 8, 12, 16):
        d = dens[np.abs(dens - step / 16) < 6 * sigma]
        assert abs(d.mean() - step / 16) < 5 * sigma
