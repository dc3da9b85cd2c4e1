"""cocotb side of :func:`scripts.rtl.network.run_network`: images through :class:`hw.accelerator.Accelerator`.

``$DUT_PARAMS`` carries the images file (``in``), the array and error options, and the output file (``out``): the
logits read back from the global-buffer model and the measurements as JSON. The agents are the same
:class:`scripts.sim.network.NetworkRun` objects the Amaranth-simulator tests use.
"""

import json

import cocotb
import numpy as np

from scripts.sim.cocotb_backend import dut_params, run_timed
from scripts.sim.network import network_run_from_params


@cocotb.test()
async def network(dut):
    """Run every image through every layer; the caller compares the logits with the golden."""
    p = dut_params()
    run = network_run_from_params(p)
    cycles, seconds = await run_timed(dut, run.agents, max_cycles=2_000_000 * max(1, len(run.images)))
    stats = run.summary()
    stats.update(sim_cycles=cycles, sim_seconds=seconds)
    dut._log.info("network: %d images, %d cycles in %.2f s", len(run.images), cycles, seconds)
    np.savez(p["out"], logits=np.array(run.host.logits, np.uint32), stats=json.dumps(stats))
