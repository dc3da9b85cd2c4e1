"""Random bit errors in stored words (MRAM retention / read-disturb / write errors), vectorised in numpy.

Error model
-----------
Every stored bit flips independently with probability ``ber`` (a binary symmetric channel: the
combined retention-failure, read-disturb and write-error probability of stt-ai-mishty-sadi.txt,
Section V-C, which treats BER as one per-bit number). One call corrupts one stored copy of the
words; the errors persist (the same corrupted copy serves every inference), so an accuracy experiment
draws one copy per seed and evaluates the whole test set on it.

Modes
-----
``"all"``
    every bit of every word at ``ber`` (STT-AI: one bank, BER 1e-9 for weight storage with
    Δ_PT_GB = 55, 1e-8 for the global buffer with Δ_PT_GB = 27.5; Section V-C).
``"split"``
    STT-AI Ultra (Section V-D, Fig. 17, Fig. 21): "the first half of the weight/fmap bits are considered
    significant (MSB group) and stored in Δ_PT_GB = 27.5 bank [BER 1e-8], and the rest of the LSB
    groups in Δ_PT_GB = 17.5 bank [BER 1e-5]". The ``msb_bits`` most significant bits of each word
    flip at ``ber_msb``, the remaining low bits at ``ber_lsb``.

    Decision: the paper says "half", so ``msb_bits`` defaults to ``width // 2``. For BF16
    (sign 15, exponent 14..7, mantissa 6..0) that puts bits 15..8 (sign + the top 7 exponent bits) in
    the MSB group and bits 7..0 (the exponent's least significant bit + the 7 mantissa bits) in the
    LSB group — the cut goes through the exponent, so an LSB-bank error can scale a weight by 2 or 1/2.
    ``msb_bits=9`` (sign + whole exponent protected) is the alternative the experiment also shows. For
    int8 the halves are bits 7..4 and 3..0 (two's complement: bit 7 is the sign).

Sampling (why it is fast at low BER)
------------------------------------
Drawing one uniform number per bit costs O(bits) however small ``ber`` is. Instead, per bit group of
``N`` bits: draw the number of flips ``k ~ Binomial(N, ber)``, then ``k`` distinct positions uniformly
without replacement (``Generator.choice(N, k, replace=False)``). Given ``k``, independent Bernoulli
flips put the flipped set uniformly at random among the ``C(N, k)`` subsets, so this is *exactly*
the per-bit Bernoulli model in distribution, at O(k) cost for ``k << N`` (numpy uses a hash-set
method then; it degrades to an O(N) permutation only when ``k`` is a large fraction of ``N``, where a
per-bit draw would cost as much anyway). The flips are applied with one ``bitwise_xor.at`` on the
unsigned-integer view of the words.

Words of any 1-, 2-, 4- or 8-byte dtype are accepted (int8/uint8, BF16 from ml_dtypes, float16,
int16, float32, ...); the bit pattern is what gets corrupted, the dtype is kept. The input is never
modified; a new array is returned.
"""

from __future__ import annotations

import numbers

import numpy as np

from model.checks import check_choice, check_probability

__all__ = ["MODES", "flip_bits", "split_groups", "count_flipped_bits", "flipped_bits_per_position"]

MODES = ("all", "split")
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _unsigned_view(words: np.ndarray) -> np.ndarray:
    dt = words.dtype
    if dt.kind in "bOUSMm" or dt.itemsize not in _UINT or dt.fields is not None:
        raise ValueError(f"words must have a numeric dtype of 1, 2, 4 or 8 bytes (e.g. int8, bfloat16, "
                         f"float32), got dtype {dt}")
    return words.view(_UINT[dt.itemsize])


def split_groups(width: int, msb_bits: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bit positions (LSB = 0) of the MSB group and of the LSB group of a ``width``-bit word.

    ``msb_bits`` defaults to ``width // 2`` (the paper's "half"); it must be in ``[0, width]``.
    E.g. ``split_groups(16)`` gives ``([15..8], [7..0])``.
    """
    if width not in (8, 16, 32, 64):
        raise ValueError(f"width must be one of 8, 16, 32, 64 bits, got {width!r}")
    if msb_bits is None:
        msb_bits = width // 2
    if isinstance(msb_bits, bool) or not isinstance(msb_bits, numbers.Integral) or not 0 <= msb_bits <= width:
        raise ValueError(f"msb_bits must be an integer in [0, {width}] for {width}-bit words, got {msb_bits!r}")
    msb = np.arange(width - 1, width - 1 - msb_bits, -1, dtype=np.int64)
    lsb = np.arange(width - 1 - msb_bits, -1, -1, dtype=np.int64)
    return msb, lsb


def _flip_group(flat: np.ndarray, bits: np.ndarray, ber: float, rng: np.random.Generator) -> int:
    """Flip each bit in positions ``bits`` of every word of ``flat`` (in place) with probability ``ber``."""
    n_total = flat.size * bits.size
    if n_total == 0 or ber == 0.0:
        return 0
    k = int(rng.binomial(n_total, ber))
    if k == 0:
        return 0
    pos = rng.choice(n_total, size=k, replace=False)
    word = pos // bits.size
    masks = (np.ones(1, dtype=flat.dtype) << bits[pos % bits.size].astype(flat.dtype))
    np.bitwise_xor.at(flat, word, masks)
    return k


def flip_bits(words, ber=None, *, mode: str = "all", ber_msb=None, ber_lsb=None, msb_bits: int | None = None,
              rng: np.random.Generator) -> np.ndarray:
    """Return a copy of ``words`` with random bit flips (see the module docstring for the model).

    Parameters
    ----------
    words : numpy.ndarray
        Stored words, any shape, dtype of 1, 2, 4 or 8 bytes (not bool/object). Not modified.
    ber : float
        Per-bit flip probability in [0, 1] for ``mode="all"`` (must be omitted for ``"split"``).
    mode : {"all", "split"}
        ``"all"``: every bit at ``ber``. ``"split"``: the ``msb_bits`` top bits at ``ber_msb``, the others
        at ``ber_lsb`` (STT-AI Ultra's two banks).
    ber_msb, ber_lsb : float
        Per-bit flip probabilities in [0, 1] of the two groups (``mode="split"`` only).
    msb_bits : int, optional
        Size of the MSB group, in ``[0, width]``; default ``width // 2`` (``"split"`` only).
    rng : numpy.random.Generator
        Source of randomness; the same generator state gives the same flips.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``words``.

    Raises
    ------
    ValueError
        BER outside [0, 1] (or NaN), unknown ``mode``, a missing/superfluous BER for the mode,
        unsupported dtype, ``msb_bits`` out of range.
    TypeError
        ``rng`` not a ``numpy.random.Generator``; a BER that is not a real number.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    check_choice("mode", mode, MODES)
    words = np.asarray(words)
    out = np.array(words, copy=True, order="C")
    flat = _unsigned_view(out).reshape(-1)
    width = 8 * out.dtype.itemsize
    if mode == "all":
        if ber is None:
            raise ValueError("ber is required for mode='all' (a per-bit probability in [0, 1])")
        if ber_msb is not None or ber_lsb is not None or msb_bits is not None:
            raise ValueError("ber_msb, ber_lsb and msb_bits apply only to mode='split'")
        p = check_probability("ber", ber)
        _flip_group(flat, np.arange(width, dtype=np.int64), p, rng)
    else:
        if ber is not None:
            raise ValueError("ber must not be given for mode='split'; give ber_msb and ber_lsb (each in [0, 1])")
        if ber_msb is None or ber_lsb is None:
            raise ValueError("mode='split' needs both ber_msb and ber_lsb (each in [0, 1])")
        p_msb, p_lsb = check_probability("ber_msb", ber_msb), check_probability("ber_lsb", ber_lsb)
        msb, lsb = split_groups(width, msb_bits)
        _flip_group(flat, msb, p_msb, rng)
        _flip_group(flat, lsb, p_lsb, rng)
    return out


def count_flipped_bits(a, b) -> int:
    """Number of bit positions in which two arrays of the same shape and dtype differ."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        raise ValueError(f"a and b must have the same shape and dtype, got {a.shape} {a.dtype} and {b.shape} {b.dtype}")
    x = np.bitwise_xor(_unsigned_view(np.ascontiguousarray(a)), _unsigned_view(np.ascontiguousarray(b)))
    return int(np.unpackbits(x.view(np.uint8)).sum())


def flipped_bits_per_position(a, b) -> np.ndarray:
    """Count of differing bits per bit position (index 0 = LSB) between two same-shape/dtype arrays."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        raise ValueError(f"a and b must have the same shape and dtype, got {a.shape} {a.dtype} and {b.shape} {b.dtype}")
    x = np.bitwise_xor(_unsigned_view(np.ascontiguousarray(a)), _unsigned_view(np.ascontiguousarray(b))).reshape(-1)
    width = 8 * a.dtype.itemsize
    return np.array([int(np.count_nonzero((x >> np.array(i, dtype=x.dtype)) & np.array(1, dtype=x.dtype)))
                     for i in range(width)], dtype=np.int64)
