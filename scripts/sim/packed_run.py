"""Batches and checking for packed-lane runs (:class:`scripts.sim.packed.PackedLanes`), simulator-independent.

A run is a sequence of :class:`Batch` es (``cycles x lanes`` inputs, the valid pattern, and the golden results
of the valid cycles). :class:`PackedChecker` packs each batch into per-cycle ``din`` ints, and checks the
``dout`` ints that come back: every cycle's ``out_valid`` must equal the ``valid`` of the cycle ``latency``
earlier, and every lane's result must equal the golden bit for bit (numpy, over whole batches). Batches come
from the block's registry entry (``"random"``: its seeded stimulus and golden) or from a generator named in the
job (``"generator": "module:function"``, e.g. the exhaustive multiplier shards of :mod:`scripts.rtl.exhaustive`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Iterator, Mapping

import numpy as np

from scripts.sim.block import random_gaps

__all__ = ["Batch", "PackedChecker", "batches_for", "random_batches"]


@dataclass
class Batch:
    """``inputs[name]``: ``(cycles, lanes)`` (shared inputs ``(cycles,)``); ``valid``: ``(cycles,)`` bool;
    ``expected[name]``: ``(n, lanes)`` results of the cycles ``anchors`` (indices into the batch, ascending) in
    order; ``describe(cycle, lane)`` names the vector of a mismatch."""

    inputs: Mapping[str, np.ndarray]
    valid: np.ndarray
    expected: Mapping[str, np.ndarray]
    anchors: np.ndarray
    label: str = ""


class PackedChecker:
    """Packs batches and checks the returned ``dout`` words (see the module docstring)."""

    def __init__(self, spec, top, latency: int):
        self.spec, self.layout, self.latency = spec, top.layout, int(latency)
        self.cycle_in = 0                      # absolute cycle of the next packed input
        self.cycle_out = 0                     # absolute cycle of the next collected output
        self._expect = []                      # queued (absolute out cycles, expected dict, batch label)
        self.stats = {"vectors": 0, "results": 0, "cycles": 0, "lanes": self.layout.lanes}

    def submit(self, batch: Batch) -> np.ndarray:
        """The batch's ``din`` words, ``(cycles, din words)`` uint64 (:meth:`PackedLayout.pack_words`)."""
        words = self.layout.pack_words(batch.inputs, batch.valid)
        anchors = np.asarray(batch.anchors, np.int64)
        self._expect.append((self.cycle_in + anchors + self.latency, batch.expected, batch.label))
        self.cycle_in += len(words)
        self.stats["vectors"] += int(np.count_nonzero(batch.valid)) * self.layout.lanes
        return words

    def drain_words(self) -> np.ndarray:
        """Idle cycles until every result has come out."""
        n, lanes = self.latency + 1, self.layout.lanes
        idle = {f.name: np.zeros((n, lanes, f.width), bool) if f.width > 64 else np.zeros((n, lanes), np.uint64)
                for f in self.layout.in_fields}
        idle.update({f.name: np.zeros(n, np.uint64) for f in self.layout.shared_fields})
        words = self.layout.pack_words(idle, np.zeros(n, bool))
        self.cycle_in += len(words)
        return words

    def collect(self, words: np.ndarray) -> None:
        """Check ``dout`` words ``(cycles, dout words)`` uint64 of the next cycles."""
        valid, outs = self.layout.unpack_words(words)
        cycles = self.cycle_out + np.flatnonzero(valid)
        self.cycle_out += len(words)
        self.stats["cycles"] = self.cycle_out
        pos = 0
        while pos < len(cycles):
            if not self._expect:
                raise AssertionError(f"{self.spec.name}: unexpected result in cycle {int(cycles[pos])}")
            want_cycles, expected, label = self._expect[0]
            take = min(len(want_cycles), len(cycles) - pos)
            got_cycles = cycles[pos:pos + take]
            if not np.array_equal(got_cycles, want_cycles[:take]):
                i = int(np.flatnonzero(got_cycles != want_cycles[:take])[0])
                raise AssertionError(f"{self.spec.name}: a result came in cycle {int(got_cycles[i])}, expected in "
                                     f"cycle {int(want_cycles[i])} (latency {self.latency}) {label}")
            rows = np.flatnonzero(valid)[pos:pos + take]
            for name, want in expected.items():
                got = outs[name][rows]
                w = np.asarray(want[:take]).astype(np.uint64)
                if not np.array_equal(got, w):
                    r, lane = (int(v) for v in np.argwhere(got != w)[0])
                    raise AssertionError(f"{self.spec.name}: {name} of lane {lane} in cycle {int(got_cycles[r])} is "
                                         f"{int(got[r, lane]):#x}, expected {int(w[r, lane]):#x} {label}")
            self.stats["results"] += take * self.layout.lanes
            pos += take
            if take == len(want_cycles):
                self._expect.pop(0)
            else:
                self._expect[0] = (want_cycles[take:], {k: v[take:] for k, v in expected.items()}, label)

    def finish(self) -> None:
        left = sum(len(c) for c, _, _ in self._expect)
        if left:
            raise AssertionError(f"{self.spec.name}: {left} result cycles never came out")


def random_batches(spec, top, rng: np.random.Generator, n: int, gaps: float = 0.0,
                   batch_cycles: int = 2048, first_cycles: int | None = None) -> Iterator[Batch]:
    """``n`` vectors (rounded up to whole cycles) of the block's seeded stimulus, corners first, in batches of
    ``batch_cycles`` cycles; with ``first_cycles`` the first batch has that many and each next one twice as many up
    to ``batch_cycles`` (on the stream path the simulator waits for the first batch only, so a short one lets it
    start sooner).

    The registry's ``packed_stimulus(dut, rng, cycles, lanes)`` (if any) gives ``(inputs, valid-free
    stimulus)``; otherwise the block's ``stimulus(dut, rng, cycles * lanes)`` is laid out lane-fastest and its
    golden reshaped the same way (elementwise blocks).
    """
    lanes = top.lanes
    single = top._copies[0]
    total = -(-n // lanes)
    done = 0
    size = batch_cycles if first_cycles is None else max(1, min(int(first_cycles), batch_cycles))
    while done < total:
        cycles = min(size, total - done)
        size = min(2 * size, batch_cycles)
        if spec.packed_stimulus is not None:
            inputs, expected = spec.packed_stimulus(single, rng, cycles, lanes)
            anchors = expected.pop("_anchors")
            valid = np.ones(cycles, bool)
        else:
            stim = spec.stimulus(single, rng, cycles * lanes)
            inputs = {k: np.asarray(v)[:cycles * lanes].reshape(cycles, lanes) for k, v in stim.inputs.items()}
            got = spec.golden(single, stim).outputs
            expected = {k: np.asarray(v)[:cycles * lanes].reshape(cycles, lanes) for k, v in got.items()}
            anchors = np.arange(cycles)
            valid = np.ones(cycles, bool)
        if gaps > 0:          # idle cycles between valid ones: spread the batch out, idle inputs are garbage
            g = random_gaps(rng, cycles, gaps)
            pos = np.arange(cycles) + np.cumsum(g)
            full = int(pos[-1]) + 1
            valid = np.zeros(full, bool)
            valid[pos] = True
            spread = {}
            for k, v in inputs.items():
                junk = rng.integers(0, 1 << 16, (full, *v.shape[1:]), dtype=np.uint64).astype(v.dtype) \
                    if v.dtype != np.bool_ else rng.random((full, *v.shape[1:])) < 0.5
                junk[pos] = v
                spread[k] = junk
            inputs, anchors = spread, pos[anchors]
        yield Batch(inputs, valid, expected, np.asarray(anchors), f"(batch from cycle-of-stimulus {done})")
        done += cycles


def batches_for(params: Mapping, spec, top, rng: np.random.Generator) -> Iterator[Batch]:
    """The batches of a job: ``{"kind": "random", "n", "gaps", "batch_cycles"}`` or ``{"generator":
    "module:function", ...}`` (called as ``function(job, spec, top)``). Random batches hold ``2^17`` vectors (at
    least 2048 cycles; the first a sixteenth, doubling) unless ``batch_cycles`` says otherwise: on the stream path
    each batch costs the simulator one wake-up of Python, which may wait for the numpy thread to drop the GIL (measured on the 16-lane
    bitcounter: 6.9-8.0 us per cycle at 8192-cycle batches, 9.9-10.1 at 2048)."""
    job = dict(params["job"])
    if "generator" in job:
        module, func = job["generator"].split(":")
        return getattr(importlib.import_module(module), func)(job, spec, top)
    if "batch_cycles" in job:
        return random_batches(spec, top, rng, int(job.get("n", 1000)), float(job.get("gaps", 0.0)),
                              int(job["batch_cycles"]))
    cycles = max(2048, (1 << 17) // top.lanes)
    return random_batches(spec, top, rng, int(job.get("n", 1000)), float(job.get("gaps", 0.0)), cycles,
                          first_cycles=cycles // 16)
