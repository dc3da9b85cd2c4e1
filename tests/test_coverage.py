"""The RTL coverage switch and summariser (scripts/toolchain/coverage.py) and the functional sampler."""

import json

import numpy as np
import pytest

from scripts.toolchain import cocotb_runner
from scripts.toolchain import coverage as cov


def _key(file, line, kind, module, comment=""):
    fields = {"f": file, "l": str(line), "n": "3", "t": kind, "page": f"v_{kind}/{module}", "o": comment,
              "h": module}
    return "".join(f"\x01{k}\x02{v}" for k, v in fields.items())


def _dat(path, points):
    path.write_text("# SystemC::Coverage-3\n" + "".join(f"C '{k}' {c}\n" for k, c in points.items()))
    return path


def test_merge_and_summary(tmp_path):
    build = tmp_path / "bf16_mac_top_cov"
    build.mkdir()
    v = build / "bf16_mac.v"
    v.write_text("module bf16_mac;\n  always @* begin\n    if (\\$auto$verilog_backend.cc:2355:dump_module$1 ) "
                 "begin end\n    x = 1;\n  end\nendmodule\n")
    f = str(v)
    line, branch = _key(f, 4, "line", "bf16_mac"), _key(f, 3, "branch", "bf16_mac", "if")
    sub = _key(f, 4, "line", "bf16_mac.mul")
    tog = [_key(f, 4, "toggle", "bf16_mac", f"x[0]:{d}") for d in ("0->1", "1->0")]
    one = _dat(tmp_path / "r1.dat", {line: 3, branch: 0, sub: 0, tog[0]: 1, tog[1]: 0})
    two = _dat(tmp_path / "r2.dat", {line: 2, branch: 0, sub: 5, tog[0]: 0, tog[1]: 0})
    points = cov.merge_dat([one, two])
    assert points[line] == 5 and points[sub] == 5 and points[tog[1]] == 0
    cov.write_dat(points, tmp_path / "merged.dat")
    assert cov.read_dat(tmp_path / "merged.dat") == points
    s = cov.summarise(points)
    mac = s["blocks"]["bf16_mac"]
    assert mac["line"] == {"covered": 2, "total": 3} and mac["toggle"] == {"covered": 1, "total": 2}
    assert [(u["line"], u["type"]) for u in mac["uncovered_lines"]] == [(3, "branch")]
    assert "dump_module" in mac["uncovered_lines"][0]["why"] and mac["uncovered_lines"][0]["file"] == "bf16_mac.v"
    assert mac["untoggled"]["count"] == 1
    assert s["blocks"]["bf16_mul"]["line"] == {"covered": 1, "total": 1}     # the MAC's multiplier module
    assert "fp32_add" not in s["blocks"]
    assert s["builds"]["bf16_mac_top_cov"]["block"] == "bf16_mac"


def test_units_inside_a_block_count_for_their_own_blocks(tmp_path):
    """A point deep in the accelerator counts for every registry block on its instance path, once each; a name
    that only looks like a unit (``adder_ctl``, ``array2``) counts for none."""
    build = tmp_path / "accelerator_2x2_b42_cov"
    build.mkdir()
    v = build / "accelerator.v"
    v.write_text("module accelerator;\n  x = 1;\nendmodule\n")
    deep = _key(str(v), 2, "line", "accelerator.engine.array.pe_0_1.mul2")
    ctl = _key(str(v), 2, "line", "accelerator.controller.dest")
    odd = _key(str(v), 2, "line", "accelerator.adder_ctl.array2")
    s = cov.summarise({deep: 1, ctl: 0, odd: 4})
    blocks = s["blocks"]
    assert blocks["accelerator"]["line"] == {"covered": 2, "total": 3}
    for sub in ("layer_engine", "pe_array", "reconfigurable_pe", "bf16_mul"):
        assert blocks[sub]["line"] == {"covered": 1, "total": 1}, sub
    assert blocks["layer_controller"]["line"] == {"covered": 0, "total": 1}
    assert "fp32_add" not in blocks and "scratchpad" not in blocks


def test_stream_wrapper_points_count_for_no_block(tmp_path):
    """A stream build holds the testbench wrapper ``mram_stream.sv`` beside the packed block: its points, even when
    listed first, neither name the build's block nor count anywhere."""
    build = tmp_path / "bf16_mac_p64_stream_cov"
    build.mkdir()
    wrapper, dut = build / "mram_stream.sv", build / "bf16_mac_p64.v"
    for f in (wrapper, dut):
        f.write_text("module m;\n  x = 1;\nendmodule\n")
    s = cov.summarise({_key(str(wrapper), 2, "line", "mram_stream"): 0,
                       _key(str(dut), 2, "line", "mram_stream.dut"): 1})
    assert set(s["blocks"]) == {"bf16_mac"} and s["blocks"]["bf16_mac"]["line"] == {"covered": 1, "total": 1}
    assert s["builds"]["bf16_mac_p64_stream_cov"]["block"] == "bf16_mac"


def test_compact_keeps_the_counts(tmp_path):
    """The written summary counts the uncovered points by reason and lists only unexplained ones (at most
    ``keep``); the digest and the report's explained count read the same numbers from either form."""
    block = {"uncovered_lines": [{"file": "x.v", "line": i, "text": "if (dump_module) x;", "why": "Yosys' no-op: y"}
                                 for i in range(5)] +
                                [{"file": "x.v", "line": 10 + i, "text": "if (a) begin end", "why": ""} for i in range(3)],
             "untoggled": {"count": 0, "signals": {}}, "line": {"covered": 1, "total": 9}}
    small = cov.compact({"builds": {}, "blocks": {"x": block}}, keep=2)["blocks"]["x"]
    assert small["uncovered_counts"] == {"explained": {"Yosys' no-op": 5}, "unexplained": 3}
    assert [u["line"] for u in small["uncovered_lines"]] == [10, 11]
    assert cov.uncovered_counts(block) == small["uncovered_counts"]
    assert cov.uncovered_digest(block, limit=2) == cov.uncovered_digest(small, limit=2)
    assert "3 unexplained: x.v:10" in cov.uncovered_digest(small, limit=2) and "and 1 more" in cov.uncovered_digest(small, limit=2)


def test_block_of_file():
    assert cov.block_of_file("build/sim/bitcount_reader_w64_d128_cov/bitcount_reader.v") == "bitcount_reader"
    assert cov.block_of_file("bf16_mac_p64.v") == "bf16_mac"
    assert cov.block_of_file("reconfigurable_pe_x4.v") == "reconfigurable_pe"
    assert cov.block_of_file("dima_post.v") == "dima_post"


def test_command_bad_input(tmp_path, capsys):
    assert cov.main([str(tmp_path / "missing")]) == 2
    assert cov.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("dir: ")


def test_switch_off_by_default(monkeypatch):
    monkeypatch.delenv(cocotb_runner.COVERAGE_ENV, raising=False)
    assert cocotb_runner.coverage_dir() is None
    assert cocotb_runner._with_coverage("bitcounter_w8_r16", ("--timing",)) == ("bitcounter_w8_r16", ("--timing",))


def test_switch_on(monkeypatch, tmp_path):
    monkeypatch.setenv(cocotb_runner.COVERAGE_ENV, str(tmp_path / "cov"))
    name, flags = cocotb_runner._with_coverage("bitcounter_w8_r16", ())
    assert name == "bitcounter_w8_r16_cov" and set(cocotb_runner.COVERAGE_FLAGS) <= set(flags)
    a, b = (cocotb_runner._coverage_file(tmp_path, name) for _ in range(2))
    assert a != b and a.name.startswith(name)


def test_functional_counts(monkeypatch, tmp_path):
    """Each distinct bin tuple is sampled once, yet the exported counts are the true numbers of operations."""
    pytest.importorskip("cocotb_coverage")
    from scripts.sim import func_coverage as fcov

    monkeypatch.setenv("MRAM_RTL_COVERAGE", str(tmp_path))
    one, tie = 0x3F800000, 0x33800000
    a = np.array([one] * 5 + [one] * 2, np.uint32)
    b = np.array([one] * 5 + [tie] * 2, np.uint32)
    fcov.record("fp32_add", {"a": a, "b": b})
    xml = fcov.export(tmp_path / "f.xml")
    summary = cov.functional_summary(xml)["fp32_add"]
    assert summary["bins"] == 67 and "round: tie" not in summary["missing"] and "round: above_half" in summary["missing"]
    from xml.etree import ElementTree as et
    hits = {e.attrib["bin"]: int(e.attrib["hits"]) for e in et.parse(xml).getroot().iter()
            if e.attrib.get("abs_name", "").startswith("top.fp32_add.round.")}
    assert hits["exact"] == 5 and hits["tie"] == 2   # true counts, not distinct tuples
    assert json.dumps(summary)


def test_uncovered_digest():
    block = {"uncovered_lines": [{"file": "x.v", "line": 3, "text": "if (a) begin end", "why": ""},
                                 {"file": "x.v", "line": 9, "text": "default: y = 0;", "why": cov.explain("default: y = 0;")}],
             "untoggled": {"count": 2, "signals": {"x.sig": 2}},
             "functional": {"bins": 4, "hit": 3, "missing": ["round: tie"]}}
    text = cov.uncovered_digest(block)
    assert "1 x Yosys' default arm" in text and "x.v:3" in text and "x.sig" in text and "round: tie" in text
    assert cov.uncovered_digest({}) == "nothing"


def test_report_coverage_goals():
    """The report's goal rows: the lowest block once its explained points are left out, and the bins hit."""
    from scripts.report.experiments.verification import coverage_goals

    def block(covered, total, explained, functional=None):
        return {"line": {"covered": covered, "total": total}, "functional": functional,
                "uncovered_counts": {"explained": {"no-op": explained}, "unexplained": total - covered - explained}}

    summary = {"blocks": {"a": block(90, 100, 6, {"bins": 4, "hit": 4, "missed": []}),   # 90 / 94 = 95.7 %
                          "b": block(96, 100, 0), "c": block(0, 0, 0)}}
    line, func = coverage_goals(summary)
    assert line.ours == pytest.approx(95.7) and "goal met: a" in line.note and "b 96.0" in line.note
    assert (func.paper, func.ours) == (4, 4) and "goal met" in func.note
    summary["blocks"]["b"] = block(94, 100, 0, {"bins": 3, "hit": 2, "missed": ["x: y"]})
    line, func = coverage_goals(summary)
    assert line.ours == 94.0 and "goal missed: b" in line.note
    assert (func.paper, func.ours) == (7, 6) and "goal missed" in func.note
