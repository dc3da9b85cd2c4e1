"""The report: the registry, the side-by-side rendering, and a quick run of every registered experiment."""

import pytest

from scripts.report.runner import load_experiments, run_report
from scripts.report.lib import Comparison, Section, Table, experiment, scorecard


def test_comparison_ratio_and_row():
    c = Comparison("latency", paper=11, ours=22, unit="cycles", note="deeper pipeline")
    assert c.ratio == 2.0
    assert c.row() == ["latency", "11 cycles", "22 cycles", "2", "deeper pipeline"]
    assert Comparison("x", paper=None, ours=3).ratio is None
    assert Comparison("x", paper=0, ours=3).ratio is None
    assert Comparison("x", paper="yes", ours="yes").ratio is None


def test_scorecard_lists_headline_rows_only():
    a = Section(source="", comparisons=[
        Comparison("energy, variant X", paper=4.5, ours=4.0, unit="x", note="n", headline="DIMA energy saving",
                   status="reproduced with variant X"),
        Comparison("energy, variant Y", paper=4.5, ours=0.9, unit="x", note="16 conversions per output")])
    b = Section(source="", comparisons=[Comparison("area", paper=2, ours=4, headline="area",
                                                   status="differs: no standard-cell library")])
    lines = scorecard([("DIMA", "dima", a), ("PIM", "pim", b)]).splitlines()
    assert lines[2] == "| DIMA energy saving | 4.5 x | 4 x | 0.889 | reproduced with variant X | [DIMA](#dima) |"
    assert lines[3] == "| area | 2 | 4 | 2 | differs: no standard-cell library | [PIM](#pim) |"
    assert len(lines) == 4
    with pytest.raises(ValueError, match="headline row needs status"):
        Comparison("x", paper=1, ours=2, headline="claim", status="roughly")


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
    assert text.index("## Scorecard") < text.index(f"## {min(registry.values(), key=lambda e: e.order).title}")
    for line in text.splitlines():  # every linked figure exists
        if line.startswith("!["):
            assert (tmp_path / line.split("](")[1].rstrip(")")).is_file(), line
    assert not list(tmp_path.glob(".index.*"))  # no half-written temp file left
