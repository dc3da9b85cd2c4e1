"""Train the small digits CNN whose weights the bit-error experiment corrupts.

Usage::

    pip install -e ".[train]"        # the optional extra ``train`` (torch)
    python scripts/train/digits_cnn.py [--seed 0] [--epochs 40] [--out model/data/digits_cnn.npz]

Data: :func:`model.digits.load_split`: scikit-learn's :func:`sklearn.datasets.load_digits` (1797 8x8
greyscale images, values 0..16, shipped with scikit-learn, no download). Pixels are scaled by 1/16 (exact in
float32). The split is a stratified 70/30 :func:`~sklearn.model_selection.train_test_split` with
``random_state=seed``; the test indices are stored in the npz so later scikit-learn versions cannot silently
change the test set.

Network (see :mod:`model.digits_cnn`, which runs it in numpy)::

    conv1 3x3, 1->8, pad 1 -> ReLU -> maxpool 2      (8x8 -> 4x4)
    conv2 3x3, 8->16, pad 1 -> ReLU -> maxpool 2     (4x4 -> 2x2)
    flatten (C, H, W order, 64) -> fc1 64->32 -> ReLU -> fc2 32->10

Training: Adam (lr 3e-3, weight decay 1e-4), batch 64, cross-entropy, ``epochs`` epochs, one thread,
``torch.use_deterministic_algorithms(True)``, shuffling from a seeded ``torch.Generator``: the same seed
gives the same weights on the same torch build (different CPUs/torch versions may differ in the last
float32 bits because BLAS kernels differ).

Output (written atomically: temporary file, then rename; nothing half-written is left behind):

``digits_cnn.npz``
    ``<layer>.weight`` / ``<layer>.bias`` (float32, torch layouts), ``<name>.bf16`` (uint16 bit patterns
    of torch's round-to-nearest-even BF16 conversion, to check ml_dtypes' rounding bit-exactly),
    ``test_indices`` (int64, indices into ``load_digits()``), ``test_logits`` / ``test_pred`` (torch's
    float32 outputs on the test set), ``test_logits_bf16`` / ``test_pred_bf16`` (torch, weights rounded
    to BF16, float32 arithmetic), ``metadata`` (the JSON below as a 0-d string array).
``digits_cnn.json``
    architecture, seed, hyper-parameters, train/test accuracy (float32 and BF16 weights), versions.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from model.digits import load_split

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "model" / "data" / "digits_cnn.npz"

ARCHITECTURE = [
    {"name": "conv1", "type": "conv2d", "in": 1, "out": 8, "kernel": 3, "padding": 1, "then": ["relu", "maxpool2"]},
    {"name": "conv2", "type": "conv2d", "in": 8, "out": 16, "kernel": 3, "padding": 1, "then": ["relu", "maxpool2"]},
    {"name": "fc1", "type": "linear", "in": 64, "out": 32, "then": ["relu"]},
    {"name": "fc2", "type": "linear", "in": 32, "out": 10, "then": []},
]


def _build(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10),
    )


# torch Sequential indices -> our layer names
_LAYER_INDEX = {"conv1": 0, "conv2": 3, "fc1": 7, "fc2": 9}


def train(seed: int = 0, epochs: int = 40):
    """Train and return ``(arrays, metadata)`` ready to be written to the npz."""
    try:
        import torch
    except ModuleNotFoundError as e:  # pragma: no cover - depends on the optional extra
        raise SystemExit('train_digits_cnn.py needs torch: pip install -e ".[train]" '
                         "(the optional extra 'train')") from e
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")

    t0 = time.perf_counter()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    np.random.seed(seed)

    x_tr, y_tr, x_te, y_te, test_idx = load_split(seed)
    model = _build(torch)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    batch = 64
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(yt), generator=gen)
        for i in range(0, len(yt), batch):
            b = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(xt[b]), yt[b])
            loss.backward()
            opt.step()

    model.eval()
    arrays = {}
    with torch.no_grad():
        for name, i in _LAYER_INDEX.items():
            layer = model[i]
            for kind in ("weight", "bias"):
                t = getattr(layer, kind).detach()
                arrays[f"{name}.{kind}"] = t.numpy().astype(np.float32).copy()
                arrays[f"{name}.{kind}.bf16"] = t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16).copy()
        logits = model(torch.from_numpy(x_te)).numpy().astype(np.float32)
        train_acc = float((model(xt).argmax(1).numpy() == y_tr).mean())
        # Same network with every parameter rounded to BF16 (RNE), float32 arithmetic.
        bf16_model = _build(torch)
        bf16_model.load_state_dict({k: v.to(torch.bfloat16).to(torch.float32) for k, v in model.state_dict().items()})
        bf16_model.eval()
        logits_bf16 = bf16_model(torch.from_numpy(x_te)).numpy().astype(np.float32)

    pred = logits.argmax(1).astype(np.int64)
    pred_bf16 = logits_bf16.argmax(1).astype(np.int64)
    n_params = sum(arrays[k].size for k in arrays if not k.endswith(".bf16"))
    import sklearn

    meta = {
        "model": "digits_cnn",
        "architecture": ARCHITECTURE,
        "input": "load_digits().images / 16, float32, shape (N, 1, 8, 8)",
        "n_parameters": int(n_params),
        "seed": seed,
        "epochs": epochs,
        "optimizer": "Adam lr=3e-3 weight_decay=1e-4, batch 64, cross-entropy",
        "split": "train_test_split(test_size=0.3, stratify=y, random_state=seed); test indices stored",
        "n_train": int(len(y_tr)),
        "n_test": int(len(y_te)),
        "test_images_sha256": hashlib.sha256(np.ascontiguousarray(x_te).tobytes()).hexdigest(),
        "train_accuracy": train_acc,
        "test_accuracy": float((pred == y_te).mean()),
        "test_accuracy_bf16": float((pred_bf16 == y_te).mean()),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "sklearn_version": sklearn.__version__,
        "train_seconds": round(time.perf_counter() - t0, 2),
    }
    arrays.update(test_indices=test_idx.astype(np.int64), test_logits=logits, test_pred=pred,
                  test_logits_bf16=logits_bf16, test_pred_bf16=pred_bf16)
    return arrays, meta


def save(arrays: dict, meta: dict, out: Path) -> None:
    """Write ``out`` (npz, metadata included as a string) and ``out`` with suffix ``.json``, each atomically."""
    from scripts.common.files import save_weights
    save_weights(arrays, meta, out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0, help="random seed (split, init, shuffling); default 0")
    p.add_argument("--epochs", type=int, default=40, help="training epochs (>= 1); default 40")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"npz to write (default {DEFAULT_OUT})")
    args = p.parse_args(argv)
    try:
        if args.out.suffix != ".npz":  # checked before training, not after
            raise ValueError(f"--out must end in .npz, got {str(args.out)!r}")
        arrays, meta = train(args.seed, args.epochs)
        save(arrays, meta, args.out)
    except ValueError as e:
        print(f"train_digits_cnn: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (+ .json): test accuracy {meta['test_accuracy']:.4f} (BF16 weights "
          f"{meta['test_accuracy_bf16']:.4f}), {meta['n_parameters']} parameters, {meta['train_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
