"""Amaranth -> Verilog with Amaranth's builtin Yosys (``AMARANTH_USE_YOSYS=builtin``)."""

from __future__ import annotations

import os

from amaranth.lib import wiring

__all__ = ["verilog_text"]


def verilog_text(component: wiring.Component, name: str) -> str:
    """Verilog for ``component`` with top module ``name`` (no source locations, so the text is stable)."""
    from amaranth.back import verilog
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    return verilog.convert(component, name=name, emit_src=False)
