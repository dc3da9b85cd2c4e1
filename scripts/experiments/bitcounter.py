"""Report experiment: the CIM bitcounter (sot-mram-bcnn-fan-angizi.txt, Fig. 3d, Table I "Bit-Count").

The paper reports no bitcounter figures of its own beyond its context (a 1024 x 256 sub-array whose sensed
rows feed "a CMOS Bit-counter"), so the comparisons are the sub-array geometry and the one-row-per-read
throughput the mapping implies; latency, cells and logic depth are ours alone.
"""

from __future__ import annotations

import numpy as np

from hw.bitcounter import BitCounter
from model.bitcounter import RowStream, random_stream, ref_bitcounter
from scripts.flow import synth_component
from scripts.reportlib import Comparison, Section, Table, experiment
from scripts.rtlsim import rtl_bitcounter

SOURCE = "sot-mram-bcnn-fan-angizi.txt, Fig. 3d, Table I (Bit-Count), Section on Table II (1024 x 256 sub-array)"


def measure(width: int, max_rows: int, rng: np.random.Generator) -> dict:
    """Latency and throughput measured in the Amaranth simulator, results checked against the golden model."""
    dut = BitCounter(width, max_rows)
    stream = random_stream(rng, width, max_rows, groups=20)
    totals, out_cycles = rtl_bitcounter(dut, stream)
    if totals != ref_bitcounter(stream, max_rows):
        raise AssertionError(f"bitcounter width={width}: RTL totals differ from the golden model")
    last_cycles = np.flatnonzero(stream.valid & stream.last)
    latencies = set((np.array(out_cycles) - last_cycles + 1).tolist())
    # Throughput: a dense stream of one-row groups, one row driven every cycle.
    n = 64
    ones = np.ones(n, bool)
    dense = RowStream(rng.random((n, width)) < 0.5, ones, ones, ones)
    dense_totals, dense_cycles = rtl_bitcounter(BitCounter(width, max_rows), dense)
    if dense_totals != ref_bitcounter(dense, max_rows):
        raise AssertionError(f"bitcounter width={width}: dense stream differs from the golden model")
    rows_per_cycle = n / (dense_cycles[-1] - dense_cycles[0] + 1)
    if len(latencies) != 1:
        raise AssertionError(f"bitcounter width={width}: latency not constant: {sorted(latencies)}")
    return {"latency": latencies.pop(), "rows_per_cycle": rows_per_cycle, "attr_latency": dut.latency}


@experiment("bitcounter", "CIM bitcounter (SOT-MRAM BCNN)", order=10)
def bitcounter(ctx) -> Section:
    rng = np.random.default_rng(ctx.seed)
    widths = [8, 256] if ctx.quick else [8, 64, 256]
    rows = []
    main = None
    for width in ctx.progress(widths, desc="bitcounter widths"):
        max_rows = 1024 if width == 256 else 64
        m = measure(width, max_rows, rng)
        syn = synth_component(BitCounter(width, max_rows), f"bitcounter_w{width}_r{max_rows}")
        rows.append([width, max_rows, m["latency"], m["rows_per_cycle"], syn["cells"], syn["longest_path_cells"]])
        if width == 256:
            main = (m, syn)
    m, syn = main
    comparisons = [
        Comparison("row width (sub-array columns)", 256, 256, "bits",
                   "sense amplifiers of one 1024 x 256 sub-array feed the counter"),
        Comparison("rows per group at most (sub-array rows)", 1024, 1024, "rows",
                   "sets the count width: ceil_log2(256*1024+1) = 19 bits"),
        Comparison("throughput", 1, m["rows_per_cycle"], "rows/cycle",
                   "paper: the counter takes each sensed row as it is read; measured on back-to-back one-row "
                   "groups in the Amaranth simulator"),
        Comparison("latency last row -> count", None, m["latency"], "cycles",
                   f"not in the paper; measured, equals the `latency` attribute ({m['attr_latency']}): "
                   "4 adder-tree stages (2 levels each) + accumulator"),
        Comparison("synthesised cells (Yosys generic synth)", None, syn["cells"], "cells",
                   "not in the paper; technology-independent gate count"),
        Comparison("longest path (Yosys ltp)", None, syn["longest_path_cells"], "cells",
                   "not in the paper; logic depth between registers in generic cells"),
    ]
    table = Table(["width", "max_rows", "latency (cycles)", "rows/cycle", "cells", "longest path (cells)"],
                  rows, caption="Bitcounter across widths: measured latency and throughput, Yosys synthesis")
    return Section(source=SOURCE, comparisons=comparisons, tables=[table],
                   text="Latency and throughput are measured by simulating the RTL with results checked "
                        "against the golden model; synthesis is Yosys `synth -flatten` + `ltp -noff`.")
