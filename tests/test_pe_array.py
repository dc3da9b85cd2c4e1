"""PE array + scratchpad + global buffer on whole layers (Amaranth simulator, small arrays), and their models.

The RTL result is read back from the global-buffer model and compared bit-exactly with the dataflow golden of
:mod:`model.stt_ai.pe_array`; the golden itself is checked against a float64 convolution within the floating-point
summation bound. Every run also checks that the measured cycles equal the named terms of :func:`cycle_terms`
exactly and that the access counters equal what the mapping implies. Seeds come from the ``seed`` fixture.
"""

import numpy as np
import pytest

from model.stt_ai import pe_array as pa
from model.stt_ai.glb import GlobalBuffer, ber_from_device
from scripts.rtl.layer import run_layer

U32 = 2.0 ** -24      # unit roundoff of binary32


def _bf16(rng, shape, scale=1.0):
    v = (rng.standard_normal(shape) * scale).astype(np.float32)
    return (v.view(np.uint32) >> 16).astype(np.uint16)


def _f32(bits16):
    return (bits16.astype(np.uint32) << 16).view(np.float32)


def _conv64(x, w, stride, pad):
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((n, k, oh, ow))
    mag = np.zeros((n, k, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]     # (n, c, oh, ow)
            y += np.einsum("ncij,kc->nkij", patch, w[:, :, i, j].astype(np.float64))
            mag += np.einsum("ncij,kc->nkij", np.abs(patch), np.abs(w[:, :, i, j].astype(np.float64)))
    return y, mag


def _gamma(n):
    return n * U32 / (1 - n * U32)


@pytest.mark.parametrize("stride,pad,kw,rows,cols", [(1, 1, 3, 2, 2), (2, 0, 5, 3, 1), (3, 2, 2, 4, 2)])
def test_conv_golden_within_the_summation_bound(seed, stride, pad, kw, rows, cols):
    """|golden - exact| <= gamma_n * sum |x w|, n = additions an output goes through (products are exact)."""
    rng = np.random.default_rng(seed)
    x, w = _bf16(rng, (2, 3, 7, 8)), _bf16(rng, (4, 3, 3, kw))
    y = pa.ref_conv_dataflow(x, w, stride, pad, rows, cols).view(np.float32).astype(np.float64)
    exact, mag = _conv64(_f32(x), _f32(w), stride, pad)
    mp = pa.map_layer(pa.conv_shape(x.shape, w.shape, stride, pad), rows, cols, 0)
    n_add = mp.chunks * rows * 2 + mp.chunks        # per PE: adder1 + adder2 on the path; chunk accumulation
    assert np.all(np.abs(y - exact) <= _gamma(n_add) * mag), f"seed {seed}"


def test_fc_golden_within_the_summation_bound(seed):
    rng = np.random.default_rng(seed)
    x, w = _bf16(rng, (3, 29)), _bf16(rng, (11, 29))
    y = pa.ref_fc_dataflow(x, w, rows=4).view(np.float32).astype(np.float64)
    xf, wf = _f32(x).astype(np.float64), _f32(w).astype(np.float64)
    exact, mag = xf @ wf.T, np.abs(xf) @ np.abs(wf).T
    n_add = pa.map_layer(pa.fc_shape(x.shape, w.shape), 4, 1, 0).chunks * 5
    assert np.all(np.abs(y - exact) <= _gamma(n_add) * mag), f"seed {seed}"


def test_golden_order_matters():
    """The golden is not a plain sum: re-associating changes bits, so bit-exactness pins the RTL's order."""
    x = np.array([[0x3F80, 0x4B80, 0xCB80]], np.uint16)        # 1, 2^24, -2^24 (bfloat16)
    w = np.array([[0x3F80, 0x3F80, 0x3F80]], np.uint16)
    one_row = pa.ref_fc_dataflow(x, w, rows=1).view(np.float32)[0, 0]     # ((1 + 2^24) - 2^24) = 0 (1 lost)
    three_rows = pa.ref_fc_dataflow(x, w, rows=3).view(np.float32)[0, 0]  # same order down one column
    assert one_row == three_rows == 0.0
    reversed_order = pa.ref_fc_dataflow(x[:, ::-1].copy(), w, rows=3).view(np.float32)[0, 0]   # -2^24 + 2^24 + 1
    assert reversed_order == 1.0


# --- RTL in the Amaranth simulator ----------------------------------------------------------------------------

CASES = {
    # name: kind, x shape, w shape, stride, pad, rows, cols, options
    "conv-stride2-pad1": ("conv", (2, 3, 5, 6), (3, 3, 3, 3), 2, 1, 2, 2, {}),
    "conv-kw5-no-spad": ("conv", (1, 2, 6, 7), (2, 2, 2, 5), 1, 0, 3, 1, {"scratchpad": False}),
    "conv-busy-glb": ("conv", (1, 2, 4, 4), (2, 2, 3, 3), 1, 1, 2, 1, {"glb_ready": 0.6, "glb_read_latency": 5}),
    "fc-tiles": ("fc", (3, 10), (7, 10), 1, 0, 2, 1, {}),
    "fc-batch1-hazards-no-spad": ("fc", (1, 9), (4, 9), 1, 0, 2, 1, {"glb_ready": 0.5, "scratchpad": False}),
    "fc-partial-spill": ("fc", (5, 9), (8, 9), 1, 0, 4, 2, {"bank_bytes": 24 * 2}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_rtl_bit_exact(case, seed):
    kind, xs, ws, stride, pad, rows, cols, opts = CASES[case]
    rng = np.random.default_rng(seed)
    x, w = _bf16(rng, xs), _bf16(rng, ws)
    res = run_layer(kind, x, w, stride=stride, pad=pad, rows=rows, cols=cols, backend="amaranth", seed=seed,
                    **opts)
    s = res.stats
    assert res.bit_exact, f"{case}: {np.count_nonzero(res.y_bits != res.golden_bits)} values differ (seed {seed})"
    assert s["cycles"] == s["predicted_cycles"], (case, s["terms"])
    shape = pa.conv_shape(xs, ws, stride, pad) if kind == "conv" else pa.fc_shape(xs, ws)
    bank_words = pa.bank_words_for(opts.get("bank_bytes", 26 * 1024), cols)
    mp = pa.map_layer(shape, rows, cols, 2 * bank_words if opts.get("scratchpad", True) else 0)
    assert {k: s[k] for k in ("glb_writes", "glb_reads", "spad_writes", "spad_reads")} == \
        pa.glb_writes_expected(mp), case
    assert s["glb_model"]["writes"] == s["glb_writes"] and s["glb_model"]["reads"] == s["glb_reads"]


def test_cases_exercise_hazards_spills_and_stalls(seed):
    """The case list above really reaches the scratchpad's hard paths (else the bit-exact tests prove little)."""
    stats = {}
    rng = np.random.default_rng(seed)
    for case in ("fc-batch1-hazards-no-spad", "fc-partial-spill", "conv-busy-glb"):
        kind, xs, ws, stride, pad, rows, cols, opts = CASES[case]
        stats[case] = run_layer(kind, _bf16(rng, xs), _bf16(rng, ws), stride=stride, pad=pad, rows=rows,
                                cols=cols, backend="amaranth", **opts).stats
    assert stats["fc-batch1-hazards-no-spad"]["glb_stalls"] > 0 and stats["fc-batch1-hazards-no-spad"]["glb_reads"] > 0
    assert stats["fc-partial-spill"]["spill_words"] > 0 and stats["fc-partial-spill"]["spad_reads"] > 0
    assert stats["conv-busy-glb"]["hazard_stalls"] > 0


def test_scratchpad_cuts_global_buffer_writes():
    """Same layer with and without the scratchpad: identical bits, fewer GLB writes (Section IV.D)."""
    rng = np.random.default_rng(7)
    x, w = _bf16(rng, (1, 3, 5, 5)), _bf16(rng, (2, 3, 3, 3))
    a = run_layer("conv", x, w, pad=1, rows=2, cols=1, backend="amaranth")
    b = run_layer("conv", x, w, pad=1, rows=2, cols=1, backend="amaranth", scratchpad=False)
    assert np.array_equal(a.y_bits, b.y_bits) and a.bit_exact
    assert a.stats["glb_writes"] == a.stats["macs"] // (3 * 3 * 3)       # outputs only
    assert b.stats["glb_writes"] > a.stats["glb_writes"] and b.stats["spad_writes"] == 0


def test_glb_bit_errors_replay_by_seed():
    """Errors injected into spilled partial sums change the result, identically for the same seed."""
    rng = np.random.default_rng(3)
    x, w = _bf16(rng, (1, 12)), _bf16(rng, (3, 12))
    runs = [run_layer("fc", x, w, rows=2, cols=1, backend="amaranth", scratchpad=False, ber=0.05, seed=s)
            for s in (1, 1, 2)]
    assert runs[0].stats["glb_model"]["injected_bits"] > 0
    assert np.array_equal(runs[0].y_bits, runs[1].y_bits)
    assert not runs[0].bit_exact and not np.array_equal(runs[0].y_bits, runs[2].y_bits)


# --- models ---------------------------------------------------------------------------------------------------

def test_cycle_terms_name_every_difference():
    mp = pa.map_layer(pa.conv_shape((1, 8, 16, 16), (8, 8, 3, 3), 1, 1), 4, 4, 1108)
    t = pa.cycle_terms(mp, bubbles=0, stalls=0)
    # eq. (2): ceil(8 * 3 * 16 * 1 / 16) = 24 steps; eqs. (3)-(5): 24 * 1 * 16 * 1 * 8 = 3072
    assert t["formula_cycles"] == 3072
    assert t["predicted_cycles"] == 3072 + 43 and sum(t["terms"].values()) == 43
    fc = pa.map_layer(pa.fc_shape((2, 10), (30, 10)), 4, 1, 0)
    t = pa.cycle_terms(fc, 0, 0)
    assert t["formula_cycles"] == 8 * 4 * 2          # eq. (8): ceil(30/4) * ceil(10/3) * N
    assert t["terms"]["mapping (reduction down the columns: IN over H_A, OUT over W_SA; eq. (8) has OUT over "
                      "H_A)"] == 3 * 10 * 2 - 64


@pytest.mark.parametrize("xs,ws,stride,pad,match", [
    ((1, 0, 4, 4), (2, 1, 3, 3), 1, 0, "ifmap C"), ((1, 2, 4, 4), (2, 3, 3, 3), 1, 0, "channels"),
    ((1, 2, 4, 4), (2, 2, 7, 3), 1, 1, "kernel"), ((1, 2, 4, 4), (2, 2, 3, 3), 0, 0, "stride"),
    ((1, 2, 4), (2, 2, 3, 3), 1, 0, "ifmap must have 4")])
def test_bad_conv_shapes(xs, ws, stride, pad, match):
    with pytest.raises(ValueError, match=match):
        pa.conv_shape(xs, ws, stride, pad)


def test_global_buffer_model():
    g = GlobalBuffer(8, 32, ber=0.25, seed=5)
    g.write(3, 0xFFFFFFFF)
    a = [g.read(3) for _ in range(4)]
    h = GlobalBuffer(8, 32, ber=0.25, seed=5)
    h.write(3, 0xFFFFFFFF)
    assert a == [h.read(3) for _ in range(4)] and g.injected_bits > 0 and g.counters()["reads"] == 4
    # eq. (14): P = 1 - exp(-t / (tau e^Delta)) ~ t / (tau e^Delta) when small (tau = 1 ns)
    assert ber_from_device(40.0, 1e-3) == pytest.approx(1e-3 / (1e-9 * np.exp(40.0)), rel=1e-9)
    with pytest.raises(ValueError, match="ber"):
        GlobalBuffer(8, 32, ber=1.0)


def test_paper_style_partial_count_covers_blocks_of_rows():
    """The Fig. 19 paper-style count on hand-sized layers. A step of the rows x cols PEs holds
    U = rows cols // (k_h ceil(k_w / 3)) ofmap rows of one input channel (Section III.B.1, eq. (2)); its partial is
    the whole OH x OW ofmap only when U >= OH. Elements below are worked out by hand (batch 2, 2 x 3 = 6 PEs)."""
    from types import SimpleNamespace

    from model.zoo import Layer

    # U = 6 // 3 = 2 < OH = 4 (one input channel needs 12 PEs): eq. (2) steps = ceil(2 * 3 * 4 / 6) = 4, but a
    # step covers 2 ofmap rows, so every (channel, row) partial is made once: C OH OW = 2 * 4 * 4 = 32 elements
    # per output channel, x 4 channels x 2 images = 256; counting each step as a whole ofmap gives 4 * 16 = 64 per
    # output channel, 512 in all. The final ofmaps are 4 * 16 * 2 = 128 elements.
    blocks = Layer("blocks", "conv", 6, 6, 2, 4, 3, 3)
    # U = 6 // 1 = 6 >= OH = 4: steps = ceil(3 * 4 / 6) = 2 whole-ofmap partials: 2 * 16 * 2 channels * 2 images
    whole = Layer("whole", "conv", 4, 4, 3, 2)
    model = SimpleNamespace(conv_layers=[blocks, whole])
    r = pa.model_glb_writes(model, rows=2, cols=3, spad_bytes=1024, batch=2)
    by = {row["layer"]: row for row in r["layers"]}
    assert (by["blocks"]["paper_steps"], by["blocks"]["paper_step_rows"]) == (4, 2)
    assert by["blocks"]["paper_without_spad"] == 256 and by["blocks"]["paper_with_spad"] == 128
    assert (by["whole"]["paper_steps"], by["whole"]["paper_step_rows"]) == (2, 4)
    assert by["whole"]["paper_without_spad"] == 128 and by["whole"]["paper_with_spad"] == 64
    old = {row["layer"]: row for row in pa.model_glb_writes(model, rows=2, cols=3, spad_bytes=1024, batch=2,
                                                            step_partial="whole")["layers"]}
    assert old["blocks"]["paper_without_spad"] == 512 and old["whole"]["paper_without_spad"] == 128
    # a 16-element FP32 partial (64 B) does not fit 32 B: every partial is written with the scratchpad too
    small = pa.model_glb_writes(model, rows=2, cols=3, spad_bytes=32, batch=2)["layers"]
    assert [row["paper_with_spad"] for row in small] == [256, 128]
    # U = 4 // 9 = 0 (a 3 x 7 kernel row needs 3 PEs x 3 kernel rows = 9 > 4): each ofmap row of each channel
    # takes ceil(9 / 4) = 3 one-row steps: 1 channel x 3 rows x 3 steps x OW 3 = 27 elements (eq. (2): 7 steps)
    wide = SimpleNamespace(conv_layers=[Layer("wide", "conv", 5, 9, 1, 1, 3, 7)])
    row, = pa.model_glb_writes(wide, rows=2, cols=2, spad_bytes=1024, batch=1)["layers"]
    assert (row["paper_steps"], row["paper_step_rows"], row["paper_without_spad"]) == (7, 0, 27)
    with pytest.raises(ValueError, match="step_partial"):
        pa.model_glb_writes(wide, step_partial="rows")


def test_resnet50_conv1_is_counted_in_blocks():
    """ResNet-50's conv1 (7x7/2, 3 -> 64 channels, 112 x 112 ofmap) on 42 x 14 PEs: a row takes 7 x 3 = 21 PEs, a
    step 588 // 21 = 28 rows < 112, so the paper-style count is C OH OW K = 3 x 112 x 112 x 64 elements (eq. (2)'s
    ceil(3 x 7 x 112 x 3 / 588) = 12 whole ofmaps per channel would be 12 x 112 x 112 x 64)."""
    from model.zoo import get_model

    rows = {r["layer"]: r for r in pa.model_glb_writes(get_model("resnet50"))["layers"]}
    assert (rows["conv1"]["paper_steps"], rows["conv1"]["paper_step_rows"]) == (12, 28)
    assert rows["conv1"]["paper_without_spad"] == 3 * 112 * 112 * 64
    assert rows["conv1"]["paper_with_spad"] == 112 * 112 * 64          # 112 x 112 x 4 B = 49 KB fits 52 KB
