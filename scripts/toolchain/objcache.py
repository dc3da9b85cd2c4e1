"""Compile Verilator's run-time library once: the ``OBJCACHE`` hook of every Verilator build.

Every Verilator build -- each cocotb configuration, each C++ harness -- compiles the same run-time sources from
``$VERILATOR_ROOT/include`` (``verilated.cpp``, ``verilated_vpi.cpp``, ``verilated_threads.cpp``,
``verilated_dpi.cpp``, ``verilated_cov.cpp``...) with the same flags: about 10 s of GCC on 2 cores, most of the
build of a small block, paid again for every one of the default suite's 30 builds. ``verilated.mk`` runs each
compile through ``$(OBJCACHE)`` (its ccache hook); :func:`scripts.toolchain.verilator.verilator_env` points it at
this module, which

* passes every compile through unchanged, except one of a source under ``$VERILATOR_ROOT/include`` (the run-time
  library: it includes only Verilator's own headers, never a design's);
* keys such a compile on the whole command line (compiler, optimisation, every ``-D`` such as ``VM_COVERAGE``
  or ``VM_TRACE``, include paths) without its ``-o`` target, the compiler executable (path, size, mtime), the
  source's bytes and the size and mtime of every header in ``$VERILATOR_ROOT/include``;
* copies the object from ``DIR/<key>.o`` on a hit, or compiles and stores it there (written to a temporary file
  and renamed, so builds running at the same time never read half an object).

``MRAM_NO_OBJCACHE=1`` turns it off (every compile runs). Usage, as ``verilated.mk`` calls it::

    python -m scripts.toolchain.objcache DIR g++ -Os ... -c -o verilated.o .../include/verilated.cpp
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["cache_key", "main"]


def _library_source(cmd: list[str]) -> Path | None:
    """The run-time library source a compile command builds, or None (not ``-c``, not under the include dir)."""
    root = os.environ.get("VERILATOR_ROOT")
    if not root or "-c" not in cmd or "-o" not in cmd or not cmd[-1].endswith(".cpp"):
        return None
    src = Path(cmd[-1]).resolve()
    include = (Path(root) / "include").resolve()
    return src if src.is_relative_to(include) and src.is_file() else None


def cache_key(cmd: list[str], src: Path) -> str:
    """SHA-256 of what decides the object: the command without its ``-o`` target, the compiler, the source, the
    library's headers."""
    i = cmd.index("-o")
    args = cmd[:i] + cmd[i + 2:]
    exe = shutil.which(cmd[0]) or cmd[0]
    try:
        st = os.stat(exe)
        compiler = [exe, st.st_size, st.st_mtime_ns]
    except OSError:
        compiler = [exe]
    headers = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in src.parent.glob("*.h"))
    h = hashlib.sha256(json.dumps([args, compiler, headers]).encode())
    h.update(src.read_bytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2:
        print("usage: python -m scripts.toolchain.objcache DIR COMPILER ARGS...", file=sys.stderr)
        return 2
    folder, cmd = Path(argv[0]), argv[1:]
    src = None if os.environ.get("MRAM_NO_OBJCACHE") == "1" else _library_source(cmd)
    if src is None:
        return subprocess.call(cmd)
    out = Path(cmd[cmd.index("-o") + 1])
    cached = folder / f"{cache_key(cmd, src)}.o"
    if cached.is_file():
        shutil.copyfile(cached, out)
        return 0
    rc = subprocess.call(cmd)
    if rc == 0 and out.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{cached.name}.{os.getpid()}.tmp"
        try:
            shutil.copyfile(out, tmp)
            os.replace(tmp, cached)
        except OSError:                      # a full disk or a read-only cache only costs the next build time
            tmp.unlink(missing_ok=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
