"""The generic cocotb testbench: any registry block, any configuration, through the shared simulation contract.

``$DUT_PARAMS`` (from :func:`scripts.rtl.cosim.cosim`): ``block`` (registry key), ``config`` (factory keywords), ``n``
(stimulus size), ``gaps`` (idle-cycle probability), ``lanes``, ``read_latency``, ``ready`` (memory-port ready
probability), ``out_ready`` (output ready probability, blocks with back-pressure), ``ber`` (bit errors injected into memory reads). The same :class:`~scripts.sim.block.BlockRun` as in
the Amaranth-simulator tests: driver, memory responders serving the behavioural models, monitor, in-order
scoreboard against the block's golden, latency check. Stimulus is seeded from cocotb's random seed.
"""

import time

import cocotb

from scripts.blocks import BLOCKS, dut_for
from scripts.sim import func_coverage
from scripts.sim.block import BlockRun
from scripts.sim.cocotb_backend import dut_params, np_rng, run_agents, start, write_bench_result


@cocotb.test()
async def block_bit_exact(dut):
    """Seeded stimulus (corners first) through the RTL; every result bit-exact, in order, at its latency."""
    p = dut_params()
    spec = BLOCKS[p["block"]]
    t0 = time.perf_counter()
    run = BlockRun(spec, dut_for(spec, p), np_rng(), int(p.get("n", 200)), gap_probability=float(p.get("gaps", 0)),
                   lanes=int(p.get("lanes", 1)), read_latency=int(p.get("read_latency", 1)),
                   ready_probability=float(p.get("ready", 1.0)),
                   out_ready_probability=float(p.get("out_ready", 1.0)), ber=float(p.get("ber", 0.0)))
    t1 = time.perf_counter()
    await start(dut)
    cycles = await run_agents(dut, run.agents)
    run.verify()
    seconds = time.perf_counter() - t1
    func_coverage.record(spec.name, run.stimulus.inputs, ftz=bool(p.get("config", {}).get("ftz", False)))
    func_coverage.export()                         # both no-ops unless $MRAM_RTL_COVERAGE is set
    for group, responder in run.responders.items():
        dut._log.info("memory %s: %s", group, responder.counters)
    n = len(run.stimulus)
    dut._log.info("%s: %d inputs, %d results checked bit-exactly in %d cycles, %.2f s: %.0f inputs/s",
                  spec.name, n, run.scoreboard.n, cycles, seconds, n / seconds)
    write_bench_result({"vectors": n, "results": run.scoreboard.n, "cycles": cycles, "seconds": seconds,
                        "golden_seconds": t1 - t0})
