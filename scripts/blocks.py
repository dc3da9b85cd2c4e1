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


def _bf16_mul():
    from hw.bf16_mul import BF16Multiplier
    return BF16Multiplier()


def _fp32_add():
    from hw.fp32_add import FP32Adder
    return FP32Adder()


def _bf16_mac():
    from hw.mac import BF16MAC
    return BF16MAC()


def _reconfigurable_pe():
    from hw.pe import ReconfigurablePE
    return ReconfigurablePE()


BLOCKS: dict[str, Callable[[], wiring.Component]] = {
    "bitcounter": _bitcounter,
    "bf16_mul": _bf16_mul,
    "fp32_add": _fp32_add,
    "bf16_mac": _bf16_mac,
    "reconfigurable_pe": _reconfigurable_pe,
}
