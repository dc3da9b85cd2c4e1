"""Behavioural memory-array model and a bit-error injector, served to the RTL by the memory responder.

:class:`ArrayModel` is the simplest behavioural array (``depth`` words of ``width`` bits, access counters); every
MRAM array model of the project offers the same ``read(addr)`` / ``write(addr, data)`` pair, which is all that
:class:`scripts.sim.contract.MemoryResponder` needs to bridge it into a testbench in either simulator.
:class:`BitFlipInjector` is the responder's error-injection hook: independent bit flips at a bit error rate,
reproducible from a seed and the access number alone, so a golden model can replay exactly what was served.
"""

from __future__ import annotations

import numpy as np

from model.checks import check_int, check_real

__all__ = ["ArrayModel", "BitFlipInjector", "pack_rows", "unpack_rows"]


def pack_rows(bits) -> list[int]:
    """Rows of a (rows, width) 0/1 matrix as Python ints, bit ``j`` of int ``i`` = ``bits[i, j]`` (the RTL's
    ``bits[j]``; column 0 is the least significant bit)."""
    bits = np.asarray(bits, dtype=bool)
    if bits.ndim != 2:
        raise ValueError(f"bits must be 2-D (rows, width), got shape {bits.shape}")
    packed = np.packbits(bits, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def unpack_rows(words, width: int) -> np.ndarray:
    """Inverse of :func:`pack_rows`: a (len(words), width) bool matrix."""
    nbytes = (width + 7) // 8
    raw = np.frombuffer(b"".join(int(w).to_bytes(nbytes, "little") for w in words), np.uint8)
    return np.unpackbits(raw.reshape(-1, nbytes), axis=1, bitorder="little")[:, :width].astype(bool)


class ArrayModel:
    """``depth`` words of ``width`` bits with read/write counters.

    Parameters
    ----------
    depth : int
        Words, >= 1.
    width : int
        Bits per word, >= 1.
    init : sequence of int, optional
        Initial contents (``depth`` values in ``[0, 2**width)``); default all zero.

    Attributes
    ----------
    reads, writes : int
        Accesses so far.
    """

    def __init__(self, depth: int, width: int, init=None):
        self.depth = check_int("depth", depth, min=1)
        self.width = check_int("width", width, min=1)
        self._mask = (1 << width) - 1
        if init is None:
            self.words = [0] * depth
        else:
            words = [int(v) for v in init]
            if len(words) != depth:
                raise ValueError(f"init must have depth = {depth} words, got {len(words)}")
            bad = [v for v in words if not 0 <= v <= self._mask]
            if bad:
                raise ValueError(f"init words must be in [0, 2**{width}), got {bad[0]}")
            self.words = words
        self.reads = 0
        self.writes = 0

    def _check_addr(self, addr: int) -> int:
        if not 0 <= addr < self.depth:
            raise IndexError(f"addr must be in [0, {self.depth}), got {addr}")
        return addr

    def read(self, addr: int) -> int:
        self.reads += 1
        return self.words[self._check_addr(int(addr))]

    def write(self, addr: int, data: int) -> None:
        self.writes += 1
        self.words[self._check_addr(int(addr))] = int(data) & self._mask

    @classmethod
    def from_bits(cls, bits: np.ndarray) -> "ArrayModel":
        """An array holding the rows of a (depth, width) 0/1 matrix, bit ``j`` of word ``i`` = ``bits[i, j]``."""
        bits = np.asarray(bits, dtype=bool)
        return cls(bits.shape[0], bits.shape[1], pack_rows(bits))

    def bits(self) -> np.ndarray:
        """Contents as a (depth, width) bool matrix (inverse of :meth:`from_bits`)."""
        return unpack_rows(self.words, self.width)


class BitFlipInjector:
    """Error-injection hook: flips each bit of a served word independently with probability ``ber``.

    ``injector(access, addr, data)`` returns the word as served. The flips of read number ``access`` depend only on
    ``(seed, access)``, so a golden model replays them with the same call.

    Parameters
    ----------
    ber : float
        Bit error rate in [0, 1] (e.g. from :mod:`model.stt_ai.stt_mram` for a Δ and a retention time).
    width : int
        Bits per word.
    seed : int
    """

    def __init__(self, ber: float, width: int, seed: int = 0):
        self.ber = check_real("ber", ber, min=0.0, max=1.0)
        self.width = check_int("width", width, min=1)
        self.seed = int(seed)

    def flips(self, access: int) -> int:
        """The XOR mask of read number ``access``."""
        if self.ber == 0:
            return 0
        rng = np.random.default_rng([self.seed, int(access)])
        k = int(rng.binomial(self.width, self.ber))
        if k == 0:
            return 0
        mask = 0
        for b in rng.choice(self.width, size=k, replace=False).tolist():
            mask |= 1 << b
        return mask

    def __call__(self, access: int, addr: int, data: int) -> int:
        return int(data) ^ self.flips(access)
