"""Stop a ``tb/`` run early and clearly when Verilator is missing or too old."""

import pytest


def pytest_collection_modifyitems(session, config, items):
    if not any("/tb/" in str(item.fspath) for item in items) or config.option.collectonly:
        return
    from scripts.toolchain.verilator import check_verilator
    try:
        check_verilator()
    except RuntimeError as e:
        pytest.exit(f"cannot run the cocotb testbenches: {e}", returncode=4)
