"""MRAM-DIMA under Verilator: ADC codes from the behavioural analog array (σ > 0) through the post-processing RTL.

* A whole layer of the digits MLP (``fc1``, 64 -> 300, ReLU and requantisation to 4 bits) on a few test images:
  the codes come from :func:`model.dima.array.dima_codes` with conductance variation, the RTL output must equal
  :func:`model.dima.array.ref_dima_post` bit for bit and the network's own post-processing (so the rest of the network,
  run through the models, sees exactly what the RTL produced).
* The same layer in the dima mapping with sign-magnitude weights (one code per output: offset, scale, sign) and a
  lossy ADC, so the RTL applies the ADC step as its ``lsb_shift``.
* ``mram-accel dima matvec --rtl`` (the command's Verilator path) against ``W @ x`` at σ = 0 with a lossless ADC, in
  the default mode and in other encodings and mappings (one with σ > 0: bit-exact against the model).
"""

import json

import numpy as np
import pytest

from model.dima.array import (DIMAParams, acc_width_for, dima_matvec, lossless_adc_bits, post_stream, recombine,
                              ref_dima_post)
from model.dima.net import QuantNet, analog_mvm, requantize
from scripts.cli import main
from scripts.rtl.cosim import run_stimulus
from scripts.sim.block import Stimulus


def test_mlp_layer_codes_from_the_analog_model_through_the_rtl(seed):
    net = QuantNet.load("mlp")
    x, _ = net.test_set()
    rng = np.random.default_rng(seed)
    images = x[rng.choice(len(x), 6, replace=False)]
    record = {}
    logits = net.forward(images, analog_mvm(DIMAParams(sigma=0.12, adc_bits=None), rng, net.b_w, net.b_a, record))
    layer, mvm = net.layers[0], record[0]
    assert mvm.lsb == 1 and mvm.adc_bits == lossless_adc_bits(layer.weight.shape[1])
    config = {"b_w": net.b_w, "slice_bits": mvm.adc_bits, "acc_width": 32, "b_out": net.b_a}
    stream = post_stream(mvm.codes, mvm.adc_bits, bias=layer.bias[None, :], shift=layer.shift, relu=True,
                         acc_width=32)
    res = run_stimulus("dima_post", Stimulus(stream), config=config, seed=seed)
    out = np.array(res["outputs"]["out"], dtype=np.int64)
    golden = ref_dima_post(stream["codes"], stream["first"], stream["last"], stream["bias"], stream["shift"],
                           stream["relu"], **config).astype(np.int64)
    assert np.array_equal(out, golden)
    python_post = requantize(recombine(mvm.codes), layer.bias[None, :], layer.shift, net.b_a)
    assert np.array_equal(out.reshape(python_post.shape), python_post)
    exact = requantize(images.reshape(len(images), -1) @ layer.weight.T, layer.bias[None, :], layer.shift, net.b_a)
    assert np.count_nonzero(python_post != exact) > 0, "σ = 12 % should move some activations"
    assert {0, (1 << net.b_a) - 1} <= set(out.tolist()) and len(set(out.tolist())) > 4   # clamps and mid values
    assert logits.shape == (6, 10)


def test_mlp_layer_in_the_dima_mapping_through_the_rtl(seed):
    """fc2 (N = 300) of the MLP, sign-magnitude weights, one 10-bit conversion per output (lossless: 16 bits, so
    the step is 2**6 and lsb_shift = 6), σ = 24 %: the RTL's requantised outputs equal the golden and the network's
    own post-processing of the same codes."""
    net = QuantNet.load("mlp").for_encoding("sign-magnitude")
    x, _ = net.test_set()
    rng = np.random.default_rng(seed)
    images = x[rng.choice(len(x), 4, replace=False)]
    record = {}
    params = DIMAParams(sigma=0.24, adc_bits=10, encoding="sign-magnitude", mapping="dima")
    net.forward(images, analog_mvm(params, rng, net.b_w, net.b_a, record))
    layer, mvm = net.layers[1], record[1]
    assert mvm.adc_bits == 10 and mvm.codes.shape == (4, 100, 1, 1) and mvm.lsb == 2**6 and mvm.offset == 2**9
    width = acc_width_for(4, 4, 10, "sign-magnitude", "dima", 6) + 2
    config = {"b_w": 4, "slice_bits": 10, "acc_width": width, "b_out": net.b_a, "encoding": "sign-magnitude",
              "mapping": "dima", "lsb_shift": 6}
    stream = post_stream(mvm.codes, 10, bias=layer.bias[None, :], shift=layer.shift, relu=True, acc_width=width)
    res = run_stimulus("dima_post", Stimulus(stream), config=config, seed=seed)
    out = np.array(res["outputs"]["out"], dtype=np.int64)
    golden = ref_dima_post(stream["codes"], stream["first"], stream["last"], stream["bias"], stream["shift"],
                           stream["relu"], **config).astype(np.int64)
    assert np.array_equal(out, golden)
    assert np.array_equal(out.reshape(4, 100), requantize(mvm.values(), layer.bias[None, :], layer.shift, net.b_a))
    assert 0 in set(out.tolist()) and len(set(out.tolist())) > 4                  # ReLU clamps and mid values


@pytest.mark.parametrize("mode,sigma,adc_bits", [(("sign-magnitude", "bit-serial"), "0", "7"),
                                                 (("twos", "dima"), "0", "14"),
                                                 (("differential", "dima"), "0.2", "9")])
def test_cli_rtl_other_encodings_and_mappings(tmp_path, capsys, seed, mode, sigma, adc_bits):
    """``--rtl`` in the other modes: exact at σ = 0 with the lossless bits (7 = ceil(log2 41) + 1 bit-serial,
    14 for the dima mapping's 8·15·40 = 4800), bit-exact against the model at σ = 0.2 with a 9-bit dima ADC."""
    encoding, mapping = mode
    rng = np.random.default_rng(seed)
    w, x = rng.integers(-7, 8, (12, 40)), rng.integers(0, 16, (7, 40))
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "x.npy", x)
    capsys.readouterr()
    rc = main(["dima", "matvec", "--w", str(tmp_path / "w.npy"), "--x", str(tmp_path / "x.npy"), "--bw", "4",
               "--ba", "4", "--out", str(tmp_path / "y.npy"), "--sigma", sigma, "--adc-bits", adc_bits, "--encoding",
               encoding, "--mapping", mapping, "--seed", "3", "--rtl", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    s = json.loads(captured.out)
    assert s["rtl_bit_exact"] and s["rtl_config"].get("mapping", "bit-serial") == mapping
    y = np.load(tmp_path / "y.npy")
    if sigma == "0":
        assert s["exact"] and s["lossless_adc_bits"] == int(adc_bits) and np.array_equal(y, x @ w.T)
    else:
        want = dima_matvec(w, x, 4, 4, DIMAParams(sigma=0.2, adc_bits=9, encoding=encoding, mapping=mapping), rng=3)
        assert np.array_equal(y, want) and not s["exact"] and s["rtl_config"]["lsb_shift"] == 14 - 9
    assert s["rtl_planes"] == 7 * 12 * (4 if mapping == "bit-serial" else 1)


def test_cli_rtl_is_exact_at_zero_sigma(tmp_path, capsys, seed):
    rng = np.random.default_rng(seed)
    w, x = rng.integers(-8, 8, (12, 40)), rng.integers(0, 16, (7, 40))
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "x.npy", x)
    capsys.readouterr()
    rc = main(["dima", "matvec", "--w", str(tmp_path / "w.npy"), "--x", str(tmp_path / "x.npy"), "--bw", "4",
               "--ba", "4", "--out", str(tmp_path / "y.npy"), "--sigma", "0", "--adc-bits", "6", "--rtl", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    s = json.loads(captured.out)
    assert s["rtl_bit_exact"] and s["exact"] and s["lossless_adc_bits"] == 6
    assert np.array_equal(np.load(tmp_path / "y.npy"), x @ w.T)
    assert s["rtl_planes"] == 7 * 12 * 4 and s["rtl_config"]["b_out"] == s["rtl_config"]["acc_width"]
