"""Bit errors in stored weights against accuracy: Monte-Carlo sweep, single-flip sensitivity, first-order estimate.

The analysis behind the ``bit-errors`` report section (stt-ai-mishty-sadi.txt, Sections V-C, V-D, V-G,
Figs. 17 and 21), on the small digits CNN of :mod:`model.digits_cnn` with the error model of
:mod:`model.bit_errors.flips`:

* :class:`StoredWeights` -- one weight format of the network as one flat vector of stored words, with the
  test accuracy of any (corrupted) copy of it.
* :func:`accuracy_sweep` -- Monte Carlo: one corrupted copy of all parameters per seed, evaluated on the
  whole test set, per error configuration (:class:`Curve`) and BER.
* :func:`single_flip_losses` -- flip one bit position of one random parameter, repeated, per bit position.
* :func:`first_order_loss` -- expected loss at BERs too low for Monte Carlo, from the single-flip samples.
* :func:`normalized_loss_pct`, :func:`expected_flips` -- the two definitions the comparisons use.

"Normalized accuracy loss" is ``(acc_clean - acc) / acc_clean`` in percent, our reading of Fig. 21's
"normalized" (the paper does not define it).

Random streams: every copy draws from ``numpy.random.default_rng([seed, stream, ...])`` with a documented
key, so one base seed reproduces every number; ``stream`` separates these draws from other users of the
same base seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from model.bit_errors.flips import MODES, count_flipped_bits, flip_bits
from model.checks import check_choice, check_int
from model.digits_cnn import PARAM_NAMES, DigitsCNN
from model.stats import normal_interval

__all__ = ["Curve", "StoredWeights", "SweepPoint", "SingleFlips", "accuracy_sweep", "single_flip_losses",
           "first_order_loss", "normalized_loss_pct", "expected_flips"]

_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _no_progress(iterable: Iterable, desc: str = "", total: int | None = None) -> Iterable:
    return iterable


def _check_count(name: str, value) -> int:
    return check_int(name, value, min=1, type_error=False)


def normalized_loss_pct(clean, acc):
    """Normalized accuracy loss in percent, ``100 · (clean - acc) / clean`` (our reading of Fig. 21)."""
    return 100.0 * (clean - acc) / clean


def expected_flips(n_bits, ber, mechanisms: int = 1):
    """Expected number of flipped bits, ``mechanisms · n_bits · BER``.

    Independent flips (binary symmetric channel, :mod:`model.bit_errors.flips`); Section V-C counts retention
    failure, read disturb and write error each at the target BER (``mechanisms = 3``), which adds while
    the per-bit probability stays ≪ 1.
    """
    return mechanisms * n_bits * ber


@dataclass(frozen=True)
class Curve:
    """One error configuration of :func:`accuracy_sweep`.

    Parameters
    ----------
    fmt : str
        Weight storage format of :meth:`model.digits_cnn.DigitsCNN.encode` (``"bf16"``, ``"int8"``, ...).
    mode : {"all", "split"}
        ``"all"``: every bit at the swept BER. ``"split"`` (STT-AI Ultra, Sec. V-D): the ``msb_bits`` most
        significant bits of each word at the sweep's ``ber_msb``, the others at the swept BER.
    msb_bits : int or None
        MSB group size for ``"split"`` (``None``: half the word, :func:`model.bit_errors.flips.flip_bits`).
    """

    fmt: str
    mode: str = "all"
    msb_bits: int | None = None

    def __post_init__(self):
        check_choice("mode", self.mode, MODES)
        if self.mode == "all" and self.msb_bits is not None:
            raise ValueError("msb_bits applies only to mode='split'")


class StoredWeights:
    """One weight format of ``model`` as a flat word vector, and the test accuracy of copies of it.

    Parameters
    ----------
    model : DigitsCNN
        The trained network.
    fmt : str
        Storage format (:meth:`DigitsCNN.encode`); int8 scales are kept error-free.
    x, y : numpy.ndarray
        Test images and labels.

    Attributes
    ----------
    flat : numpy.ndarray
        All parameters' words in :data:`model.digits_cnn.PARAM_NAMES` order.
    clean_acc : float
        Accuracy of the uncorrupted words.
    """

    def __init__(self, model: DigitsCNN, fmt: str, x, y):
        self.model, self.fmt, self.x, self.y = model, fmt, x, y
        words, self.scales = model.encode(fmt)
        self.sizes = [words[k].size for k in PARAM_NAMES]
        self.shapes = [words[k].shape for k in PARAM_NAMES]
        self.flat = np.concatenate([words[k].reshape(-1) for k in PARAM_NAMES])
        self.u = self.flat.view(_UINT[self.flat.dtype.itemsize])
        self.clean_acc = self._evaluate(self.flat)

    @property
    def n_words(self) -> int:
        return int(self.flat.size)

    @property
    def width(self) -> int:
        """Bits per word."""
        return 8 * self.flat.dtype.itemsize

    @property
    def n_bits(self) -> int:
        return self.n_words * self.width

    def with_flipped_bit(self, index: int, bit: int) -> np.ndarray:
        """A copy of :attr:`flat` with bit ``bit`` (0 = LSB) of word ``index`` inverted."""
        bad = self.flat.copy()
        bad.view(self.u.dtype)[index] ^= self.u.dtype.type(1 << bit)
        return bad

    def accuracy(self, flat) -> float:
        """Test accuracy of the model decoded from ``flat`` (the clean value, exactly, if no bit changed)."""
        if np.array_equal(flat.view(self.u.dtype), self.u):
            return self.clean_acc
        return self._evaluate(flat)

    def _evaluate(self, flat) -> float:
        parts = np.split(flat, np.cumsum(self.sizes)[:-1])
        words = {k: p.reshape(s) for k, p, s in zip(PARAM_NAMES, parts, self.shapes)}
        return self.model.decode(words, self.fmt, self.scales).accuracy(self.x, self.y)


class SweepPoint(NamedTuple):
    """Per-seed results of one (curve, BER) point of :func:`accuracy_sweep`."""

    accuracy: np.ndarray
    flipped_bits: np.ndarray


def accuracy_sweep(stored: Mapping[str, StoredWeights], curves: Mapping[str, Curve], bers: Sequence[float],
                   n_seeds: int, seed: int, *, ber_msb: float = 1e-8, stream: int = 70,
                   progress: Callable = _no_progress, mapper: Callable | None = None) -> dict:
    """Monte Carlo over seeds: accuracy and flipped bits of one corrupted copy of all parameters per seed.

    Parameters
    ----------
    stored : mapping
        ``{fmt: StoredWeights}`` holding every format the curves use.
    curves : mapping
        ``{key: Curve}``; ``"split"`` curves flip their MSB group at ``ber_msb`` and the rest at the swept BER.
    bers : sequence of float
        Swept BERs in [0, 1].
    n_seeds : int
        Corrupted copies per point.
    seed, stream : int
        Copy ``s`` of curve number ``c`` (position in ``curves``) at ``bers[i]`` draws from
        ``default_rng([seed, stream, c, i, s])``.
    ber_msb : float
        BER of the MSB group of ``"split"`` curves (STT-AI Ultra: the Δ_PT_GB = 27.5 bank, 1e-8, Sec. V-D).
    progress : callable
        ``progress(iterable, desc=...)`` wrapper (e.g. a progress bar); default: none.
    mapper : callable, optional
        ``mapper(func, points) -> list`` runs the (curve, BER) points (e.g. as Dask tasks,
        :func:`scripts.rtl.scaleout.dask_mapper`); default serial. Every point draws from its own seeds, so the
        result does not depend on the mapper.

    Returns
    -------
    dict
        ``{(curve key, ber): SweepPoint}`` with one entry per seed in each array.
    """
    n_seeds = _check_count("n_seeds", n_seeds)
    missing = sorted({c.fmt for c in curves.values()} - set(stored))
    if missing:
        raise ValueError(f"stored has no weights for format(s) {missing}")
    keys = list(curves)
    jobs = [(k, i, b) for k in keys for i, b in enumerate(bers)]

    def point(job) -> SweepPoint:
        key, i, ber = job
        c = curves[key]
        st = stored[c.fmt]
        cid = keys.index(key)
        accs, flips = [], []
        for s in range(n_seeds):
            rng = np.random.default_rng([seed, stream, cid, i, s])
            if c.mode == "all":
                bad = flip_bits(st.flat, ber, rng=rng)
            else:
                bad = flip_bits(st.flat, mode="split", ber_msb=ber_msb, ber_lsb=ber, msb_bits=c.msb_bits, rng=rng)
            accs.append(st.accuracy(bad))
            flips.append(count_flipped_bits(st.flat, bad))
        return SweepPoint(np.array(accs), np.array(flips))

    if mapper is None:
        points = [point(j) for j in progress(jobs, desc="sweep")]
    else:
        points = mapper(point, jobs)
    results = {(k, b): p for (k, _, b), p in zip(jobs, points)}
    return results


class SingleFlips(NamedTuple):
    """Samples of :func:`single_flip_losses`, one array per bit position (index 0 = LSB)."""

    losses: list        #: normalized losses (%) of the single flips
    values: list        #: the flipped parameters' clean values (float32)
    index: list         #: the flipped parameters' positions in ``StoredWeights.flat``


def single_flip_losses(st: StoredWeights, n_per_bit: int, seed: int, *, stream: int = 70,
                       progress: Callable = _no_progress) -> SingleFlips:
    """Normalized loss (%) of flipping one bit of one parameter, for every bit position.

    Per bit position (LSB first), ``min(n_per_bit, n_words)`` distinct parameters are drawn without
    replacement from ``default_rng([seed, stream, 999])`` (one generator for all positions, in order),
    and each is evaluated with only that bit inverted.
    """
    n_per_bit = _check_count("n_per_bit", n_per_bit)
    rng = np.random.default_rng([seed, stream, 999])
    losses, values, index = [], [], []
    for bit in progress(range(st.width), desc="single flips"):
        idx = rng.choice(st.n_words, size=min(n_per_bit, st.n_words), replace=False)
        losses.append(np.array([normalized_loss_pct(st.clean_acc, st.accuracy(st.with_flipped_bit(j, bit)))
                                for j in idx]))
        values.append(st.flat[idx].astype(np.float32))
        index.append(idx)
    return SingleFlips(losses, values, index)


def first_order_loss(sens: Sequence[np.ndarray], n_words: int, ber_by_bit: Callable[[int], float]
                     ) -> tuple[float, float, float]:
    """First-order expected normalized loss (%) from single-flip samples, with an approximate 95 % interval.

    ``E[loss] = sum_k P(k flips) E[loss | k flips]``; for ``n_words * width * BER << 1`` the ``k = 1`` term
    dominates and ``P(bit b of some word flips) ≈ n_words * BER_b``, so ``E[loss] ≈ sum_b c_b m_b`` with
    ``c_b = n_words * BER_b`` and ``m_b`` the mean single-flip loss at bit ``b``. The interval is the normal
    approximation ``± 1.96 sqrt(sum_b c_b^2 s_b^2 / n_b)`` over the sampled parameters (it does not cover
    the truncation of the expansion, nor failure classes that no sample hit).

    Parameters
    ----------
    sens : sequence of numpy.ndarray
        Single-flip losses per bit position, LSB first (:attr:`SingleFlips.losses`); each non-empty.
    n_words : int
        Words in the stored copy.
    ber_by_bit : callable
        ``ber_by_bit(b)``: BER of bit position ``b``.

    Returns
    -------
    tuple of float
        ``(estimate, low, high)`` in percent.
    """
    if any(np.size(v) == 0 for v in sens):
        raise ValueError("sens needs at least one sample per bit position")
    c = np.array([ber_by_bit(b) * n_words for b in range(len(sens))])
    m = np.array([v.mean() for v in sens])
    var = np.array([v.var(ddof=1) / v.size if v.size > 1 else 0.0 for v in sens])
    return normal_interval(float(c @ m), float(np.sum(c ** 2 * var)))
