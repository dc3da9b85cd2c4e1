"""The layer controller (hw/layer_controller.py) in the accelerator (hw/accelerator.py) against its references.

Each case runs a small network (a conv layer, then FC layers) in the Amaranth simulator with every tensor in the
global-buffer model, and checks:

* what entered the array -- per row the operand sets, the bank each used and the weights that bank held in that
  cycle; per (row, bank) the weight rows written; the tags -- equals the reference operand program of
  :func:`model.stt_ai.pe_array.build_program` layer after layer (:func:`scripts.sim.network.reference_schedule`):
  a weight row overwritten one cycle early, a padding row fetched from the buffer, a wrong tag all show;
* every layer's raw FP32 ofmap and post-processed ofmap in the buffer, and the logits, bit for bit against
  :func:`model.stt_ai.network.golden_network`;
* the measured array cycles equal the paper's formula plus every named term (none unaccounted for).

The shapes exercise what the controller must get right: padding rows and columns, stride 2, kernels wider than 3
(two segments per kernel row), several chunks and groups, an ofmap height that is not a multiple of the columns,
spilled partial sums (a scratchpad too small for a pass), FC inputs spread over words, FP32 logits.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.stt_ai import network as net
from model.stt_ai import pe_array as pa
from scripts.sim.amaranth_backend import run_amaranth
from scripts.sim.network import (NetworkRun, ScheduleMonitor, accelerator_for, pack_descriptor,
                                 reference_schedule)


def _bf16(rng, shape, scale=0.5) -> np.ndarray:
    """Random bfloat16 patterns of normal values (round-to-nearest of N(0, scale))."""
    import ml_dtypes
    v = (rng.standard_normal(shape) * scale).astype(np.float32)
    return np.ascontiguousarray(v.astype(ml_dtypes.bfloat16)).view(np.uint16)


#: (name, rows, cols, conv (K, C, H, W, kh, kw, stride, pad, pool), bank_bytes, fc widths)
CASES = [
    ("pad1-pool-chunks", 2, 2, (3, 2, 5, 4, 3, 3, 1, 1, True), 1024, (7, 4)),
    ("stride2-kw5-segments", 2, 1, (2, 1, 6, 6, 2, 5, 2, 2, False), 1024, (5,)),
    ("spill-3rows", 3, 1, (2, 2, 4, 6, 3, 3, 1, 1, False), 12, (13, 3)),
]


def _network(rng, conv, fcs):
    k, c, h, w, kh, kw, stride, pad, pool = conv
    layers = [net.NetLayer("conv", "conv", _bf16(rng, (k, c, kh, kw)), _bf16(rng, (k,)), stride, pad, True, pool)]
    s = pa.conv_shape((1, c, h, w), (k, c, kh, kw), stride, pad)
    n_in = k * (s.oh // 2) * (s.ow // 2) if pool else k * s.oh * s.ow
    for i, n_out in enumerate(fcs):
        last = i == len(fcs) - 1
        layers.append(net.NetLayer(f"fc{i}", "fc", _bf16(rng, (n_out, n_in)), _bf16(rng, (n_out,)), relu=not last,
                                   out_fp32=last))
        n_in = n_out
    return layers, _bf16(rng, (1, c, h, w), 1.0)


@pytest.mark.parametrize("name, rows, cols, conv, bank_bytes, fcs", CASES, ids=[c[0] for c in CASES])
def test_controller_follows_the_reference_program_bit_exactly(name, rows, cols, conv, bank_bytes, fcs, rng):
    layers, x = _network(rng, conv, fcs)
    run = NetworkRun(layers, x, rows, cols, bank_bytes=bank_bytes)
    if name.startswith("spill"):
        assert run.plan.layers[0].mapping.spill_words > 0          # the case spills, as intended
    mon = ScheduleMonitor(rows, 3 * cols)
    run_amaranth(accelerator_for(rows, cols, run.bank_words), run.agents + [mon], max_cycles=100_000)

    golden = net.golden_network(run.plan, x[0])
    held: dict = {}
    ref = {"rows": [[] for _ in range(rows)], "weights": {}, "tags": []}
    for lp, g, prev in zip(run.plan.layers, golden, [None] + golden[:-1]):
        xin = x if prev is None else prev["y"]
        xin = xin.reshape(1, *lp.in_shape) if lp.shape.kind == "conv" else xin.reshape(1, -1)
        prog = pa.build_program(lp.shape, xin, lp.layer.w_bits, rows, cols, run.bank_words, addr_width=24,
                                out_base=run.bases[lp.tensors["psum"][0]])
        one = reference_schedule(prog, held)
        for r in range(rows):
            ref["rows"][r] += one["rows"][r]
        for key, seq in one["weights"].items():
            ref["weights"].setdefault(key, []).extend(seq)
        ref["tags"] += one["tags"]
        # the buffer holds the layer's raw ofmap and its post-processed ofmap, bit for bit
        ob = run.bases[lp.tensors["psum"][0]]
        raw = pa.output_from_glb(prog, run.glb.words[ob:ob + lp.mapping.out_words])
        assert np.array_equal(raw[0], g["psum"]), lp.name
        yb = run.bases[lp.tensors["ofmap"][0]]
        y = net.decode_rows(run.glb.words[yb:yb + lp.y_words], lp.y_elems, lp.y_row_len,
                            32 if lp.layer.out_fp32 else 16)
        assert np.array_equal(y, g["y"].reshape(-1)), lp.name
    got = mon.schedule()
    for r in range(rows):
        assert got["rows"][r] == ref["rows"][r], f"row {r}"
    assert got["weights"] == ref["weights"]
    assert got["tags"] == ref["tags"]
    assert np.array_equal(run.host.logits[0], golden[-1]["y"])
    for st in run.host.layer_stats[0]:
        assert st["array_cycles"] == st["predicted_array_cycles"], st["name"]
        assert st["bit_flips"] == 0


def test_errors_come_only_from_the_buffer_and_replay_by_seed(rng):
    """A flat read BER flips bits only in what the buffer serves: the logits move only when bits were injected,
    the flips the layers report add up to the buffer's, and the same seed replays the same logits."""
    layers, x = _network(rng, CASES[0][3], (6,))
    outs = []
    for seed in (11, 11, 12):
        run = NetworkRun(layers, x, 2, 2, ber=0.02, seed=seed)
        run_amaranth(accelerator_for(2, 2, run.bank_words), run.agents, max_cycles=100_000)
        flips = sum(st["bit_flips"] for st in run.host.layer_stats[0]) + run.host.readout_flips[0]
        assert flips == run.glb.injected_bits > 0
        outs.append(run.host.logits[0])
    assert np.array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])
    golden = net.golden_network(NetworkRun(layers, x, 2, 2).plan, x[0])[-1]["y"]
    assert not np.array_equal(outs[0], golden)


def test_descriptor_packing_matches_the_rtl_layout(rng):
    from hw.layer_controller import descriptor_layout
    layout = descriptor_layout(24)
    fields = {name: int(rng.integers(0, 1 << f.width)) for name, f in layout}
    assert pack_descriptor(fields) == layout.const(fields).as_value().value
    fields["kw"] = 16
    with pytest.raises(ValueError, match="kw=16"):
        pack_descriptor(fields)


def test_layouts_round_trip_and_follow_the_reduction_order(rng):
    w = rng.integers(0, 1 << 16, (2, 3, 2, 5), dtype=np.uint16)       # kw 5: two segments, the second padded
    words = net.conv_weight_words(w)
    assert len(words) == 2 * 3 * 2 * 2
    mp = pa.map_layer(pa.conv_shape((1, 3, 6, 6), w.shape), 4, 1, 8)
    for o in range(2):
        for gi in range(3 * 2 * 2):
            ch, kr, seg = mp.segment(0, gi) if gi < 4 else mp.segment(gi // 4, gi % 4)
            taps = [(words[o * 12 + gi] >> (16 * i)) & 0xFFFF for i in range(3)]
            want = [int(w[o, ch, kr, 3 * seg + i]) if 3 * seg + i < 5 else 0 for i in range(3)]
            assert taps == want
    fw = rng.integers(0, 1 << 16, (7, 5), dtype=np.uint16)
    words = net.fc_weight_words(fw, 3)                                 # 3 lanes: tiles of outputs 0-2, 3-5, 6
    assert [(words[2 * 5 + 4] >> (16 * lane)) & 0xFFFF for lane in range(3)] == [int(fw[6, 4]), 0, 0]
    v = rng.integers(0, 1 << 16, 23, dtype=np.uint16)
    assert np.array_equal(net.decode_rows(net.row_words(v, 6), 23, 6), v)
    v32 = rng.integers(0, 1 << 32, 5, dtype=np.uint32)
    assert np.array_equal(net.decode_rows(net.row_words(v32, 4, 32), 5, 4, 32), v32)


def test_plan_refuses_what_the_controller_cannot_hold(rng):
    wide = [net.NetLayer("big", "conv", _bf16(rng, (1, 1, 3, 3)), _bf16(rng, (1,)), 1, 1)]
    with pytest.raises(ValueError, match="'big'.*one GLB word"):
        net.plan_network(wide, (1, 4, 13), 1, 2, 64)                  # 13 > 2 * 6 bfloat16 per word
    fc_pool = [net.NetLayer("f", "fc", _bf16(rng, (2, 4)), _bf16(rng, (2,)), pool=True)]
    with pytest.raises(ValueError, match="'f': pooling"):
        net.plan_network(fc_pool, (4,), 1, 1, 64)


def test_network_command_limits_match_the_test_set():
    from model.digits_cnn import load_test_set
    from scripts.cli.commands.network import TEST_IMAGES
    assert TEST_IMAGES == len(load_test_set()[0])


def test_back_pressure_holds_and_replays_per_image(rng):
    """A busy buffer (``glb_ready`` 0.7) holds the controller's fetches: the logits stay bit-exact, every array
    cycle is still a named term, the image takes longer than without back-pressure, and the ready pattern starts
    again at each image, so an image takes the same cycles whether it runs first or second in its batch."""
    layers, x = _network(rng, CASES[1][3], CASES[1][5])
    x2 = np.concatenate([x, x])
    both = NetworkRun(layers, x2, 2, 1, glb_ready=0.7, seed=3)
    run_amaranth(accelerator_for(2, 1, both.bank_words), both.agents, max_cycles=200_000)
    alone = NetworkRun(layers, x, 2, 1, glb_ready=0.7, seed=3, first_index=1)
    run_amaranth(accelerator_for(2, 1, alone.bank_words), alone.agents, max_cycles=100_000)
    golden = net.golden_network(both.plan, x[0])[-1]["y"]
    for logits in (*both.host.logits, *alone.host.logits):
        assert np.array_equal(logits, golden)
    assert both.host.image_cycles[0] == both.host.image_cycles[1] == alone.host.image_cycles[0]
    for st in both.host.layer_stats[0]:
        assert st["array_cycles"] == st["predicted_array_cycles"], st["name"]
    clean = NetworkRun(layers, x, 2, 1)
    run_amaranth(accelerator_for(2, 1, clean.bank_words), clean.agents, max_cycles=100_000)
    assert clean.host.image_cycles[0] < alone.host.image_cycles[0]
