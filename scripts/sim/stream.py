"""The batch stream path: a packed-lane DUT fed and read by a DPI-C stream buffer, Python once per batch.

The per-cycle path (``tb/cocotb_packed.py`` with ``io="vpi"``) resumes a Python coroutine at every clock edge to
write ``din`` and read ``dout`` of a :class:`~scripts.sim.packed.PackedLanes`: measured, cocotb's scheduling and
the two VPI calls cost 3-4x the Verilator model's own evaluation (``scripts/data/bench_packed.json``). Here the
per-cycle work is C only:

* :func:`wrapper_sv` wraps the packed DUT in a module ``mram_stream`` (ports ``clk``, ``rst``) that calls the
  DPI-C function ``mram_stream_cycle(dout, din)`` at every rising clock edge: it records ``dout`` as it was
  before the edge and gives the ``din`` that the wrapper's register holds for the next edge to sample (one
  evaluation of the design per cycle, as in a plain C++ harness; a call at the falling edge, which needs no
  register, costs a second evaluation of the whole combinational logic: measured 12 against 9.2 us per cycle
  of the 64-lane MAC). So the row recorded at call ``i`` is the output before the edge that samples word ``i - 1``:
  :meth:`StreamPort.collect` drops the run's first row, and the checker
  (:class:`~scripts.sim.packed_run.PackedChecker`) sees the same cycles and latencies as on the per-cycle path.
* :data:`DPI_CPP` is that function: it copies word ``pos`` of the input buffer into ``din`` and ``dout`` into
  word ``pos`` of the output buffer, then ``pos += 1``; past the end of the batch it drives ``din = 0`` (no
  valid) and counts an underrun. The buffers are numpy arrays whose addresses Python writes into the exported
  state ``mram_stream_state()`` (cocotb runs Python inside the Verilator executable, so ``ctypes.CDLL(None)``
  finds the symbol).
* The clock is cocotb's GPI clock (C++, no Python per edge; a clock made inside the wrapper with ``--timing``
  measured the same); Python awaits one ``Timer`` of ``n`` periods per batch of ``n`` cycles and then checks
  ``pos == n`` with no underrun (:class:`StreamPort`).
* cocotb 2.1 keeps the GIL on the simulator's thread between callbacks, so a Python worker thread (the numpy
  stimulus, golden and check of ``tb/cocotb_packed.py``) could only run while the simulator waited for it.
  :class:`StreamPort` asks the DPI-C side to release it once, from the simulator's thread with no Python frame
  running; cocotb's own ``PyGILState_Ensure``/``Release`` around each callback then take and give it back.

Valid gaps are data (the valid bit of each ``din`` word); the packed blocks have no back-pressure. The choice
against its measured alternatives is in :mod:`scripts.bench.packed`.
"""

from __future__ import annotations

import ctypes

import numpy as np

__all__ = ["WRAPPER_TOP", "wrapper_sv", "DPI_CPP", "stream_files", "StreamPort"]

#: Module name of the wrapper (the cocotb toplevel of a stream build).
WRAPPER_TOP = "mram_stream"

DPI_CPP = r"""// DPI-C stream buffer of the batch stream path (scripts/sim/stream.py).
#include <cstdint>
#include <cstring>
#include <dlfcn.h>
#include "svdpi.h"

extern "C" {
struct mram_stream_t {
    uint64_t n;            // cycles in the batch
    uint64_t pos;          // cycles done
    uint64_t underruns;    // falling edges with no batch word left
    const uint32_t* in;    // n rows of istride words (din: the first nin)
    uint32_t* out;         // n rows of ostride words (dout: the first nout)
    uint64_t istride, ostride;
    uint32_t nin, nout;    // 32-bit words of din and dout
};
static mram_stream_t mram_stream = {0, 0, 0, nullptr, nullptr, 0, 0, %(nin)d, %(nout)d};

void* mram_stream_state() { return &mram_stream; }

// cocotb 2.1 keeps the GIL on the simulator's thread between its callbacks, so a Python worker thread cannot run
// while the model evaluates. Asked once (from Python, through ctypes), the next cycle call -- on the simulator's
// thread, with no Python frame running -- releases it with PyEval_SaveThread (found at run time: the embedded
// interpreter's symbols are global); from then on cocotb's own PyGILState_Ensure/Release around each callback
// take and give it back, and the worker runs while the simulator does.
static int mram_release_gil = 0;
void mram_stream_release_gil() { mram_release_gil = 1; }

static void release_gil_now() {
    mram_release_gil = 0;
    auto check = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "PyGILState_Check"));
    auto save = reinterpret_cast<void* (*)()>(dlsym(RTLD_DEFAULT, "PyEval_SaveThread"));
    if (check && save && check()) save();
}

void mram_stream_cycle(const svBitVecVal* dout, svBitVecVal* din) {
    mram_stream_t& s = mram_stream;
    if (mram_release_gil) release_gil_now();
    if (s.pos < s.n) {
        std::memcpy(din, s.in + s.pos * s.istride, s.nin * 4);
        std::memcpy(s.out + s.pos * s.ostride, dout, s.nout * 4);
        s.pos++;
    } else {
        std::memset(din, 0, s.nin * 4);
        s.underruns++;
    }
}
}
"""


def wrapper_sv(dut_module: str, din_width: int, dout_width: int) -> str:
    """The ``mram_stream`` wrapper of the packed DUT module ``dut_module`` (see the module docstring)."""
    return f"""// Batch stream wrapper (scripts/sim/stream.py): din/dout move through a DPI-C buffer, no Python per cycle.
module {WRAPPER_TOP} (
    input wire clk,
    input wire rst
);
    import "DPI-C" function void mram_stream_cycle(input bit [{dout_width - 1}:0] dout,
                                                   output bit [{din_width - 1}:0] din);
    bit [{din_width - 1}:0] din;                 // 2-state: 0 until the first call
    bit [{din_width - 1}:0] din_next;
    wire [{dout_width - 1}:0] dout;
    {dut_module} dut (.clk(clk), .rst(rst), .din(din), .dout(dout));
    always @(posedge clk) begin
        mram_stream_cycle(dout, din_next);    // dout as before this edge
        din <= din_next;                      // sampled by the next edge
    end
endmodule
"""


def stream_files(dut_module: str, din_width: int, dout_width: int) -> dict[str, str]:
    """The extra sources of a stream build: file name -> text (the wrapper and the DPI-C buffer)."""
    return {f"{WRAPPER_TOP}.sv": wrapper_sv(dut_module, din_width, dout_width),
            "mram_stream_dpi.cpp": DPI_CPP % {"nin": -(-din_width // 32), "nout": -(-dout_width // 32)}}


class _State(ctypes.Structure):
    _fields_ = [("n", ctypes.c_uint64), ("pos", ctypes.c_uint64), ("underruns", ctypes.c_uint64),
                ("inp", ctypes.c_void_p), ("out", ctypes.c_void_p), ("istride", ctypes.c_uint64),
                ("ostride", ctypes.c_uint64), ("nin", ctypes.c_uint32),
                ("nout", ctypes.c_uint32)]


class StreamPort:
    """Python's side of the DPI-C buffer, inside the simulator.

    :meth:`load` hands a batch of ``din`` words (``(cycles, k)`` uint64, as
    :meth:`~scripts.sim.packed.PackedLayout.pack_words` makes them) to the buffer with an output array of the same
    number of cycles; after the simulator has run ``cycles`` clock periods, :meth:`collect` checks that exactly
    that many cycles were streamed and returns the ``dout`` words ``(cycles, dout_words)`` uint64.
    """

    def __init__(self, dout_words: int):
        lib = ctypes.CDLL(None)
        if not hasattr(lib, "mram_stream_state"):
            raise RuntimeError("this simulator has no mram_stream_state(): not a stream build (scripts/sim/stream.py)")
        lib.mram_stream_state.restype = ctypes.c_void_p
        self.state = _State.from_address(lib.mram_stream_state())
        lib.mram_stream_release_gil()          # so the numpy worker thread runs while the simulator does
        self.nin, self.nout = int(self.state.nin), int(self.state.nout)
        self.dout_words = int(dout_words)
        if -(-self.nout // 2) != self.dout_words:
            raise RuntimeError(f"stream build has {self.nout} dout words of 32 bits, the layout {dout_words} of 64")
        self._keep = None
        self._skip = 1                     # the first row recorded is the output before any word was sampled

    def prepare(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(input buffer, output buffer) of a batch; numpy only (may run in a worker thread)."""
        inp = np.ascontiguousarray(words, dtype="<u8").view("<u4").reshape(len(words), -1)
        if inp.shape[1] < self.nin:
            raise ValueError(f"din batch has {inp.shape[1]} 32-bit words per cycle, the build {self.nin}")
        out = np.zeros((len(words), 2 * self.dout_words), "<u4")
        return inp, out

    def load(self, inp: np.ndarray, out: np.ndarray) -> None:
        """Point the buffer at a prepared batch (the simulator then streams it, one word per cycle)."""
        s = self.state
        if s.pos != s.n:
            raise RuntimeError(f"the previous batch is not done ({s.pos} of {s.n} cycles)")
        self._keep = (inp, out)            # the C side reads them until the next load
        s.inp, s.out = inp.ctypes.data, out.ctypes.data
        s.istride, s.ostride = inp.shape[1], out.shape[1]
        s.underruns = 0
        s.pos = 0
        s.n = len(inp)

    def collect(self) -> np.ndarray:
        """The ``dout`` words of the batch; RuntimeError unless exactly its cycles were streamed."""
        s = self.state
        if s.pos != s.n or s.underruns:
            raise RuntimeError(f"stream out of step: {s.pos} of {s.n} cycles streamed, {s.underruns} cycles "
                               "without a batch word (the per-batch Timer must span exactly the batch's cycles)")
        out = self._keep[1].view("<u8").reshape(len(self._keep[1]), -1)[self._skip:]
        self._skip = 0
        return out
