"""CLI sub-commands of the global-buffer design-space exploration (:mod:`model.stt_ai.dse`).

``mram-accel retention MODEL|--shapes FILE.json [--array HxW] [--batch N] [--cycles N] [--fc-cycles N]
[--clock 1GHz] [--t-pool-relu 0s] [--json]`` -- T1, T2 and T_ret of every pair of consecutive layers (stt-ai paper
Eqs. (5)-(11)) and the maximum.

``mram-accel glb MODEL|--shapes FILE.json [--batch N] [--dtype int8|bf16] [--json]`` -- bytes of GLB each conv
layer needs (ifmap + weights + ofmap, Section V.A / Fig. 11) and the maximum.

Bad values (unknown model, malformed shape file, batch < 1, bad array spec, negative time, unknown unit) raise
ValueError naming the parameter; :mod:`scripts.cli` prints it and exits with status 2.
"""

from __future__ import annotations

import json

from model.stt_ai import dse
from model.checks import parse_int
from model.zoo import MODEL_NAMES, get_model, load_shapes
from scripts.common.options import parse_duration, parse_frequency


def _load(args):
    if args.shapes and args.model:
        raise ValueError("give either a model name or --shapes FILE.json, not both")
    if args.shapes:
        return load_shapes(args.shapes)
    if not args.model:
        raise ValueError(f"model: give a zoo model name ({', '.join(MODEL_NAMES)}) or --shapes FILE.json")
    return get_model(args.model)


def _add_common(p):
    p.add_argument("model", nargs="?", help=f"zoo model: {', '.join(MODEL_NAMES)}")
    p.add_argument("--shapes", metavar="FILE.json", help="layer shapes from a JSON file instead of a zoo model")
    p.add_argument("--batch", default="16", help="images per batch, >= 1")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _retention(args) -> int:
    model = _load(args)
    batch = parse_int(args.batch, "--batch", min=1)
    array = dse.parse_array(args.array)
    cycles = parse_int(args.cycles, "--cycles", min=1)
    fc_cycles = parse_int(args.fc_cycles, "--fc-cycles", min=1)
    clock = parse_frequency(args.clock)
    t_pool = parse_duration(args.t_pool_relu, "--t-pool-relu", allow_zero=True)
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
    model = _load(args)
    batch = parse_int(args.batch, "--batch", min=1)
    dtype = args.dtype
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
    p.add_argument("--array", default="42x42", help="array HxW in MACs (H_A rows x W_SA columns), default 42x42")
    p.add_argument("--cycles", default=str(dse.CONV_CYCLES),
                   help=f"clock cycles per conv step (Table II: {dse.CONV_CYCLES})")
    p.add_argument("--fc-cycles", default=str(dse.SYSTOLIC_CYCLES),
                   help=f"clock cycles per systolic (FC) step (Table II: {dse.SYSTOLIC_CYCLES})")
    p.add_argument("--clock", default="1GHz", help="clock frequency, e.g. 1GHz (Table II)")
    p.add_argument("--t-pool-relu", default="0", help="T_pool_relu of Eqs. (7), (11), e.g. 10us (default 0)")
    p.set_defaults(func=_retention)

    g = subparsers.add_parser("glb", help="GLB bytes each conv layer needs (stt-ai Fig. 11)")
    _add_common(g)
    g.set_defaults(batch="1")
    g.add_argument("--dtype", choices=sorted(dse.BYTES_PER_ELEMENT), default="int8", help="data type")
    g.set_defaults(func=_glb)
