"""The ``--rtl`` path of the binary CNN: sensed sub-array rows counted by the RTL bit-count reader under Verilator.

:class:`RtlCounter` is a ``counter`` for :func:`model.bcnn.cim.cim_matmul`: the sense program (every compute-mode
operation of a tile, :class:`model.bcnn.subarray.SenseProgram`) becomes the memory behind the memory port of
:class:`hw.bitcount_reader.BitCountReader`; the memory responder senses the sub-array model on each row request
and the RTL counts one row per cycle, a group per dot product. The run also checks every count against the
golden (:func:`model.bcnn.bitcounter.ref_bitcount_reader`) inside the testbench.
"""

from __future__ import annotations

import numpy as np

from scripts.sim.block import Stimulus

__all__ = ["RTL_CONFIG", "RtlCounter", "AmaranthCounter"]

#: The reader configuration of the ``--rtl`` path: the paper's 256 columns, a 20-bit operation address (one
#: program holds up to 2**20 senses), groups of up to 64 rows (K up to 16384, 8192 for the dual-rail form whose
#: group holds both rails; the 20-bit count cannot wrap).
RTL_CONFIG = {"width": 256, "depth": 1 << 20, "max_rows": 64}


def _stimulus(program, addr, nrows) -> Stimulus:
    return Stimulus({"cmd_addr": np.asarray(addr, np.int64), "cmd_rows": np.asarray(nrows, np.int64)},
                    memories={"mem": program})


class AmaranthCounter:
    """The Amaranth-simulator twin of :class:`RtlCounter` (for unit tests: small programs, no Verilator)."""

    def __init__(self, read_latency: int = 1):
        self.read_latency = read_latency
        self.cycles = 0

    def __call__(self, program, addr, nrows) -> list[int]:
        from scripts.blocks import BLOCKS
        from scripts.sim.amaranth_backend import rtl_block

        depth = 1 << max(1, int(program.depth - 1).bit_length())
        dut = BLOCKS["bitcount_reader"].build(width=program.subarray.cols, depth=depth,
                                               max_rows=max(1, int(np.max(nrows))))
        run = rtl_block(BLOCKS["bitcount_reader"], dut, _stimulus(program, addr, nrows),
                        read_latency=self.read_latency)
        run.verify()
        self.cycles += int(run.monitor.out_cycles[-1]) + 1 if run.monitor.out_cycles else 0
        return [int(c) for c in run.monitor.outputs["count"]]


class RtlCounter:
    """Counts groups of sensed rows through the RTL (Verilator) and records what it ran.

    Attributes
    ----------
    runs, cycles, groups : int
        Verilator runs, simulated cycles and groups counted so far.
    """

    def __init__(self, read_latency: int = 1, seed: int | None = None):
        self.read_latency, self.seed = read_latency, seed
        self.runs = self.cycles = self.groups = 0

    def __call__(self, program, addr, nrows) -> list[int]:
        from scripts.rtl.cosim import run_stimulus

        addr, nrows = np.asarray(addr, np.int64), np.asarray(nrows, np.int64)
        cfg = dict(RTL_CONFIG, width=program.subarray.cols)
        if program.depth > cfg["depth"] or (len(nrows) and nrows.max() > cfg["max_rows"]):
            raise ValueError(f"the RTL path takes up to {cfg['depth']} senses per program and groups of up to "
                             f"{cfg['max_rows']} rows (K up to {cfg['max_rows'] * cfg['width']}, half that for the "
                             "dual-rail form)")
        result = run_stimulus("bitcount_reader", _stimulus(program, addr, nrows), config=cfg, read_latency=self.read_latency, seed=self.seed)
        counts = [int(c) for c in result["outputs"]["count"]]
        if len(counts) != len(addr):
            raise AssertionError(f"the RTL returned {len(counts)} counts for {len(addr)} groups")
        self.runs += 1
        self.cycles += int(result["cycles"])
        self.groups += len(counts)
        return counts
