"""``verilator --lint-only -Wall`` on every registry block: clean apart from the named waivers."""

import pytest

from scripts.blocks import BLOCKS
from scripts.flow import lint


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_lint_clean(block):
    assert lint([block]) == {block: []}
