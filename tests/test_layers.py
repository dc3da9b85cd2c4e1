"""The import graph points one way (README, "What is inside"); nothing edits ``sys.path``; no machine paths.

Layers, bottom up; a module may import its own layer and the layers listed for it, nothing else of ours:

==========================  ==============================================================================
layer                       may import
==========================  ==============================================================================
``model``                   ``model``
``hw``                      ``hw``, ``model.checks``
``scripts.toolchain``       ``model``, ``hw``
``scripts.sim``             ``model``, ``hw``
``scripts.blocks``          ``model``, ``hw``, ``scripts.sim``
``scripts`` (CLI, report)   all of the above and other ``scripts`` library modules; not ``tb``, not programs
programs (bench, training)  anything installed but ``tests``
``tb``                      anything but ``tests``
``tests``                   anything
==========================  ==============================================================================
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("hw", "model", "scripts", "tb", "tests")
PROGRAMS = ("scripts.bench_", "scripts.train_")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources():
    for top in OURS:
        for path in sorted((ROOT / top).rglob("*.py")):
            yield path
    yield ROOT / "conftest.py"


def _imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, imported name) of every import of ours in ``path``, function-level ones and relative ones included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    if package is None:
        package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            names = [f"{name}.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names]
    return sorted((line, n) for line, n in found if n.split(".")[0] in OURS)


def _layer(module: str) -> str:
    if module.startswith(PROGRAMS):
        return "program"
    for layer in ("scripts.toolchain", "scripts.sim", "scripts.blocks"):
        if module == layer or module.startswith(layer + "."):
            return layer
    return module.split(".")[0]


def _allowed(layer: str, target: str) -> bool:
    t = _layer(target)
    if target.startswith(("model.checks",)) and layer == "hw":
        return True
    rules = {
        "model": {"model"},
        "hw": {"hw"},
        "scripts.toolchain": {"scripts.toolchain", "model", "hw"},
        "scripts.sim": {"scripts.sim", "model", "hw"},
        "scripts.blocks": {"scripts.blocks", "scripts.sim", "model", "hw"},
        "scripts": {"scripts", "scripts.toolchain", "scripts.sim", "scripts.blocks", "model", "hw"},
        "program": {"program", "scripts", "scripts.toolchain", "scripts.sim", "scripts.blocks", "model", "hw", "tb"},
        "tb": {"tb", "program", "scripts", "scripts.toolchain", "scripts.sim", "scripts.blocks", "model", "hw"},
        "tests": {"tests", "tb", "program", "scripts", "scripts.toolchain", "scripts.sim", "scripts.blocks",
                  "model", "hw"},
        "conftest": {"model", "hw", "scripts", "scripts.toolchain"},
    }
    return t in rules[layer]


def test_imports_point_one_way():
    bad = []
    for path in _sources():
        layer = _layer(_module(path))
        for line, target in _imports(path):
            if not _allowed(layer, target):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {layer} imports {target}")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_the_checker_sees_a_wrong_import(tmp_path):
    """The rules reject what they must (so the test above can fail)."""
    assert not _allowed("model", "hw.bitcounter")
    assert not _allowed("hw", "model.fp_golden")
    assert _allowed("hw", "model.checks")
    assert not _allowed("scripts.toolchain", "scripts.blocks")
    assert not _allowed("scripts.sim", "scripts.toolchain.verilog")
    assert not _allowed("scripts", "tb.cocotb_block")
    assert not _allowed("tb", "tests.test_sim")
    assert _layer("scripts.bench.fp") == "program" and _layer("scripts.sim.contract") == "scripts.sim"
    src = tmp_path / "x.py"
    src.write_text("import os\nfrom model import memory\ndef f():\n    from hw.pe import ReconfigurablePE\n"
                   "from .contract import StreamPorts\n")
    assert [n for _, n in _imports(src, "scripts.sim")] == ["model.memory", "hw.pe.ReconfigurablePE",
                                                            "scripts.sim.contract.StreamPorts"]


@pytest.mark.parametrize("pattern,what", [
    (r"sys\.path\.(insert|append)|sys\.path\s*\+?=", "edits sys.path"),
    (r"(?<![\w.])/(work|root|home|Users)/\w", "names an absolute path of a machine"),
])
def test_no_sys_path_edits_or_machine_paths(pattern, what):
    this = Path(__file__).resolve()
    files = [p for p in _sources() if p.resolve() != this]
    files += [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / ".ci" / "run"]
    bad = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in files
           for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(pattern, line)]
    assert not bad, f"{what}:\n" + "\n".join(bad)
