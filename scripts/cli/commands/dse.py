"""``mram-accel retention`` and ``mram-accel glb``: the global-buffer design-space exploration of the STT-AI paper
(stt-ai-mishty-sadi.txt; :mod:`model.stt_ai.dse`) for a zoo model or a model of one's own.

::

    mram-accel retention MODEL|--shapes FILE.json [--array HxW] [--batch N] [--cycles N] [--fc-cycles N]
                         [--clock 1GHz] [--t-pool-relu 0s] [--json]
    mram-accel glb MODEL|--shapes FILE.json [--batch N] [--dtype int8|bf16] [--json]

``retention``: T1, T2 and T_ret of every pair of consecutive conv/FC layers (Eqs. (5)-(11)) and the maximum.
``glb``: bytes of global buffer each conv layer needs, ifmap + weights + ofmap (Section V.A, Fig. 11), the maximum
and whether it fits the paper's 12 MB. ``--json`` prints one object (``retention``: ``pairs`` with ``t1_s``,
``t2_s``, ``t_ret_s``, ``max_t_ret_s``, ``max_pair``; ``glb``: ``layers`` with ``ifmap_bytes``, ``weight_bytes``,
``ofmap_bytes``, ``total_bytes``, ``max_bytes``, ``max_layer``, ``fits_12MB``). Example::

    mram-accel retention vgg16 --array 42x42 --batch 16 --json
    mram-accel glb --shapes my_net.json --batch 8 --dtype bf16

Ranges: ``--batch`` 1..65536; ``--array HxW`` H and W in 1..4096 MACs (W >= 3, one 3-MAC PE); ``--cycles``,
``--fc-cycles`` 1..1000000; ``--clock`` in (0, 1 THz] (units Hz, kHz, MHz, GHz); ``--t-pool-relu`` 0 to 10^6 years
(units ps ns us ms s min h d y).

Shape file (``--shapes FILE.json``; JSON Schema ``model.zoo.SHAPES_SCHEMA``)::

    {"name": "tiny", "input_hw": 6,
     "layers": [{"name": "A", "kind": "conv", "in_h": 6, "in_w": 6, "in_c": 3, "out_c": 4, "k": 3, "bias": true},
                {"name": "B", "kind": "conv", "in_h": 4, "in_w": 4, "in_c": 4, "out_c": 2, "k": 3, "pad": 1},
                {"name": "C", "kind": "fc", "in_c": 32, "out_c": 10}]}

* top level: ``name``, ``layers`` (1 to 100000), optional ``input_hw``, ``chained`` (default true), ``note``.
* a layer: ``name`` (unique), ``kind`` (conv, fc, pool), ``in_c``, ``out_c`` and, except for fc, ``in_h``,
  ``in_w``; optional ``k_h``, ``k_w`` (or ``k``; default 1), ``stride`` (1), ``pad_h``, ``pad_w`` (or ``pad``; 0),
  ``groups`` (1), ``bias`` (false), ``bn`` (batch-norm channels, 0), ``ceil_mode`` (false). Sides, kernels,
  strides, padding: integers 0/1..65536; channels, groups, bn: up to 1048576; per layer at most 2^40 ifmap, ofmap
  and weight elements and 2^50 MACs.
* the layers chain: each layer's ``in_c`` x ``in_h`` x ``in_w`` is the previous layer's output (an fc layer reads
  it flattened, C*H*W, or pooled, C). A network listed branch after branch sets ``"chained": false``.

Bad input (unknown model, a shape file that is missing, not JSON or breaks a rule above, a value out of range)
exits 2 with one line naming the option, the file and the field.
"""

from __future__ import annotations

import json

from model.stt_ai import dse
from model.checks import parse_int
from model.zoo import MODEL_NAMES, get_model, load_shapes
from scripts.common.options import parse_duration, parse_frequency

__all__ = ["register", "MAX_BATCH", "MAX_ARRAY", "MAX_CYCLES"]

#: Largest ``--batch``: 2^16 images (ours: the paper's figures use 1 to 16; with ``model.zoo.MAX_LAYER_ELEMENTS``
#: = 2^40 a layer's bytes stay below 2^58, so no count wraps in int64).
MAX_BATCH = 1 << 16
#: Largest array side of ``--array``, in MACs (ours: about 100 times the paper's 42 x 42 array).
MAX_ARRAY = 4096
#: Largest ``--cycles`` / ``--fc-cycles`` per step (ours: about 10^5 times Table II's 17 and 11).
MAX_CYCLES = 10**6


def _load(args):
    if args.shapes and args.model:
        raise ValueError("give either a model name or --shapes FILE.json, not both")
    if args.shapes:
        return load_shapes(args.shapes, source="--shapes")
    if not args.model:
        raise ValueError(f"model: give a zoo model name ({', '.join(MODEL_NAMES)}) or --shapes FILE.json")
    return get_model(args.model)


def _batch(args) -> int:
    return parse_int(args.batch, "--batch", min=1, max=MAX_BATCH)


def _array(spec: str):
    try:
        arr = dse.parse_array(spec)
    except ValueError as e:
        raise ValueError(f"--array: {e}") from None
    if arr.rows > MAX_ARRAY or arr.cols > MAX_ARRAY:
        raise ValueError(f"--array: H and W must be in 1..{MAX_ARRAY} MACs, got {spec!r}")
    return arr


def _add_common(p):
    p.add_argument("model", nargs="?", help=f"zoo model: {', '.join(MODEL_NAMES)}")
    p.add_argument("--shapes", metavar="FILE.json", help="layer shapes from a JSON file instead of a zoo model "
                                                         "(format below)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _retention(args) -> int:
    batch = _batch(args)
    array = _array(args.array)
    cycles = parse_int(args.cycles, "--cycles", min=1, max=MAX_CYCLES)
    fc_cycles = parse_int(args.fc_cycles, "--fc-cycles", min=1, max=MAX_CYCLES)
    clock = parse_frequency(args.clock)
    t_pool = parse_duration(args.t_pool_relu, "--t-pool-relu", allow_zero=True)
    model = _load(args)
    r = dse.retention(model, array, batch, cycles, fc_cycles, clock, t_pool)
    if args.json:
        print(json.dumps({"model": model.name, "array": str(array), "batch": batch, "conv_cycles": cycles,
                          "fc_cycles": fc_cycles, "clock_hz": clock, "t_pool_relu_s": t_pool,
                          "pairs": r.rows(), "max_t_ret_s": r.max,
                          "max_pair": [r.prev[r.argmax], r.next[r.argmax]]}, indent=1))
        return 0
    print(f"{model.name}: array {array} (H_A={array.h_a}, W_A={array.w_a} PEs, W_SA={array.w_sa} MACs), "
          f"batch {batch}, {cycles}/{fc_cycles} cycles per conv/FC step, {clock / 1e9:g} GHz")
    print(f"{'layer n-1':<34} {'layer n':<34} {'kind':<10} {'T1 ms':>10} {'T2 ms':>10} {'T_ret ms':>10}")
    for row in r.rows():
        print(f"{row['prev']:<34} {row['next']:<34} {row['kind']:<10} {row['t1_s'] * 1e3:10.3f} "
              f"{row['t2_s'] * 1e3:10.3f} {row['t_ret_s'] * 1e3:10.3f}")
    print(f"maximum T_ret = {r.max * 1e3:.3f} ms ({r.prev[r.argmax]} -> {r.next[r.argmax]})")
    return 0


def _glb(args) -> int:
    batch = _batch(args)
    dtype = args.dtype
    model = _load(args)
    g = dse.glb_bytes_per_layer(model, batch, dtype)
    rows = [{"layer": n, "ifmap_bytes": int(i), "weight_bytes": int(w), "ofmap_bytes": int(o), "total_bytes": int(t)}
            for n, i, w, o, t in zip(g["name"], g["ifmap"], g["weights"], g["ofmap"], g["total"])]
    if not rows:
        raise ValueError(f"model {model.name!r} has no conv layer (the GLB analysis covers conv layers only)")
    worst = max(rows, key=lambda r: r["total_bytes"])
    if args.json:
        print(json.dumps({"model": model.name, "batch": batch, "dtype": dtype, "layers": rows,
                          "max_bytes": worst["total_bytes"], "max_layer": worst["layer"],
                          "fits_12MB": worst["total_bytes"] <= dse.GLB_PAPER_BYTES}, indent=1))
        return 0
    print(f"{model.name}: batch {batch}, {dtype}; GLB bytes per conv layer (ifmap + weights + ofmap)")
    print(f"{'layer':<34} {'ifmap':>12} {'weights':>12} {'ofmap':>12} {'total':>12}")
    for r in rows:
        print(f"{r['layer']:<34} {r['ifmap_bytes']:12d} {r['weight_bytes']:12d} {r['ofmap_bytes']:12d} "
              f"{r['total_bytes']:12d}")
    print(f"maximum {worst['total_bytes']} bytes = {worst['total_bytes'] / dse.MB:.2f} MB (2^20 B) at "
          f"{worst['layer']}; {'fits' if worst['total_bytes'] <= dse.GLB_PAPER_BYTES else 'exceeds'} 12 MB")
    return 0


def register(subparsers) -> None:
    """Add ``retention`` and ``glb`` to the ``mram-accel`` sub-commands."""
    p = subparsers.add_parser("retention", help="GLB retention time per layer pair (stt-ai Eqs. (5)-(11))")
    _add_common(p)
    p.add_argument("--batch", default="16", help=f"images per batch, 1..{MAX_BATCH} (default 16)")
    p.add_argument("--array", default="42x42",
                   help=f"array HxW in MACs (H_A rows x W_SA columns), each 1..{MAX_ARRAY}, default 42x42")
    p.add_argument("--cycles", default=str(dse.CONV_CYCLES),
                   help=f"clock cycles per conv step, 1..{MAX_CYCLES} (Table II: {dse.CONV_CYCLES})")
    p.add_argument("--fc-cycles", default=str(dse.SYSTOLIC_CYCLES),
                   help=f"clock cycles per systolic (FC) step, 1..{MAX_CYCLES} (Table II: {dse.SYSTOLIC_CYCLES})")
    p.add_argument("--clock", default="1GHz", help="clock frequency, e.g. 1GHz, in (0, 1THz] (Table II: 1GHz)")
    p.add_argument("--t-pool-relu", default="0", help="T_pool_relu of Eqs. (7), (11), e.g. 10us, 0 to 1e6y "
                                                      "(default 0)")
    p.set_defaults(func=_retention)

    g = subparsers.add_parser("glb", help="GLB bytes each conv layer needs (stt-ai Fig. 11)")
    _add_common(g)
    g.add_argument("--batch", default="1", help=f"images per batch, 1..{MAX_BATCH} (default 1)")
    g.add_argument("--dtype", choices=sorted(dse.BYTES_PER_ELEMENT), default="int8", help="data type")
    g.set_defaults(func=_glb)
