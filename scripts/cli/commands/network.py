"""``mram-accel network run``: a whole network on the RTL accelerator, every tensor in the STT-MRAM global buffer.

::

    mram-accel network run --model digits_cnn [--images N] [--array RxC] [--delta D | --ber B]
                           [--ultra DELTA_ROBUST,DELTA_RELAXED] [--glb-ready P] [--seed S] [--json]

The committed digits CNN, quantised to bfloat16, runs layer by layer on :class:`hw.accelerator.Accelerator` under
Verilator: its layer controller fetches weights and operands from the global-buffer model behind the memory
responder, ReLU and max-pooling run in RTL, and every image's logits are compared bit-wise with the numpy golden
(:mod:`scripts.rtl.network`). Errors live only in the global buffer: ``--delta`` makes every cell an STT-MRAM cell of
thermal stability Δ (retention failures of eq. (14) by each word's age, read disturb, write errors), ``--ber`` a flat
read bit error rate, ``--ultra`` STT-AI Ultra's two banks (the upper half of every bfloat16 element in the robust
bank). ``--array RxC`` counts MACs as ``mram-accel layer`` does (R rows x C MAC columns, C a multiple of 3).

Ranges: ``--images`` 1..540 (the stored test set), ``--array`` R in 1..16 and C in 3..48, ``--delta`` and each ``--ultra``
value (0, 200], ``--ber`` [0, 1), ``--glb-ready`` (0, 1], ``--seed`` 0..2^32-1, ``--batch`` 1..1000, ``--workers``
1..256. Every value is checked before anything runs. Exit status 1 when no error is injected and a logit differs from the golden.
"""

from __future__ import annotations

import json
import sys

from model.checks import parse_int, parse_real

__all__ = ["register", "TEST_IMAGES"]

#: Images in the digits CNN's stored test set (``model.digits_cnn.load_test_set``; a test keeps this in step).
TEST_IMAGES = 540


def _parse_ultra(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"--ultra must be DELTA_ROBUST,DELTA_RELAXED (two numbers), got {text!r}")
    return (parse_real(parts[0].strip(), "--ultra DELTA_ROBUST", min=0, max=200, min_open=True),
            parse_real(parts[1].strip(), "--ultra DELTA_RELAXED", min=0, max=200, min_open=True))


def _progress(serial: bool, images: int, layers: int):
    """``(progress, on_layer, close)``: a bar over the layers of every image (serial runs), or over the batches
    (Dask: the simulators run elsewhere)."""
    from tqdm import tqdm
    if not serial:
        return (lambda it, total=None: tqdm(it, total=total, desc="network batches", unit="batch", file=sys.stderr,
                                            disable=None)), None, lambda: None
    bar = tqdm(total=images * layers, desc="network", unit="layer", file=sys.stderr, disable=None)

    def on_layer(image: int, layer: str) -> None:
        bar.set_postfix_str(f"image {image + 1}/{images}, {layer}", refresh=False)
        bar.update(1)

    return None, on_layer, bar.close


def _run(args) -> int:
    from scripts.cli.commands.layer import array_pes
    from scripts.common.options import parse_seed

    rows, cols = array_pes(args.array)
    images = parse_int(args.images, "--images", min=1, max=TEST_IMAGES)
    delta = parse_real(args.delta, "--delta", min=0, max=200, min_open=True) if args.delta is not None else None
    ber = parse_real(args.ber, "--ber", min=0, max=1, max_open=True) if args.ber is not None else 0.0
    ultra = _parse_ultra(args.ultra) if args.ultra is not None else None
    if ultra is not None and (args.delta is not None or args.ber is not None):
        raise ValueError("--ultra: STT-AI Ultra sets both banks' Δ; it excludes --delta and --ber")
    glb_ready = parse_real(args.glb_ready, "--glb-ready", min=0, max=1, min_open=True)
    seed = parse_seed(args.seed, "--seed")
    batch = parse_int(args.batch, "--batch", min=1, max=1000)
    workers = parse_int(args.workers, "--workers", min=1, max=256) if args.workers is not None else None

    from scripts.rtl.network import run_network
    from scripts.rtl.scaleout import mapper_for

    print(f"mram-accel network: {images} images of {args.model} on a {rows}x{3 * cols}-MAC array ({args.backend}; "
          "a first Verilator build of an array size takes minutes)", file=sys.stderr, flush=True)
    serial = workers is None and args.scheduler is None
    progress, on_layer, close = _progress(serial, images, 4)
    try:
        with mapper_for(args.scheduler, workers, serial=serial) as mapper:
            res = run_network(args.model, images, rows=rows, cols=cols, delta=delta, ber=ber, ultra=ultra,
                              glb_ready=glb_ready, seed=seed, backend=args.backend, batch=batch,
                              mapper=None if serial else mapper, progress=progress, on_layer=on_layer)
    finally:
        close()
    clean = delta is None and ber == 0 and ultra is None
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        _print_summary(res)
    if clean and res["mismatches"]:
        print(f"mram-accel network: {res['mismatches']} of {res['images']} images have logits that differ from the "
              "golden with no error injected", file=sys.stderr, flush=True)
        return 1
    return 0


def _print_summary(r: dict) -> None:
    print(f"{r['model']} on {r['array']} PEs: accuracy {r['accuracy'] * 100:.1f} % (golden "
          f"{r['golden_accuracy'] * 100:.1f} %) over {r['images']} images; {r['mismatches']} images with logits "
          f"differing from the golden; {r['cycles']} cycles ({r['cycles_per_image']:.0f} per image); bit flips "
          f"{r['bit_flips']}")
    print(f"{'layer':6s} {'cycles':>8s} {'array':>8s} {'formula':>8s} {'post':>6s} {'T_pool':>6s} {'reads':>6s} "
          f"{'writes':>6s} {'flips':>6s}")
    for lay in r["layers"]:
        print(f"{lay['name']:6s} {lay['cycles']:8.0f} {lay['array_cycles']:8.0f} {lay['formula_cycles']:8d} "
              f"{lay['post_cycles']:6.0f} {lay['formula_post_cycles']:6d} {lay['glb_reads']:6.0f} "
              f"{lay['glb_writes']:6.0f} {lay['bit_flips']:6d}")


def register(sub) -> None:
    p = sub.add_parser("network", help="run a whole network on the RTL accelerator (tensors in the STT-MRAM buffer)")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = s.add_parser("run", help="run test images through the network on the RTL and compare with the golden")
    r.add_argument("--model", required=True, choices=("digits_cnn",), help="the network (digits_cnn)")
    r.add_argument("--images", default="20", metavar="N", help="test images, 1..540 (default 20)")
    r.add_argument("--array", default="4x12", metavar="RxC",
                   help="R rows x C MAC columns, C a multiple of 3 (default 4x12 = 4 x 4 PEs)")
    e = r.add_mutually_exclusive_group()
    e.add_argument("--delta", metavar="D", help="thermal stability of every global-buffer cell, (0, 200]")
    e.add_argument("--ber", metavar="B", help="flat bit error rate of every global-buffer read, [0, 1)")
    r.add_argument("--ultra", metavar="DELTA_ROBUST,DELTA_RELAXED",
                   help="STT-AI Ultra: upper half of every bfloat16 element in a bank of DELTA_ROBUST, lower half "
                        "in one of DELTA_RELAXED")
    r.add_argument("--glb-ready", default="1", metavar="P",
                   help="probability that the global buffer accepts a request in a cycle (back-pressure: the array "
                        "and the controller hold), (0, 1] (default 1)")
    r.add_argument("--seed", default="0", help="seed of the error draws and the ready pattern, 0..2^32-1 (default 0)")
    r.add_argument("--json", action="store_true", help="print the results as JSON")
    r.add_argument("--batch", default="10", help="images per simulator run, 1..1000 (default 10; results do not "
                                                 "depend on it)")
    r.add_argument("--workers", help="run the batches on a Dask LocalCluster of this many processes, 1..256")
    r.add_argument("--scheduler", metavar="ADDRESS", help="run the batches on a running Dask cluster")
    r.add_argument("--backend", choices=("verilator", "amaranth"), default="verilator",
                   help="simulator (default verilator)")
    r.set_defaults(func=_run)
