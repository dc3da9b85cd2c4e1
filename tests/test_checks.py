"""The shared argument checks (:mod:`model.checks`) and the CLI's one-line errors built on them."""

import math

import numpy as np
import pytest

from model.checks import (check_bool, check_choice, check_int, check_probability, check_real, check_real_array,
                          describe_range, parse_int, parse_real, show_value)
from scripts.cli import main as cli_main

NAN, INF = float("nan"), float("inf")


def _message(exc, call):
    with pytest.raises(exc) as info:
        call()
    assert type(info.value) is exc
    return str(info.value)


# ------------------------------------------------------------------------------------------------------ ranges
@pytest.mark.parametrize("kwargs, text", [
    ({}, ""),
    ({"min": 1}, ">= 1"),
    ({"max": 16}, "<= 16"),
    ({"min": 1, "max": 4096, "integer": True}, ">= 1 and <= 4096"),
    ({"min": 0, "max": 1}, "in [0, 1]"),
    ({"min": 0, "max": 1, "min_open": True, "max_open": True}, "in (0, 1)"),
    ({"min": 0, "max": math.inf, "max_open": True, "unit": "K"}, "in [0, inf) K"),
    ({"min": 1, "max": math.inf, "min_open": True, "max_open": True}, "in (1, inf)"),
    ({"min": 0, "max": 0.25, "max_open": True}, "in [0, 0.25)"),
    ({"min": 0.0, "min_open": True, "unit": " Hz "}, "> 0 Hz"),
    ({"max": 1e-9, "max_open": True}, "< 1e-09"),
    ({"min": -math.inf, "max": 0}, "in (-inf, 0]"),
])
def test_describe_range(kwargs, text):
    assert describe_range(**kwargs) == text


def test_show_value():
    assert show_value(1.5) == "1.5" and show_value("x") == "'x'" and show_value(np.float64(2.0)) == "2.0"
    assert show_value(np.array(3)) == "3"
    assert show_value(np.array([1.0, -2.5])) == "an array with values in [-2.5, 1]"
    assert show_value(np.array([1.0, NAN])) == "an array with values in [1, 1] and NaN"
    assert show_value(np.array([NAN])) == "an array of NaN"
    assert show_value(np.zeros((0, 2))) == "an empty array of shape (0, 2)"


# --------------------------------------------------------------------------------------------------- check_int
def test_check_int_accepts_and_returns_int():
    assert check_int("n", 5) == 5
    assert check_int("n", 1, min=1, max=1) == 1
    v = check_int("n", np.int64(7), min=0)
    assert v == 7 and type(v) is int
    assert check_int("n", -3) == -3  # no range: any integer


@pytest.mark.parametrize("value", [8.0, True, False, np.bool_(True), "4", None, 2 + 0j])
def test_check_int_type_error(value):
    msg = _message(TypeError, lambda: check_int("width", value, min=1, max=4096))
    assert msg == f"width must be an integer >= 1 and <= 4096, got {show_value(value)}"


@pytest.mark.parametrize("value, kwargs, msg", [
    (0, {"min": 1, "max": 4096}, "width must be >= 1 and <= 4096, got 0"),
    (5000, {"min": 1, "max": 4096}, "width must be >= 1 and <= 4096, got 5000"),
    (0, {"min": 1}, "width must be >= 1, got 0"),
    (17, {"max": 16}, "width must be <= 16, got 17"),
])
def test_check_int_value_error(value, kwargs, msg):
    assert _message(ValueError, lambda: check_int("width", value, **kwargs)) == msg


@pytest.mark.parametrize("value", [0, -3, 1.5, True, "2"])
def test_check_int_without_type_error_raises_value_error_stating_the_type(value):
    msg = _message(ValueError, lambda: check_int("batch", value, min=1, type_error=False))
    assert msg == f"batch must be an integer >= 1, got {value!r}"


# -------------------------------------------------------------------------------------------------- check_bool
def test_check_bool():
    assert check_bool("ftz", True) is True and check_bool("ftz", False) is False
    for value in (1, 0, None, "yes", np.bool_(True)):
        msg = _message(TypeError, lambda: check_bool("ftz", value))
        assert msg == f"ftz must be a bool (True or False), got {value!r}"


# -------------------------------------------------------------------------------------------------- check_real
def test_check_real_accepts_and_returns_float():
    assert check_real("x", 2) == 2.0 and type(check_real("x", 2)) is float
    assert check_real("x", np.float32(0.5), min=0, max=1) == 0.5
    assert check_real("x", 0.0, min=0) == 0.0 and check_real("x", 1.0, min=0, max=1) == 1.0
    assert check_real("x", -1e300) == -1e300


@pytest.mark.parametrize("value", ["1e-3", None, True, np.bool_(False), 1j, [0.5]])
def test_check_real_type_error(value):
    msg = _message(TypeError, lambda: check_real("ber", value, min=0, max=1))
    assert msg == f"ber must be a real number in [0, 1], got {show_value(value)}"
    msg = _message(TypeError, lambda: check_real("x", value, min=0, min_open=True))
    assert msg.startswith("x must be a finite real number > 0, got ")


@pytest.mark.parametrize("value, kwargs, msg", [
    (1.5, {"min": 0, "max": 1}, "ber must be in [0, 1], got 1.5"),
    (-0.1, {"min": 0, "max": 1}, "ber must be in [0, 1], got -0.1"),
    (NAN, {"min": 0, "max": 1}, "ber must be in [0, 1], got nan"),
    (0.0, {"min": 0, "max": 1, "min_open": True}, "ber must be in (0, 1], got 0.0"),
    (0.25, {"min": 0, "max": 0.25, "max_open": True}, "ber must be in [0, 0.25), got 0.25"),
    (0.0, {"min": 0, "min_open": True}, "ber must be a finite number > 0, got 0.0"),
    (INF, {"min": 0}, "ber must be a finite number >= 0, got inf"),
    (NAN, {}, "ber must be a finite number, got nan"),
    (-INF, {}, "ber must be a finite number, got -inf"),
    (INF, {"min": 0, "max": math.inf}, "ber must be in [0, inf), got inf"),  # an infinite end is always open
    (-1.0, {"min": 0, "max": math.inf, "max_open": True, "unit": "K"}, "ber must be in [0, inf) K, got -1.0"),
    (10 ** 400, {"max": 5}, f"ber must be a finite number <= 5, got {10 ** 400!r}"),
])
def test_check_real_value_error(value, kwargs, msg):
    assert _message(ValueError, lambda: check_real("ber", value, **kwargs)) == msg


@pytest.mark.parametrize("value, kwargs, msg", [
    (0, {"min": 0, "min_open": True}, "clock_hz must be a finite number > 0, got 0"),
    (NAN, {"min": 0, "min_open": True}, "clock_hz must be a finite number > 0, got nan"),
    ("1GHz", {"min": 0, "min_open": True}, "clock_hz must be a finite number > 0, got '1GHz'"),
    (True, {"min": 0}, "clock_hz must be a finite number >= 0, got True"),
    (NAN, {"min": 0, "max": math.inf, "min_open": True, "max_open": True, "unit": "K"},
     "clock_hz must be a number in (0, inf) K, got nan"),
])
def test_check_real_without_type_error(value, kwargs, msg):
    assert _message(ValueError, lambda: check_real("clock_hz", value, type_error=False, **kwargs)) == msg


def test_check_probability():
    assert check_probability("p", 0) == 0.0 and check_probability("p", 1) == 1.0
    assert check_probability("p", 1e-9, open=True) == 1e-9
    assert _message(ValueError, lambda: check_probability("p", 1, open=True)) == "p must be in (0, 1), got 1"
    assert _message(ValueError, lambda: check_probability("p", -0.5)) == "p must be in [0, 1], got -0.5"
    assert _message(TypeError, lambda: check_probability("p", "0.1")) == "p must be a real number in [0, 1], got '0.1'"
    assert _message(ValueError, lambda: check_probability("p", "0.1", type_error=False)) == \
        "p must be a number in [0, 1], got '0.1'"


# -------------------------------------------------------------------------------------------- check_real_array
def test_check_real_array():
    a = check_real_array("t", [1, 2, 3], min=0, min_open=True)
    assert a.dtype == np.float64 and a.tolist() == [1.0, 2.0, 3.0]
    s = check_real_array("t", 2.5)
    assert s.shape == () and float(s) == 2.5
    kw = {"min": 0, "max": math.inf, "min_open": True, "max_open": True, "unit": "s"}
    assert _message(ValueError, lambda: check_real_array("t", np.array([1.0, -1.0]), **kw)) == \
        "t must be in (0, inf) s, got an array with values in [-1, 1]"
    assert _message(ValueError, lambda: check_real_array("t", [1.0, NAN], **kw)) == \
        "t must be in (0, inf) s, got an array with values in [1, 1] and NaN"
    assert _message(ValueError, lambda: check_real_array("t", -3.0, **kw)) == "t must be in (0, inf) s, got -3.0"
    assert _message(ValueError, lambda: check_real_array("t", INF)) == "t must be a finite number, got inf"
    for bad in ("3", [True, False], np.array([1j]), [[1, 2], [3]], None):
        msg = _message(TypeError, lambda: check_real_array("t", bad, **kw))
        assert msg.startswith("t must be a real number or real array in (0, inf) s, got ")
        msg = _message(ValueError, lambda: check_real_array("t", bad, type_error=False, **kw))
        assert msg.startswith("t must be a number in (0, inf) s, got ")


# ------------------------------------------------------------------------------------------------ check_choice
def test_check_choice():
    assert check_choice("mode", "all", ("all", "split")) == "all"
    assert check_choice("n", 16, [8, 16]) == 16
    assert _message(ValueError, lambda: check_choice("mode", "msb", ("all", "split"))) == \
        "mode must be one of ('all', 'split'), got 'msb'"
    assert _message(ValueError, lambda: check_choice("mode", ["all"], ("all", "split"))) == \
        "mode must be one of ('all', 'split'), got ['all']"
    assert "got an array" in _message(ValueError, lambda: check_choice("mode", np.zeros(2), (0, 1)))


# ----------------------------------------------------------------------------------------------------- parsers
def test_parse_int():
    assert parse_int("16", "--batch", min=1) == 16 and parse_int(" 3 ", "--n") == 3
    assert parse_int("-2", "--n", max=0) == -2
    for text in ("0", "-1", "two", "1.5", "1e3", ""):
        assert _message(ValueError, lambda: parse_int(text, "--batch", min=1)) == \
            f"--batch must be an integer >= 1, got {text!r}"
    assert _message(ValueError, lambda: parse_int("9", "--n", min=1, max=8)) == \
        "--n must be an integer >= 1 and <= 8, got '9'"


def test_parse_real():
    assert parse_real("1e-9", "--ber", min=0, max=1, min_open=True, max_open=True) == 1e-9
    assert parse_real(" 2 ", "--x") == 2.0
    for text in ("2", "0", "nan", "inf", "abc", "", "1e-9s"):
        msg = _message(ValueError, lambda: parse_real(text, "--ber", min=0, max=1, min_open=True, max_open=True))
        assert msg == f"--ber must be a number in (0, 1), got {text!r}"
    assert _message(ValueError, lambda: parse_real("-1", "--x", min=0)) == "--x must be a finite number >= 0, got '-1'"
    assert _message(ValueError, lambda: parse_real("inf", "--x")) == "--x must be a finite number, got 'inf'"


# --------------------------------------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("argv, line", [
    (["retention", "resnet50", "--batch", "0"],
     "mram-accel retention: error: --batch must be an integer >= 1 and <= 65536, got '0'"),
    (["glb", "alexnet", "--batch", "two"],
     "mram-accel glb: error: --batch must be an integer >= 1 and <= 65536, got 'two'"),
    (["retention", "alexnet", "--cycles", "1.5"],
     "mram-accel retention: error: --cycles must be an integer >= 1 and <= 1000000, got '1.5'"),
    (["delta", "--retention", "3s", "--ber", "2"],
     "mram-accel delta: error: --ber must be a number in (0, 1), got '2'"),
    (["delta", "--retention", "3s", "--ber", "1e-8", "--read-ratio", "nan"],
     "mram-accel delta: error: --read-ratio must be a number in [0, 1), got 'nan'"),
    (["delta", "--retention", "3s", "--ber", "1e-8", "--write-ratio", "1"],
     "mram-accel delta: error: --write-ratio must be a number in (1, 100], got '1'"),
    (["delta", "--retention", "3s", "--ber", "1e-8", "--t-hot", "0K"],
     "mram-accel delta: error: --t-hot must be a temperature in (0, 1000] K, got '0K' (0 K)"),
])
def test_cli_bad_value_exits_2_with_one_line(argv, line, capsys):
    assert cli_main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == line + "\n"


# ------------------------------------------------------------------------- option parsers: both forms, upper bounds
def test_sigma_accepts_a_fraction_and_a_percentage_everywhere():
    """One parser of --sigma for dima, delta and bcnn: 5% and 0.05 are the same value; the upper bound may be
    inclusive (bcnn's 0.2) or exclusive (delta's 1/N_SIGMA)."""
    from scripts.common.options import parse_fraction

    assert parse_fraction("5%", "--sigma") == parse_fraction("0.05", "--sigma") == 0.05
    assert parse_fraction("20%", "--sigma", upper=0.2, max_open=False) == 0.2
    for text, kw in (("20%", {"upper": 0.2}), ("20.01%", {"upper": 0.2, "max_open": False}), ("-1%", {})):
        with pytest.raises(ValueError, match=r"^--sigma must be a fraction"):
            parse_fraction(text, "--sigma", **kw)
    assert "[0, 0.2] (i.e. [0, 20%])" in _message(ValueError, lambda: parse_fraction("0.3", "--sigma", upper=0.2,
                                                                                      max_open=False))


@pytest.mark.parametrize("call,good,bad,name", [
    ("parse_duration", "1e6y", "1.0001e6y", "--retention"),
    ("parse_temperature", "1000K", "1000.1K", "--t-hot"),
    ("parse_frequency", "1000GHz", "1001GHz", "--clock"),
    ("parse_seed", str(2**32 - 1), str(2**32), "--seed"),
])
def test_every_parser_has_an_upper_bound(call, good, bad, name):
    from scripts.common import options

    f = getattr(options, call)
    f(good, name)
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        f(bad, name)


# ------------------------------------------------------------------------------- JSON Schema and weight files
def test_schema_error_is_shared_and_describes_numbers_and_strings():
    import model.zoo
    from model.checks import schema_error

    assert model.zoo.schema_error is schema_error   # one helper, re-exported for old imports
    schema = {"type": "object", "required": ["t"],
              "properties": {"t": {"type": "number", "minimum": 0, "maximum": 1e7},
                             "host": {"type": "string", "maxLength": 8}, "k": {"const": [1, 2]}}}
    assert schema_error({"t": 1.5}, schema, "r.jsonl: line 3") is None
    assert schema_error({"t": -1}, schema, "r.jsonl: line 3") == \
        "r.jsonl: line 3: field 't' must be a number in [0, 10000000], got -1"
    assert schema_error({"t": 0, "host": "x" * 9}, schema, "f") == \
        f"f: field 'host' must be a string of at most 8 characters, got {'x' * 9!r}"
    assert schema_error({"t": 0, "k": [2, 1]}, schema, "f") == "f: field 'k' must be [1, 2], got a list of 2 entries"
    assert schema_error({}, schema, "f") == "f: missing required field 't'"


def test_weights_schema_is_a_valid_json_schema_that_accepts_what_it_describes(rng):
    from jsonschema import Draft202012Validator

    from model.checks import INTEGER_DTYPES, describe_arrays, weights_schema

    h = int(rng.integers(1, 9))
    arrays = {"w": rng.standard_normal((h, 5)).astype(np.float32), "b": np.zeros(h, np.int16)}
    shapes = {"w": ("h", 5), "b": ("h",)}
    schema = weights_schema(shapes, {"b": INTEGER_DTYPES}, {"type": "object", "required": ["seed"]})
    Draft202012Validator.check_schema(schema)
    desc = describe_arrays(arrays)
    assert desc == {"w": {"dtype": "float32", "shape": [h, 5]}, "b": {"dtype": "int16", "shape": [h]}}
    v = Draft202012Validator(schema)
    assert v.is_valid({**desc, "metadata": {"seed": 1}})
    assert not v.is_valid(desc)                                                       # metadata required
    assert not v.is_valid({**desc, "metadata": {"seed": 1}, "b": {"dtype": "float32", "shape": [h]}})
    assert not v.is_valid({**desc, "metadata": {"seed": 1}, "w": {"dtype": "float32", "shape": [h, 5, 1]}})


def test_check_arrays_named_sizes_dtypes_and_finite_values(rng):
    from model.checks import check_arrays

    h = int(rng.integers(2, 9))
    shapes = {"w": ("h", 4), "b": ("h",)}
    w, b = rng.standard_normal((h, 4)), rng.standard_normal(h)
    out = check_arrays({"b": b.tolist(), "w": w, "extra": "ignored"}, shapes, "net")
    assert list(out) == ["w", "b"] and np.array_equal(out["b"], b) and out["w"] is w
    assert _message(ValueError, lambda: check_arrays({"w": w, "b": b[1:]}, shapes, "net")) == \
        f"net['b'] must have shape ({h},) (h = {h} from w), got ({h - 1},)"
    assert _message(ValueError, lambda: check_arrays({"w": w[..., None], "b": b}, shapes, "net")) == \
        f"net['w'] must have shape ({h}, 4) (h = {h} from b), got ({h}, 4, 1)"  # w has the wrong rank
    assert _message(ValueError, lambda: check_arrays({"w": w}, shapes, "net")) == \
        "net is missing ['b']; expected ['w', 'b']"
    assert _message(ValueError, lambda: check_arrays({"w": w > 0, "b": b}, shapes, "net")) == \
        "net['w'] must have a real numeric dtype, got dtype bool"
    w2 = w.copy()
    w2[h - 1, 2] = -np.inf
    assert _message(ValueError, lambda: check_arrays({"w": w2, "b": b}, shapes, "net")) == \
        f"net['w'] must hold finite numbers, got 1 NaN or inf value(s), the first -inf at index ({h - 1}, 2)"
    assert check_arrays({"w": w2, "b": b}, shapes, "net", finite=False)["w"] is w2
    assert _message(ValueError, lambda: check_arrays({"w": [[1.0], [1.0, 2.0]], "b": b}, shapes, "net")) == \
        "net['w'] must be an array of real numbers, got a ragged sequence"


def test_load_weights_options(tmp_path, rng):
    from model.checks import load_weights

    n = int(rng.integers(2, 50))
    path = tmp_path / "m.npz"
    np.savez(path, w=rng.standard_normal((n, 3)), idx=np.arange(n), metadata=np.array('{"n": %d}' % n))
    arrays, meta = load_weights(path, lambda m: {"w": (m["n"], 3)})   # shapes from the metadata
    assert meta == {"n": n} and list(arrays) == ["w"]
    msg = _message(ValueError, lambda: load_weights(path, {"w": ("n", 3)}, max_bytes=n * 3 * 8 - 1))
    assert msg == f"weights file {str(path)!r} holds {n * 3 * 8} bytes of arrays, above the limit of {n * 3 * 8 - 1}"
    load_weights(path, {"w": ("n", 3)}, max_bytes=n * 3 * 8)

    def refuse(meta):
        raise ValueError(f"metadata.n: {meta['n']} is too many")

    assert _message(ValueError, lambda: load_weights(path, refuse, source="model file")) == \
        f"model file {str(path)!r}: metadata.n: {n} is too many"
    assert _message(ValueError, lambda: load_weights(path, {"idx": ("n",)}, dtypes={"idx": ("uint8",)})) == \
        f"weights file {str(path)!r}: idx must have dtype uint8, got dtype int64"
    assert _message(ValueError, lambda: load_weights(path, {"w": (n, 3)}, metadata={"required": ["m"]})) == \
        f"weights file {str(path)!r}: metadata: missing required field 'm'"
