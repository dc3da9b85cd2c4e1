"""The MRAM-DIMA behavioural model (model/dima/array.py), its networks (model/dima/net.py), the energy/delay model
(model/dima/energy.py) and the benchmark: each against independent math (direct bit counts, loops, formulas)."""

import math

import numpy as np
import pytest

from model.dima.array import (DIMAParams, adc_lsb, check_inputs, check_weights, dima_codes, dima_matvec, dima_post,
                        lossless_adc_bits, post_stream, recombine, ref_dima_post, to_signed)
from model.dima.energy import (EnergyParams, PARAM_INFO, digital_cost, dima_cost, ratios, sensitivity,
                               solve_for_ratio)
from model.dima.net import (QuantNet, accuracy_sweep, analog_mvm, exact_mvm, quantize_images, requantize,
                            sigma_at_drop)
from model.nn import im2col


def _random(rng, m, n, b_w, b_a, batch):
    w = rng.integers(-(1 << (b_w - 1)), 1 << (b_w - 1), (m, n))
    w[0, : min(n, 3)] = [-(1 << (b_w - 1)), (1 << (b_w - 1)) - 1, 0][: min(n, 3)]   # both extremes
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


@pytest.mark.parametrize("b_w,b_a,m,n,batch", [(4, 4, 17, 64, 9), (2, 1, 5, 3, 4), (8, 6, 9, 200, 3),
                                               (16, 16, 3, 40, 2)])
def test_ideal_array_reproduces_w_at_x(b_w, b_a, m, n, batch, seed):
    w, x = _random(np.random.default_rng(seed), m, n, b_w, b_a, batch)
    for params in (DIMAParams.ideal(), DIMAParams(adc_bits=None), DIMAParams(adc_bits=lossless_adc_bits(n) + 3),
                   DIMAParams(tmr=0.5, r_access=2.0, adc_bits=None)):
        assert np.array_equal(dima_matvec(w, x, b_w, b_a, params), x @ w.T), params
    assert np.array_equal(dima_matvec(w, x[1], b_w, b_a, DIMAParams(adc_bits=None)), w @ x[1])   # 1-D: (M,)


def test_codes_are_the_slice_plane_counts(seed):
    rng = np.random.default_rng(seed)
    w, x = _random(rng, 11, 50, 4, 3, 6)
    mvm = dima_codes(w, x, 4, 3, DIMAParams(adc_bits=None))
    assert mvm.lsb == 1 and mvm.adc_bits == 6 and mvm.codes.shape == (6, 11, 3, 4)
    assert np.array_equal(mvm.codes, _counts(w, x, 4, 3))


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
    with pytest.raises(ValueError, match="adc_bits must be >= 1 and <= 16, got 0"):
        DIMAParams(adc_bits=0)
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
