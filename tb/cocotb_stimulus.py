"""cocotb testbench for a given stimulus: a registry block run on data from a command (``--rtl``), not on its
random stimulus.

``$DUT_PARAMS`` (from :func:`scripts.rtl.cosim.run_stimulus`): ``block``, ``config`` (factory keywords),
``stimulus_file`` (a pickle of ``inputs``, ``memories``, ``gaps``), ``result_file`` (where the recorded outputs
go), ``read_latency``. The same :class:`~scripts.sim.block.BlockRun` as every other testbench: driver, the
memory responders serving the behavioural models in the pickle, monitor, scoreboard against the block's golden.
"""

import pickle

import cocotb

from scripts.blocks import BLOCKS, dut_for
from scripts.sim.block import BlockRun, Stimulus
from scripts.sim.cocotb_backend import dut_params, np_rng, run_agents, start


@cocotb.test()
async def block_given_stimulus(dut):
    """The pickled stimulus through the RTL; every result checked against the golden, outputs written back."""
    p = dut_params()
    spec = BLOCKS[p["block"]]
    with open(p["stimulus_file"], "rb") as f:
        data = pickle.load(f)
    stim = Stimulus(data["inputs"], memories=data["memories"], gaps=data["gaps"])
    run = BlockRun(spec, dut_for(spec, p), np_rng(), stimulus=stim, read_latency=int(p.get("read_latency", 1)))
    await start(dut)
    cycles = await run_agents(dut, run.agents)
    run.verify()
    result = {"outputs": run.monitor.outputs, "out_cycles": run.monitor.out_cycles,
              "in_cycles": run.driver.in_cycles, "cycles": cycles,
              "counters": {g: vars(r.counters) for g, r in run.responders.items()}}
    with open(p["result_file"], "wb") as f:
        pickle.dump(result, f)
