"""Wide-signal access for cocotb under Verilator through the simulator's own VPI (``vpiVectorVal``), via ctypes.

cocotb 2.1 moves a signal wider than 32 bits as a binary string (``vpiBinStrVal``): Verilator and cocotb spend
~10 ns per bit on it, which for the thousands of bits of a packed-lane port is most of a clock cycle.
:class:`VpiVector` instead calls ``vpi_put_value`` / ``vpi_get_value`` of the running simulator (exported by the
Verilator executable cocotb builds) with ``vpiVectorVal``: 32-bit ``aval``/``bval`` words copied straight from and
into numpy buffers, so a cycle costs one C call per direction and no Python per bit or per lane.

Writes are immediate (``vpiNoDelay``). cocotb resumes a coroutine waiting for ``RisingEdge(clk)`` when the clock
has risen but before Verilator evaluates that edge (reads then show the values of the cycle the edge ends), so an
immediate write made there is sampled by that very edge; cocotb's own writes are applied after the evaluation
and sampled by the next edge. A loop through this module therefore awaits the edge, then writes the input of the
cycle that edge ends, then reads that cycle's outputs (``tb/cocotb_packed.py``).
"""

from __future__ import annotations

import ctypes

import numpy as np

__all__ = ["VpiVector", "available"]

_VPI_VECTOR_VAL = 9
_VPI_NO_DELAY = 1


class _Vecval(ctypes.Structure):
    _fields_ = [("aval", ctypes.c_uint32), ("bval", ctypes.c_uint32)]


class _Union(ctypes.Union):
    _fields_ = [("str", ctypes.c_char_p), ("integer", ctypes.c_int), ("real", ctypes.c_double),
                ("vector", ctypes.POINTER(_Vecval)), ("misc", ctypes.c_void_p)]


class _Value(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("value", _Union)]


def _lib():
    lib = ctypes.CDLL(None)
    lib.vpi_handle_by_name.restype = ctypes.c_void_p
    lib.vpi_handle_by_name.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    lib.vpi_get_value.restype = None
    lib.vpi_get_value.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Value)]
    lib.vpi_put_value.restype = ctypes.c_void_p
    lib.vpi_put_value.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Value), ctypes.c_void_p, ctypes.c_int]
    return lib


def available() -> bool:
    """True inside a simulator that exports the VPI (the Verilator executable of a cocotb build)."""
    try:
        lib = ctypes.CDLL(None)
        return all(hasattr(lib, f) for f in ("vpi_handle_by_name", "vpi_get_value", "vpi_put_value"))
    except OSError:
        return False


class VpiVector:
    """A ``width``-bit signal named ``path`` (cocotb's ``handle._path``), moved as 32-bit words.

    :meth:`put` writes a ``(nwords, 2)`` uint32 row (``aval``, ``bval = 0``; :meth:`words` makes whole batches of
    them from 64-bit words) given by its address, :meth:`get_into` copies the current value to an address: no
    Python object per cycle but the two calls.
    """

    def __init__(self, path: str, width: int):
        self._lib = _lib()
        self.handle = self._lib.vpi_handle_by_name(path.encode(), None)
        if not self.handle:
            raise RuntimeError(f"VPI has no signal {path!r}")
        self.width = width
        self.nwords = (width + 31) // 32
        self._value = _Value()
        self._value.format = _VPI_VECTOR_VAL
        self._put = self._lib.vpi_put_value
        self._get = self._lib.vpi_get_value
        self._ref = ctypes.byref(self._value)
        self._memmove = ctypes.memmove
        self._nbytes = self.nwords * 8

    @staticmethod
    def words(u64: np.ndarray, nwords: int) -> np.ndarray:
        """``(rows, nwords, 2)`` uint32 vecval buffers of ``(rows, k)`` little-endian 64-bit words."""
        u32 = np.ascontiguousarray(u64.astype("<u8")).view("<u4").reshape(len(u64), -1)[:, :nwords]
        out = np.zeros((len(u64), nwords, 2), np.uint32)
        out[:, :, 0] = u32
        return out

    def put(self, address: int) -> None:
        """Write the value whose ``(nwords, 2)`` uint32 vecval row starts at memory ``address`` (e.g.
        ``rows.ctypes.data + t * rows.strides[0]`` of a C-contiguous buffer from :meth:`words`)."""
        self._value.value.misc = address
        self._put(self.handle, self._ref, None, _VPI_NO_DELAY)

    def get_into(self, address: int) -> None:
        """Copy the current value (``nwords`` vecval pairs) to memory ``address``."""
        self._get(self.handle, self._ref)
        self._memmove(address, self._value.value.misc, self._nbytes)
