"""Stop a ``tb/`` run early and clearly when Verilator is missing or too old; the ``--rtl-coverage`` switch.

``pytest tb/ --rtl-coverage`` builds every cocotb DUT with Verilator line and toggle coverage
(``build/sim/<config>_cov/``), samples the FP blocks' functional bins (:mod:`scripts.sim.func_coverage`), and at the
end merges and summarises both into ``build/coverage/summary.json`` (:mod:`scripts.toolchain.coverage`). The data
directory is ``$MRAM_RTL_COVERAGE`` when set, else ``build/coverage``; its earlier coverage files are removed first.
"""

import os
from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption("--rtl-coverage", action="store_true", default=False,
                     help="Verilator line/toggle and functional coverage of the cocotb runs, merged into "
                          "build/coverage/summary.json ($MRAM_RTL_COVERAGE: another data directory)")


def _coverage_folder() -> Path:
    from scripts.toolchain.cocotb_runner import COVERAGE_ENV
    from scripts.toolchain.paths import BUILD

    return Path(os.environ.get(COVERAGE_ENV) or BUILD / "coverage").resolve()


def pytest_configure(config):
    if not config.getoption("--rtl-coverage"):
        return
    from scripts.toolchain.cocotb_runner import COVERAGE_ENV

    folder = _coverage_folder()
    if not hasattr(config, "workerinput"):        # the controller (or a run without xdist) starts afresh
        folder.mkdir(parents=True, exist_ok=True)
        for old in [*folder.glob("*.dat"), *folder.glob("func*.xml"), folder / "summary.json"]:
            old.unlink(missing_ok=True)
    os.environ[COVERAGE_ENV] = str(folder)        # xdist workers start after this and inherit it


def pytest_collection_modifyitems(session, config, items):
    if not any("/tb/" in str(item.fspath) for item in items) or config.option.collectonly:
        return
    from scripts.toolchain.verilator import check_verilator
    try:
        check_verilator()
    except RuntimeError as e:
        pytest.exit(f"cannot run the cocotb testbenches: {e}", returncode=4)


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not config.getoption("--rtl-coverage") or hasattr(config, "workerinput"):
        return
    from scripts.toolchain.coverage import main

    folder = _coverage_folder()
    if any(folder.glob("*.dat")) or any(folder.glob("func.*.xml")):
        main([str(folder), "--out", str(folder / "summary.json")])
