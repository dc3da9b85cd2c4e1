"""Packed lanes: ``L`` unmodified copies of a stream block behind ONE wide input port and ONE wide output port.

cocotb pays a fixed cost per clock cycle and per signal access (:mod:`scripts.sim.lanes` still costs one access
per port and lane group). :class:`PackedLanes` makes a cycle cost exactly one write (``din``) and one read
(``dout``) of a Python int, whatever ``L``:

* ``din``: lane 0's input fields, lane 1's, ... (each lane a whole number of 64-bit words, fields in the order of
  the block's :class:`~scripts.sim.contract.StreamPorts` ``inputs``), then above them the valid bit and any input
  all lanes share (e.g. the bitcounter's ``first``/``last``);
* ``dout``: the lanes' output fields the same way, then ``out_valid`` of lane 0 (every lane sees the same valid,
  so their output flags are identical).

:class:`PackedLayout` converts between numpy arrays of per-lane fields and the per-cycle Python ints, vectorised
over cycles and lanes (bit matrices through ``np.packbits`` / ``np.unpackbits``; one ``int.from_bytes`` /
``int.to_bytes`` per cycle, no per-lane Python loop). Only blocks with a fixed latency, one result per input and
no back-pressure qualify.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from amaranth.hdl import Module, Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from model.checks import check_int
from scripts.sim.contract import StreamPorts
from scripts.sim.lanes import ForwardToLane

__all__ = ["PackedLanes", "PackedLayout", "Field"]


@dataclass(frozen=True)
class Field:
    name: str
    width: int
    offset: int      # bit offset inside the lane word (or, for shared fields, above the lanes)


def _place(fields: Sequence[tuple[str, int]]) -> tuple[list[Field], int]:
    """Offsets inside a lane word: a field never straddles a 64-bit word (it moves to the next one) and a field
    wider than 64 bits starts on a word; the lane stride is a whole number of 64-bit words."""
    out, off = [], 0
    for name, width in fields:
        if width > 64 or off // 64 != (off + width - 1) // 64:
            off = -(-off // 64) * 64
        out.append(Field(name, width, off))
        off += width if width <= 64 else -(-width // 64) * 64
    return out, max(64, -(-off // 64) * 64)


class PackedLayout:
    """Bit layout of ``din`` / ``dout`` of a :class:`PackedLanes` and the vectorised packing.

    Lane ``i`` occupies bits ``[i * stride, (i + 1) * stride)`` (``stride`` a multiple of 64, fields placed by
    :func:`_place`); above the lanes, ``din`` carries ``valid`` and the shared inputs, ``dout`` the output valid.
    Padding bits are unused. Lanes of 64-bit words let numpy build and split the per-cycle ints without any
    per-lane Python.

    Parameters
    ----------
    widths : mapping port -> width
        Every input and output port of the block.
    ports : StreamPorts
    lanes : int
    shared : sequence of str
        Inputs (besides ``valid``) carried once for all lanes.
    """

    def __init__(self, widths: Mapping[str, int], ports: StreamPorts, lanes: int, shared: Sequence[str] = ()):
        self.lanes = check_int("lanes", lanes, min=1)
        self.ports, self.shared = ports, tuple(shared)
        unknown = set(self.shared) - set(ports.inputs)
        if unknown:
            raise ValueError(f"shared inputs {sorted(unknown)} are not data inputs of the block")
        self.in_fields, self.in_stride = _place([(n, widths[n]) for n in ports.inputs if n not in self.shared])
        self.out_fields, self.out_stride = _place([(n, widths[n]) for n in ports.outputs])
        top = lanes * self.in_stride
        self.valid_bit = top
        self.shared_fields, off = [], top + 1
        for name in self.shared:
            self.shared_fields.append(Field(name, widths[name], off))
            off += widths[name]
        if off - top > 64:
            raise ValueError("valid and the shared inputs must fit in 64 bits")
        self.din_width = off
        self.out_valid_bit = lanes * self.out_stride
        self.dout_width = self.out_valid_bit + 1

    @staticmethod
    def _words(values, field: Field, shape) -> tuple[int, np.ndarray]:
        """(first word index, uint64 words ``shape + (n,)``) of one field's values, already shifted in place.
        ``values``: unsigned ints of ``shape`` (fields of up to 64 bits), a bool bit matrix ``shape + (width,)``
        (any width; bit 0 first) or, for a field wider than 64 bits, its uint64 words ``shape + (words,)`` (least
        significant first, unused high bits zero)."""
        v = np.asarray(values)
        if v.dtype == np.uint64 and v.ndim == len(shape) + 1 and field.width > 64:     # already 64-bit words
            nw = -(-field.width // 64)
            if v.shape[-1] != nw:
                raise ValueError(f"field {field.name!r} needs {nw} 64-bit words, got {v.shape[-1]}")
            return field.offset // 64, v
        if v.dtype == np.bool_ and v.ndim == len(shape) + 1:
            if v.shape[-1] != field.width:
                raise ValueError(f"field {field.name!r} has {field.width} bits, got a bit matrix of {v.shape[-1]}")
            nw = -(-field.width // 64)
            pad = np.zeros((*v.shape[:-1], nw * 64 - field.width), bool)
            raw = np.packbits(np.concatenate([v, pad], axis=-1), axis=-1, bitorder="little")
            words = np.ascontiguousarray(raw).view("<u8").reshape(*shape, nw)
            if field.width <= 64:
                return field.offset // 64, words << np.uint64(field.offset % 64)
            return field.offset // 64, words
        if field.width > 64:
            raise ValueError(f"field {field.name!r} ({field.width} bits) must be a bool bit matrix of that width")
        w = v.astype(np.uint64) & np.uint64((1 << field.width) - 1 if field.width < 64 else (1 << 64) - 1)
        return field.offset // 64, (w << np.uint64(field.offset % 64)).reshape(*shape, 1)

    def pack(self, inputs: Mapping[str, np.ndarray], valid) -> list[int]:
        """Per-cycle ``din`` ints (:meth:`pack_words` as Python ints)."""
        words = self.pack_words(inputs, valid)
        data, n = words.astype("<u8").tobytes(), words.shape[1] * 8
        return [int.from_bytes(data[t * n:(t + 1) * n], "little") for t in range(len(words))]

    def pack_words(self, inputs: Mapping[str, np.ndarray], valid) -> np.ndarray:
        """Per-cycle ``din`` as ``(cycles, lanes * stride / 64 + 1)`` uint64 words, least significant first.
        ``inputs[name]`` is ``(cycles, lanes)`` (for a field wider than 64 bits ``(cycles, lanes, width)`` bool or
        ``(cycles, lanes, words)`` uint64);
        shared inputs are ``(cycles,)``; ``valid`` is ``(cycles,)``."""
        valid = np.asarray(valid, bool)
        cycles = len(valid)
        k = self.in_stride // 64
        words = np.zeros((cycles, self.lanes * k + 1), np.uint64)      # the last word: valid and shared inputs
        lanes = words[:, :-1].reshape(cycles, self.lanes, k)
        for f in self.in_fields:
            v = np.asarray(inputs[f.name])
            if v.shape[:2] != (cycles, self.lanes):
                raise ValueError(f"input {f.name!r} has shape {v.shape[:2]}, expected ({cycles}, {self.lanes})")
            i, w = self._words(v, f, (cycles, self.lanes))
            lanes[:, :, i:i + w.shape[-1]] |= w
        words[:, -1] = valid
        for f in self.shared_fields:
            words[:, -1] |= (np.asarray(inputs[f.name]).astype(np.uint64) & np.uint64((1 << f.width) - 1)) \
                << np.uint64(f.offset - self.valid_bit)
        return words

    def pack_outputs(self, outputs: Mapping[str, np.ndarray], cycles_idx, total: int) -> np.ndarray:
        """The ``dout`` words ``(total, dout_words)`` uint64 a correct block shows: ``outputs[name]`` ``(n, lanes)``
        in the cycles ``cycles_idx`` (with ``out_valid``), zero elsewhere (a C++ harness compares against them)."""
        idx = np.asarray(cycles_idx, np.int64)
        k = self.out_stride // 64
        words = np.zeros((total, self.lanes * k + 1), np.uint64)
        view = words[:, :-1].reshape(total, self.lanes, k)
        for f in self.out_fields:
            v = np.asarray(outputs[f.name]).astype(np.uint64) & np.uint64((1 << f.width) - 1)
            view[idx, :, f.offset // 64] |= v << np.uint64(f.offset % 64)
        words[idx, -1] = 1
        return words

    @property
    def dout_words(self) -> int:
        """64-bit words of ``dout`` (:meth:`unpack_words`)."""
        return self.lanes * self.out_stride // 64 + 1

    def unpack(self, words: Sequence[int]) -> tuple[np.ndarray, dict]:
        """:meth:`unpack_words` of per-cycle ``dout`` ints."""
        n = self.dout_words * 8
        raw = np.frombuffer(b"".join(int(w).to_bytes(n, "little") for w in words), "<u8")
        return self.unpack_words(raw.reshape(len(words), -1))

    def unpack_words(self, raw: np.ndarray) -> tuple[np.ndarray, dict]:
        """``(out_valid (cycles,), {output: (cycles, lanes) uint64})`` of ``(cycles, dout_words)`` uint64 words
        (fields of up to 64 bits)."""
        k = self.out_stride // 64
        lw = raw[:, :-1].reshape(len(raw), self.lanes, k)
        out = {}
        for f in self.out_fields:
            if f.width > 64:
                raise ValueError(f"output {f.name!r} is wider than 64 bits")
            v = lw[:, :, f.offset // 64] >> np.uint64(f.offset % 64)
            out[f.name] = v & np.uint64((1 << f.width) - 1) if f.width < 64 else v
        return (raw[:, -1] & 1).astype(bool), out


class PackedLanes(ForwardToLane, wiring.Component):
    """``lanes`` copies of ``factory()`` behind ``din`` / ``dout`` (see the module docstring).

    Parameters
    ----------
    factory : callable -> wiring.Component
        Builds one copy of the block.
    ports : StreamPorts
        The block's stream ports (no ``ready``/``out_ready``).
    lanes : int
    shared : sequence of str
        Inputs carried once for all lanes (besides ``valid``).
    """

    def __init__(self, factory: Callable[[], wiring.Component], ports: StreamPorts, lanes: int,
                 shared: Sequence[str] = ()):
        if ports.ready or ports.out_ready:
            raise ValueError("packed lanes need a block without back-pressure (ready / out_ready)")
        self._copies = [factory() for _ in range(check_int("lanes", lanes, min=1))]
        members = self._copies[0].signature.members
        widths = {name: Shape.cast(m.shape).width for name, m in members.items()}
        self.layout = PackedLayout(widths, ports, lanes, shared)
        self._ports = ports
        super().__init__({"din": In(self.layout.din_width), "dout": Out(self.layout.dout_width)})
        self._forward = True

    lanes = property(lambda self: self.layout.lanes)

    def elaborate(self, platform):
        m = Module()
        lay, p = self.layout, self._ports
        for i, copy in enumerate(self._copies):
            m.submodules[f"lane{i}"] = copy
            m.d.comb += getattr(copy, p.valid).eq(self.din[lay.valid_bit])
            for f in lay.shared_fields:
                m.d.comb += getattr(copy, f.name).eq(self.din[f.offset:f.offset + f.width])
            base = i * lay.in_stride
            for f in lay.in_fields:
                m.d.comb += getattr(copy, f.name).eq(self.din[base + f.offset:base + f.offset + f.width])
            base = i * lay.out_stride
            for f in lay.out_fields:
                m.d.comb += self.dout[base + f.offset:base + f.offset + f.width].eq(getattr(copy, f.name))
        m.d.comb += self.dout[lay.out_valid_bit].eq(getattr(self._copies[0], p.out_valid))
        return m
