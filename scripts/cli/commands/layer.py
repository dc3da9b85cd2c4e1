"""``mram-accel layer conv|fc``: one DNN layer through the RTL accelerator core under Verilator.

::

    mram-accel layer conv --ifmap X.npy --weights W.npy [--stride S] [--pad P] [--array RxC] --out Y.npy [--json]
    mram-accel layer fc   --ifmap X.npy --weights W.npy [--array RxC] --out Y.npy [--json]

X is ``(N, C, H, W)`` (conv) or ``(N, IN)`` (fc), W ``(K, C, kh, kw)`` or ``(OUT, IN)``, float32 values exactly
representable in bfloat16 (``--round`` rounds to nearest-even instead of refusing). ``--array RxC`` counts MACs as
``mram-accel retention --array`` does: R rows x C MAC columns, C a multiple of 3 (C / 3 PEs per row). The layer
runs on :class:`hw.layer_engine.LayerEngine` with the STT-MRAM global buffer (:class:`model.stt_ai.glb.GlobalBuffer`)
behind the memory responder (:mod:`scripts.rtl.layer`); Y (float32, ``(N, K, OH, OW)`` or ``(N, OUT)``) is what the
RTL wrote into the global buffer, checked bit-exactly against the dataflow golden (exit 1 if it differs). Bad input
exits 2 with one line naming the parameter; Y is written only after a successful run.

Inputs are ``.npy`` files (C or Fortran order, at most 2^27 elements) of float32 -- or of any real dtype whose values
are all exactly bfloat16 (float64, integers): a value with a nonzero low half of its float32 pattern is refused
with its index unless ``--round`` is given. Tensor layouts: NCHW for X and Y, (out channels, in channels, kh, kw)
for W, as in PyTorch; ``OH = (H + 2 pad - kh) // stride + 1``. Example::

    python -c "import numpy as np; np.save('X.npy', np.ones((1, 2, 5, 5), np.float32))"
    python -c "import numpy as np; np.save('W.npy', np.ones((3, 2, 3, 3), np.float32))"
    mram-accel layer conv --ifmap X.npy --weights W.npy --stride 2 --pad 1 --out Y.npy --json

Ranges: ``--stride`` 1..64, ``--pad`` 0..64, ``--array RxC`` R in 1..16 rows and C in 3..48 MAC columns (a multiple
of 3), ``--bank-bytes`` 4*C..2^24, ``--glb-read-latency`` and ``--glb-write-latency`` 1..1000 cycles, ``--glb-ready``
(0, 1], ``--ber`` [0, 1), ``--delta`` (0, 200], ``--retention`` up to 10^6 years, ``--seed`` 0..2^32-1. Every value
is checked before anything runs or prints. The first Verilator build of an array size takes minutes (later runs reuse it).
"""

from __future__ import annotations

import json
import sys

import numpy as np

from model.checks import parse_int, parse_real
from model.stt_ai.dse import parse_array

__all__ = ["register", "load_bf16", "array_pes"]


def load_bf16(path: str, option: str, round_: bool) -> np.ndarray:
    """bfloat16 bit patterns (uint16) of the numeric array in ``path``; ValueError naming the file and the first
    value that is not exactly a bfloat16 (unless ``round_``: round to nearest-even)."""
    from scripts.common.files import load_npy

    a = load_npy(path, option)
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{option}: {path} must hold real numbers (float32), got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{option}: {path} has a zero-size shape {a.shape}; every dimension must be >= 1")
    with np.errstate(all="ignore"):
        f32 = a.astype(np.float32)
    if round_:
        import ml_dtypes
        return f32.astype(ml_dtypes.bfloat16).view(np.uint16)
    exact32 = (f32.astype(a.dtype) == a) | (np.isnan(f32) & np.isnan(a)) if a.dtype != np.float32 else \
        np.ones(a.shape, bool)
    bits = f32.view(np.uint32)
    bad = ~exact32 | ((bits & 0xFFFF) != 0) & ~np.isnan(f32)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{option}: {path}: value {a[idx].item():.9g} at index {idx} is not exactly representable in "
                         f"bfloat16 (pass --round to round to nearest-even)")
    return (bits >> 16).astype(np.uint16)


def array_pes(spec: str) -> tuple[int, int]:
    """(rows, PE columns) of ``--array RxC`` (C MAC columns, a multiple of 3)."""
    try:
        arr = parse_array(spec)
    except ValueError as e:
        raise ValueError(f"--array: {e}") from None
    if arr.cols % 3:
        raise ValueError(f"--array: C (MAC columns) must be a multiple of 3 (3 MACs per PE), got {spec!r}")
    if arr.rows > 16 or arr.cols > 48:
        raise ValueError(f"--array: simulation takes R in 1..16 rows and C in 3..48 MAC columns, got {spec!r} (the "
                         "paper's 42x42 array: mram-accel verilog|lint pe_array --config paper)")
    return arr.rows, arr.cols // 3


def _run(args) -> int:
    from scripts.common.files import out_npy_path, save_npy
    from scripts.common.options import parse_duration, parse_seed

    rows, cols = array_pes(args.array)
    if args.kind == "fc" and (args.stride is not None or args.pad is not None):
        raise ValueError("--stride/--pad: only a conv layer has a stride and padding")
    stride = parse_int(args.stride or "1", "--stride", min=1, max=64)
    pad = parse_int(args.pad or "0", "--pad", min=0, max=64)
    out = out_npy_path(args.out)
    x = load_bf16(args.ifmap, "--ifmap", args.round)
    w = load_bf16(args.weights, "--weights", args.round)
    from model.stt_ai import pe_array as pa      # imported after the cheap checks: it loads ml_dtypes (seconds)
    from model.stt_ai.glb import ber_from_device

    if args.kind == "conv":
        shape = pa.conv_shape(x.shape, w.shape, stride, pad)
    else:
        shape = pa.fc_shape(x.shape, w.shape)
    ber = 0.0
    if args.ber is not None and args.delta is not None:
        raise ValueError("--ber/--delta: give a bit error rate or a thermal stability, not both")
    if args.ber is not None:
        ber = parse_real(args.ber, "--ber", min=0, max=1, max_open=True)
    elif args.delta is not None:
        delta = parse_real(args.delta, "--delta", min=0, max=200, min_open=True)
        ber = ber_from_device(delta, parse_duration(args.retention, "--retention"))
    bank_bytes = parse_int(args.bank_bytes, "--bank-bytes", min=4 * 3 * cols, max=1 << 24)
    seed = parse_seed(args.seed, "--seed")
    read_latency = parse_int(args.glb_read_latency, "--glb-read-latency", min=1, max=1000)
    write_latency = parse_int(args.glb_write_latency, "--glb-write-latency", min=1, max=1000)
    glb_ready = parse_real(args.glb_ready, "--glb-ready", min=0, max=1, min_open=True)

    from scripts.rtl.layer import run_layer

    mp = pa.map_layer(shape, rows, cols, 0)
    print(f"mram-accel layer: {shape.macs} MACs, about {mp.passes * mp.positions + 11 * rows} cycles on the "
          f"{rows}x{3 * cols}-MAC array ({args.backend}; a first Verilator build of an array size takes minutes)",
          file=sys.stderr, flush=True)
    res = run_layer(args.kind, x, w, stride=stride, pad=pad, rows=rows, cols=cols, backend=args.backend,
                    scratchpad=not args.no_scratchpad, bank_bytes=bank_bytes,
                    glb_read_latency=read_latency, glb_write_latency=write_latency, glb_ready=glb_ready,
                    ber=ber, seed=seed)
    y = res.y_bits.view(np.float32)
    golden = res.golden_bits.view(np.float32)
    differ = int(np.count_nonzero(res.y_bits != res.golden_bits))
    stats = dict(res.stats)
    stats.update({"kind": args.kind, "shape": {"N": shape.n, "C": shape.c, "K": shape.k, "H": shape.h,
                                               "W": shape.w, "kh": shape.kh, "kw": shape.kw, "stride": shape.stride,
                                               "pad": shape.pad, "OH": shape.oh, "OW": shape.ow},
                  "ber": ber, "outputs_differing_from_golden": differ, "bit_exact": differ == 0,
                  "out": str(out), "out_shape": list(y.shape)})
    if differ and ber == 0:
        print(f"mram-accel layer: RTL output differs from the dataflow golden in {differ} of {y.size} values",
              file=sys.stderr, flush=True)
        return 1
    save_npy(out, y)
    if args.json:
        print(json.dumps(stats, indent=1))
    else:
        _print_summary(stats, golden, y)
    return 0


def _print_summary(s: dict, golden, y) -> None:
    print(f"{s['kind']} on {s['pes']} PEs ({s['array']} MACs): {s['macs']} MACs, output {tuple(s['out_shape'])} "
          f"-> {s['out']} ({'bit-exact' if s['bit_exact'] else str(s['outputs_differing_from_golden']) + ' values differ'}"
          f" vs the dataflow golden)")
    print(f"cycles {s['cycles']} (first operand in -> last result out); formula {s['formula_cycles']} "
          f"(eqs. (2)-(9), N_cyc_per_stp = {s['cycles_per_step']}); utilisation {s['utilisation'] * 100:.1f} %")
    for name, v in s["terms"].items():
        print(f"  + {v:6d}  {name}")
    print(f"global buffer: {s['glb_writes']} writes, {s['glb_reads']} reads (words); scratchpad: "
          f"{s['spad_writes']} writes, {s['spad_reads']} reads")


def register(sub) -> None:
    p = sub.add_parser("layer", help="run a conv or FC layer on the RTL PE array under Verilator")
    p.add_argument("kind", choices=("conv", "fc"), help="layer type")
    p.add_argument("--ifmap", required=True, metavar="X.npy", help="inputs: (N, C, H, W) conv, (N, IN) fc")
    p.add_argument("--weights", required=True, metavar="W.npy", help="weights: (K, C, kh, kw) conv, (OUT, IN) fc")
    p.add_argument("--stride", metavar="S", help="conv stride, 1..64 (default 1)")
    p.add_argument("--pad", metavar="P", help="conv zero padding on each side, 0..64 (default 0)")
    p.add_argument("--array", default="4x12", metavar="RxC",
                   help="R rows x C MAC columns, C a multiple of 3 (default 4x12 = 4 x 4 PEs)")
    p.add_argument("--out", required=True, metavar="Y.npy", help="output file (float32)")
    p.add_argument("--json", action="store_true", help="print the measurements as JSON")
    p.add_argument("--round", action="store_true", help="round inputs to bfloat16 (nearest-even) instead of refusing")
    g = p.add_argument_group("memory system")
    g.add_argument("--no-scratchpad", action="store_true",
                   help="keep every partial ofmap in the global buffer (the paper's MRAM-only baseline)")
    g.add_argument("--bank-bytes", default=str(26 * 1024),
                   help="scratchpad bank size in bytes, 4*C..2^24 (default 26 KB)")
    g.add_argument("--glb-read-latency", default="2", help="global-buffer read latency in cycles, 1..1000 (default 2)")
    g.add_argument("--glb-write-latency", default="4",
                   help="global-buffer write latency in cycles, 1..1000 (default 4)")
    g.add_argument("--glb-ready", default="1",
                   help="probability that the global buffer accepts a request in a cycle (back-pressure, seeded by "
                        "--seed), (0, 1] (default 1)")
    g.add_argument("--ber", help="bit error rate of the global-buffer reads through the engine's port (partial "
                                 "sums read back after a spill; operands are fetched error-free), in [0, 1)")
    g.add_argument("--delta", help="thermal stability of the STT-MRAM cells: the read BER is the retention "
                                   "failure probability after --retention (eq. (14))")
    g.add_argument("--retention", default="1ms", help="data age for --delta, up to 1e6y (default 1ms)")
    p.add_argument("--seed", default="0", help="seed of the bit-error pattern, 0..2^32-1 (default 0)")
    p.add_argument("--backend", choices=("verilator", "amaranth"), default="verilator",
                   help="simulator (default verilator; amaranth only for tiny arrays)")
    p.set_defaults(func=_run)

