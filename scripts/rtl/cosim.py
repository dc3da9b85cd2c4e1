"""Verilator co-simulation of a registry block: one configuration of :attr:`BlockSpec.cosim` through cocotb.

The DUT is the block built with the configuration's ``config`` (wrapped in :class:`~scripts.sim.lanes.Lanes`
when ``lanes`` > 1), built once under ``build/sim/<block>_<config>/``; the cocotb side is the one generic test
module ``tb/cocotb_block.py``, which rebuilds the same :class:`~scripts.sim.block.BlockRun` from the parameters
and runs it with :func:`scripts.sim.cocotb_backend.run_agents`. Used by ``tb/test_cosim.py`` and the benchmarks.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path
from typing import Mapping

from scripts.blocks import BLOCKS, dut_for, packed_dut, select
from scripts.toolchain.cocotb_runner import run_cocotb, run_cocotb_bench

__all__ = ["TEST_MODULE", "cosim_cases", "cosim", "run_stimulus", "packed_cosim", "packed_name", "packed_key"]

#: The generic cocotb test module (``tb/cocotb_block.py``), imported by name inside the simulator.
TEST_MODULE = "tb.cocotb_block"
#: The cocotb module of the ``--rtl`` paths: a registry block on given data (``tb/cocotb_stimulus.py``).
STIMULUS_MODULE = "tb.cocotb_stimulus"
#: The cocotb module of packed-lane runs (``tb/cocotb_packed.py``).
PACKED_MODULE = "tb.cocotb_packed"

_KEYS = {"config", "n", "gaps", "lanes", "read_latency", "ready", "out_ready", "ber", "slow"}


def cosim_cases() -> list[tuple[str, str]]:
    """(block, configuration) pairs of every registry entry's ``cosim`` table."""
    return [(spec.name, cfg) for spec in BLOCKS.values() for cfg in spec.cosim]


def cosim(block: str, config: str | None = None, *, params: Mapping | None = None, seed: int | None = None,
          waves: bool = False, bench: bool = False):
    """Run ``block``'s co-simulation configuration ``config`` (or explicit ``params``); AssertionError on a failure.

    With ``bench=True`` returns the cocotb test's measurements (``vectors``, ``results``, ``cycles``, ``seconds``
    of simulation + checking, ``golden_seconds``).
    """
    spec = select([block])[0]
    if params is None:
        if config not in spec.cosim:
            raise ValueError(f"unknown configuration {config!r} of block {block!r}; known: {sorted(spec.cosim)}")
        params = spec.cosim[config]
    unknown = set(params) - _KEYS
    if unknown:
        raise ValueError(f"unknown co-simulation parameter(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    lanes = int(params.get("lanes", 1))
    toplevel = spec.name if lanes == 1 else f"{spec.name}_x{lanes}"
    name = f"{block}_{config}" if config else (f"{block}_custom" if lanes == 1 else f"{block}_custom_x{lanes}")
    kwargs = dict(config=name, component=lambda: dut_for(spec, params), toplevel=toplevel,
                  test_module=TEST_MODULE, params={"block": block, **params}, seed=seed, waves=waves)
    return run_cocotb_bench(**kwargs) if bench else run_cocotb(**kwargs)


def run_stimulus(block: str, stimulus, *, config: Mapping | None = None, read_latency: int = 1,
                 seed: int | None = None) -> dict:
    """Run ``block`` (factory keywords ``config``) on a given :class:`~scripts.sim.block.Stimulus` under Verilator.

    This is the ``--rtl`` path of the commands: the data comes from the command, not from the block's random
    stimulus. The stimulus's ``inputs``, ``gaps`` and behavioural memory models (``memories``, served by the
    memory responder) must pickle. The cocotb side (``tb/cocotb_stimulus.py``) runs the same
    :class:`~scripts.sim.block.BlockRun` as every testbench, so each result is also checked against the block's
    golden (AssertionError if one differs). The build is cached per block and configuration under
    ``build/sim/<block>_<key=value...>/``. Returns ``outputs`` (port -> list of int), ``in_cycles``,
    ``out_cycles``, ``cycles`` and the responders' ``counters``.
    """
    spec = select([block])[0]
    config = dict(spec.config if config is None else config)
    params = {"block": block, "config": config, "read_latency": int(read_latency)}
    name = "_".join([block, *(f"{k}{v}" for k, v in sorted(config.items()))])
    with tempfile.TemporaryDirectory(prefix="mram_stim_") as tmp:
        stim_file, result_file = Path(tmp) / "stimulus.pkl", Path(tmp) / "result.pkl"
        with open(stim_file, "wb") as f:
            pickle.dump({"inputs": stimulus.inputs, "memories": stimulus.memories, "gaps": stimulus.gaps}, f)
        run_cocotb(config=name, component=lambda: spec.build(**config), toplevel=block,
                   test_module=STIMULUS_MODULE, seed=seed, quiet=True,
                   params={**params, "stimulus_file": str(stim_file), "result_file": str(result_file)})
        with open(result_file, "rb") as f:
            return pickle.load(f)


def packed_name(block: str, lanes: int, config: Mapping | None = None) -> str:
    """Build folder name of a packed configuration: ``<block>[_<key><value>...]_p<lanes>``."""
    return "_".join([block, *(f"{k}{v}" for k, v in sorted((config or {}).items())), f"p{lanes}"])


def packed_key(block: str, lanes: int, config: Mapping | None = None) -> list:
    """Build-cache key of a packed configuration without elaborating it (hundreds of lanes take a while to turn
    into Verilog): the block, its configuration, the lanes, and the hashes of the RTL sources and the wrapper."""
    import hashlib

    from scripts.sim import packed
    from scripts.toolchain.cache import rtl_source_digest

    wrapper = hashlib.sha256(Path(packed.__file__).read_bytes()).hexdigest()
    return ["packed", block, sorted((config or {}).items()), int(lanes), list(select([block])[0].packed_shared),
            rtl_source_digest(), wrapper]


def packed_cosim(block: str, lanes: int, job: Mapping, *, config: Mapping | None = None, seed: int | None = None,
                 cxx_opt: str | None = "-O1", waves: bool = False, io: str = "stream", profile: bool = False,
                 inject: str | None = None) -> dict:
    """Run ``job`` on ``block`` in ``lanes`` packed lanes under Verilator (``tb/cocotb_packed.py``).

    ``job``: ``{"kind": "random", "n": vectors, "gaps": p}`` or ``{"generator": "module:function", ...}``.
    Returns the run's statistics (``vectors``, ``results``, ``cycles``, ``seconds``, ``sim_seconds``,
    ``numpy_seconds``; with ``profile`` a cProfile of the run's Python); AssertionError on any mismatch. ``io``:
    ``"stream"`` (default) streams whole batches through a DPI-C buffer with no Python per cycle
    (:mod:`scripts.sim.stream`, its own build ``..._p<lanes>_stream``); ``"vpi"`` moves the port words once per
    cycle as VPI vector values, ``"cocotb"`` as Python ints through cocotb's handles. The build
    (``build/sim/<block>..._p<lanes>[_stream]/``, C++ at ``cxx_opt``) exposes only the top's ports to cocotb, so
    Verilator optimises inside the lanes. ``inject`` (tests of the checker itself): ``"golden"`` flips a bit of
    one expected result, ``"drop"`` clears the valid of one result, ``"latency"`` checks one cycle late; each
    must make the run fail.
    """
    if io not in ("stream", "vpi", "cocotb"):
        raise ValueError(f"io must be 'stream', 'vpi' or 'cocotb', got {io!r}")
    if inject not in (None, "golden", "drop", "latency"):
        raise ValueError(f"inject must be None, 'golden', 'drop' or 'latency', got {inject!r}")
    params = {"block": block, "config": dict(config or {}), "lanes": int(lanes), "job": dict(job), "io": io,
              "profile": bool(profile), "inject": inject}
    name, key = packed_name(block, lanes, config), packed_key(block, lanes, config)
    stream = {}
    if io == "stream":
        from scripts.sim.stream import WRAPPER_TOP, stream_files

        lay = packed_dut(params).layout         # the widths only: no elaboration
        stream = dict(extra_files=stream_files(f"{block}_p{lanes}", lay.din_width, lay.dout_width),
                      sim_top=WRAPPER_TOP)
        name, key = f"{name}_stream", key + ["stream"]
    with tempfile.TemporaryDirectory(prefix="mram_packed_") as tmp:
        result = Path(tmp) / "result.json"
        run_cocotb(config=name, component=lambda: packed_dut(params), toplevel=f"{block}_p{lanes}",
                   test_module=PACKED_MODULE, seed=seed, waves=waves, cxx_opt=cxx_opt, quiet=True, public_top=True,
                   params={**params, "result_file": str(result)}, source_key=key, **stream)
        import json
        return json.loads(result.read_text())
