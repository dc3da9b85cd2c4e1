"""The MRAM-DIMA behavioural model (model/dima/array.py), its networks (model/dima/net.py), the energy/delay model
(model/dima/energy.py) and the benchmark: each against independent math (direct bit counts, loops, formulas)."""

import math

import numpy as np
import pytest

from model.dima.array import (ENCODINGS, MAPPINGS, DIMAParams, adc_lsb, analog_weights, cell_conductances,
                              cell_sigma_lsb, check_inputs, check_weights, conversions_per_output, dima_codes,
                              dima_matvec, dima_post, lossless_adc_bits, post_stream, recombine, ref_dima_post,
                              sign_read_error, to_signed, weight_range, weight_sigma_lsb)
from model.dima.energy import (EnergyParams, PARAM_INFO, digital_cost, dima_cost, ratios, sensitivity,
                               solve_for_ratio)
from model.dima.net import (QuantNet, accuracy_sweep, analog_mvm, exact_mvm, quantize_images, requantize,
                            sigma_at_drop)
from model.nn import im2col


def _random(rng, m, n, b_w, b_a, batch, encoding="twos"):
    lo, hi = (-(1 << (b_w - 1)), (1 << (b_w - 1)) - 1) if encoding == "twos" else (1 - (1 << (b_w - 1)),
                                                                                    (1 << (b_w - 1)) - 1)
    w = rng.integers(lo, hi + 1, (m, n))
    w[0, : min(n, 3)] = [lo, hi, 0][: min(n, 3)]                                   # both extremes
    x = rng.integers(0, 1 << b_a, (batch, n))
    x[0] = (1 << b_a) - 1                                                          # a full-scale vector
    return w, x


def _counts(w, x, b_w, b_a):
    """count[n, i, b, k] = Σ_j bit_b(x_nj) · bit_k(w_ij mod 2**b_w), by explicit loops over the bits."""
    wu = np.mod(w, 1 << b_w)
    out = np.zeros((x.shape[0], w.shape[0], b_a, b_w), np.int64)
    for b in range(b_a):
        for k in range(b_w):
            out[:, :, b, k] = ((x >> b) & 1) @ ((wu >> k) & 1).T
    return out


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("mapping", MAPPINGS)
@pytest.mark.parametrize("b_w,b_a,m,n,batch", [(4, 4, 17, 64, 9), (2, 1, 5, 3, 4), (8, 6, 9, 200, 3),
                                               (16, 16, 3, 40, 2)])
def test_ideal_array_reproduces_w_at_x(b_w, b_a, m, n, batch, encoding, mapping, seed):
    """Exact at σ = 0 in every encoding and mapping, for any TMR and access resistance (calibrated offset and
    gain) and any ADC at or above the lossless resolution."""
    w, x = _random(np.random.default_rng(seed), m, n, b_w, b_a, batch, encoding)
    kw = {"encoding": encoding, "mapping": mapping}
    lossless = dima_codes(w, x, b_w, b_a, DIMAParams(adc_bits=None, **kw)).adc_bits
    for params in (DIMAParams.ideal(encoding, mapping), DIMAParams(adc_bits=None, **kw),
                   DIMAParams(adc_bits=lossless + 3, **kw), DIMAParams(tmr=0.5, r_access=2.0, adc_bits=None, **kw)):
        assert np.array_equal(dima_matvec(w, x, b_w, b_a, params), x @ w.T), params
    assert np.array_equal(dima_matvec(w, x[1], b_w, b_a, DIMAParams(adc_bits=None, **kw)), w @ x[1])   # 1-D: (M,)


def test_codes_are_the_slice_plane_counts(seed):
    rng = np.random.default_rng(seed)
    w, x = _random(rng, 11, 50, 4, 3, 6)
    mvm = dima_codes(w, x, 4, 3, DIMAParams(adc_bits=None))
    assert mvm.lsb == 1 and mvm.adc_bits == 6 and mvm.codes.shape == (6, 11, 3, 4)
    assert np.array_equal(mvm.codes, _counts(w, x, 4, 3))


def _signed_counts(w, x, b_w, b_a):
    """count[n, i, b, k] = Σ_j bit_b(x_nj) · sign(w_ij) · bit_k(|w_ij|): the signed magnitude-slice counts of the
    symmetric encodings (the sign as polarity), by explicit loops."""
    mag, sgn = np.abs(w), np.where(w < 0, -1, 1)
    out = np.zeros((x.shape[0], w.shape[0], b_a, b_w - 1), np.int64)
    for b in range(b_a):
        for k in range(b_w - 1):
            out[:, :, b, k] = ((x >> b) & 1) @ (sgn * ((mag >> k) & 1)).T
    return out


@pytest.mark.parametrize("encoding", ["sign-magnitude", "differential"])
def test_symmetric_encodings_bit_serial_codes_are_signed_counts(encoding, seed):
    """B_w - 1 bipolar codes per plane (no sign slice): the offset 2**(bits-1) plus the signed magnitude count;
    lossless = ceil(log2(N + 1)) + 1 bits; fewer bits round to the step and clip around the offset."""
    rng = np.random.default_rng(seed)
    w, x = _random(rng, 11, 50, 4, 3, 6, encoding)
    mvm = dima_codes(w, x, 4, 3, DIMAParams(adc_bits=None, encoding=encoding))
    assert mvm.lsb == 1 and mvm.adc_bits == 7 and mvm.offset == 64 and mvm.codes.shape == (6, 11, 3, 3)
    assert np.array_equal(mvm.codes, 64 + _signed_counts(w, x, 4, 3))
    mvm = dima_codes(w, x, 4, 3, DIMAParams(adc_bits=5, encoding=encoding))
    assert mvm.lsb == 4 and mvm.offset == 16
    assert np.array_equal(mvm.codes, np.clip(np.floor(_signed_counts(w, x, 4, 3) / 4 + 0.5) + 16, 0, 31))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_dima_mapping_converts_the_dot_product_once(encoding, seed):
    """One bipolar code per output: offset + W x at the lossless resolution (full scale 2**(B_w-1)·(2**B_a-1)·N for
    twos, (2**(B_w-1)-1)·(2**B_a-1)·N for the symmetric encodings, plus a sign bit); fewer bits round to the step
    and clip."""
    rng = np.random.default_rng(seed)
    w, x = _random(rng, 9, 30, 4, 3, 5, encoding)
    fs = (8 if encoding == "twos" else 7) * 7 * 30
    bits = math.ceil(math.log2(fs + 1)) + 1
    mvm = dima_codes(w, x, 4, 3, DIMAParams(adc_bits=None, encoding=encoding, mapping="dima"))
    assert (mvm.adc_bits, mvm.lsb, mvm.offset, mvm.full_scale) == (bits, 1, 2 ** (bits - 1), fs)
    assert mvm.codes.shape == (5, 9, 1, 1) and np.array_equal(mvm.codes[..., 0, 0], 2 ** (bits - 1) + x @ w.T)
    mvm = dima_codes(w, x, 4, 3, DIMAParams(adc_bits=6, encoding=encoding, mapping="dima"))
    step = 2 ** (bits - 6)
    assert mvm.lsb == step and mvm.offset == 32
    assert np.array_equal(mvm.codes[..., 0, 0], np.clip(np.floor(x @ w.T / step + 0.5) + 32, 0, 63))
    assert np.array_equal(mvm.values(), step * (mvm.codes[..., 0, 0] - 32))


@pytest.mark.parametrize("b_w,b_a", [(4, 4), (3, 5), (6, 2)])
def test_conversions_per_output(b_w, b_a, seed):
    """ADC conversions per output: B_a·B_w (twos, bit-serial: the sign slice is converted too), B_a·(B_w - 1)
    (symmetric encodings, bit-serial: both polarity groups of a slice in one conversion), 1 (dima). The model's
    codes, the helper and the energy model's ADC term agree with these hand counts."""
    want = {("twos", "bit-serial"): b_a * b_w, ("sign-magnitude", "bit-serial"): b_a * (b_w - 1),
            ("differential", "bit-serial"): b_a * (b_w - 1), **{(e, "dima"): 1 for e in ENCODINGS}}
    rng = np.random.default_rng(seed)
    for (enc, mp), conv in want.items():
        w, x = _random(rng, 7, 20, b_w, b_a, 3, enc)
        mvm = dima_codes(w, x, b_w, b_a, DIMAParams(encoding=enc, mapping=mp))
        assert mvm.codes.shape[:2] == (3, 7) and mvm.codes[0, 0].size == conv
        assert conversions_per_output(b_w, b_a, enc, mp) == conv
        p = EnergyParams(m=64, n=32, b_w=b_w, b_a=b_a, adc_bits=7, encoding=enc, mapping=mp)
        assert dima_cost(p).energy_terms["ADC"] == pytest.approx(64 * conv * 20e-15 * 2**7)


def test_sign_cell_weight_in_each_encoding():
    """Ideal cells (TMR ∞, no access resistance): only P cells vary, each by σ (clipping at ε = -1/σ = -10 is
    negligible), so a weight's σ is σ·sqrt(Σ of its P cells' weight²). Two's complement: -1 = 1111 conducts in all
    four cells, the sign cell with weight 8; sign-magnitude and differential: -1 is one magnitude cell of weight 1
    (the sign is sensed or placed, not summed); 0 has no P cell anywhere."""
    sigma = 0.1
    got = {e: weight_sigma_lsb(4, DIMAParams(sigma=sigma, tmr=math.inf, r_access=0.0, encoding=e)) for e in ENCODINGS}
    assert set(got["twos"]) == {str(v) for v in range(-8, 8)}
    assert got["twos"]["-1"] == pytest.approx(sigma * math.sqrt(1 + 4 + 16 + 64), rel=1e-9)
    assert got["twos"]["-8"] == pytest.approx(8 * sigma, rel=1e-9)
    assert got["twos"]["7"] == pytest.approx(sigma * math.sqrt(1 + 4 + 16), rel=1e-9)
    for e in ("sign-magnitude", "differential"):
        assert set(got[e]) == {str(v) for v in range(-7, 8)}
        assert got[e]["-1"] == pytest.approx(sigma, rel=1e-9) == got[e]["1"]
        assert got[e]["-7"] == pytest.approx(sigma * math.sqrt(21), rel=1e-9)
    assert all(g["0"] == 0 for g in got.values())


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("mapping", MAPPINGS)
def test_variation_matches_the_cell_formula_in_every_encoding(encoding, mapping, seed):
    """σ > 0: the cells are drawn in one standard_normal call of shape (B_w, M, N) (twos), (B_w - 1, M, N)
    (sign-magnitude: the magnitude cells) or (2, B_w - 1, M, N) (differential: the positive then the negative group);
    u = (g - g_off)/(g_on - g_off). A weight's value is Σ_k c_k 2^k u_k with the sign cell at c = -1 (twos),
    sign(w)·Σ_k 2^k u_k (sign-magnitude), Σ_k 2^k (u_k+ - u_k-) (differential). Bit-serial: Σ_j x_jb·(slice value)
    per code; dima: Σ_j x_j·(weight value) in one code; rounded to the nearest step, offset, clipped."""
    m, n, b_w, b_a = 5, 12, 4, 3
    w, x = _random(np.random.default_rng(seed), m, n, b_w, b_a, 4, encoding)
    sigma, tmr, r = 0.3, 1.2, 0.4
    params = DIMAParams(sigma=sigma, tmr=tmr, r_access=r, adc_bits=None, encoding=encoding, mapping=mapping)
    mvm = dima_codes(w, x, b_w, b_a, params, rng=seed)
    g_on, g_off = 1 / (1 + r), (1 / (1 + tmr)) / (1 + r / (1 + tmr))

    def u(bits, eps):
        big = np.where(bits == 1, 1.0, 1 / (1 + tmr)) * np.maximum(1 + sigma * eps, 0)
        return (big / (1 + r * big) - g_off) / (g_on - g_off)

    def bits_of(v, count):
        return np.stack([(v >> k) & 1 for k in range(count)])

    eps = np.random.default_rng(seed)
    if encoding == "twos":
        units, c = u(bits_of(np.mod(w, 16), 4), eps.standard_normal((4, m, n))), [1, 2, 4, -8]
    elif encoding == "sign-magnitude":
        units, c = np.where(w < 0, -1, 1) * u(bits_of(np.abs(w), 3), eps.standard_normal((3, m, n))), [1, 2, 4]
    else:
        e = eps.standard_normal((2, 3, m, n))
        units, c = u(bits_of(np.maximum(w, 0), 3), e[0]) - u(bits_of(np.maximum(-w, 0), 3), e[1]), [1, 2, 4]
    off, top = mvm.offset, 2 ** mvm.adc_bits - 1
    assert mvm.lsb == 1
    for nv in range(4):
        if mapping == "dima":
            v = (x[nv] * sum(ck * uk for ck, uk in zip(c, units))).sum(axis=1)             # (M,)
            assert np.array_equal(mvm.codes[nv, :, 0, 0], np.clip(np.floor(v + 0.5) + off, 0, top))
        else:
            for b in range(b_a):
                v = (units * ((x[nv] >> b) & 1)).sum(axis=2)                                 # (slice, row)
                assert np.array_equal(mvm.codes[nv, :, b, :], np.clip(np.floor(v + 0.5) + off, 0, top).T)
    assert not np.array_equal(mvm.values(), x @ w.T)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_weight_sigma_against_monte_carlo(encoding, seed):
    """weight_sigma_lsb (moments by numerical integration, clipping at G = 0 included) against the sample SD of
    analog_weights over 20 000 weights of each value at σ = 0.5 (clipping at ε = -2 matters), TMR 1.5,
    R_access 0.3. Bound: 5 standard errors of a sample SD, s·sqrt((κ - 1) / (4n)) with the sample kurtosis κ
    (delta method)."""
    params = DIMAParams(sigma=0.5, tmr=1.5, r_access=0.3, encoding=encoding)
    lo, hi = weight_range(4, encoding)
    n = 20_000
    w = np.repeat(np.arange(lo, hi + 1)[:, None], n, axis=1)                      # one row per weight value
    vals = analog_weights(w, 4, params, rng=seed)
    want = weight_sigma_lsb(4, params)
    assert set(want) == {str(v) for v in range(lo, hi + 1)}
    for i, v in enumerate(range(lo, hi + 1)):
        s = vals[i].std(ddof=1)
        kurt = np.mean((vals[i] - vals[i].mean()) ** 4) / np.var(vals[i]) ** 2
        assert abs(s - want[str(v)]) <= 5 * s * math.sqrt((kurt - 1) / (4 * n)), (v, s, want[str(v)])
    sd_p, sd_ap = cell_sigma_lsb(params)
    assert sd_p > sd_ap > 0


def test_sign_read_error_against_monte_carlo(seed):
    """Mid-point reference read of P and AP cells against 200 000 draws of each; the mean of two binomial rates has
    variance (p1 q1 + p2 q2) / (4n) <= p q / (2n) at their mean p; we allow 5 of those standard errors. The ideal
    cell fails only as a P cell below half its conductance: Φ(-0.5/σ) / 2."""
    params = DIMAParams(sigma=0.3, tmr=1.5, r_access=0.25)
    n = 200_000
    g = cell_conductances(np.repeat(np.array([[1], [0]]), n, axis=1), params, np.random.default_rng(seed))
    ref = 0.5 * (params.g_on + params.g_off)
    rate = 0.5 * (np.mean(g[0] < ref) + np.mean(g[1] > ref))
    p = sign_read_error(params)
    assert 0.01 < p < 0.2 and abs(rate - p) <= 5 * math.sqrt(p * (1 - p) / (2 * n))
    ideal = DIMAParams(sigma=0.3, tmr=math.inf, r_access=0.0)
    assert sign_read_error(ideal) == pytest.approx(0.5 * 0.5 * math.erfc(0.5 / 0.3 / math.sqrt(2)), rel=1e-12)
    assert sign_read_error(DIMAParams(sigma=0.0)) == 0


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 63, 64, 255, 256, 300, 1000])
def test_lossless_bits(n):
    bits = next(b for b in range(1, 32) if 2**b - 1 >= n)         # fewest bits whose top code reaches N
    assert lossless_adc_bits(n) == bits == math.ceil(math.log2(n + 1))
    assert adc_lsb(n, bits) == 1 and adc_lsb(n, bits - 1 or 1) == (2 if bits > 1 else 1)


def test_lossy_adc_rounds_counts_to_its_step(seed):
    """Fewer bits than lossless: code = min(floor(count / lsb + 1/2), 2**bits - 1) with lsb = 2**(lossless - bits)."""
    rng = np.random.default_rng(seed)
    w, x = _random(rng, 8, 100, 4, 4, 5)
    w[:] = -1                                             # every weight bit set: counts reach their maximum
    counts = _counts(w, x, 4, 4)
    for bits in (5, 3):
        mvm = dima_codes(w, x, 4, 4, DIMAParams(adc_bits=bits))
        lsb = 2 ** (7 - bits)
        assert mvm.lsb == lsb
        assert np.array_equal(mvm.codes, np.minimum((counts + lsb // 2) // lsb, 2**bits - 1))
    # a clipped full scale saturates the codes
    mvm = dima_codes(w, x, 4, 4, DIMAParams(adc_bits=4, full_scale=15))
    assert mvm.lsb == 1 and np.array_equal(mvm.codes, np.minimum(counts, 15))


def test_variation_matches_the_cell_formula(seed):
    """σ > 0: v = Σ_j x_jb (g_ijk - g_off) / (g_on - g_off) with g = G / (1 + r G), G = G_state·max(1 + σε, 0), ε
    drawn per cell in (slice, row, column) order; code = floor(v + 1/2) clipped."""
    rng = np.random.default_rng(seed)
    w, x = _random(rng, 6, 30, 4, 2, 4)
    sigma, tmr, r = 0.3, 1.2, 0.4
    mvm = dima_codes(w, x, 4, 2, DIMAParams(sigma=sigma, tmr=tmr, r_access=r, adc_bits=None), rng=seed)
    eps = np.random.default_rng(seed).standard_normal((4, 6, 30))
    bits = np.stack([(np.mod(w, 16) >> k) & 1 for k in range(4)])
    big = np.where(bits == 1, 1.0, 1 / (1 + tmr)) * np.maximum(1 + sigma * eps, 0)
    g = big / (1 + r * big)
    g_on, g_off = 1 / (1 + r), (1 / (1 + tmr)) / (1 + r / (1 + tmr))
    for nv in range(4):
        for b in range(2):
            xb = (x[nv] >> b) & 1
            v = ((g - g_off) * xb).sum(axis=2) / (g_on - g_off)                # (slice, row)
            want = np.clip(np.floor(v + 0.5), 0, 2**lossless_adc_bits(30) - 1).T
            assert np.array_equal(mvm.codes[nv, :, b, :], want)
    assert not np.array_equal(mvm.codes, _counts(w, x, 4, 2))


def test_chips_are_seeded(seed):
    rng = np.random.default_rng(seed)
    w, x = _random(rng, 20, 64, 4, 4, 8)
    p = DIMAParams(sigma=0.2)
    a, b = dima_matvec(w, x, 4, 4, p, rng=seed), dima_matvec(w, x, 4, 4, p, rng=np.random.default_rng(seed))
    assert np.array_equal(a, b) and not np.array_equal(a, dima_matvec(w, x, 4, 4, p, rng=seed + 1))
    with pytest.raises(ValueError, match="rng is required when sigma > 0"):
        dima_matvec(w, x, 4, 4, p)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"sigma must be in \[0, 1\], got 1.5"):
        DIMAParams(sigma=1.5)
    with pytest.raises(ValueError, match="tmr must be a finite number > 0"):
        DIMAParams(tmr=0)
    with pytest.raises(ValueError, match="adc_bits must be >= 1 and <= 48, got 0"):
        DIMAParams(adc_bits=0)
    with pytest.raises(ValueError, match=r"encoding must be one of \('twos', 'sign-magnitude', 'differential'\), "
                                         r"got 'ones'"):
        DIMAParams(encoding="ones")
    with pytest.raises(ValueError, match=r"mapping must be one of \('bit-serial', 'dima'\), got 'analog'"):
        DIMAParams(mapping="analog")
    with pytest.raises(ValueError, match=r"W: value -8 at index \(0, 1\) is outside the sign-magnitude 4-bit range "
                                         r"\[-7, 7\]"):
        check_weights(np.array([[0, -8]]), 4, encoding="sign-magnitude")
    with pytest.raises(ValueError, match=r"outside the differential 2-bit range \[-1, 1\]"):
        dima_matvec(np.array([[-2]]), np.array([1]), 2, 1, DIMAParams(encoding="differential"))
    with pytest.raises(TypeError, match="adc_bits must be an integer"):
        DIMAParams(adc_bits=8.0)
    with pytest.raises(ValueError, match=r"W: value 8 at index \(1, 2\) is outside the signed 4-bit range \[-8, 7\]"):
        w = np.zeros((3, 4), int)
        w[1, 2] = 8
        check_weights(w, 4)
    with pytest.raises(ValueError, match=r"X: value -1 at index \(0, 1\) is outside the unsigned 2-bit range"):
        check_inputs(np.array([[0, -1]]), 2)
    with pytest.raises(ValueError, match="must have N = 5 values per vector"):
        check_inputs(np.zeros((2, 4), int), 2, n=5)
    with pytest.raises(ValueError, match="must be a 2-D"):
        check_weights(np.zeros(3, int), 4)
    with pytest.raises(ValueError, match="must hold integers"):
        check_weights(np.full((2, 2), 0.5), 4)
    with pytest.raises(ValueError, match="b_w must be >= 2"):
        dima_matvec(np.zeros((2, 2), int), np.zeros(2, int), 1, 4)


def test_recombine_and_vectorised_post_against_the_stream_golden(seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (5, 7, 4, 4))
    codes[0, 0] = [[0, 0, 0, 255]] * 4                                            # most negative vector
    # recombine: Σ_b 2^b (Σ_{k<3} 2^k c_k - 8 c_3), written as a loop
    want = np.zeros((5, 7), np.int64)
    for b in range(4):
        want += (1 << b) * (codes[..., b, 0] + 2 * codes[..., b, 1] + 4 * codes[..., b, 2] - 8 * codes[..., b, 3])
    assert np.array_equal(recombine(codes), want) and np.array_equal(recombine(codes, 4), 4 * want)
    bias = rng.integers(-5000, 5000, (5, 7))
    shift = rng.integers(0, 8, (5, 7))
    relu = rng.integers(0, 2, (5, 7)).astype(bool)
    for aw, bo in ((32, 8), (14, 6)):
        vec = dima_post(codes, bias, shift, relu, acc_width=aw, b_out=bo)
        s = post_stream(codes, 8, bias, shift, relu, acc_width=aw)
        stream = ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], s["shift"], s["relu"], 4, 8, aw, bo)
        got = np.where(relu.reshape(-1), stream.astype(np.int64), to_signed(stream.astype(np.int64), bo))
        assert np.array_equal(got.reshape(5, 7), vec)
    # no wrap, no saturation: floor((acc + bias) / 2**shift)
    wide = dima_post(codes, bias, shift, False, acc_width=40, b_out=40)
    assert np.array_equal(wide, np.floor((want + bias) / 2.0**shift).astype(np.int64))


@pytest.mark.parametrize("encoding,mapping,slice_bits,lsb_shift", [("sign-magnitude", "bit-serial", 7, 0),
                                                                    ("differential", "bit-serial", 5, 2),
                                                                    ("twos", "dima", 12, 0), ("sign-magnitude", "dima",
                                                                                              9, 3)])
def test_bipolar_recombination_and_vectorised_post(encoding, mapping, slice_bits, lsb_shift, seed):
    """Bipolar codes: recombine subtracts the offset 2**(slice_bits-1) and weighs magnitude slices by +2**k (dima: the
    one code by 1); dima_post (with offset, weights, lsb_shift) equals the stream golden ref_dima_post in that mode."""
    from model.dima.array import code_offset, code_weights
    rng = np.random.default_rng(seed)
    weights, off = code_weights(4, encoding, mapping), code_offset(slice_bits, encoding, mapping)
    planes = 4 if mapping == "bit-serial" else 1
    codes = rng.integers(0, 2**slice_bits, (3, 5, planes, len(weights)))
    assert off == 2 ** (slice_bits - 1) and list(weights) == ([1, 2, 4] if mapping == "bit-serial" else [1])
    want = np.zeros((3, 5), np.int64)
    for b in range(planes):
        for k, c in enumerate(weights):
            want += (1 << b) * int(c) * (codes[..., b, k] - off)
    assert np.array_equal(recombine(codes, 2**lsb_shift, offset=off, weights=weights), want << lsb_shift)
    bias, shift, relu = rng.integers(-500, 500, (3, 5)), rng.integers(0, 6, (3, 5)), rng.integers(0, 2, (3, 5))
    vec = dima_post(codes, bias, shift, relu.astype(bool), acc_width=40, b_out=9, offset=off, weights=weights,
                    lsb_shift=lsb_shift)
    s = post_stream(codes, slice_bits, bias, shift, relu, acc_width=40)
    stream = ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], s["shift"], s["relu"], 4, slice_bits, 40, 9,
                           encoding, mapping, lsb_shift).astype(np.int64)
    got = np.where(relu.reshape(-1) == 1, stream, to_signed(stream, 9))
    assert np.array_equal(got.reshape(3, 5), vec)
    wide = dima_post(codes, bias, shift, False, acc_width=60, b_out=60, offset=off, weights=weights,
                     lsb_shift=lsb_shift)
    assert np.array_equal(wide, np.floor(((want << lsb_shift) + bias) / 2.0**shift).astype(np.int64))


# ------------------------------------------------------------------------------------------------------ networks
@pytest.fixture(scope="module")
def nets():
    return {name: QuantNet.load(name) for name in ("mlp", "cnn")}


def _naive_forward(net, x_q):
    """Integer forward pass with explicit loops for the convolutions (independent of im2col)."""
    a = x_q.astype(np.int64)
    if net.layers[0].spec.kind == "conv":
        a = a[:, None]
    for i, q in enumerate(net.layers):
        s = q.spec
        if s.kind == "conv":
            n, c, h, wd = a.shape
            ap = np.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1)))
            wt = q.weight.reshape(s.n_out, c, 3, 3)
            acc = np.zeros((n, s.n_out, h, wd), np.int64)
            for dy in range(3):
                for dx in range(3):
                    acc += np.einsum("nchw,oc->nohw", ap[:, :, dy:dy + h, dx:dx + wd], wt[:, :, dy, dx])
            acc = acc + q.bias[None, :, None, None]
        else:
            acc = a.reshape(len(a), -1) @ q.weight.T + q.bias
        if i == len(net.layers) - 1:
            return acc
        a = np.clip(acc // 2**q.shift, 0, 2**net.b_a - 1)                     # floor division, not >>
        if s.pool:
            a = np.maximum.reduce([a[:, :, dy::2, dx::2] for dy in (0, 1) for dx in (0, 1)])


def test_networks_integer_forward_and_analog_at_zero_sigma(nets):
    for name, net in nets.items():
        x, y = net.test_set()
        assert net.b_w == 4 and net.b_a == 4 and x.max() == 15 and len(y) == 540
        logits = net.forward(x[:40])
        assert np.array_equal(logits, _naive_forward(net, x[:40]))
        assert np.array_equal(net.forward(x[:40], analog_mvm(DIMAParams(adc_bits=None), None, 4, 4)), logits)
        assert net.accuracy(x, y) > (0.96 if name == "mlp" else 0.94)
        for q in net.layers:
            assert q.weight.min() >= -8 and q.weight.max() <= 7 and q.weight.shape[1] == q.spec.fan_in


def test_networks_in_every_encoding_and_mapping_are_exact_at_zero_sigma(nets):
    """for_encoding: two's complement keeps the network; the symmetric encodings change only the -8 weights (to -7)
    and count them; every encoding x mapping at σ = 0 with a lossless ADC gives the integer network's logits."""
    for name, net in nets.items():
        x, _ = net.test_set()
        assert net.for_encoding("twos") is net
        for enc in ENCODINGS:
            v = net.for_encoding(enc)
            if enc != "twos":
                eights = {q.spec.name: int(np.count_nonzero(q.weight == -8)) for q in net.layers}
                assert v.metadata["clipped_weights"] == eights and sum(eights.values()) > 0
                for q, q0 in zip(v.layers, net.layers):
                    assert np.array_equal(q.weight, np.where(q0.weight == -8, -7, q0.weight))
            for mp in MAPPINGS:
                mvm = analog_mvm(DIMAParams(adc_bits=None, encoding=enc, mapping=mp), None, 4, 4)
                assert np.array_equal(v.forward(x[:25], mvm), v.forward(x[:25])), (name, enc, mp)


def test_network_post_processing_is_the_rtl_golden(nets, seed):
    """A hidden layer's requantisation = ref_dima_post with relu, b_out = B_a, on codes of the analog model."""
    net = nets["mlp"]
    x, _ = net.test_set()
    rng = np.random.default_rng(seed)
    record = {}
    net.forward(x[rng.choice(len(x), 3)], analog_mvm(DIMAParams(sigma=0.1, adc_bits=None), rng, 4, 4, record))
    q, mvm = net.layers[1], record[1]
    assert mvm.lsb == 1
    s = post_stream(mvm.codes, mvm.adc_bits, q.bias[None, :], q.shift, True, acc_width=32)
    out = ref_dima_post(s["codes"], s["first"], s["last"], s["bias"], s["shift"], s["relu"], 4, mvm.adc_bits, 32, 4)
    assert np.array_equal(out.astype(np.int64).reshape(3, -1), requantize(recombine(mvm.codes), q.bias, q.shift, 4))


def test_helpers():
    assert np.array_equal(quantize_images(np.array([0, 1, 8, 15, 16]), 4), [0, 1, 8, 14, 15])   # round(p·15/16)
    with pytest.raises(ValueError, match=r"pixels must be in \[0, 16\]"):
        quantize_images(np.array([17]), 4)
    a = np.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    cols = im2col(a, 3, 3, 1, 1)
    assert cols.shape == (32, 27) and cols[5, 13] == a[0, 1, 1, 1] and cols[0, 0] == 0   # centre tap, padding
    assert sigma_at_drop([0, 0.1, 0.2], [0, 0.2, 0.8], 0.5) == pytest.approx(0.15)
    assert sigma_at_drop([0, 0.1], [0, 0.1], 0.5) == 0.1 and sigma_at_drop([0.1, 0.2], [1, 2], 0.5) is None


def test_accuracy_sweep_shape_and_zero_sigma(nets, seed):
    net = nets["mlp"]
    x, y = net.test_set()
    data = (x[:60], y[:60])
    acc = accuracy_sweep(net, [0.0, 0.2], 2, seed, data=data)
    assert acc.shape == (2, 2) and np.all(acc[0] == net.accuracy(*data)) and np.all((0 <= acc) & (acc <= 1))
    again = accuracy_sweep(net, [0.2], 2, seed, data=data)
    assert np.array_equal(again[0], acc[1])                      # chip k is the same chip on every call
    assert net.accuracy(*data, exact_mvm) == net.accuracy(*data)


# ---------------------------------------------------------------------------------------------- energy and delay
def test_energy_model_against_hand_arithmetic():
    p = EnergyParams(m=128, n=64, b_w=4, b_a=2, mux_l=4, adc_bits=6)
    e_sense = 2 * 20e-6 * 0.9 * 4e-9
    e_mac = 0.5 * (0.2e-12 * 8 / 64 + 0.03e-12 * (4 + 2 + 6) / 8)
    e_dig = 128 * 64 * 4 * (e_sense + 0.05e-12) + 128 * 4 * 1e-12 + 128 * 64 * e_mac
    e_cell = 0.9 * 0.1 * 4e-9 * 0.5 * (1 / 1.25 + 1 / 2.75) / 5e3
    e_adc = 20e-15 * 64
    e_post = 0.5 * 0.03e-12 * (4 + 2 + 6) / 8
    e_dima = 8 * (128 * 64 * 0.5 * e_cell + 64 * 128 * 0.1e-15 * 0.1 * 0.9 + 128 * e_adc + 128 * e_post)
    t_dig, t_dima = 128 * 4 * 4e-9, 8 * max(4e-9, 7 * 1e-9) + 4e-9
    assert digital_cost(p).energy_j == pytest.approx(e_dig) and dima_cost(p).energy_j == pytest.approx(e_dima)
    assert digital_cost(p).delay_s == pytest.approx(t_dig) and dima_cost(p).delay_s == pytest.approx(t_dima)
    assert ratios(p) == pytest.approx((e_dig / e_dima, t_dig / t_dima))
    assert EnergyParams().adc_resolution == 9                   # lossless for N = 256


def test_energy_model_encodings_and_mappings_against_hand_arithmetic():
    """The dima mapping (one integration, bitline (j, k) at 2**k / 2**(B_w-1) of V_in for x_j / (2**B_a - 1) of
    t_int, one conversion per output), the differential groups and sign-magnitude's one row at a time behind a sign
    read, against the formulas written out."""
    base = dict(m=128, n=64, b_w=4, b_a=2, mux_l=8, adc_bits=6)
    e_cell = 0.9 * 0.1 * 4e-9 * 0.5 * (1 / 1.25 + 1 / 2.75) / 5e3
    e_bl = 128 * 0.1e-15 * 0.1 * 0.9
    e_adc, e_post, e_pwm = 20e-15 * 64, 0.5 * 0.03e-12 * (4 + 2 + 6) / 8, 0.5 * 0.03e-12 * 2 / 8
    e_sign = 128 * 64 * 2 * 20e-6 * 0.9 * 4e-9 + 128 * 2 * 1e-12          # ceil(L / B_w) = 2 accesses per row
    t_adc, t_int, t_sign = 7e-9, 4e-9, 2 * 4e-9
    cells = 128 * 64 * 0.5 * e_cell
    cases = {
        ("twos", "dima"): (15 / 8 * (cells + 64 * e_bl) + 64 * 4 * e_pwm + 128 * (e_adc + e_post), t_int + t_adc),
        ("differential", "dima"): (2 * 7 / 8 * (cells + 64 * e_bl) + 64 * 3 * 2 * e_pwm + 128 * (e_adc + e_post),
                                   t_int + t_adc),
        ("differential", "bit-serial"): (6 * 2 * (cells + 64 * e_bl) + 128 * 6 * (e_adc + e_post),
                                         6 * max(t_int, t_adc) + t_int),
        ("sign-magnitude", "bit-serial"): (6 * (cells + 128 * 64 * e_bl) + 128 * 6 * (e_adc + e_post) + e_sign,
                                           128 * (t_sign + 6 * max(t_int, t_adc)) + t_int),
        ("sign-magnitude", "dima"): (7 / 8 * (cells + 128 * 64 * e_bl) + 128 * 64 * 3 * e_pwm + 128 * (e_adc + e_post)
                                     + e_sign, 128 * (t_sign + max(t_int, t_adc)) + t_int),
    }
    for (enc, mp), (e, t) in cases.items():
        c = dima_cost(EnergyParams(**base, encoding=enc, mapping=mp))
        assert c.energy_j == pytest.approx(e) and c.delay_s == pytest.approx(t), (enc, mp)
    # the lossless resolution of each mapping: 9 b (N = 256, unipolar), 10 b (bipolar), dima 16 b (8·15·256 = 30720)
    res = {(e, mp): EnergyParams(encoding=e, mapping=mp).adc_resolution for e in ENCODINGS for mp in MAPPINGS}
    assert res == {("twos", "bit-serial"): 9, ("sign-magnitude", "bit-serial"): 10,
                   ("differential", "bit-serial"): 10, ("twos", "dima"): 16, ("sign-magnitude", "dima"): 16,
                   ("differential", "dima"): 16}
    with pytest.raises(ValueError, match="mapping must be one of"):
        EnergyParams(mapping="serial")


def test_sensitivity_and_solver():
    p = EnergyParams()
    rows = {r[0]: r for r in sensitivity(p)}
    assert set(rows) == {k for k, v in PARAM_INFO.items() if v[2] is not None}
    assert rows["m"][6] / rows["m"][5] == pytest.approx(1024 / 64)                # delay ratio ∝ M
    assert rows["adc_fom_j"][3] > rows["adc_fom_j"][4]                          # a costlier ADC lowers the gain
    v = solve_for_ratio("m", 70.0, "delay", p)
    assert abs(ratios(EnergyParams(m=v))[1] - 70) <= ratios(EnergyParams(m=v + 1))[1] - ratios(EnergyParams(m=v))[1]
    t = solve_for_ratio("t_read_s", 4.5, "energy", p)
    assert ratios(EnergyParams(t_read_s=t))[0] == pytest.approx(4.5, rel=1e-6)
    assert solve_for_ratio("c_bitline_cell_f", 4.5, "energy", p) is None
    with pytest.raises(ValueError, match="m must be >= 1"):
        EnergyParams(m=0)


def test_bench_smoke(capsys):
    from scripts.bench import dima as bench_dima
    assert bench_dima.main(["--m", "20", "--n", "16", "--batch", "50", "--single", "5", "--repeat", "1"]) == 0
    assert "ratio numpy / analog (batched)" in capsys.readouterr().out
    assert bench_dima.main(["--m", "20", "--n", "16", "--batch", "50", "--single", "5", "--repeat", "1",
                            "--encoding", "differential", "--mapping", "dima"]) == 0
    assert "differential), inputs 4-bit, dima mapping" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench_dima.main(["--encoding", "ones"])
    assert "--encoding must be one of" in capsys.readouterr().err
