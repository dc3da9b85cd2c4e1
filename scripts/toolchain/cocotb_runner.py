"""Run a cocotb test module against one DUT configuration, built once under ``build/sim/<config>/``.

::

    run_cocotb(config="bitcounter_w64_r64", component=BitCounter(64, 64), toplevel="bitcounter",
               test_module="tb.cocotb_block", params={...}, seed=seed, waves=waves)

Every build and run goes through ``cocotb_test.simulator.run`` (cocotb-test 0.3.0), packed lanes included:

* The Verilog comes from :func:`~scripts.toolchain.verilog.verilog_text`; the Verilator build is cached by
  :func:`~scripts.toolchain.cache.cached_build` on the Verilog, :func:`~scripts.toolchain.verilator.verilator_flags`
  ``("sim")``, ``waves``, the Verilator, cocotb and cocotb-test versions.
* cocotb-test runs ``verilator`` and ``make`` before every simulation. A run passes the build's arguments
  (:func:`_sim_args`), so Verilator's ``--skip-identical`` and ``make`` find the cached build current and touch
  nothing. Measured: 0.05-0.15 s per run (``bitcounter_w8_r16``, ``bf16_mac_p64``, ``layer_engine_4x4_b554``);
  a cached ``pytest -n 2 tb/test_cosim.py`` (15 cases) took 31.4-33.8 s, with cocotb's own runner 31.6-32.7 s
  (three interleaved runs each).
* Packed lanes (``public_top``) need no other runner: ``--no-public-flat-rw`` follows cocotb-test's
  ``--public-flat-rw`` and the control file is one more source.
* ``params`` reach the cocotb module as JSON in ``$DUT_PARAMS`` (:func:`scripts.sim.cocotb_backend.dut_params`).
* ``seed`` becomes cocotb's ``COCOTB_RANDOM_SEED``; a failing run replays with the same seed.
* ``waves=True`` records ``build/sim/<config>/dump.vcd`` (``--trace`` at build and run time: cocotb-test's own
  ``waves`` builds FST tracing but never switches it on under cocotb 2).
* Failures are read from cocotb's results XML; ``pytest --cocotbxml=FILE`` (cocotb-test's plugin) collects them.
* ``$MRAM_RTL_COVERAGE=<dir>`` (``pytest tb/ --rtl-coverage``) builds every DUT with Verilator line and toggle
  coverage into ``build/sim/<config>_cov/`` and has every run write its own ``<dir>/<config>_cov.<pid>.<n>.dat``;
  :mod:`scripts.toolchain.coverage` merges and summarises them.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Callable, Mapping, Sequence
from xml.etree.ElementTree import ParseError

from amaranth.lib import wiring

from scripts.toolchain.cache import cached_build
from scripts.toolchain.paths import BUILD
from scripts.toolchain.verilator import check_verilator, verilator_flags
from scripts.toolchain.verilog import verilog_text

__all__ = ["SIM_BUILD", "COVERAGE_ENV", "COVERAGE_FLAGS", "coverage_dir", "build_sim", "compile_in", "run_cocotb",
           "run_cocotb_bench"]

SIM_BUILD = BUILD / "sim"

#: Environment variable switching RTL coverage on: the directory that receives one coverage file per run.
COVERAGE_ENV = "MRAM_RTL_COVERAGE"
#: Verilator flags of a coverage build (``build/sim/<config>_cov/``; the default builds stay as they are).
COVERAGE_FLAGS = ("--coverage-line", "--coverage-toggle")


def coverage_dir() -> Path | None:
    """The directory of ``$MRAM_RTL_COVERAGE`` (created), or None when coverage is off (the default)."""
    value = os.environ.get(COVERAGE_ENV, "").strip()
    if not value:
        return None
    folder = Path(value)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _with_coverage(config: str, extra_flags: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The build folder name and Verilator flags of ``config``: with ``_cov`` and :data:`COVERAGE_FLAGS` when
    coverage is on, unchanged otherwise."""
    if coverage_dir() is None:
        return config, tuple(extra_flags)
    return f"{config}_cov", tuple(extra_flags) + COVERAGE_FLAGS

#: ``make -j`` of a build, as cocotb's own runner (at most 4 jobs).
_MAKE_JOBS = min(4, os.cpu_count() or 1)

#: What cocotb's own Verilator runner sets for a test (cocotb-test does not); the environment may override them.
_RUN_ENV = {"COCOTB_TRUST_INERTIAL_WRITES": "1", "TOPLEVEL_LANG": "verilog"}


def _sim_args(folder: Path, toplevel: str, waves: bool, cxx_opt: str | None, public_top: bool,
              extra: tuple[str, ...] = (), sim_top: str | None = None, flags: tuple[str, ...] = ()) -> dict:
    """The keywords of ``cocotb_test.simulator.run`` for the build in ``folder``, the same at build and run time.

    ``cxx_opt`` goes to ``make`` as ``OPT_FAST``; ``CFG_CXXFLAGS_PCH_I`` comes with ``MAKEFLAGS`` from
    :func:`~scripts.toolchain.verilator.check_verilator`. ``extra`` names more source files in ``folder`` (a
    wrapper, DPI-C code: Verilator compiles ``.cpp`` sources into the executable); ``sim_top`` is the toplevel
    when a wrapper is (default ``toplevel``); ``flags`` are more Verilator flags.
    """
    sources = [folder / f"{toplevel}.v"] + [folder / e for e in extra] + \
        ([folder / "public_top.vlt"] if public_top else [])
    toplevel = sim_top or toplevel
    flags = verilator_flags("sim") + (["--no-public-flat-rw"] if public_top else []) + (["--trace"] if waves else []) \
        + list(flags)
    if any(e.endswith(".cpp") for e in extra):   # C++ sources export their functions to ctypes.CDLL(None)
        flags += ["-LDFLAGS", "-rdynamic"]
    return dict(simulator="verilator", toplevel=toplevel, toplevel_lang="verilog",
                verilog_sources=[str(s) for s in sources], compile_args=flags,
                make_args=["-j", str(_MAKE_JOBS)] + ([f"OPT_FAST={cxx_opt}"] if cxx_opt else []),
                plus_args=["--trace"] if waves else [],
                sim_build=str(folder), work_dir=str(folder))


def _cocotb_test_run(log: Path | None, **kwargs) -> str:
    """``cocotb_test.simulator.run(**kwargs)`` with the commands' output in ``log`` (else on standard output/error).

    cocotb-test logs the commands' output through the ``cocotb`` logger, calls ``logging.basicConfig``, sets
    ``DeprecationWarning`` to "always" and installs SIGINT/SIGTERM handlers: all are put back afterwards.
    Returns the results XML file; raises SystemExit when a command or a cocotb test fails.
    """
    from cocotb_test.simulator import run

    sim = os.environ.get("SIM")
    if sim not in (None, "", "verilator"):
        raise RuntimeError(f"$SIM={sim!r} would make cocotb-test run another simulator: unset it")
    logger, root = logging.getLogger("cocotb"), logging.getLogger()
    saved = (logger.handlers[:], logger.propagate, logger.level, root.handlers[:])
    if log is not None:
        handlers = [logging.FileHandler(log, mode="w")]
    else:  # the commands' standard output (logged as INFO) and error (ERROR) where they would have gone
        handlers = [logging.StreamHandler(sys.stdout), logging.StreamHandler(sys.stderr)]
        handlers[0].addFilter(lambda r: r.levelno < logging.ERROR)
        handlers[1].addFilter(lambda r: r.levelno >= logging.ERROR)
    for h in handlers:
        h.setFormatter(logging.Formatter("%(message)s"))
    logger.handlers, logger.propagate = handlers, False
    main = threading.current_thread() is threading.main_thread()
    signals = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) if main else None
    try:
        with warnings.catch_warnings():
            return run(**kwargs)
    finally:
        for h in handlers:
            h.close()
        logger.handlers, logger.propagate, root.handlers = saved[0], saved[1], saved[3]
        logger.setLevel(saved[2])
        if signals is not None:
            signal.signal(signal.SIGINT, signals[0])
            signal.signal(signal.SIGTERM, signals[1])


def _tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def compile_in(folder: Path, toplevel: str, *, waves: bool = False, cxx_opt: str | None = None,
               public_top: bool = False, name: str | None = None, extra: tuple[str, ...] = (),
               sim_top: str | None = None, flags: tuple[str, ...] = ()) -> None:
    """Verilator build, uncached, of ``folder/<toplevel>.v`` (and ``public_top.vlt``) in ``folder`` through
    cocotb-test, with the flags of :func:`build_sim` (which calls it; a benchmark of cold builds does too).
    RuntimeError with the log's last lines on a failure."""
    log = Path(folder) / "build.log"
    try:
        results = _cocotb_test_run(log, module="", compile_only=True,
                                   **_sim_args(Path(folder), toplevel, waves, cxx_opt, public_top, extra, sim_top,
                                              tuple(flags)))
    except (SystemExit, RuntimeError) as e:
        raise RuntimeError(f"Verilator build of {name or toplevel} failed ({e}); last lines of {log}:\n"
                           f"{_tail(log)}") from None
    Path(results).unlink(missing_ok=True)  # cocotb-test makes an empty results file even when only building


#: Seconds of the last build of each configuration, for the announcement of the next one.
BUILD_TIMES = SIM_BUILD / "build_seconds.json"


def _announce_build(config: str) -> float:
    """One line on stderr before a Verilator build starts, with its expected duration; returns the start time."""
    try:
        last = json.loads(BUILD_TIMES.read_text()).get(config)
    except (OSError, ValueError, AttributeError):
        last = None
    expect = (f"about {last:.0f} s, as its last build" if isinstance(last, (int, float)) else
              "typically 0.5-3 min on 2 cores, longer for the packed-lane and PE-array models")
    print(f"mram-accel: building the Verilator model {config} ({expect}); later runs reuse it",
          file=sys.stderr, flush=True)
    return time.monotonic()


def _record_build(config: str, t0: float) -> None:
    """Keep the build's duration for the next announcement (best effort: a race only loses a figure)."""
    try:
        times = json.loads(BUILD_TIMES.read_text())
        times = times if isinstance(times, dict) else {}
    except (OSError, ValueError):
        times = {}
    times[config] = round(time.monotonic() - t0, 1)
    tmp = BUILD_TIMES.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(times, indent=1, sort_keys=True))
        os.replace(tmp, BUILD_TIMES)
    except OSError:
        tmp.unlink(missing_ok=True)


def build_sim(config: str, component: wiring.Component | Callable[[], wiring.Component], toplevel: str,
              waves: bool = False, cxx_opt: str | None = None, source_key=None, public_top: bool = False,
              extra_files: Mapping[str, str] | None = None, sim_top: str | None = None,
              extra_flags: Sequence[str] = ()) -> Path:
    """Generate and (re)build one configuration for cocotb; return its build folder.

    Parameters
    ----------
    config : str
        Name of the build folder ``build/sim/<config>/`` (letters, digits, ``_``, ``-``).
    component : wiring.Component or callable
        The DUT, or a function that makes it (called only when the Verilog is needed).
    toplevel : str
        Name of the top Verilog module.
    waves : bool
        Build with ``--trace`` (VCD).
    cxx_opt : str, optional
        Verilator's C++ optimisation flag (``OPT_FAST``, default ``-Os``) for large designs: GCC at ``-Os``
        needs many minutes per file of the PE array's generated C++, at ``-O0`` seconds, and a cocotb run's
        speed is set by its Python loop more than by the model's.
    source_key : JSON-serialisable, optional
        Cache key instead of the Verilog text (the configuration's parameters with
        :func:`~scripts.toolchain.cache.rtl_source_digest`): a large design is then elaborated only when it has
        to be built (the 4 x 4 PE array takes half a minute to turn into Verilog).
    public_top : bool
        Make only the top module's signals visible to cocotb (a Verilator control file with ``public_flat_rw``
        for the top module, and ``--no-public-flat-rw`` after cocotb-test's ``--public-flat-rw``): Verilator
        may then optimise across the block's internals, which the packed-lane runs need (every internal signal
        public costs several times the model's evaluation time).
    extra_files : mapping file name -> text, optional
        More sources written beside the Verilog and compiled with it (a wrapper module, DPI-C C++;
        :mod:`scripts.sim.stream`); part of the cache key.
    sim_top : str, optional
        The toplevel that cocotb and Verilator see when ``extra_files`` wrap ``toplevel`` (default
        ``toplevel``); with ``public_top`` only its ports are public.
    extra_flags : sequence of str
        More Verilator flags (``--timing`` for a wrapper that makes its own clock); part of the cache key.
    """
    from importlib import metadata

    import cocotb

    if not config.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"config must be alphanumeric with '_' or '-', got {config!r}")
    version = check_verilator()
    config, extra_flags = _with_coverage(config, extra_flags)

    def text_of() -> str:
        comp = component if isinstance(component, wiring.Component) else component()
        return verilog_text(comp, toplevel)

    text = text_of() if source_key is None else None
    flags = verilator_flags("sim")
    folder = SIM_BUILD / config
    extra_files = dict(extra_files or {})
    top = sim_top or toplevel

    def build(f: Path) -> None:
        t0 = _announce_build(config)
        (f / f"{toplevel}.v").write_text(text if text is not None else text_of())
        for name, body in extra_files.items():
            (f / name).write_text(body)
        if public_top:
            (f / "public_top.vlt").write_text(f'`verilator_config\npublic_flat_rw -module "{top}" -var "*"\n')
        compile_in(f, toplevel, waves=waves, cxx_opt=cxx_opt, public_top=public_top, name=config,
                   extra=tuple(extra_files), sim_top=sim_top, flags=tuple(extra_flags))
        _record_build(config, t0)

    key = [text if source_key is None else source_key, flags, waves, version, toplevel,
           ["cocotb-test", metadata.version("cocotb-test"), cocotb.__version__]] + \
        ([cxx_opt] if cxx_opt else []) + (["public_top"] if public_top else []) + \
        ([sorted(extra_files.items()), top] if extra_files else []) + ([list(extra_flags)] if extra_flags else [])
    cached_build(folder, key, build, keep=lambda f: (f / top).exists())
    return folder


def run_cocotb(*, config: str, component, toplevel: str, test_module: str,
               params: Mapping[str, object] | None = None, seed: int | None = None, waves: bool = False,
               testcase: str | None = None, extra_env: Mapping[str, str] | None = None,
               cxx_opt: str | None = None, quiet: bool = False, source_key=None, public_top: bool = False,
               extra_files: Mapping[str, str] | None = None, sim_top: str | None = None,
               extra_flags: Sequence[str] = ()) -> None:
    """Build ``config`` if needed (:func:`build_sim`) and run the cocotb ``test_module`` (an importable module
    name) against it through ``cocotb_test.simulator.run``.

    ``testcase`` selects tests by name (``COCOTB_TEST_FILTER``); ``extra_env`` adds environment variables.
    ``quiet=True`` sends the simulator's output to a log file in the build folder (its last lines are in the
    error when the run fails), so a command's own standard output stays clean (``--json``).
    Raises ``AssertionError`` when a cocotb test fails or none ran.
    """
    from cocotb_tools.check_results import get_results

    build_dir = build_sim(config, component, toplevel, waves=waves, cxx_opt=cxx_opt, source_key=source_key,
                          public_top=public_top, extra_files=extra_files, sim_top=sim_top,
                          extra_flags=extra_flags)
    env = {**_RUN_ENV, "DUT_PARAMS": json.dumps(dict(params or {})), **dict(extra_env or {})}
    args = _sim_args(build_dir, toplevel, waves, cxx_opt, public_top, tuple(extra_files or ()), sim_top,
                     _with_coverage(config, extra_flags)[1])
    cov = coverage_dir()
    if cov is not None:          # one file per run: parallel runs of one build would overwrite coverage.dat
        args["plus_args"] = args["plus_args"] + [f"+verilator+coverage+file+{_coverage_file(cov, build_dir.name)}"]
        env["MRAM_RTL_COVERAGE_CONFIG"] = build_dir.name
    log = build_dir / f"run_{test_module.replace('.', '_')}_{os.getpid()}.log" if quiet else None  # runs may overlap

    def where() -> str:
        return f"last lines of {log}:\n{_tail(log)}" if log is not None and log.exists() else \
            "see the captured output above"

    try:
        results = Path(_cocotb_test_run(log, module=test_module, seed=seed, testcase=testcase, extra_env=env,
                                        **args))
    except (SystemExit, RuntimeError, ParseError) as e:  # a failed test or command; an empty results file
        why = "cocotb wrote no results" if isinstance(e, ParseError) else e
        raise AssertionError(f"cocotb run of {test_module} on {config} failed ({why}); seed {seed}; "
                             f"{where()}") from None
    tests, failed = get_results(results)
    if str(results) != os.environ.get("COCOTB_RESULTS_FILE"):  # not the file of cocotb-test's --cocotbxml plugin
        results.unlink()
    if tests == 0:
        raise AssertionError(f"cocotb ran no test from {test_module} on {config}; {where()}")
    if failed:
        raise AssertionError(f"{failed} of {tests} cocotb tests failed on {config}; seed {seed}; {where()}")
    if log is not None:
        log.unlink(missing_ok=True)


_RUNS = itertools.count()


def _coverage_file(folder: Path, build: str) -> Path:
    """A coverage data file of this run of ``build`` that no other run writes (process id and a counter)."""
    return (folder / f"{build}.{os.getpid()}.{next(_RUNS)}.dat").resolve()


def run_cocotb_bench(**kwargs) -> dict:
    """:func:`run_cocotb` for a benchmark: the cocotb test writes its measurements as JSON to ``$BENCH_OUT``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        extra_env = {**(kwargs.pop("extra_env", None) or {}), "BENCH_OUT": str(out)}
        run_cocotb(**kwargs, extra_env=extra_env)
        return json.loads(out.read_text())
