"""The report: the registry, the side-by-side rendering, and a quick run of every registered experiment."""

import pytest

from scripts.report.runner import load_experiments, run_report
from scripts.report.lib import Comparison, Section, Table, experiment


def test_comparison_ratio_and_row():
    c = Comparison("latency", paper=11, ours=22, unit="cycles", note="deeper pipeline")
    assert c.ratio == 2.0
    assert c.row() == ["latency", "11 cycles", "22 cycles", "2", "deeper pipeline"]
    assert Comparison("x", paper=None, ours=3).ratio is None
    assert Comparison("x", paper=0, ours=3).ratio is None
    assert Comparison("x", paper="yes", ours="yes").ratio is None


def test_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="2 cells, headers have 3"):
        Table(["a", "b", "c"], [[1, 2]]).markdown()


def test_duplicate_experiment_key_is_rejected():
    load_experiments()
    with pytest.raises(ValueError, match="registered twice"):
        experiment("bitcounter", "again")(lambda ctx: Section(source=""))


def test_unknown_experiment_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"unknown experiment\(s\) \['nope'\]"):
        run_report(tmp_path, only=["nope"], show_progress=False)
    assert not (tmp_path / "index.md").exists()


def test_quick_report_has_every_experiment(tmp_path):
    registry = load_experiments()
    index, failed = run_report(tmp_path, quick=True, show_progress=False)
    text = index.read_text()
    assert failed == [], text
    for exp in registry.values():
        assert f"## {exp.title}" in text
    assert "| quantity | paper | ours | ratio (ours/paper) | note |" in text
    for line in text.splitlines():  # every linked figure exists
        if line.startswith("!["):
            assert (tmp_path / line.split("](")[1].rstrip(")")).is_file(), line
    assert not list(tmp_path.glob(".index.*"))  # no half-written temp file left
