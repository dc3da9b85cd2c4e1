"""Amaranth -> Verilog with Amaranth's builtin Yosys (``AMARANTH_USE_YOSYS=builtin``)."""

from __future__ import annotations

import os

from amaranth.lib import wiring

__all__ = ["verilog_text", "cached_verilog_text"]


def verilog_text(component: wiring.Component, name: str) -> str:
    """Verilog for ``component`` with top module ``name`` (no source locations, so the text is stable)."""
    from amaranth.back import verilog
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    return verilog.convert(component, name=name, emit_src=False)


def cached_verilog_text(name: str, params, make_component) -> str:
    """:func:`verilog_text` of ``make_component()`` (top module ``name``), kept under ``build/verilog_cache/`` by
    the hash of ``name``, ``params`` (the configuration, JSON-serialisable) and
    :func:`~scripts.toolchain.cache.rtl_source_digest`, so the flows do not re-elaborate an unchanged design."""
    import hashlib
    import json

    from scripts.toolchain.cache import locked, rtl_source_digest, write_if_changed
    from scripts.toolchain.paths import BUILD

    key = json.dumps([name, params, rtl_source_digest()], sort_keys=True, default=str)
    path = BUILD / "verilog_cache" / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:20]}.v"
    with locked(path.with_suffix(".lock")):
        if not path.exists():
            write_if_changed(path, verilog_text(make_component(), name))
        return path.read_text()
