"""cocotb side of :func:`scripts.rtl.layer.run_layer`: one layer through :class:`hw.layer_engine.LayerEngine`.

``$DUT_PARAMS`` carries the layer file (``in``, bfloat16 ifmap and weights), the array and run options, and the
output file (``out``): the result read back from the global-buffer model, and the measurements as JSON. The agents
are the same :class:`scripts.sim.layer.LayerRun` objects the Amaranth-simulator tests use.
"""

import json

import cocotb
import numpy as np

from scripts.sim.layer import layer_run_from_params
from scripts.sim.cocotb_backend import dut_params, run_timed


@cocotb.test()
async def layer(dut):
    """Run the operand program; the result stays in the global buffer and is compared by the caller."""
    p = dut_params()
    run = layer_run_from_params(p)
    cycles, seconds = await run_timed(dut, run.agents, max_cycles=20 * run.prog.cycles + 100_000)
    stats = run.stats(seconds)
    stats["sim_cycles"] = cycles
    dut._log.info("layer %s: %d cycles (formula %d), %d sim cycles in %.2f s", p["kind"], stats["cycles"],
                  stats["formula_cycles"], cycles, seconds)
    np.savez(p["out"], y=run.y_bits(), stats=json.dumps(stats))
