"""The report's building blocks: side-by-side comparisons, sections and the experiment registry.

Adding an experiment to the report is one decorated function in a module of
:mod:`scripts.report.experiments` (every module there is imported by the report)::

    from scripts.report.lib import Comparison, Section, experiment

    @experiment("pe-latency", "Reconfigurable PE: latency against Table II", order=30)
    def pe_latency(ctx):
        measured = ...
        return Section(
            source="stt-ai-mishty-sadi.txt, Table II",
            comparisons=[Comparison("systolic 1-MAC latency", paper=11, ours=measured,
                                    unit="cycles", note="why they differ")],
        )

``ctx`` is a :class:`Context`: where to put figures (``ctx.figure_path(name)``), a
progress-bar wrapper (``ctx.progress(iterable, desc)``) and the ``quick`` flag.
The report writes, per section, a table ``quantity | paper | ours | ratio | note``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

__all__ = ["Comparison", "Table", "Figure", "Section", "Context", "Experiment", "experiment", "EXPERIMENTS",
           "format_value", "pyplot"]


def format_value(value, digits: int = 4) -> str:
    """Format a number for a Markdown table: integers as they are, floats to ``digits`` significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}".replace(",", " ")
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}g}"
    return str(value)


@dataclass(frozen=True)
class Comparison:
    """One paper claim against our number.

    Parameters
    ----------
    quantity : str
        What is compared, e.g. ``"systolic 1-MAC latency"``.
    paper : number, str or None
        The paper's value (``None`` where the paper states none; a string for a qualitative claim).
    ours : number or str
        Our value, computed in this run.
    unit : str
        Unit of both values.
    note : str
        Why they differ, or how ours was obtained. Required whenever the ratio is not 1.
    headline : str
        When set, the paper's headline claim this row answers (one short phrase): the row also appears in the
        scorecard that opens the report, beside every other paper's headline claims. Give it to the row of the
        variant closest to the paper's own scheme.
    status : str
        With ``headline``: ``"reproduced"``, ``"reproduced with <named variant>"`` or ``"differs: <cause>"``.
    """

    quantity: str
    paper: object
    ours: object
    unit: str = ""
    note: str = ""
    headline: str = ""
    status: str = ""

    def __post_init__(self):
        if self.headline and not (self.status == "reproduced" or self.status.startswith(("reproduced with ",
                                                                                          "differs: "))):
            raise ValueError(f"{self.quantity}: a headline row needs status 'reproduced', 'reproduced with "
                             f"<variant>' or 'differs: <cause>', got {self.status!r}")

    @property
    def ratio(self) -> float | None:
        """``ours / paper`` when both are numbers and the paper's is non-zero, else ``None``."""
        if isinstance(self.paper, numbers.Real) and isinstance(self.ours, numbers.Real) \
                and not isinstance(self.paper, bool) and self.paper != 0:
            return float(self.ours) / float(self.paper)
        return None

    def row(self) -> list[str]:
        unit = f" {self.unit}" if self.unit else ""
        paper = format_value(self.paper)
        ours = format_value(self.ours)
        return [self.quantity, paper + (unit if self.paper is not None else ""), ours + unit,
                format_value(self.ratio, 3), self.note]


def scorecard(sections: Sequence[tuple[str, str, "Section"]]) -> str:
    """The table that opens the report: every headline row (:attr:`Comparison.headline`) of every section, as
    ``claim | paper | ours | ratio | status | section``; ``sections`` holds (title, anchor, section)."""
    lines = ["| claim | paper | ours (variant closest to the paper's scheme) | ratio | status | section |",
             "|---|---|---|---|---|---|"]
    for title, anchor, section in sections:
        for c in section.comparisons:
            if c.headline:
                _, paper, ours, ratio, _ = c.row()
                cells = [c.headline, paper, ours, ratio, c.status, f"[{title}](#{anchor})"]
                lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Table:
    """An extra table in a section (measurements that have no paper counterpart)."""

    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    caption: str = ""

    def markdown(self) -> str:
        lines = []
        if self.caption:
            lines += [f"*{self.caption}*", ""]
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append("|" + "---|" * len(self.headers))
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"table row has {len(row)} cells, headers have {len(self.headers)}: {row!r}")
            lines.append("| " + " | ".join(format_value(c) for c in row) + " |")
        return "\n".join(lines)


@dataclass(frozen=True)
class Figure:
    """A PNG written by the experiment under the report's ``figures/`` folder."""

    path: Path
    caption: str


@dataclass
class Section:
    """What an experiment returns; the report renders it under the experiment's title."""

    source: str
    comparisons: list[Comparison] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    text: str = ""

    def markdown(self, title: str, report_dir: Path) -> str:
        out = [f"## {title}", "", f"Source: {self.source}", ""]
        if self.text:
            out += [self.text.strip(), ""]
        if self.comparisons:
            out.append("| quantity | paper | ours | ratio (ours/paper) | note |")
            out.append("|---|---|---|---|---|")
            for c in self.comparisons:
                out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in c.row()) + " |")
            out.append("")
        for table in self.tables:
            out += [table.markdown(), ""]
        for fig in self.figures:
            rel = Path(fig.path).resolve().relative_to(report_dir.resolve())
            out += [f"![{fig.caption}]({rel.as_posix()})", "", f"*{fig.caption}*", ""]
        return "\n".join(out)


@dataclass
class Context:
    """What an experiment gets from the report runner.

    Attributes
    ----------
    report_dir : Path
        The report's folder (``report/`` by default).
    quick : bool
        Smaller sweeps (used by the tests of the report itself); the full report runs with ``quick=False``.
    seed : int
        Base random seed of this report run, printed in the report.
    """

    report_dir: Path
    quick: bool = False
    seed: int = 0
    show_progress: bool = True

    @property
    def figure_dir(self) -> Path:
        d = self.report_dir / "figures"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def figure_path(self, name: str) -> Path:
        """Path for a PNG figure named ``name`` (without folder)."""
        if "/" in name or not name.endswith(".png"):
            raise ValueError(f"figure name must be a plain file name ending in .png, got {name!r}")
        return self.figure_dir / name

    def save_figure(self, fig, name: str) -> Path:
        """Write the matplotlib ``fig`` as ``figures/<name>`` (PNG, 110 dpi), close it, return the path."""
        path = self.figure_path(name)
        fig.savefig(path, dpi=110)
        pyplot().close(fig)
        return path

    def progress(self, iterable: Iterable, desc: str = "", total: int | None = None):
        """Wrap ``iterable`` in a progress bar (tqdm, on stderr)."""
        if not self.show_progress:
            return iterable
        from tqdm import tqdm
        return tqdm(iterable, desc=desc, total=total, leave=False)


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (the report runs without a display)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


@dataclass(frozen=True)
class Experiment:
    key: str
    title: str
    order: int
    func: Callable[[Context], Section]


EXPERIMENTS: dict[str, Experiment] = {}


def experiment(key: str, title: str, order: int = 100):
    """Register ``func(ctx) -> Section`` as a report experiment under ``key``."""
    if not key or not key.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"experiment key must be alphanumeric with '-' or '_', got {key!r}")

    def register(func: Callable[[Context], Section]):
        if key in EXPERIMENTS and EXPERIMENTS[key].func.__qualname__ != func.__qualname__:
            raise ValueError(f"experiment key {key!r} is registered twice")
        EXPERIMENTS[key] = Experiment(key, title, order, func)
        return func

    return register
