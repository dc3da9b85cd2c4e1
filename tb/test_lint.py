"""``verilator --lint-only -Wall`` on every registry block: clean apart from the named waivers."""

import pytest

from scripts.blocks import BLOCKS
from scripts.rtl.flow import lint


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_lint_clean(block):
    assert lint([block]) == {block: []}


@pytest.mark.slow
def test_lint_clean_pe_array_paper():
    """The paper's 42 x 42-MAC array (42 x 14 PEs, registry config ``paper``): Verilog generation and lint.

    Measured on 2 cores shared with other jobs: Verilog generation 1106 s (72 MB, ~4.5 GB of memory), lint
    882 s (~7 GB), clean; hence ``slow``.
    """
    assert lint(["pe_array"], config="paper") == {"pe_array": []}
