"""Benchmark (issue item 9): one layer on the 4 x 4-PE layer engine, cocotb against a plain Verilator C++ harness.

Both clock the same Verilog, :class:`hw.layer_engine.LayerEngine` from :func:`scripts.sim.layer.engine_for`
(``verilog_text(engine_for(rows, cols), "layer_engine")``), with the same operand program
(:func:`model.stt_ai.pe_array.build_program`, through :class:`scripts.sim.layer.LayerRun`) and the same global buffer (GLB
read latency 2, write latency 4, always ready), and both results are checked bit-exactly against the dataflow
golden :func:`model.stt_ai.pe_array.ref_layer`.

* **cocotb**: :func:`scripts.rtl.layer.run_layer` (``tb/cocotb_layer.py``: the ``EngineFeeder`` and the
  ``MemoryResponder`` agents in Python, one program cycle per cycle with ``ready`` high). Cached build under
  ``build/sim/layer_engine_<rows>x<cols>_b<bank words>``.
* **C++**: :data:`CPP`, a ``main`` that reads the program as packed 32-bit words (one record of every input port
  per program cycle, written by :func:`program_words`), consumes a record per cycle with ``ready`` high, serves
  ``glb_*`` with an in-order memory of the responder's semantics (completion at ``max(due, previous + 1)``, a
  one-cycle ``rvalid`` pulse, ``rdata`` only in a read's completion cycle) and writes back the GLB words it was
  given plus the cycle counts. Cached build under ``build/bench/layer_engine_cpp_<rows>x<cols>_b<bank words>``.
  Its reset follows :func:`scripts.sim.cocotb_backend.start` (two edges in reset, one idle edge), so its
  ``sim_cycles`` and ``cycles`` (first operand to last result) must equal the cocotb run's: they are checked, as
  are the scratchpad/GLB counters.

Reported, all measured in this run: Verilator build time from an empty temporary folder (a cold build; Verilog
generation by Amaranth + Yosys is timed on its own and included in both) and the cached path (what every later
run pays), simulated cycles per second, verified MACs per second (layer MACs over simulation-loop + check time),
the ratios C++ / cocotb, and where the cocotb time goes (golden, program, build check, simulator launch,
simulation loop, and a cProfile top-10 of the simulator's Python, from cocotb's ``COCOTB_ENABLE_PROFILING``).
Nothing is asserted on time. Usage::

    python scripts/bench/pe_array.py [--layer conv|fc] [--n 1] [--c 8] [--hw 16] [--k 8] [--kernel 3] [--pad 1]
        [--stride 1] [--rows 4] [--cols 4] [--repeat 1] [--seed 0] [--no-cold] [--no-profile] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from model.stt_ai import pe_array as pa
from scripts.bench.timing import profile_cocotb
from scripts.common.options import check_ranges
from scripts.rtl.layer import engine_key, run_layer
from scripts.sim.layer import CXX_OPT, PAPER_BANK_BYTES, LayerRun, engine_for
from scripts.toolchain.cocotb_runner import SIM_BUILD, build_sim
from scripts.toolchain.paths import BUILD
from scripts.toolchain.verilator import build_cpp_harness, check_verilator
from scripts.toolchain.verilog import verilog_text

__all__ = ["INPUTS", "CPP", "input_layout", "harness_cpp", "build_harness", "program_words", "run_harness",
           "layer_operands", "main"]

#: The engine's input ports that carry the program, in record order.
INPUTS = ("act", "valid", "mode", "wsel", "w_en", "w_row", "w_bank", "w_data", "tag_valid", "tag")
#: Inputs zeroed once the program is consumed (the ``EngineFeeder`` holds the others).
IDLE_ZERO = ("valid", "w_en", "tag_valid")
#: GLB latencies of :class:`scripts.sim.layer.LayerRun` (its defaults), used by both runs.
GLB_READ_LATENCY, GLB_WRITE_LATENCY = 2, 4
TOPLEVEL = "layer_engine"
#: Allowed flag ranges.
RANGES = {"n": (1, 64), "c": (1, 1024), "hw": (1, 256), "k": (1, 1024), "kernel": (1, 11), "pad": (0, 5),
          "stride": (1, 4), "rows": (1, 16), "cols": (1, 16), "repeat": (1, 20), "seed": (0, 2**32 - 1)}

CPP = r"""
// Plain Verilator harness of the layer engine (scripts/bench/pe_array.py): program in, GLB words out.
#include "Vtop.h"
#include "verilated.h"
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <type_traits>
#include <vector>

// A port of any width from / to little-endian 32-bit words (CData..QData or VlWide<N>).
template <std::size_t N> static inline void put(VlWide<N>& p, const uint32_t* w) {
    for (std::size_t i = 0; i < N; i++) p.at(i) = w[i];
}
template <class T> static inline typename std::enable_if<std::is_integral<T>::value>::type put(T& p, const uint32_t* w) {
    uint64_t v = w[0];
    if (sizeof(T) > 4) v |= (uint64_t)w[1] << 32;
    p = (T)v;
}
template <std::size_t N> static inline void get(const VlWide<N>& p, uint32_t* w) {
    for (std::size_t i = 0; i < N; i++) w[i] = p.at(i);
}
template <class T> static inline typename std::enable_if<std::is_integral<T>::value>::type get(const T& p, uint32_t* w) {
    uint64_t v = p;
    w[0] = (uint32_t)v;
    if (sizeof(T) > 4) w[1] = (uint32_t)(v >> 32);
}

static const uint64_t RECORD = @RECORD@;  // 32-bit words per program cycle
static const int NW = @NW@;               // 32-bit words per GLB word

struct Req { int64_t due; bool write; uint32_t addr; uint32_t data[NW]; };

int main(int argc, char** argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s program.bin glb_out.bin read_latency write_latency first_operand glb_words\n", argv[0]);
        return 2;
    }
    auto tl = std::chrono::steady_clock::now();
    FILE* f = fopen(argv[1], "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", argv[1]); return 2; }
    fseek(f, 0, SEEK_END);
    const long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    std::vector<uint32_t> prog(bytes / 4);
    if (fread(prog.data(), 4, prog.size(), f) != prog.size() || prog.size() % RECORD || prog.size() < 2 * RECORD) {
        fprintf(stderr, "bad program file %s\n", argv[1]);
        return 2;
    }
    fclose(f);
    const uint64_t T = prog.size() / RECORD - 1;  // the last record is the idle one
    const int64_t rlat = strtoll(argv[3], nullptr, 10), wlat = strtoll(argv[4], nullptr, 10);
    const uint64_t first_operand = strtoull(argv[5], nullptr, 10), depth = strtoull(argv[6], nullptr, 10);
    const uint64_t max_cycles = 20 * T + 100000;  // as tb/cocotb_layer.py
    std::vector<uint32_t> mem(depth * NW, 0);
    std::vector<uint8_t> written(depth, 0);
    VerilatedContext ctx;
    Vtop top{&ctx};
    // Reset as scripts.sim.cocotb_backend.start: two edges in reset, one idle edge; inputs all zero.
    top.clk = 0; top.rst = 1; top.eval();
    for (int i = 0; i < 3; i++) {
        if (i == 2) top.rst = 0;
        top.clk = 1; top.eval(); top.clk = 0; top.eval();
    }
    double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - tl).count();

    std::deque<Req> queue;
    int64_t last_done = -1, first_in = -1, last_out = -1;
    uint64_t idx = 0, t = 0, applied = UINT64_MAX, reads = 0, writes = 0, bad_addr = 0;
    std::vector<uint64_t> stall_t;
    bool driving = false, timeout = false;
    uint32_t buf[NW], zero[NW];
    memset(zero, 0, sizeof zero);
    auto t0 = std::chrono::steady_clock::now();
    for (;;) {
        // drive cycle t: the memory's completion, then the program record
        top.glb_ready = 1;
        if (!queue.empty() && queue.front().due <= (int64_t)t) {
            const Req& r = queue.front();
            uint32_t* m = &mem[(uint64_t)r.addr * NW];
            if (r.write) {
                memcpy(m, r.data, sizeof r.data);
                written[r.addr] = 1;
                put(top.glb_rdata, zero);
                writes++;
            } else {
                put(top.glb_rdata, m);
                reads++;
            }
            top.glb_rvalid = 1;
            last_done = (int64_t)t;
            driving = true;
            queue.pop_front();
        } else if (driving || t == 0) {
            top.glb_rvalid = 0;
            put(top.glb_rdata, zero);
            driving = false;
        }
        const uint64_t rec = idx < T ? idx : T;
        if (rec != applied) {
            const uint32_t* p = &prog[rec * RECORD];
@SETTERS@
            applied = rec;
        }
        top.clk = 0; top.eval();
        // what the ports hold during cycle t, then the edge that ends it
        const bool ready = top.ready, out_valid = top.array_out_valid, busy = top.busy, req = top.glb_req;
        const bool we = top.glb_we;
        const uint32_t addr = top.glb_addr;
        if (req && we) get(top.glb_wdata, buf);
        top.clk = 1; top.eval();
        // observe
        if (req) {
            Req r;
            r.due = (int64_t)t + (we ? wlat : rlat);
            const int64_t prev = queue.empty() ? last_done : queue.back().due;
            if (r.due < prev + 1) r.due = prev + 1;
            r.write = we;
            r.addr = addr;
            memcpy(r.data, we ? buf : zero, sizeof r.data);
            if (addr >= depth) bad_addr++; else queue.push_back(r);
        }
        if (idx < T && ready) {
            if (idx == first_operand) first_in = (int64_t)t;
            idx++;
        }
        if (out_valid && ready) last_out = (int64_t)t;
        if (!ready && first_in >= 0) stall_t.push_back(t);
        t++;
        if (idx >= T && !busy && queue.empty()) break;
        if (t >= max_cycles) { timeout = true; break; }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    uint64_t stalls = 0;
    for (uint64_t c : stall_t) stalls += first_in <= (int64_t)c && (int64_t)c <= last_out;
    FILE* o = fopen(argv[2], "wb");
    uint64_t words_out = 0;
    for (uint64_t a = 0; a < depth; a++) {
        if (!written[a]) continue;
        const uint32_t a32 = (uint32_t)a;
        fwrite(&a32, 4, 1, o);
        fwrite(&mem[a * NW], 4, NW, o);
        words_out++;
    }
    fclose(o);
    printf("{\"program_cycles\": %llu, \"sim_cycles\": %llu, \"first_in\": %lld, \"last_out\": %lld, "
           "\"cycles\": %lld, \"stalls\": %llu, \"seconds\": %.6f, \"load_seconds\": %.6f, "
           "\"glb_reads\": %llu, \"glb_writes\": %llu, \"words_out\": %llu, \"bad_addr\": %llu, \"timeout\": %d, "
           "\"counters\": {\"spad_reads\": %u, \"spad_writes\": %u, \"glb_reads\": %u, \"glb_writes\": %u, "
           "\"hazard_stalls\": %u, \"glb_stalls\": %u}}\n",
           (unsigned long long)T, (unsigned long long)t, (long long)first_in, (long long)last_out,
           (long long)(last_out - first_in), (unsigned long long)stalls, s, load_s, (unsigned long long)reads,
           (unsigned long long)writes, (unsigned long long)words_out, (unsigned long long)bad_addr, (int)timeout,
           (unsigned)top.spad_reads, (unsigned)top.spad_writes, (unsigned)top.glb_reads, (unsigned)top.glb_writes,
           (unsigned)top.hazard_stalls, (unsigned)top.glb_stalls);
    top.final();
    return timeout || bad_addr;
}
"""


def _nwords(bits: int) -> int:
    return -(-bits // 32)


def input_layout(engine) -> dict[str, tuple[int, int]]:
    """``name -> (offset, words)`` of each :data:`INPUTS` port in a program record of 32-bit words."""
    layout, off = {}, 0
    for name in INPUTS:
        n = _nwords(len(getattr(engine, name)))
        layout[name] = (off, n)
        off += n
    return layout


def harness_cpp(engine) -> str:
    """The :data:`CPP` text for ``engine`` (record layout and GLB word size filled in)."""
    layout = input_layout(engine)
    record = sum(n for _, n in layout.values())
    setters = "\n".join(f"            put(top.{name}, p + {off});" for name, (off, _) in layout.items())
    return (CPP.replace("@RECORD@", str(record)).replace("@NW@", str(_nwords(len(engine.glb_wdata))))
            .replace("@SETTERS@", setters))


def harness_folder(rows: int, cols: int) -> Path:
    """The cached build folder of the C++ harness of the ``rows x cols`` engine."""
    return BUILD / "bench" / f"layer_engine_cpp_{rows}x{cols}_b{pa.bank_words_for(PAPER_BANK_BYTES, cols)}"


#: C++ optimisation of the harness: GCC -Os/-O2 take many minutes per file of the engine's generated C++, -O1 about
#: half a minute (the cocotb build uses ``scripts.sim.layer.CXX_OPT``, -O0: its speed is set by the Python loop; so the
#: ratio below also contains -O1 against -O0 code, stated in the output).
HARNESS_CXX_OPT = "-O1"


def build_harness(rows: int, cols: int, folder: Path | None = None, cxx_opt: str = HARNESS_CXX_OPT) -> Path:
    """Build (or find cached) the C++ harness of ``engine_for(rows, cols)`` in ``folder``; return the executable."""
    ports = engine_for(rows, cols)
    ports._MustUse__silence = True  # only its port widths are read here; the build elaborates its own engine
    return build_cpp_harness(lambda: engine_for(rows, cols), TOPLEVEL, harness_cpp(ports),
                             folder or harness_folder(rows, cols), cxx_opt=cxx_opt, source_key=engine_key(rows, cols))


def _lane_words(values: np.ndarray, lane_bits: int, nwords: int) -> np.ndarray:
    """(T, lanes) unsigned values of ``lane_bits`` each (1, 8, 16, 32 or 64) as (T, nwords) little-endian words,
    lane 0 in the least significant bits (as :func:`scripts.sim.contract.pack_lanes`)."""
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    T = values.shape[0]
    if lane_bits == 1:
        raw = np.packbits(values.astype(bool), axis=1, bitorder="little")
    else:
        raw = np.ascontiguousarray(values.astype(f"<u{lane_bits // 8}")).view(np.uint8).reshape(T, -1)
    out = np.zeros((T, 4 * nwords), np.uint8)
    n = min(raw.shape[1], 4 * nwords)
    out[:, :n] = raw[:, :n]
    return out.view("<u4")


def program_words(prog: pa.Program, layout: dict[str, tuple[int, int]]) -> np.ndarray:
    """The harness's program file: ``(T + 1, record)`` uint32, one record per program cycle and a last idle one
    (the inputs held, ``valid``/``w_en``/``tag_valid`` zero, as the ``EngineFeeder`` leaves them)."""
    T, H = prog.cycles, prog.act.shape[1]
    fields = {
        "act": (prog.act.reshape(T, -1), 16), "valid": (prog.valid, 1),
        "mode": (np.full((T, H), bool(prog.mode)), 1), "wsel": (prog.wsel, 1),
        "w_en": (prog.w_en, 64), "w_row": (prog.w_row, 64), "w_bank": (prog.w_bank, 64),
        "w_data": (prog.w_data, 16), "tag_valid": (prog.tag_valid, 64), "tag": (prog.tag, 64),
    }
    record = sum(n for _, n in layout.values())
    out = np.zeros((T + 1, record), np.uint32)
    for name, (off, n) in layout.items():
        values, bits = fields[name]
        out[:T, off:off + n] = _lane_words(np.asarray(values).astype(np.uint64 if bits == 64 else values.dtype),
                                           bits, n)
    out[T] = out[T - 1]
    for name in IDLE_ZERO:
        off, n = layout[name]
        out[T, off:off + n] = 0
    return out


def run_harness(exe: Path, run: LayerRun, program: np.ndarray) -> tuple[dict, list[int]]:
    """Run the harness on ``program`` (:func:`program_words` of ``run.prog``) with ``run.glb``'s size and latencies;
    return its JSON and the GLB words (ints, zero where nothing was written, as :class:`model.stt_ai.glb.GlobalBuffer`
    holds them)."""
    prog, glb = run.prog, run.glb
    nw = _nwords(glb.width)
    with tempfile.TemporaryDirectory() as tmp:
        pfile, ofile = Path(tmp) / "program.bin", Path(tmp) / "glb.bin"
        program.tofile(pfile)
        proc = subprocess.run([str(exe), str(pfile), str(ofile), str(glb.read_latency), str(glb.write_latency),
                               str(prog.first_operand), str(glb.depth)], capture_output=True, text=True)
        try:
            stats = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise RuntimeError(f"{exe} exited {proc.returncode} without a result: {proc.stderr.strip()[-2000:]}") \
                from None
        if proc.returncode != 0:
            raise RuntimeError(f"{exe} exited {proc.returncode}: timeout={stats['timeout']}, "
                               f"out-of-range GLB addresses={stats['bad_addr']}")
        t0 = time.perf_counter()
        raw = np.fromfile(ofile, dtype="<u4").reshape(-1, 1 + nw)
    words = [0] * max(prog.mapping.out_words, int(raw[:, 0].max()) + 1 if len(raw) else 0)
    for addr, row in zip(raw[:, 0].tolist(), raw[:, 1:]):
        words[addr] = int.from_bytes(row.tobytes(), "little")
    stats["unpack_seconds"] = time.perf_counter() - t0
    return stats, words


def layer_operands(args) -> tuple[str, np.ndarray, np.ndarray, int, int]:
    """``(kind, x_bits, w_bits, stride, pad)`` of the flags: seeded normal values rounded down to bfloat16."""
    rng = np.random.default_rng(args.seed)

    def bf16(shape):
        return (rng.standard_normal(shape).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)

    if args.layer == "conv":
        x = bf16((args.n, args.c, args.hw, args.hw))
        w = bf16((args.k, args.c, args.kernel, args.kernel))
        return "conv", x, w, args.stride, args.pad
    return "fc", bf16((args.n, args.c)), bf16((args.k, args.c)), 1, 0


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _timed(fn, *a, **kw):
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return time.perf_counter() - t0, out


def _cocotb_config(rows: int, cols: int) -> str:
    return f"layer_engine_{rows}x{cols}_b{pa.bank_words_for(PAPER_BANK_BYTES, cols)}"


def _cold_builds(rows: int, cols: int, cxx_opt: str) -> dict:
    """Both Verilator builds from empty temporary folders (Verilog generated once more for each)."""
    from scripts.toolchain.cocotb_runner import compile_in
    check_verilator()
    engine = engine_for(rows, cols)
    with tempfile.TemporaryDirectory(prefix="bench_pe_array_") as tmp:
        t_gen, text = _timed(verilog_text, engine, TOPLEVEL)
        folder = Path(tmp) / "cocotb"
        folder.mkdir()
        (folder / f"{TOPLEVEL}.v").write_text(text)
        t_coco, _ = _timed(compile_in, folder, TOPLEVEL, cxx_opt=CXX_OPT)            # as build_sim does for the engine
        t_cpp, _ = _timed(build_harness, rows, cols, Path(tmp) / "cpp", cxx_opt)
    return {"verilog_seconds": t_gen, "cocotb_seconds": t_gen + t_coco, "cpp_seconds": t_cpp}


def _stamp_mtime(folder: Path) -> float | None:
    stamp = folder / ".stamp"
    return stamp.stat().st_mtime if stamp.exists() else None


def _cached_builds(rows: int, cols: int, cxx_opt: str) -> tuple[dict, Path]:
    """The cached-path time of both builds (each built first if its cache is missing or stale), and the C++
    harness executable."""
    config = _cocotb_config(rows, cols)
    out, exe = {}, []
    for key, folder, build in (
            ("cocotb", SIM_BUILD / config, lambda: build_sim(config, lambda: engine_for(rows, cols), TOPLEVEL,
                                                             cxx_opt=CXX_OPT, source_key=engine_key(rows, cols))),
            ("cpp", harness_folder(rows, cols), lambda: exe.append(build_harness(rows, cols, cxx_opt=cxx_opt)))):
        before = _stamp_mtime(folder)
        try:
            t, _ = _timed(build)
        except OSError:  # a stale shared folder was being replaced while a concurrent run wrote its log into it
            time.sleep(5)
            t, _ = _timed(build)
        out[f"{key}_built"] = _stamp_mtime(folder) != before
        if out[f"{key}_built"]:
            out[f"{key}_build_seconds"] = t
            t, _ = _timed(build)
        out[f"{key}_seconds"] = t
    return out, exe[-1]


def _profile_cocotb(run_args: tuple, run_kwargs: dict, config: str, top: int = 10) -> dict:
    """One more cocotb run with cocotb's profiler; the ``top`` functions by own time, and the profile total."""
    res, prof = profile_cocotb(lambda: run_layer(*run_args, **run_kwargs), config, top)
    if "error" not in prof:
        prof["sim_seconds"] = res.stats["sim_seconds"]
    return prof


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layer", choices=("conv", "fc"), default="conv", help="layer kind (default conv)")
    parser.add_argument("--n", type=int, default=1, help="batch N (1..64, default 1)")
    parser.add_argument("--c", type=int, default=8, help="input channels C, FC inputs IN (1..1024, default 8)")
    parser.add_argument("--hw", type=int, default=16, help="conv input height = width (1..256, default 16)")
    parser.add_argument("--k", type=int, default=8, help="output channels K, FC outputs OUT (1..1024, default 8)")
    parser.add_argument("--kernel", type=int, default=3, help="conv kernel size (1..11, default 3)")
    parser.add_argument("--pad", type=int, default=1, help="conv padding (0..5, default 1)")
    parser.add_argument("--stride", type=int, default=1, help="conv stride (1..4, default 1)")
    parser.add_argument("--rows", type=int, default=4, help="PE rows H_A (1..16, default 4)")
    parser.add_argument("--cols", type=int, default=4, help="PE columns W_A (1..16, default 4)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="simulation runs of each kind, best time kept (1..20, default 1)")
    parser.add_argument("--seed", type=int, default=0, help="operand seed (0..2^32-1, default 0)")
    parser.add_argument("--cold", action=argparse.BooleanOptionalAction, default=True,
                        help="time both Verilator builds from empty temporary folders (default on; minutes)")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True,
                        help="one more cocotb run under cocotb's profiler for the top-10 (default on)")
    parser.add_argument("--cxx-opt", choices=("O0", "O1", "O2", "Os"), default=HARNESS_CXX_OPT.lstrip("-"),
                        help=f"GCC optimisation of the C++ harness (default {HARNESS_CXX_OPT.lstrip('-')}; O2/Os "
                             "take many minutes per file of this design)")
    parser.add_argument("--json", action="store_true", help="also print all measurements as one JSON object")
    args = parser.parse_args(argv)
    check_ranges(parser, args, RANGES)
    if args.layer == "conv" and args.kernel > args.hw + 2 * args.pad:
        parser.error(f"--kernel {args.kernel} is larger than the padded input ({args.hw} + 2 x {args.pad})")

    kind, x, w, stride, pad = layer_operands(args)
    rows, cols = args.rows, args.cols
    shape = pa.conv_shape(x.shape, w.shape, stride, pad) if kind == "conv" else pa.fc_shape(x.shape, w.shape)
    run_args = (kind, x, w)
    run_kwargs = dict(stride=stride, pad=pad, rows=rows, cols=cols, backend="verilator")
    steps = 2 + int(args.cold) + 2 * args.repeat + int(args.profile)
    out: dict = {"layer": kind, "shape": {k: getattr(shape, k) for k in ("n", "c", "h", "w", "k", "kh", "kw",
                                                                         "oh", "ow", "stride", "pad")},
                 "array": f"{rows}x{cols} PEs ({rows}x{3 * cols} MACs)", "macs": int(shape.macs),
                 "repeat": args.repeat}
    with tqdm(total=steps, desc="bench_pe_array", unit="step", disable=None, file=sys.stderr) as bar:
        def step(text):
            bar.set_postfix_str(text)

        def note(text):
            tqdm.write(f"bench_pe_array: {text}", file=sys.stderr)

        step("golden + program")
        t_golden, golden = _timed(pa.ref_layer, kind, x, w, rows=rows, cols=cols, stride=stride, pad=pad)
        t_run, run = _timed(LayerRun, shape, x, w, rows, cols)
        t_prog, _ = _timed(pa.build_program, shape, x, w, rows, cols, run.prog.bank_words, None,
                           run.prog.addr_width)
        engine = engine_for(rows, cols)
        engine._MustUse__silence = True  # only its port widths are read here (Amaranth warns of unused designs)
        layout = input_layout(engine)
        bar.update()
        step("cached builds")
        cached, exe = _cached_builds(rows, cols, '-' + args.cxx_opt)
        out["cached"] = cached
        note(f"cached path: cocotb {cached['cocotb_seconds']:.1f} s, C++ {cached['cpp_seconds']:.1f} s")
        bar.update()

        coco_runs, cpp_runs = [], []
        for i in range(args.repeat):
            step(f"cocotb run {i + 1}/{args.repeat}")
            wall, res = _timed(run_layer, *run_args, **run_kwargs)
            coco_runs.append((wall, res))
            note(f"cocotb run {i + 1}: {res.stats['sim_cycles']} cycles in {res.stats['sim_seconds']:.2f} s "
                 f"(wall {wall:.1f} s), bit-exact {res.bit_exact}")
            bar.update()
            step(f"C++ run {i + 1}/{args.repeat}")
            t_pack, program = _timed(program_words, run.prog, layout)
            wall_cpp, (stats, words) = _timed(run_harness, exe, run, program)
            t0 = time.perf_counter()
            y = pa.output_from_glb(run.prog, words)
            exact_cpp = bool(np.array_equal(y, golden))
            t_check = time.perf_counter() - t0 + stats["unpack_seconds"]
            cpp_runs.append((wall_cpp, t_pack, t_check, stats, exact_cpp, y))
            note(f"C++ run {i + 1}: {stats['sim_cycles']} cycles in {stats['seconds']:.4f} s, bit-exact {exact_cpp}")
            bar.update()
        if args.profile:
            step("cocotb profile run")
            out["profile"] = _profile_cocotb(run_args, run_kwargs, _cocotb_config(rows, cols))
            bar.update()
        if args.cold:  # last: a shared cache rebuilt above is ready for others as early as possible
            step("cold Verilator builds (minutes)")
            out["cold"] = _cold_builds(rows, cols, '-' + args.cxx_opt)
            note(f"cold builds: cocotb {out['cold']['cocotb_seconds']:.1f} s, C++ {out['cold']['cpp_seconds']:.1f} s "
                 f"(Verilog generation {out['cold']['verilog_seconds']:.1f} s in each)")
            bar.update()
        out["load_average"] = os.getloadavg()

    # --- checks: bit-exact against the golden, cycles and counters equal between the two runs
    coco_wall, coco = min(coco_runs, key=lambda r: r[1].stats["sim_seconds"])
    cpp_wall, t_pack, t_check, cpp, exact_cpp, y_cpp = min(cpp_runs, key=lambda r: r[3]["seconds"])
    exact_coco = all(bool(np.array_equal(r.y_bits, golden)) for _, r in coco_runs)
    exact_cpp = all(r[4] for r in cpp_runs)
    cs = coco.stats
    same = {"sim_cycles": (cs["sim_cycles"], cpp["sim_cycles"]), "cycles": (cs["cycles"], cpp["cycles"]),
            "stalls": (cs["stalls"], cpp["stalls"])}
    same.update({k: (cs[k], cpp["counters"][k]) for k in ("glb_reads", "glb_writes", "spad_reads", "spad_writes",
                                                          "hazard_stalls", "glb_stalls")})
    mismatched = {k: v for k, v in same.items() if v[0] != v[1]}
    ok = exact_coco and exact_cpp and not mismatched and bool(np.array_equal(coco.y_bits, y_cpp))

    macs = int(shape.macs)
    sim_c, sim_p = cs["sim_seconds"], cpp["seconds"]
    cyc = cs["sim_cycles"]
    rates = {
        "cocotb": {"sim_seconds": sim_c, "check_seconds": t_check, "cycles_per_s": cyc / sim_c,
                   "verified_macs_per_s": macs / (sim_c + t_check), "wall_seconds": coco_wall,
                   "end_to_end_macs_per_s": macs / coco_wall, "bit_exact": exact_coco},
        "cpp": {"sim_seconds": sim_p, "check_seconds": t_check, "cycles_per_s": cpp["sim_cycles"] / sim_p,
                "verified_macs_per_s": macs / (sim_p + t_check), "model_load_seconds": cpp["load_seconds"],
                "pack_seconds": t_pack, "process_seconds": cpp_wall,
                "wall_seconds": cached["cpp_seconds"] + t_golden + t_run + t_pack + cpp_wall + t_check,
                "bit_exact": exact_cpp},
    }
    rates["cpp"]["end_to_end_macs_per_s"] = macs / rates["cpp"]["wall_seconds"]
    ratio = {k: rates["cpp"][k] / rates["cocotb"][k] for k in ("cycles_per_s", "verified_macs_per_s",
                                                                "end_to_end_macs_per_s")}
    cached = out["cached"]
    startup = coco_wall - t_golden - cached["cocotb_seconds"] - t_run - sim_c
    where = {"golden ref_layer (parent)": t_golden,
             "build check: Verilog generation + cache hash (build_sim)": cached["cocotb_seconds"],
             "program build + feeder packing (LayerRun, in the simulator)": t_run,
             "simulation loop (cocotb + agents + Verilator model)": sim_c,
             "rest: simulator launch, imports, reset, result file": startup}
    out.update({"cycles": {"sim_cycles": cyc, "cycles": cs["cycles"], "program_cycles": run.prog.cycles,
                           "formula_cycles": cs["formula_cycles"], "stalls": cs["stalls"]},
                "checks": {"bit_exact_cocotb": exact_coco, "bit_exact_cpp": exact_cpp,
                           "equal": {k: list(v) for k, v in same.items()}, "mismatched": list(mismatched)},
                "rates": rates, "ratio_cpp_over_cocotb": ratio, "cocotb_time": where,
                "program_build_seconds": t_prog,
                "us_per_cycle": {"cocotb": 1e6 * sim_c / cyc, "cpp": 1e6 * sim_p / cpp["sim_cycles"]}})

    s = shape
    desc = (f"conv {s.n}x{s.c}x{s.h}x{s.w} -> {s.k} channels, {s.kh}x{s.kw} kernel, stride {s.stride}, pad {s.pad}"
            if kind == "conv" else f"FC {s.n}x{s.c} -> {s.k}")
    print(f"layer engine benchmark: {desc}, {macs:,} MACs on {out['array']} "
          f"(the same Verilog, program and GLB latencies {GLB_READ_LATENCY}/{GLB_WRITE_LATENCY} in both runs)")
    print(f"  cycles: {cyc} simulated ({cs['cycles']} first operand -> last result, formula {cs['formula_cycles']}, "
          f"{cs['stalls']} stalls); C++ {cpp['sim_cycles']} / {cpp['cycles']}: "
          + ("equal" if not mismatched else f"DIFFER in {', '.join(mismatched)}"))
    print(f"  bit-exact against ref_layer: cocotb {exact_coco}, C++ {exact_cpp}")
    print(f"  machine: {os.cpu_count()} cores, load average {out['load_average'][0]:.1f} at the end (1 min; "
          "other jobs make every time here longer)")
    if args.cold:
        print(f"  Verilog generation (Amaranth + Yosys, part of every build and build check): "
              f"{out['cold']['verilog_seconds']:.2f} s")
    hdr = f"  {'':34}{'cocotb':>14}{'C++ harness':>14}{'C++ / cocotb':>14}"
    print(hdr)
    if args.cold:
        c = out["cold"]
        print(f"  {'Verilator build, cold (s)':34}{c['cocotb_seconds']:>14.1f}{c['cpp_seconds']:>14.1f}"
              f"{c['cpp_seconds'] / c['cocotb_seconds']:>14.2f}")
    print(f"  {'build, cached path (s)':34}{cached['cocotb_seconds']:>14.2f}{cached['cpp_seconds']:>14.2f}"
          f"{cached['cpp_seconds'] / cached['cocotb_seconds']:>14.2f}")
    for key, label in (("sim_seconds", "simulation loop (s)"), ("cycles_per_s", "simulated cycles / s"),
                       ("verified_macs_per_s", "verified MACs / s (sim + check)"),
                       ("wall_seconds", "end to end (s)"), ("end_to_end_macs_per_s", "end-to-end MACs / s")):
        a, b = rates["cocotb"][key], rates["cpp"][key]
        print(f"  {label:34}{_fmt(a):>14}{_fmt(b):>14}{_fmt(b / a):>14}")
    print(f"  (best of {args.repeat}; check = GLB words -> output_from_glb -> compare, {t_check * 1e3:.1f} ms, "
          f"measured on the C++ run's words and charged to both)")
    if not args.cold:
        print("  (cold builds skipped: --no-cold)")
    for key in ("cocotb", "cpp"):
        if cached.get(f"{key}_built"):
            print(f"  ({key}: its cache was missing or stale; that build took {cached[key + '_build_seconds']:.1f} s)")
    print(f"  where the cocotb time goes ({coco_wall:.2f} s end to end; C++ end to end "
          f"{rates['cpp']['wall_seconds']:.2f}"
          f" s incl. its build check, the same golden and program):")
    for label, t in where.items():
        print(f"    {label:62}{t:8.2f} s  {100 * t / coco_wall:5.1f}%")
    us = out["us_per_cycle"]
    prof = out.get("profile")
    print(f"    per simulated cycle: cocotb {us['cocotb']:.1f} us, C++ {us['cpp']:.2f} us; the two models are compiled "
          f"differently (cocotb OPT_FAST={CXX_OPT}, the harness -{args.cxx_opt}),\n"
          "      so the C++ cycle is not the cocotb model's cost" +
          (f": Python (cocotb + agents, cProfile) is ~{100 * prof['total_seconds'] / prof['sim_seconds']:.0f}% of "
           "the profiled loop, the rest the Verilator model and GPI/VPI" if prof and "top" in prof else ""))
    if prof and "top" in prof:
        print(f"  cProfile of the simulator's Python (profiled run: loop {prof['sim_seconds']:.2f} s, "
              f"{prof['total_seconds']:.2f} s profiled), top {len(prof['top'])} by own time:")
        for r in prof["top"]:
            print(f"    {r['own_seconds']:8.3f} s {100 * r['own_seconds'] / prof['total_seconds']:5.1f}%  "
                  f"{r['calls']:>9} calls  {r['function']}")
        if prof.get("agents"):
            print("  the agents, cumulative (profiled run; the memory responder stays per request and per cycle):")
            for name, a in prof["agents"].items():
                print(f"    {a['cumulative_seconds']:8.3f} s {100 * a['cumulative_seconds'] / prof['sim_seconds']:5.1f}% "
                      f"of the loop  {1e6 * a['cumulative_seconds'] / max(1, a['calls']):7.1f} us per call  {name}")
    elif prof:
        print(f"  profile: {prof['error']}")
    if args.json:
        print(json.dumps(out, indent=1, default=float))
    if not ok:
        print("bench_pe_array: FAILED: " + ("results differ from the golden" if not (exact_coco and exact_cpp)
                                            else f"the runs differ in {', '.join(mismatched) or 'outputs'}"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
