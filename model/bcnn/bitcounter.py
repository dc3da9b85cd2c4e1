"""Golden model of the CIM bitcounter (``hw/bitcounter.py``).

Source: ``sot-mram-bcnn-fan-angizi.txt``, Table I: ``I (*) W = BitCount(and(I(B), W(B)))``.
The model works on a stream of rows, like the hardware: one row is a ``width``-bit vector with the flags
``valid``, ``first`` and ``last``; a group total is emitted for every valid row with ``last``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.memory import pack_rows

__all__ = ["RowStream", "ref_bitcounter", "ref_bitcount_reader", "count_width", "random_stream", "binary_dot"]


def count_width(width: int, max_rows: int) -> int:
    """Bits of ``count``: ``ceil(log2(width * max_rows + 1))``."""
    return int(width * max_rows).bit_length()


@dataclass
class RowStream:
    """A cycle-by-cycle stimulus: ``bits[t]`` is row t as a bool array of ``width`` columns."""

    bits: np.ndarray   # (cycles, width) bool
    valid: np.ndarray  # (cycles,) bool
    first: np.ndarray  # (cycles,) bool
    last: np.ndarray   # (cycles,) bool

    def __post_init__(self):
        self.bits = np.asarray(self.bits, dtype=bool)
        if self.bits.ndim != 2:
            raise ValueError(f"bits must be 2-D (cycles, width), got shape {self.bits.shape}")
        n = self.bits.shape[0]
        for name in ("valid", "first", "last"):
            arr = np.asarray(getattr(self, name), dtype=bool)
            if arr.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},) to match bits, got {arr.shape}")
            setattr(self, name, arr)

    @property
    def width(self) -> int:
        return self.bits.shape[1]

    def __len__(self):
        return self.bits.shape[0]

    def packed(self) -> list[int]:
        """Rows as integers, bit i of the integer = column i (the RTL's ``bits[i]``)."""
        return pack_rows(self.bits)


def ref_bitcounter(stream: RowStream, max_rows: int) -> list[int]:
    """Group totals in output order, as the RTL emits them (modulo ``2**count_width``).

    A valid row with ``first`` restarts the total; a valid row with ``last`` emits it.
    """
    mod = 1 << count_width(stream.width, max_rows)
    popcounts = stream.bits.sum(axis=1)
    out, acc = [], 0
    for t in np.flatnonzero(stream.valid):
        acc = int(popcounts[t]) if stream.first[t] else (acc + int(popcounts[t])) % mod
        if stream.last[t]:
            out.append(acc)
    return out


def binary_dot(i_bits: np.ndarray, w_bits: np.ndarray) -> int:
    """Binary convolution term of Table I: ``BitCount(and(I(B), W(B)))`` for 0/1 vectors."""
    i_bits, w_bits = np.asarray(i_bits, dtype=bool), np.asarray(w_bits, dtype=bool)
    if i_bits.shape != w_bits.shape:
        raise ValueError(f"I(B) and W(B) must have the same shape, got {i_bits.shape} and {w_bits.shape}")
    return int(np.logical_and(i_bits, w_bits).sum())


def random_stream(rng: np.random.Generator, width: int, max_rows: int, groups: int,
                  p_gap: float = 0.2, corners: bool = True) -> RowStream:
    """Seeded random groups, with the corners first when ``corners``.

    Corners: a group of ``max_rows`` all-ones rows, an all-zeros group, one-row groups back to back, and a
    group with long ``valid`` gaps. Random groups have random lengths (1 .. min(max_rows, 64)), random
    one-densities, and idle cycles with probability ``p_gap`` between and inside groups.
    """
    rows, valid, first, last = [], [], [], []

    def add_group(group_rows, gap_prob):
        for k, row in enumerate(group_rows):
            while rng.random() < gap_prob:  # idle cycle(s), garbage on the data lines
                rows.append(rng.random(width) < 0.5)
                valid.append(False)
                first.append(bool(rng.integers(2)))
                last.append(bool(rng.integers(2)))
            rows.append(row)
            valid.append(True)
            first.append(k == 0)
            last.append(k == len(group_rows) - 1)

    if corners:
        add_group([np.ones(width, bool)] * max_rows, 0.0)
        add_group([np.zeros(width, bool)] * min(max_rows, 3), 0.0)
        for _ in range(4):
            add_group([rng.random(width) < 0.5], 0.0)
        add_group([np.ones(width, bool)] * min(max_rows, 4), 0.7)
    for _ in range(groups):
        n = int(rng.integers(1, min(max_rows, 64) + 1))
        density = rng.random()
        add_group([rng.random(width) < density for _ in range(n)], p_gap)
    return RowStream(np.array(rows, dtype=bool).reshape(-1, width), valid, first, last)


def ref_bitcount_reader(words, cmd_addr, cmd_rows, width: int, max_rows: int, inject=None) -> list[int]:
    """Golden of :class:`hw.bitcount_reader.BitCountReader`: one total per command with ``rows > 0``.

    Parameters
    ----------
    words : sequence of int
        The array's rows (bit ``j`` of word ``i`` = column ``j`` of row ``i``); ``depth = len(words)``.
    cmd_addr, cmd_rows : sequences of int
        The commands in order; addresses wrap modulo ``depth``.
    width, max_rows : int
        Row width and the block's ``max_rows`` (the total wraps modulo ``2**count_width(width, max_rows)``).
    inject : callable(access, addr, data) -> data, optional
        The memory's error-injection hook, replayed on the reads in the order the block makes them.
    """
    depth = len(words)
    mod = 1 << count_width(width, max_rows)
    out, access = [], 0
    for a, n in zip(np.asarray(cmd_addr).tolist(), np.asarray(cmd_rows).tolist()):
        if n == 0:
            continue
        acc = 0
        for k in range(n):
            addr = (a + k) % depth
            data = int(words[addr])
            if inject is not None:
                data = int(inject(access, addr, data))
            access += 1
            acc = (acc + bin(data).count("1")) % mod
        out.append(acc)
    return out
