# amaranth: UnusedElaboratable=no
"""The MRAM-DIMA post-processor: the golden ``ref_dima_post`` against independent arithmetic and hand-worked
cases, the RTL (``hw/dima_post.py``) in the Amaranth simulator on corners and several configurations through the
registry's run helpers, and its argument checks. (``tests/test_blocks.py`` runs the registry stimulus on the default
configuration; ``tb/test_cosim.py`` the ``cosim`` table under Verilator; ``tb/test_dima.py`` codes from the analog
model.)"""

import numpy as np
import pytest
from amaranth.hdl import Fragment, Shape

from hw.dima_post import DIMAPostProcessor
from model.dima.array import pack_codes, ref_dima_post
from scripts.blocks import BLOCKS
from scripts.sim import rtl_block
from scripts.sim.block import BlockSpec, Expected, Stimulus

SPEC = BLOCKS["dima_post"]


def _plane_value(c, b_w, slice_bits, encoding="twos", mapping="bit-serial"):
    """One plane's value written out per mode: two's-complement slices (the last one negative, unsigned codes);
    B_w - 1 magnitude slices of bipolar codes (offset 2**(slice_bits-1)); dima: one bipolar code."""
    half = 2 ** (slice_bits - 1)
    if mapping == "dima":
        return c[0] - half
    if encoding == "twos":
        return sum(2**j * c[j] for j in range(b_w - 1)) - 2 ** (b_w - 1) * c[b_w - 1]
    return sum(2**j * (c[j] - half) for j in range(b_w - 1))


def _closed_form(vectors, b_w, acc_width, b_out, slice_bits=8, encoding="twos", mapping="bit-serial", lsb_shift=0):
    """Per vector: acc = Σ_t 2**(T-1-t) p_t mod 2**acc_width (signed), y = floor((acc + bias) / 2**shift),
    saturated; the expected output patterns. An independent formulation (closed sum, floor division)."""
    out = []
    for planes, bias, shift, relu in vectors:
        t = len(planes)
        total = sum(2 ** (t - 1 - i) * 2**lsb_shift * _plane_value(c, b_w, slice_bits, encoding, mapping)
                    for i, c in enumerate(planes))
        acc = (total + 2 ** (acc_width - 1)) % 2**acc_width - 2 ** (acc_width - 1)
        y = (acc + bias) // 2**shift
        lo, hi = (0, 2**b_out - 1) if relu else (-(2 ** (b_out - 1)), 2 ** (b_out - 1) - 1)
        out.append(min(max(y, lo), hi) % 2**b_out)
    return out


def _stream(vectors, slice_bits, acc_width):
    slices, first, last, bias, shift, relu = [], [], [], [], [], []
    for planes, b, s, r in vectors:
        k = len(planes)
        slices += planes
        first += [1] + [0] * (k - 1)
        last += [0] * (k - 1) + [1]
        bias += [b % 2**acc_width] * k
        shift += [s] * k
        relu += [r] * k
    return {"codes": pack_codes(np.array(slices), slice_bits), "first": np.array(first), "last": np.array(last),
            "bias": np.array(bias, dtype=object), "shift": np.array(shift), "relu": np.array(relu)}


def _random_vectors(rng, n, n_codes, slice_bits, acc_width):
    top, sw = 2**slice_bits - 1, (acc_width - 1).bit_length()
    return [(rng.integers(0, top + 1, (int(rng.integers(1, 2 * acc_width)), n_codes)).tolist(),
             int(rng.integers(-(2 ** (acc_width - 1)), 2 ** (acc_width - 1))), int(rng.integers(0, 2**sw)),
             int(rng.integers(0, 2))) for _ in range(n)]


@pytest.mark.parametrize("b_w,slice_bits,acc_width,b_out", [(4, 8, 32, 8), (2, 3, 10, 5), (8, 2, 64, 64),
                                                              (3, 5, 12, 13), (16, 1, 7, 1)])
def test_golden_against_the_closed_form(b_w, slice_bits, acc_width, b_out, seed):
    vectors = _random_vectors(np.random.default_rng(seed), 60, b_w, slice_bits, acc_width)
    s = _stream(vectors, slice_bits, acc_width)
    got = ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], s["shift"], s["relu"], b_w, slice_bits,
                        acc_width, b_out)
    assert got.tolist() == _closed_form(vectors, b_w, acc_width, b_out, slice_bits)


@pytest.mark.parametrize("b_w,slice_bits,acc_width,b_out,encoding,mapping,lsb_shift", [
    (4, 8, 32, 8, "sign-magnitude", "bit-serial", 0), (3, 5, 12, 13, "differential", "bit-serial", 2),
    (2, 3, 10, 5, "sign-magnitude", "bit-serial", 1), (4, 17, 40, 12, "twos", "dima", 3),
    (8, 2, 64, 64, "differential", "dima", 0), (5, 1, 7, 1, "sign-magnitude", "dima", 5)])
def test_golden_other_modes_against_the_closed_form(b_w, slice_bits, acc_width, b_out, encoding, mapping, lsb_shift,
                                                    seed):
    """Bipolar codes (offset 2**(slice_bits-1)), magnitude slices and the dima mapping's one code, scaled by
    2**lsb_shift: the golden against the closed form, on random multi-plane vectors (the RTL does not forbid them)."""
    n_codes = 1 if mapping == "dima" else b_w - (encoding != "twos")
    vectors = _random_vectors(np.random.default_rng(seed), 60, n_codes, slice_bits, acc_width)
    s = _stream(vectors, slice_bits, acc_width)
    got = ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], s["shift"], s["relu"], b_w, slice_bits,
                        acc_width, b_out, encoding, mapping, lsb_shift)
    assert got.tolist() == _closed_form(vectors, b_w, acc_width, b_out, slice_bits, encoding, mapping, lsb_shift)


def test_golden_dima_mapping_hand_worked():
    """dima mapping, 4-bit codes (offset 8), lsb_shift 2: code 13 -> (13 - 8)·4 = 20; code 0 -> -32; code 8 -> 0."""
    s = _stream([([[13]], 0, 0, 0), ([[13]], -5, 1, 0), ([[0]], 0, 0, 0), ([[0]], 0, 0, 1), ([[8]], 3, 0, 0),
                 ([[15]], 0, 0, 0)], 4, 12)
    got = ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], s["shift"], s["relu"], 4, 4, 12, 6,
                        mapping="dima", lsb_shift=2)
    # 20; (20 - 5) >> 1 = 7; -32 (the 6-bit minimum, pattern 0b100000); ReLU -> 0; 3; 7·4 = 28
    assert got.tolist() == [20, 7, 0b100000, 0, 3, 28]


def test_golden_hand_worked():
    # b_w = 2 slices of 3 bits: p = c0 - 2 c1.  Planes (5, 1) then (0, 3): p = 3, -6; acc = 2·3 - 6 = 0.
    s = _stream([([[5, 1], [0, 3]], 0, 0, 0),
                 ([[7, 0]], -10, 1, 0),          # p = 7, y = (7 - 10) >> 1 = floor(-1.5) = -2 -> 0b11110
                 ([[0, 7]] * 2, 0, 0, 0),        # p = -14 each: acc = -42 -> saturates at -16 = 0b10000
                 ([[0, 7]] * 2, 0, 0, 1),        # the same with ReLU -> 0
                 ([[7, 0]] * 3, 3, 0, 1)],       # 7·7 + 3 = 52 -> ReLU clamps at 31
                3, 10)
    got = ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], s["shift"], s["relu"], 2, 3, 10, 5)
    assert got.tolist() == [0, 0b11110, 0b10000, 0, 31]
    # acc wraps at acc_width: 2**9 - 1 = 511 is the largest; ten planes of p = 7 give 7·1023 = 7161 ≡ -7 (mod 1024)
    s = _stream([([[7, 0]] * 10, 0, 0, 0)], 3, 10)
    assert ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], s["shift"], s["relu"], 2, 3, 10, 5)[0] == 32 - 7


def test_golden_rejects_bad_inputs():
    s = _stream([([[1, 1]], 0, 0, 0)], 3, 10)
    with pytest.raises(ValueError, match="b_w must be >= 2 and <= 16, got 1"):
        ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], s["shift"], s["relu"], 1, 3, 10, 5)
    with pytest.raises(ValueError, match=r"shift\[0\] must be in \[0, 15\], got 16"):
        ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], [16], s["relu"], 2, 3, 10, 5)
    with pytest.raises(ValueError, match=r"codes\[0\] has a slice code outside \[0, 7\]"):
        ref_dima_post(np.array([[8, 0]]), [1], [1], [0], [0], [0], 2, 3, 10, 5)
    with pytest.raises(ValueError, match="last must have 1 entries"):
        ref_dima_post(s["codes"], s["first"], [1, 1], s["bias"], s["shift"], s["relu"], 2, 3, 10, 5)


def test_rtl_corners_by_hand():
    """The hand-worked stream through the RTL (Amaranth simulator, back to back, then with idle cycles)."""
    dut = SPEC.build(b_w=2, slice_bits=3, acc_width=10, b_out=5)
    s = _stream([([[5, 1], [0, 3]], 0, 0, 0), ([[7, 0]], -10, 1, 0), ([[0, 7]] * 2, 0, 0, 0),
                 ([[0, 7]] * 2, 0, 0, 1), ([[7, 0]] * 3, 3, 0, 1), ([[7, 0]] * 10, 0, 0, 0), ([[0, 0]], -512, 0, 0),
                 ([[0, 0]], 511, 9, 0)], 3, 10)
    gaps = np.zeros(len(s["first"]), np.int64)
    gaps[[1, 3, 6, 21]] = [3, 1, 2, 1]                 # idle cycles inside and between vectors
    for gaps in (None, gaps):
        stim = Stimulus(s, gaps=gaps)
        run = rtl_block(SPEC, dut, stim, rng=np.random.default_rng(0))
        run.verify()
        assert run.monitor.outputs["out"] == [0, 0b11110, 0b10000, 0, 31, 32 - 7, 0b10000, 0]


def test_rtl_dima_mapping_by_hand():
    """The hand-worked dima-mapping stream (one code per output: offset, scale, sign) through the RTL."""
    dut = SPEC.build(b_w=4, slice_bits=4, acc_width=12, b_out=6, mapping="dima", lsb_shift=2)
    s = _stream([([[13]], 0, 0, 0), ([[13]], -5, 1, 0), ([[0]], 0, 0, 0), ([[0]], 0, 0, 1), ([[8]], 3, 0, 0),
                 ([[15]], 0, 0, 0)], 4, 12)
    run = rtl_block(SPEC, dut, Stimulus(s), rng=np.random.default_rng(0))
    run.verify()
    assert run.monitor.outputs["out"] == [20, 7, 0b100000, 0, 3, 28]


@pytest.mark.parametrize("config", [{"b_w": 8, "slice_bits": 2, "acc_width": 64, "b_out": 64},
                                    {"b_w": 3, "slice_bits": 5, "acc_width": 12, "b_out": 13},
                                    {"b_w": 2, "slice_bits": 3, "acc_width": 10, "b_out": 5},
                                    {"b_w": 2, "slice_bits": 1, "acc_width": 2, "b_out": 1},
                                    {"b_w": 4, "slice_bits": 9, "acc_width": 30, "b_out": 8,
                                     "encoding": "sign-magnitude", "lsb_shift": 1},
                                    {"b_w": 3, "slice_bits": 4, "acc_width": 11, "b_out": 13,
                                     "encoding": "differential"},
                                    {"b_w": 4, "slice_bits": 17, "acc_width": 40, "b_out": 12, "mapping": "dima",
                                     "lsb_shift": 3},
                                    {"b_w": 5, "slice_bits": 6, "acc_width": 9, "b_out": 7, "mapping": "dima",
                                     "encoding": "sign-magnitude"},
                                    {"b_w": 2, "slice_bits": 1, "acc_width": 3, "b_out": 1, "mapping": "dima"}])
def test_rtl_registry_stimulus_other_configurations(config, seed):
    dut = SPEC.build(**config)
    run = rtl_block(SPEC, dut, rng=np.random.default_rng(seed), n=60, gap_probability=0.3)
    run.verify()
    assert run.scoreboard.observed == run.scoreboard.n > 60


@pytest.mark.parametrize("config", [{}, {"b_w": 4, "slice_bits": 12, "acc_width": 30, "b_out": 10,
                                         "mapping": "dima", "lsb_shift": 2}])
def test_rtl_a_wrong_golden_fails(config, seed):
    """The scoreboard catches a golden that ignores ReLU, and one that takes the bipolar codes as unsigned (no offset)
    where the mode has one (so the checks above can fail); the right one passes, latency included (``verify``
    measures it from each ``last`` plane)."""
    dut = SPEC.build(**config)
    rtl_block(SPEC, dut, rng=np.random.default_rng(seed), n=30).verify()

    def no_relu(d, stim):
        e = SPEC.golden(d, stim)
        s = dict(stim.inputs, relu=np.zeros(len(stim), np.uint8))
        return Expected(SPEC.golden(d, Stimulus(s)).outputs, anchors=e.anchors)

    def no_offset(d, stim):
        """The one bipolar code read as unsigned: code + 2**slice_bits at slice_bits + 1 has the offset subtracted
        back to the bare code."""
        s = stim.inputs
        codes = np.array([int(c) + (1 << d.slice_bits) for c in s["codes"]], dtype=object)
        out = ref_dima_post(codes, s["first"], s["last"], s["bias"], s["shift"], s["relu"], d.b_w, d.slice_bits + 1,
                            d.acc_width, d.b_out, d.encoding, d.mapping, d.lsb_shift)
        return Expected({"out": out}, anchors=np.flatnonzero(np.asarray(s["last"])))

    for bad in (no_relu,) + ((no_offset,) if dut.mapping == "dima" else ()):
        wrong = BlockSpec(**{**SPEC.__dict__, "golden": bad})
        with pytest.raises(AssertionError, match="out expected"):
            rtl_block(wrong, dut, rng=np.random.default_rng(seed), n=30).verify()


def test_ports_and_widths():
    dut = DIMAPostProcessor(b_w=5, slice_bits=6, acc_width=33, b_out=9)
    m = dut.signature.members
    widths = {k: Shape.cast(m[k].shape) for k in ("codes", "bias", "shift", "out")}
    assert widths["codes"].width == 30 and widths["bias"].width == 33 and widths["bias"].signed
    assert widths["shift"].width == 6 and widths["out"].width == 9 and not widths["out"].signed
    Fragment.get(dut, None)
    dima = SPEC.factory(b_w=4, slice_bits=17, acc_width=40, b_out=12, mapping="dima", lsb_shift=3)
    assert dima.n_codes == 1 and dima.code_offset == 2**16 and dima.code_weights == (1,)
    assert Shape.cast(dima.signature.members["codes"].shape).width == 17
    sm = SPEC.factory(b_w=4, slice_bits=9, encoding="sign-magnitude")
    assert sm.n_codes == 3 and sm.code_offset == 256 and sm.code_weights == (1, 2, 4)
    assert Shape.cast(sm.signature.members["codes"].shape).width == 27 and dut.code_weights == (1, 2, 4, 8, -16)
    Fragment.get(dima, None)


@pytest.mark.parametrize("kwargs,exc,msg", [
    ({"b_w": 1}, ValueError, "b_w must be >= 2 and <= 16, got 1"),
    ({"b_w": 4.0}, TypeError, "b_w must be an integer"),
    ({"slice_bits": 0}, ValueError, "slice_bits must be >= 1 and <= 48, got 0"),
    ({"slice_bits": 49}, ValueError, "slice_bits must be >= 1 and <= 48, got 49"),
    ({"encoding": "ones"}, ValueError, r"encoding must be one of \('twos', 'sign-magnitude', 'differential'\)"),
    ({"mapping": "analog"}, ValueError, r"mapping must be one of \('bit-serial', 'dima'\), got 'analog'"),
    ({"lsb_shift": -1}, ValueError, "lsb_shift must be >= 0 and <= 48, got -1"),
    ({"acc_width": 65}, ValueError, "acc_width must be >= 2 and <= 64, got 65"),
    ({"b_out": 0}, ValueError, "b_out must be >= 1 and <= 64, got 0"),
    ({"b_out": True}, TypeError, "b_out must be an integer"),
])
def test_bad_parameters(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        SPEC.factory(**kwargs)


@pytest.mark.parametrize("weights", [(), (1, 2, 4, 8, 16), (3,), (1, 16), (1, True)])
def test_bad_code_weights(weights):
    with pytest.raises(ValueError, match="code_weights must be 1 .. 4 values"):
        DIMAPostProcessor(b_w=4, code_weights=weights)
