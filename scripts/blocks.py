"""Registry of the ``hw/`` blocks that the Verilog, lint and synthesis flows process.

Each entry maps a block name to a factory returning the component in its default (paper) configuration.
Adding a block to every flow is one line here.
"""

from __future__ import annotations

from typing import Callable

from amaranth.lib import wiring


def _bitcounter():
    from hw.bitcounter import BitCounter
    return BitCounter(width=256, max_rows=1024)


BLOCKS: dict[str, Callable[[], wiring.Component]] = {
    "bitcounter": _bitcounter,
}
