"""The import graph points one way (README, "Layout"), at run time too; nothing edits ``sys.path``; no machine paths.

Layers, bottom up; a module may import its own layer and the layers listed for it, nothing else of ours:

=========================  ==========================================================================================
layer                      may import
=========================  ==========================================================================================
``model`` (shared)         shared ``model`` modules only
``model.<system>``         its own system and the shared ``model`` modules; never another system
``hw``                     ``hw``, ``model.checks``
``scripts.toolchain``      ``model``, ``hw``
``scripts.sim``            ``model``, ``hw``
``scripts.blocks``         ``model``, ``hw``, ``scripts.sim``
``tb`` cocotb modules      ``model``, ``hw``, ``scripts.sim``, ``scripts.blocks`` (they run inside the simulator)
``scripts.common``         ``model``
``scripts.rtl``            all of the above (it launches the cocotb modules)
``scripts.report``         all of the above
``scripts.cli``            all of the above, ``scripts.report``, ``scripts.train``
``scripts.bench``          all of the above but ``scripts.cli``; ``scripts.train``: ``scripts.common``, ``model``
``tb`` tests, ``tests``    anything (``tests`` only ``tests.helpers`` of ``tests``; test files never each other)
=========================  ==========================================================================================

A module name written as a string (``"tb.cocotb_block"`` handed to the runner, ``"module:function"`` generators
loaded inside the simulator) counts as an import of the module that writes it, and a ``module:function`` target
runs inside the simulator, so it must lie in a layer a cocotb module may import.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("hw", "model", "scripts", "tb", "tests")
_SUB = ("scripts.toolchain", "scripts.sim", "scripts.blocks", "scripts.common", "scripts.rtl", "scripts.report",
        "scripts.cli", "scripts.bench", "scripts.train")
_SIM_SIDE = {"model", "model.system", "hw", "scripts.sim", "scripts.blocks"}
_BELOW_RTL = _SIM_SIDE | {"scripts.toolchain", "scripts.common", "tb.cocotb"}
RULES = {
    "model": {"model"},
    "model.system": {"model", "model.system"},
    "hw": {"hw"},
    "scripts.toolchain": {"scripts.toolchain", "model", "model.system", "hw"},
    "scripts.sim": {"scripts.sim", "model", "model.system", "hw"},
    "scripts.blocks": {"scripts.blocks", "scripts.sim", "model", "model.system", "hw"},
    "tb.cocotb": _SIM_SIDE,
    "scripts.common": {"scripts.common", "model"},
    "scripts.rtl": _BELOW_RTL | {"scripts.rtl"},
    "scripts.report": _BELOW_RTL | {"scripts.rtl", "scripts.report"},
    "scripts.cli": _BELOW_RTL | {"scripts.rtl", "scripts.report", "scripts.train", "scripts.cli"},
    "scripts.bench": _BELOW_RTL | {"scripts.rtl", "scripts.report", "scripts.bench"},
    "scripts.train": {"scripts.train", "scripts.common", "model", "model.system"},
    "scripts": {"scripts"},
    "tb": {"model", "model.system", "hw", "tb", "tb.cocotb", *_SUB},
    "tests": {"model", "model.system", "hw", "tb", "tb.cocotb", "tests.helpers", *_SUB},
    "tests.helpers": {"model", "model.system", "hw", *_SUB},
    "conftest": {"model", "hw", "scripts.toolchain"},
}
_NAME = re.compile(r"^(?:hw|model|scripts|tb)(?:\.\w+)+(?::\w+)?$")


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


def _exists(module: str) -> bool:
    base = ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, imported name) of every import of ours in ``path``: function-level and relative ones, and module names
    written as strings (``"tb.cocotb_block"``, ``"scripts.blocks.exhaustive:mul_batches"``; the latter keep their
    ``:function``)."""
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
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _NAME.match(node.value):
            if _exists(node.value.partition(":")[0]):
                found.append((node.lineno, node.value))
    return sorted((line, n) for line, n in found if n.split(".")[0] in OURS)


def _layer(module: str) -> str:
    module = module.partition(":")[0]
    parts = module.split(".")
    if parts[0] == "model":
        return "model.system" if len(parts) > 1 and (ROOT / "model" / parts[1]).is_dir() else "model"
    if parts[0] == "tb":
        return "tb.cocotb" if len(parts) > 1 and parts[1].startswith("cocotb_") else "tb"
    if parts[0] == "tests":
        return "tests.helpers" if parts[1:2] == ["helpers"] else "tests"
    if parts[0] == "scripts" and len(parts) > 1:
        return f"scripts.{parts[1]}" if f"scripts.{parts[1]}" in RULES else "scripts"
    return parts[0]


def _allowed(source: str, target: str) -> bool:
    layer, t = _layer(source), _layer(target)
    if layer == "hw":
        return t == "hw" or target.startswith("model.checks")
    if layer == "model.system" and t == "model.system":
        return source.split(".")[1] == target.split(".")[1]  # the same system only
    if ":" in target and t not in _SIM_SIDE:  # a generator loaded inside the simulator
        return False
    return t in RULES[layer]


def test_imports_point_one_way():
    bad = []
    this = Path(__file__).resolve()
    for path in (p for p in _sources() if p.resolve() != this):  # this file's strings are test data
        source = "conftest" if path == ROOT / "conftest.py" else _module(path)
        layer = "conftest" if source == "conftest" else _layer(source)
        for line, target in _imports(path):
            ok = _layer(target) in RULES["conftest"] if layer == "conftest" else _allowed(source, target)
            if not ok:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {layer} imports {target}")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_the_checker_sees_a_wrong_import(tmp_path):
    """The rules reject what they must (so the test above can fail)."""
    assert not _allowed("model.stt_ai.glb", "hw.bitcounter")
    assert not _allowed("model.checks", "model.stt_ai.dse")          # shared -> a system
    assert not _allowed("model.bcnn.cost", "model.stt_ai.dse")       # one system -> another
    assert _allowed("model.bcnn.cost", "model.zoo") and _allowed("model.bcnn.cost", "model.bcnn.net")
    assert not _allowed("hw.pe", "model.fp_golden")
    assert _allowed("hw.pe", "model.checks")
    assert not _allowed("scripts.toolchain.verilog", "scripts.blocks")
    assert not _allowed("scripts.sim.block", "scripts.toolchain.verilog")
    assert not _allowed("tb.cocotb_block", "scripts.rtl.cosim")      # the launched module imports its launcher
    assert not _allowed("tb.cocotb_layer", "scripts.toolchain.cocotb_runner")
    assert _allowed("scripts.rtl.cosim", "tb.cocotb_block")
    assert not _allowed("scripts.rtl.exhaustive", "scripts.rtl.exhaustive:mul_batches")  # launcher code in the sim
    assert _allowed("scripts.rtl.exhaustive", "scripts.blocks.exhaustive:mul_batches")
    assert not _allowed("scripts.report.runner", "scripts.cli")
    assert not _allowed("scripts.train.bcnn", "scripts.rtl.cosim")
    assert not _allowed("tb.test_cosim", "tests.test_sim") and not _allowed("tests.test_pe", "tests.test_fp_rtl")
    assert _allowed("tests.test_pe", "tests.helpers")
    src = tmp_path / "x.py"
    src.write_text("import os\nfrom model import memory\ndef f():\n    from hw.pe import ReconfigurablePE\n"
                   "from .contract import StreamPorts\nTEST = 'tb.cocotb_block'\nJOB = 'scripts.blocks.exhaustive:mul_batches'\n"
                   "TEXT = 'scripts.no_such_module'\n")
    assert [n for _, n in _imports(src, "scripts.sim")] == [
        "model.memory", "hw.pe.ReconfigurablePE", "scripts.sim.contract.StreamPorts", "tb.cocotb_block",
        "scripts.blocks.exhaustive:mul_batches"]


def test_every_string_module_name_handed_to_the_runner_is_seen():
    """The cocotb modules the launchers name exist and are seen as imports of their launchers."""
    seen = {n for path in (ROOT / "scripts" / "rtl").rglob("*.py") for _, n in _imports(path)}
    assert {"tb.cocotb_block", "tb.cocotb_stimulus", "tb.cocotb_packed", "tb.cocotb_layer"} <= seen
    assert any(n.endswith(":mul_batches") for n in seen)


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
