"""Global-buffer DSE (model/stt_ai/dse.py): hand-computed cases of every formula, errors, the CLI (scripts/cli/commands/dse.py).

The tiny network used throughout (batch 2, array 2 x 6 MACs -> H_A = 2, W_A = 6 / P_s = 2 PEs, W_SA = 6 MACs,
T_clk = 1 ns, 17 cycles per conv step, 11 per FC step):

    A conv 6x6x3 -> 4x4x4, 3x3, no pad, bias     B conv 4x4x4 -> 4x4x2, 3x3, pad 1, BN(2)
    C fc 32 -> 10                                 D fc 10 -> 5

Eq. (2) A: ceil(3 * 3 * 4 * ceil(3/3) / (2 * 2)) = 9 steps; Eq. (3) t_step = 1 ns * 17 * 4 * 2 = 136 ns;
Eq. (5) T_A = 9 * 136 * 4 = 4896 ns.   B: ceil(4 * 3 * 4 / 4) = 12 steps -> T_B = 12 * 136 * 2 = 3264 ns.
Eq. (8) C: ceil(10/2) * ceil(32/6) * 11 * 2 = 5 * 6 * 22 = 660 ns;  D: ceil(5/2) * ceil(10/6) * 22 = 132 ns.
With T_pool_relu = 100 ns: Eq. (7) A-B 4896 + 100 + 3264 = 8260 ns; Eq. (11) B-C 3264 + 100 + 660 = 4024 ns;
Eq. (10) C-D 660 + 132 = 792 ns.

GLB (int8, batch 2): A ifmap 6*6*3*2 = 216, weights 4*3*9 = 108, ofmap 4*4*4*2 = 128 -> 452 B;
B ifmap 4*4*4*2 = 128, weights 2*4*9 = 72, ofmap 4*4*2*2 = 64 -> 264 B.
"""

import json
import math
import random

import numpy as np
import pytest

from model.stt_ai import dse
from model.zoo import MODEL_NAMES, get_model, model_from_dict, model_to_dict
from scripts.cli import main as cli_main
from tests.helpers import TINY

NS = 1e-9


@pytest.fixture
def tiny():
    return model_from_dict(TINY, "TINY")


def test_array_config_readings():
    a = dse.parse_array("42x42")
    assert (a.h_a, a.w_a, a.w_sa) == (42, 14, 42)  # decision 2: 42 MAC columns = 14 three-MAC PEs
    p = dse.ArrayConfig(42, 42, "pe")
    assert (p.h_a, p.w_a, p.w_sa) == (42, 42, 126)  # Table I: W_SA = P_s * W_A
    assert dse.parse_array(" 2 X 6 ").w_a == 2


def test_layer_times_by_hand(tiny):
    t = dse.layer_times(tiny, "2x6", batch=2, conv_cycles=17, fc_cycles=11, clock_hz=1e9)
    np.testing.assert_allclose(t / NS, [4896, 3264, 660, 132], rtol=1e-12)


def test_retention_by_hand(tiny):
    r = dse.retention(tiny, "2x6", batch=2, t_pool_relu=100 * NS)
    assert r.kind == ["conv-conv", "conv-fc", "fc-fc"]
    assert (r.prev, r.next) == (["A", "B", "C"], ["B", "C", "D"])
    np.testing.assert_allclose(r.t1 / NS, [4896, 3264, 660], rtol=1e-12)
    np.testing.assert_allclose(r.t2 / NS, [3264, 660, 132], rtol=1e-12)
    np.testing.assert_allclose(r.t_ret / NS, [8260, 4024, 792], rtol=1e-12)  # Eqs. (7), (11), (10)
    assert r.max == pytest.approx(8260 * NS) and r.argmax == 0


def test_wide_kernel_and_depthwise_steps():
    # ceil(k_w / P_s) = ceil(5/3) = 2: steps = ceil(1 * 5 * 1 * 2 / 4) = 3 -> T = 3 * 17 * 1 * 2 * 1 ns = 102 ns
    m = model_from_dict({"name": "k5", "chained": False, "layers": [  # two independent layers
        {"name": "a", "kind": "conv", "in_h": 5, "in_w": 5, "in_c": 1, "out_c": 1, "k": 5},
        # depthwise 8 channels: N_in_ch = 8 / 8 = 1 -> steps = ceil(1*3*4*1 / 4) = 3; T = 3 * 17 * 4 * 2 * 8 ns
        {"name": "dw", "kind": "conv", "in_h": 4, "in_w": 4, "in_c": 8, "out_c": 8, "k": 3, "pad": 1,
         "groups": 8}]}, "k5")
    np.testing.assert_allclose(dse.layer_times(m, "2x6", batch=2) / NS, [102, 3 * 17 * 4 * 2 * 8])


def test_clock_cycles_and_batch_scale_linearly(tiny):
    base = dse.layer_times(tiny, "2x6", batch=2)
    np.testing.assert_allclose(dse.layer_times(tiny, "2x6", batch=6), 3 * base)
    np.testing.assert_allclose(dse.layer_times(tiny, "2x6", batch=2, clock_hz=0.5e9), 2 * base)
    t = dse.layer_times(tiny, "2x6", batch=2, conv_cycles=34, fc_cycles=22)
    np.testing.assert_allclose(t, 2 * base)


def test_vectorised_equals_scalar_reference():
    seed = random.randrange(2 ** 32)
    print(f"seed={seed}")
    rng = random.Random(seed)
    for name in MODEL_NAMES:
        m = get_model(name)
        arr = f"{rng.randint(1, 64)}x{rng.randint(3, 64)}"
        batch = rng.randint(1, 32)
        ref = [dse.ref_layer_time(l, arr, batch) for l in m.compute_layers]
        np.testing.assert_allclose(dse.layer_times(m, arr, batch), ref, rtol=1e-12, err_msg=f"{name} {arr} {seed}")


def test_glb_by_hand(tiny):
    g = dse.glb_bytes_per_layer(tiny, 2, "int8")
    assert g["name"] == ["A", "B"]  # FC layers excluded (Section V.A)
    assert list(g["ifmap"]) == [216, 128] and list(g["weights"]) == [108, 72] and list(g["ofmap"]) == [128, 64]
    assert list(g["total"]) == [452, 264]
    assert dse.glb_required(tiny, 2, "int8") == 452
    assert dse.glb_required(tiny, 2, "bf16") == 904


def test_extra_dram_by_hand(tiny):
    assert dse.DDR4_BANDWIDTH == 2933e6 * 8 * 2  # dual channel, 64-bit bus
    e = dse.extra_dram(tiny, 2, "int8", glb_bytes=300)
    assert e["bytes"] == 152 and e["layers_spilling"] == 1  # only A (452 B) exceeds 300 B
    assert e["seconds"] == pytest.approx(152 / 46.928e9)
    assert e["joules"] == pytest.approx(152 * 8 * 20e-12)
    assert dse.extra_dram(tiny, 2, "int8", glb_bytes=452)["bytes"] == 0


def test_model_size_and_partial_ofmap_by_hand(tiny):
    # A 108 + 4 bias, B 72 + 2*2 BN, C 320 + 10, D 50 + 5
    assert dse.model_size_bytes(tiny, "int8") == 573
    assert dse.model_size_bytes(tiny, "bf16") == 1146
    assert list(dse.partial_ofmap_bytes(tiny, "bf16")) == [32, 32]  # 4 x 4 elements x 2 B


def test_paper_claims_on_the_zoo():
    """Fig. 13 claim reproduced (not tuned): max retention < 1.5 s for all models, 42x42, batch 16, BF16."""
    maxima = {n: dse.retention(n, "42x42", 16).max for n in MODEL_NAMES}
    assert max(maxima.values()) < 1.5
    assert sum(v < 0.5 for v in maxima.values()) > len(maxima) / 2
    # ResNet-50 by the same formulas: its first conv (7x7 s2, 112x112 out): steps = ceil(3*7*112*3/588) = 12
    l = get_model("resnet50").layers[0]
    assert dse.ref_layer_time(l, "42x42", 16) == pytest.approx(12 * 17e-9 * 112 * 16 * 64)


@pytest.mark.parametrize("call, match", [
    (lambda: dse.retention("alexnet", batch=0), "batch must be an integer >= 1"),
    (lambda: dse.retention("alexnet", batch=-3), "batch must be an integer >= 1"),
    (lambda: dse.retention("alexnet", batch=1.5), "batch must be an integer >= 1"),
    (lambda: dse.glb_required("alexnet", True, "int8"), "batch must be an integer >= 1"),
    (lambda: dse.retention("alexnet", array="42"), "array must be 'HxW'"),
    (lambda: dse.retention("alexnet", array="0x42"), "array must be 'HxW'"),
    (lambda: dse.retention("alexnet", array="ax4"), "array must be 'HxW'"),
    (lambda: dse.retention("alexnet", array="4x2"), "array cols must be >= P_s = 3"),
    (lambda: dse.retention("alexnet", clock_hz=0), "clock_hz must be a finite number > 0"),
    (lambda: dse.retention("alexnet", clock_hz=float("nan")), "clock_hz must be a finite number > 0"),
    (lambda: dse.retention("alexnet", conv_cycles=0), "conv_cycles .* must be an integer >= 1"),
    (lambda: dse.retention("alexnet", t_pool_relu=-1e-6), "t_pool_relu must be a finite number >= 0"),
    (lambda: dse.glb_required("alexnet", 1, "fp32"), "dtype must be one of"),
    (lambda: dse.extra_dram("alexnet", 1, "int8", glb_bytes=-1), "glb_bytes must be a finite number >= 0"),
    (lambda: dse.retention("lenet"), "unknown model 'lenet'; known models: alexnet"),
])
def test_errors_name_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_retention_needs_two_layers():
    m = model_from_dict({"name": "one", "layers": [{"name": "f", "kind": "fc", "in_c": 4, "out_c": 2}]})
    with pytest.raises(ValueError, match="at least 2 conv/fc layers"):
        dse.retention(m)


# -------------------------------------------------------------------------------------------------------- CLI
@pytest.fixture
def tiny_file(tmp_path, tiny):
    p = tmp_path / "tiny.json"
    p.write_text(json.dumps(model_to_dict(tiny)))
    return p


def test_cli_retention_json_by_hand(tiny_file, capsys):
    rc = cli_main(["retention", "--shapes", str(tiny_file), "--array", "2x6", "--batch", "2", "--clock", "1GHz",
                   "--t-pool-relu", "100ns", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["kind"] for p in out["pairs"]] == ["conv-conv", "conv-fc", "fc-fc"]
    assert [round(p["t_ret_s"] / NS) for p in out["pairs"]] == [8260, 4024, 792]
    assert out["max_pair"] == ["A", "B"] and out["max_t_ret_s"] == pytest.approx(8260e-9)
    assert out["conv_cycles"] == 17 and out["fc_cycles"] == 11  # Table II defaults


def test_cli_retention_cycles_and_clock_units(tiny_file, capsys):
    rc = cli_main(["retention", "--shapes", str(tiny_file), "--array", "2x6", "--batch", "2", "--cycles", "34",
                   "--fc-cycles", "22", "--clock", "2000MHz", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pairs"][0]["t1_s"] == pytest.approx(4896e-9)  # 2 x cycles at 2 x clock


def test_cli_retention_text(capsys):
    assert cli_main(["retention", "alexnet"]) == 0
    out = capsys.readouterr().out
    assert "maximum T_ret" in out and "conv5" in out and "fc6" in out


def test_cli_glb_json_by_hand(tiny_file, capsys):
    assert cli_main(["glb", "--shapes", str(tiny_file), "--batch", "2", "--dtype", "int8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [l["total_bytes"] for l in out["layers"]] == [452, 264]
    assert out["max_bytes"] == 452 and out["max_layer"] == "A" and out["fits_12MB"] is True


def test_cli_glb_text(capsys):
    assert cli_main(["glb", "vgg16", "--batch", "2"]) == 0
    assert "exceeds 12 MB" in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (["retention", "lenet"], "unknown model 'lenet'"),
    (["retention", "alexnet", "--batch", "0"], "--batch must be an integer >= 1"),
    (["retention", "alexnet", "--batch", "two"], "--batch must be an integer >= 1"),
    (["retention", "alexnet", "--array", "42"], "array must be 'HxW'"),
    (["retention", "alexnet", "--array", "42x-1"], "array must be 'HxW'"),
    (["retention", "alexnet", "--clock=-1GHz"], "--clock must be > 0"),
    (["retention", "alexnet", "--clock", "1THz"], "--clock: unknown frequency unit .THz."),
    (["retention", "alexnet", "--t-pool-relu=-5us"], r"--t-pool-relu must be a time >= 0 s and <= 1e\+06 y"),
    (["retention", "alexnet", "--cycles", "0"], "--cycles must be an integer >= 1"),
    (["retention"], "give a zoo model name"),
    (["glb", "alexnet", "--batch", "-2"], "--batch must be an integer >= 1"),
    (["glb", "nope", "--batch", "1"], "unknown model 'nope'"),
])
def test_cli_bad_values_exit_2(argv, match, capsys):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err and re_search(match, err), err


def re_search(pattern, text):
    import re
    return re.search(pattern, text) is not None


def test_cli_malformed_shapes_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "layers": [{"name": "a", "kind": "conv", "in_h": 4}]}))
    assert cli_main(["glb", "--shapes", str(bad)]) == 2
    assert "layers[0]: missing required field 'in_w'" in capsys.readouterr().err
    bad.write_text("[")
    assert cli_main(["retention", "--shapes", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert cli_main(["retention", "--shapes", str(tmp_path / "none.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_bad_dtype_is_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        cli_main(["glb", "alexnet", "--dtype", "fp32"])
    assert e.value.code == 2
    assert "--dtype" in capsys.readouterr().err


def test_report_section_quick(tmp_path):
    from scripts.report.experiments.dse import glb_dse
    from scripts.report.lib import Context
    sec = glb_dse(Context(report_dir=tmp_path, quick=True, show_progress=False))
    assert len(sec.comparisons) >= 10
    for f in sec.figures:
        assert f.path.is_file() and f.path.stat().st_size > 1000
    assert all(math.isfinite(c.ratio) for c in sec.comparisons if c.ratio is not None)


def test_docstring_numbers():
    """The numbers printed in model/stt_ai/dse.py's docstrings and constant comments, recomputed at their precision."""
    doc = " ".join(dse.__doc__.split())
    a = dse.parse_array("42x42")
    assert a.w_a == 14 and a.h_a * a.w_a == 588                     # decision 2: 14 PEs per row, 588 PEs
    assert "floor(42 / P_s) = 14 PEs per row and H_A * W_A = 588 three-MAC PEs" in doc
    pe = dse.ArrayConfig(42, 42, "pe")
    assert pe.h_a * pe.w_sa == 5292 and "(42 x 42 PEs, i.e. 5292 MACs)" in doc
    assert f"{dse.DDR4_BANDWIDTH / 1e9:.1f}" == "46.9" and "46.9 GB/s" in dse.extra_dram.__doc__
    # Horowitz (ISSCC 2014): 1.3-2.6 nJ per 64-bit access, per bit
    assert f"{1.3e3 / 64:.1f}-{2.6e3 / 64:.1f}" == "20.3-40.6"
    assert dse.DDR4_PJ_PER_BIT == 20.0 and round(1.3e3 / 64) == dse.DDR4_PJ_PER_BIT
