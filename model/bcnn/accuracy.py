"""The binary CNN (:mod:`model.bcnn.net`) with every +/-1 dot product computed in the SOT-MRAM sub-array model
(:func:`model.bcnn.cim.cim_matmul`): exact with ideal devices, and accuracy against device variation.

Source: ``sot-mram-bcnn-fan-angizi.txt``, Fig. 3 and Table I (the CIM computes the binary layers, the DPU the
rest). Each binary layer runs on its own sub-array (its own device draws: seed ``(seed, layer index)``); the
variation is static per sub-array, so a draw is one manufactured chip and the spread over seeds is the spread
over chips (intervals: :func:`model.stats.t_interval`).
"""

from __future__ import annotations

import numpy as np

from model.bcnn.cim import bits_of, cim_matmul
from model.bcnn.net import BINARY_LAYERS, BCNN
from model.checks import check_int
from model.bcnn.subarray import SOTDevice
from model.stats import t_interval

__all__ = ["cim_matmuls", "and_only_matmul", "accuracy_sweep"]


def cim_matmuls(device: SOTDevice = SOTDevice(), seed: int = 0, form: str = "and_or", counter=None,
                layers=BINARY_LAYERS, stats: dict | None = None) -> dict:
    """``{layer: matmul}`` for :meth:`model.bcnn.net.BCNN.forward`: each named binary layer through the sub-array
    model (its own sub-array, seeded ``[seed, layer index]``), counted by ``counter`` (numpy, or the RTL).
    ``stats`` (a dict) receives each layer's :class:`~model.bcnn.cim.CimStats`."""
    check_int("seed", seed, min=0)

    def make(name):
        index = BINARY_LAYERS.index(name)

        def matmul(xb, wb):
            sub_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
            y, st = cim_matmul(xb, wb, form=form, device=device, seed=sub_seed, counter=counter)
            if stats is not None:
                stats[name] = st
            return y
        return matmul

    return {name: make(name) for name in layers}


def and_only_matmul(xb, wb, fold_sum_w: bool = False) -> np.ndarray:
    """The paper's Table I form taken literally: ``4 BitCount(AND) - K`` in place of the +/-1 product (the best
    affine use of the AND count alone; exact only when the operands' sums cancel, see
    :func:`model.bcnn.cim.and_only_error`). ``fold_sum_w``: the DPU also subtracts each weight column's sum,
    known offline, ``4 BitCount(AND) - K - sum(w)``, leaving the input's sum as the only error."""
    a = bits_of(xb).astype(np.int32) @ bits_of(wb).astype(np.int32)
    y = 4 * a - xb.shape[1]
    if fold_sum_w:
        y = y - np.asarray(wb, np.int32).sum(axis=0)[None, :]
    return y


def accuracy_sweep(net: BCNN, x, y, devices, seeds, form: str = "and_or", progress=None, mapper=None) -> dict:
    """Test accuracy of ``net`` on ``(x, y)`` for every device in ``devices`` and seed in ``seeds``.

    ``mapper(func, cells) -> list`` runs the (device, seed) cells (e.g. as Dask tasks); default serial. Each
    cell's draws come from its seed alone, so the result does not depend on the mapper.

    Returns ``acc`` (devices x seeds), and per device the mean with a 95 % t interval over seeds
    (``mean``, ``low``, ``high``) and the mean fraction of binary products that differ from the exact ones
    (``product_errors``).
    """
    devices, seeds = list(devices), list(seeds)
    acc = np.zeros((len(devices), len(seeds)))
    wrong = np.zeros_like(acc)
    cells = [(i, j) for i in range(len(devices)) for j in range(len(seeds))]

    def cell(ij):
        i, j = ij
        capture = {}
        pred = np.argmax(net.forward(x, matmul=cim_matmuls(devices[i], seeds[j], form), capture=capture), axis=1)
        # products of the first binary layer that differ from the exact ones, on this layer's actual operands
        ops = capture[BINARY_LAYERS[0]]
        return float(np.mean(pred == y)), \
            float(np.mean(np.asarray(ops.dot) != ops.xb.astype(np.int32) @ ops.wb.astype(np.int32)))

    out = mapper(cell, cells) if mapper is not None else [cell(c) for c in (progress(cells) if progress else cells)]
    for (i, j), (a, w) in zip(cells, out):
        acc[i, j], wrong[i, j] = a, w
    ivals = [t_interval(a) if len(seeds) > 1 else (a[0], a[0], a[0]) for a in acc]
    return {"acc": acc, "mean": np.array([v[0] for v in ivals]), "low": np.array([v[1] for v in ivals]),
            "high": np.array([v[2] for v in ivals]), "product_errors": wrong.mean(axis=1)}
