"""Run a cocotb test module against one DUT configuration, built once under ``build/sim/<config>/``.

::

    run_cocotb(config="bitcounter_w64_r64", component=BitCounter(64, 64), toplevel="bitcounter",
               test_module="tb.cocotb_block", params={...}, seed=seed, waves=waves)

* The Verilog comes from :func:`~scripts.toolchain.verilog.verilog_text`; the Verilator build is cached by
  :func:`~scripts.toolchain.cache.cached_build` on the Verilog, :func:`~scripts.toolchain.verilator.verilator_flags`
  ``("sim")``, ``waves`` and the Verilator version.
* ``params`` reach the cocotb module as JSON in ``$DUT_PARAMS`` (:func:`scripts.sim.cocotb_backend.dut_params`).
* ``seed`` becomes cocotb's ``COCOTB_RANDOM_SEED``; a failing run replays with the same seed.
* ``waves=True`` records ``build/sim/<config>/dump.vcd``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Mapping

from amaranth.lib import wiring

from scripts.toolchain.cache import cached_build
from scripts.toolchain.paths import BUILD
from scripts.toolchain.verilator import check_verilator, verilator_flags
from scripts.toolchain.verilog import verilog_text

__all__ = ["SIM_BUILD", "build_sim", "run_cocotb", "run_cocotb_bench"]

SIM_BUILD = BUILD / "sim"


def build_sim(config: str, component: wiring.Component | Callable[[], wiring.Component], toplevel: str,
              waves: bool = False, cxx_opt: str | None = None, source_key=None, public_top: bool = False) -> Path:
    """Generate and (re)build one configuration for cocotb; return its build folder.

    The cache key is the Verilog text, unless ``source_key`` (JSON-serialisable: the configuration's parameters
    with :func:`~scripts.toolchain.cache.rtl_source_digest`) is given: then a large design is elaborated only when
    it has to be built (the 4 x 4 PE array takes half a minute to turn into Verilog).

    ``cxx_opt`` replaces Verilator's C++ optimisation flag (``OPT_FAST``, default ``-Os``) for large designs:
    GCC at ``-Os`` needs many minutes per file of the PE array's generated C++, at ``-O0`` seconds, and a
    cocotb run's speed is set by its Python loop more than by the model's.

    ``public_top=True`` makes only the top module's signals visible to cocotb (a Verilator control file with
    ``public_flat_rw`` for the top module, and ``--no-public-flat-rw`` after the cocotb runner's
    ``--public-flat-rw``): Verilator may then optimise across the block's internals, which the packed-lane runs
    need (every internal signal public costs several times the model's evaluation time).
    """
    from cocotb_tools.runner import get_runner

    if not config.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"config must be alphanumeric with '_' or '-', got {config!r}")
    version = check_verilator()

    def text_of() -> str:
        comp = component if isinstance(component, wiring.Component) else component()
        return verilog_text(comp, toplevel)

    text = text_of() if source_key is None else None
    flags = verilator_flags("sim")
    folder = SIM_BUILD / config

    def build(f: Path) -> None:
        source = f / f"{toplevel}.v"
        source.write_text(text if text is not None else text_of())
        sources = [source]
        build_flags = list(flags)
        if public_top:
            vlt = f / "public_top.vlt"
            vlt.write_text(f'`verilator_config\npublic_flat_rw -module "{toplevel}" -var "*"\n')
            sources.append(vlt)
            build_flags.append("--no-public-flat-rw")
        log = f / "build.log"
        makeflags = os.environ.get("MAKEFLAGS", "")
        if cxx_opt:
            os.environ["MAKEFLAGS"] = f"{makeflags} OPT_FAST={cxx_opt}".strip()
        try:
            get_runner("verilator").build(sources=sources, hdl_toplevel=toplevel, build_dir=f, build_args=build_flags,
                                          waves=waves, always=True, log_file=log)
        except Exception as e:
            tail = "\n".join(log.read_text().splitlines()[-30:]) if log.exists() else ""
            raise RuntimeError(f"Verilator build of {config} failed ({e}); last lines of {log}:\n{tail}") from None
        finally:
            os.environ["MAKEFLAGS"] = makeflags

    key = [text if source_key is None else source_key, flags, waves, version, toplevel] + \
        ([cxx_opt] if cxx_opt else []) + (["public_top"] if public_top else [])
    cached_build(folder, key, build, keep=lambda f: (f / toplevel).exists())
    return folder


def run_cocotb(*, config: str, component, toplevel: str, test_module: str,
               params: Mapping[str, object] | None = None, seed: int | None = None, waves: bool = False,
               testcase: str | None = None, extra_env: Mapping[str, str] | None = None,
               cxx_opt: str | None = None, quiet: bool = False, source_key=None, public_top: bool = False) -> None:
    """Build ``config`` if needed and run the cocotb ``test_module`` (an importable module name) against it.

    ``quiet=True`` sends the simulator's output to a log file in the build folder (its last lines are in the
    error when the run fails), so a command's own standard output stays clean (``--json``).
    Raises ``AssertionError`` when a cocotb test fails or none ran.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    build_dir = build_sim(config, component, toplevel, waves=waves, cxx_opt=cxx_opt, source_key=source_key,
                          public_top=public_top)
    env = {"DUT_PARAMS": json.dumps(dict(params or {})), **dict(extra_env or {})}
    results = build_dir / f"results_{test_module.replace('.', '_')}_{os.getpid()}.xml"  # runs may overlap
    log = build_dir / f"run_{test_module.replace('.', '_')}_{os.getpid()}.log" if quiet else None

    def where() -> str:
        if log is None or not log.exists():
            return "see the captured output above"
        return f"last lines of {log}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:])

    try:
        get_runner("verilator").test(test_module=test_module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
                                     build_dir=build_dir, test_dir=build_dir, seed=seed, extra_env=env,
                                     waves=waves, testcase=testcase, results_xml=str(results), log_file=log)
    except (SystemExit, RuntimeError) as e:  # the runner exits on failure under pytest: a test failure
        raise AssertionError(f"cocotb run of {test_module} on {config} failed ({e}); seed {seed}; "
                             f"{where()}") from None
    tests, failed = get_results(results)
    results.unlink()
    if tests == 0:
        raise AssertionError(f"cocotb ran no test from {test_module} on {config}; {where()}")
    if failed:
        raise AssertionError(f"{failed} of {tests} cocotb tests failed on {config}; seed {seed}; {where()}")
    if log is not None:
        log.unlink(missing_ok=True)


def run_cocotb_bench(**kwargs) -> dict:
    """:func:`run_cocotb` for a benchmark: the cocotb test writes its measurements as JSON to ``$BENCH_OUT``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        extra_env = {**(kwargs.pop("extra_env", None) or {}), "BENCH_OUT": str(out)}
        run_cocotb(**kwargs, extra_env=extra_env)
        return json.loads(out.read_text())
