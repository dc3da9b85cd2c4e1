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
              waves: bool = False) -> Path:
    """Generate and (re)build one configuration for cocotb; return its build folder."""
    from cocotb_tools.runner import get_runner

    if not config.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"config must be alphanumeric with '_' or '-', got {config!r}")
    version = check_verilator()
    comp = component if isinstance(component, wiring.Component) else component()
    text = verilog_text(comp, toplevel)
    flags = verilator_flags("sim")
    folder = SIM_BUILD / config

    def build(f: Path) -> None:
        source = f / f"{toplevel}.v"
        source.write_text(text)
        log = f / "build.log"
        try:
            get_runner("verilator").build(sources=[source], hdl_toplevel=toplevel, build_dir=f, build_args=flags,
                                          waves=waves, always=True, log_file=log)
        except Exception as e:
            tail = "\n".join(log.read_text().splitlines()[-30:]) if log.exists() else ""
            raise RuntimeError(f"Verilator build of {config} failed ({e}); last lines of {log}:\n{tail}") from None

    cached_build(folder, [text, flags, waves, version, toplevel], build, keep=lambda f: (f / toplevel).exists())
    return folder


def run_cocotb(*, config: str, component, toplevel: str, test_module: str,
               params: Mapping[str, object] | None = None, seed: int | None = None, waves: bool = False,
               testcase: str | None = None, extra_env: Mapping[str, str] | None = None) -> None:
    """Build ``config`` if needed and run the cocotb ``test_module`` (an importable module name) against it.

    Raises ``AssertionError`` when a cocotb test fails or none ran.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    build_dir = build_sim(config, component, toplevel, waves=waves)
    env = {"DUT_PARAMS": json.dumps(dict(params or {})), **dict(extra_env or {})}
    results = build_dir / f"results_{test_module.replace('.', '_')}_{os.getpid()}.xml"  # runs may overlap
    try:
        get_runner("verilator").test(test_module=test_module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
                                     build_dir=build_dir, test_dir=build_dir, seed=seed, extra_env=env,
                                     waves=waves, testcase=testcase, results_xml=str(results))
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
