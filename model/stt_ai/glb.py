"""Behavioural STT-MRAM global buffer (GLB): capacity, latencies, a tensor allocator, per-tensor access cycles and
per-word bit errors where the paper puts them.

Source: ``stt-ai-mishty-sadi.txt``, Sections III.B, IV and V (the 12 MB STT-MRAM global buffer with scaled Δ,
eqs. (5)-(11) for how long data occupies it, eqs. (14)-(16) for its failure rates, Section V.D for STT-AI Ultra's
two banks). The RTL reaches it through the simulation's memory responder
(:class:`scripts.sim.contract.MemoryResponder` calls :meth:`GlobalBuffer.read` / :meth:`GlobalBuffer.write`; the
latencies here are what the responder is built with).

Three error models, mutually exclusive:

* ``ber`` (today's callers, unchanged): every read flips each bit independently with probability ``ber``
  (:class:`model.memory.BitFlipInjector`, deterministic per ``(seed, read index)``; nothing persists). With tensors
  allocated the same words are served and the accesses are recorded as well.
* ``device=BankDevice(...)``: every bit is an STT-MRAM cell of thermal stability Δ (:class:`BankDevice`).
* ``ultra=(robust, relaxed)``: STT-AI Ultra (Section V.D): the upper half of each element's bits in a robust bank,
  the lower half in a relaxed bank, each a :class:`BankDevice` with its own rates and counters.

Device error model (``device`` / ``ultra``), decisions
------------------------------------------------------
1. **Retention (eq. 14) uses each word's age.** A read at cycle ``t`` of a word last written at cycle ``w`` sees each
   bit failed with P_RF(age) = 1 − exp(−age / (τ·e^Δ)), age = (t − w) / ``clock_hz``. Failures *persist* (a failed
   cell keeps its wrong state until rewritten) and are revealed lazily at each access of the word: between two
   accesses ``dt`` apart, each bit not failed yet fails with P_RF(dt). Because eq. (14) is exponential,
   1 − (1 − P_RF(a))(1 − P_RF(b)) = P_RF(a + b), so the probability that a bit read at age ``a`` has failed is
   exactly P_RF(a) however many accesses came between, and later reads of the same data see a superset of the
   earlier failures (first passage: a failed bit is not "failed again").
2. **Read disturb (eq. 15)** hits each not-yet-disturbed bit of the word at every read with
   P_RD(t_read, Δ, I_r/I_c) and persists; it affects the read that causes it (the conservative reading of the
   paper's cumulative BER, Section V.C) and every later read until the word is rewritten. A disturbed cell is in
   the state the read current favours, so it is not disturbed back.
3. **Write error (eq. 16)** applies to the bits a write must switch (new data ≠ the cell's current state): each
   fails to switch with WER(t_write, Δ, I_w/I_c) and keeps its old state. Bits already in the target state cannot
   fail (eq. 16 is the failure probability of a switching attempt). The current state is the one last sensed or
   written: retention failures the write overwrites since the word's last access are not drawn (they could only
   change which bits must switch, a P_RF·WER effect), so every flip counted can reach a served word.
4. **Words never written** hold 0 and are taken as written at cycle 0.
5. **Replay.** The flips of one mechanism in one bank at one access depend only on ``(seed, bank, mechanism, address,
   n)`` with ``n`` the number of earlier accesses (reads and writes) of that word, plus the probabilities (which
   depend on the word's own access cycles). A golden model that performs the same accesses of a word at the same
   cycles gets the same flips whatever order it visits the words in. Draws: a 64-bit BLAKE2b hash of the key decides
   whether any of the ``k`` candidate bits flips (probability 1 − (1 − p)^k, resolution 2^-64); only then a numpy
   generator seeded with the key draws how many (the binomial conditioned on ≥ 1) and which, so the per-bit
   Bernoulli(p) model holds exactly and an access without flips costs one hash.
6. **Rates per bank.** Each :class:`BankDevice` takes its Δ and its read/write operating point (pulse widths and
   current ratios; :meth:`BankDevice.designed` sets the pulses from target rates like the paper's Fig. 15(c)-(f));
   retention and read disturb share the thermal attempt time τ (:data:`model.stt_ai.stt_mram.TAU_ATTEMPT_S` by
   default; see that module for why the paper's Δ values imply τ = 1 s).
7. **Ultra split.** Each word holds ``width // element_bits`` elements (``element_bits`` defaults to the word
   width); the ``robust_bits`` most significant bits of each element (default half, the paper's "first half of the
   weight/fmap bits ... (MSB group)") are in the robust bank, the rest in the relaxed bank. Both banks are accessed
   by every word access (they hold halves of the same word), so their read/write counts agree; their flips, rates
   and bits accessed are their own.

Allocator and occupancy
-----------------------
:meth:`GlobalBuffer.allocate` places named tensors (weights, every ifmap and ofmap) at word addresses within the
capacity (bump allocation with alignment, or at an explicit base checked for overlap) and raises ``ValueError``
naming the tensor when it does not fit. Every access of an allocated word is recorded in its
:class:`TensorRecord` with its cycle, so a run gives each tensor's occupancy time (first write to last read) and the
largest age any of its words had when read, to compare with the analytic T_ret of eqs. (5)-(11)
(:func:`analytic_retention_cycles`, from :func:`model.stt_ai.dse.retention`).

The access cycle is the caller's simulation cycle: pass ``cycle=`` to :meth:`~GlobalBuffer.read` /
:meth:`~GlobalBuffer.write`, or set :attr:`GlobalBuffer.cycle` (e.g. with :meth:`~GlobalBuffer.set_cycle` from an
agent's ``drive(t)``) before the responder calls them without it.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from model.checks import check_int, check_real
from model.memory import ArrayModel, BitFlipInjector
from model.stt_ai.dse import CLOCK_HZ, GLB_PAPER_BYTES, retention
from model.stt_ai.stt_mram import (TAU_ATTEMPT_S, TAU_WRITE_S, read_disturb_probability, read_pulse_width,
                                   retention_failure_probability, write_error_rate, write_pulse_width)

__all__ = ["GlobalBuffer", "ber_from_device", "BankDevice", "TensorRecord", "MECHANISMS",
           "analytic_retention_cycles"]

#: Error mechanisms of the device model, in the order of their stream number in the replay key (decision 5).
MECHANISMS = ("retention", "read_disturb", "write")
_RET, _RD, _WR = range(3)


def ber_from_device(delta: float, retention_s: float, tau_s: float = TAU_ATTEMPT_S) -> float:
    """Per-bit error probability of data held ``retention_s`` seconds in cells of thermal stability ``delta``."""
    check_real("delta", delta, min=0, min_open=True, type_error=False)
    check_real("retention_s", retention_s, min=0, min_open=True, type_error=False)
    return float(retention_failure_probability(retention_s, delta, tau_s))


@dataclass(frozen=True)
class BankDevice:
    """STT-MRAM cells of one bank: Δ and the read/write operating point that set its error rates.

    Parameters
    ----------
    delta : float
        Thermal stability Δ > 0 the cells have in operation (the worst-case Δ_scaled of eq. (17) for a
        guard-banded design).
    tau_s : float
        Thermal attempt time τ of eqs. (14)-(15) [s], > 0.
    read_pulse_s : float or None
        Read pulse width t_r of eq. (15) [s], > 0; ``None``: no read disturb.
    i_read_ratio : float
        I_r / I_c of eq. (15), in [0, 1) (default 0.3, ours: the value of the stt-delta report section).
    write_pulse_s : float or None
        Write pulse width t_w of eq. (16) [s], >= 0; ``None``: no write errors.
    i_write_ratio : float
        I_w / I_c of eq. (16), > 1 (default 2, ours: as the stt-delta report section).
    tau_write_s : float
        Characteristic switching time of eq. (16) [s], > 0.
    """

    delta: float
    tau_s: float = TAU_ATTEMPT_S
    read_pulse_s: float | None = None
    i_read_ratio: float = 0.3
    write_pulse_s: float | None = None
    i_write_ratio: float = 2.0
    tau_write_s: float = TAU_WRITE_S

    def __post_init__(self):
        check_real("delta", self.delta, min=0, min_open=True, type_error=False)
        check_real("tau_s", self.tau_s, min=0, min_open=True, unit="s", type_error=False)
        if self.read_pulse_s is not None:
            check_real("read_pulse_s", self.read_pulse_s, min=0, min_open=True, unit="s", type_error=False)
        check_real("i_read_ratio", self.i_read_ratio, min=0, max=1, max_open=True, type_error=False)
        if self.write_pulse_s is not None:
            check_real("write_pulse_s", self.write_pulse_s, min=0, unit="s", type_error=False)
        check_real("i_write_ratio", self.i_write_ratio, min=1, min_open=True, type_error=False)
        check_real("tau_write_s", self.tau_write_s, min=0, min_open=True, unit="s", type_error=False)

    @classmethod
    def designed(cls, delta: float, *, rd_rate: float | None = None, wer: float | None = None,
                 tau_s: float = TAU_ATTEMPT_S, i_read_ratio: float = 0.3, i_write_ratio: float = 2.0,
                 tau_write_s: float = TAU_WRITE_S) -> "BankDevice":
        """Cells of Δ = ``delta`` with the pulses the paper's method picks for target rates (Fig. 15(c)-(f)).

        The read pulse is the longest with P_RD = ``rd_rate`` (eq. (15) solved for t_r,
        :func:`~model.stt_ai.stt_mram.read_pulse_width`), the write pulse the shortest with WER = ``wer``
        (eq. (16) solved for t_w, :func:`~model.stt_ai.stt_mram.write_pulse_width`); ``None`` leaves that
        mechanism off. Both rates are then the targets at this Δ (or below, where a zero-length write pulse
        already meets ``wer``).
        """
        rd = None if rd_rate is None else float(read_pulse_width(delta, i_read_ratio, rd_rate, tau_s))
        wr = None if wer is None else float(write_pulse_width(delta, i_write_ratio, wer, tau_write_s))
        return cls(delta, tau_s, rd, i_read_ratio, wr, i_write_ratio, tau_write_s)

    def p_retention(self, age_s: float) -> float:
        """Retention failure probability after ``age_s`` seconds, eq. (14); 0 for ``age_s <= 0``."""
        return 0.0 if age_s <= 0 else float(retention_failure_probability(age_s, self.delta, self.tau_s))

    @property
    def p_read_disturb(self) -> float:
        """Read-disturb probability per bit and read, eq. (15) (0 without a read pulse)."""
        if self.read_pulse_s is None:
            return 0.0
        return float(read_disturb_probability(self.read_pulse_s, self.delta, self.i_read_ratio, self.tau_s))

    @property
    def p_write_error(self) -> float:
        """Write error rate per switching bit, eq. (16) (0 without a write pulse)."""
        if self.write_pulse_s is None:
            return 0.0
        return float(write_error_rate(self.write_pulse_s, self.delta, self.i_write_ratio, self.tau_write_s))


@dataclass
class TensorRecord:
    """One allocated tensor and every access of its words.

    Attributes
    ----------
    name, kind : str
        Its name (unique) and a free label (``"weights"``, ``"ifmap"``, ...).
    base, words : int
        First word address and size in words.
    write_cycles, read_cycles : list of int
        The cycle of each write (loads included) and read of any of its words, in access order.
    max_read_age : int or None
        Largest age (read cycle minus that word's last write cycle) of any read.
    bit_flips : int
        Cell flips injected in its words (all mechanisms and banks).
    error_bits : int
        Bits served by its reads that differ from the data last written.
    """

    name: str
    kind: str
    base: int
    words: int
    write_cycles: list = field(default_factory=list)
    read_cycles: list = field(default_factory=list)
    max_read_age: int | None = None
    bit_flips: int = 0
    error_bits: int = 0

    @property
    def end(self) -> int:
        """One past the last word address."""
        return self.base + self.words

    @property
    def first_write(self) -> int | None:
        return min(self.write_cycles) if self.write_cycles else None

    @property
    def last_read(self) -> int | None:
        return max(self.read_cycles) if self.read_cycles else None

    @property
    def occupancy_cycles(self) -> int | None:
        """Cycles from the first write to the last read (the tensor's time in the GLB, cf. T_ret of eqs. (7),
        (10), (11)); ``None`` until it has been both written and read."""
        if not self.write_cycles or not self.read_cycles:
            return None
        return self.last_read - self.first_write

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "base": self.base, "words": self.words,
                "writes": len(self.write_cycles), "reads": len(self.read_cycles),
                "first_write": self.first_write, "last_write": max(self.write_cycles) if self.write_cycles else None,
                "first_read": min(self.read_cycles) if self.read_cycles else None, "last_read": self.last_read,
                "occupancy_cycles": self.occupancy_cycles, "max_read_age": self.max_read_age,
                "bit_flips": self.bit_flips, "error_bits": self.error_bits}


class _Bank:
    """Bit mask, device and counters of one bank (internal)."""

    def __init__(self, name: str, index: int, mask: int, device: BankDevice):
        self.name, self.index, self.mask, self.device = name, index, mask, device
        self.bits = mask.bit_count()
        self.p_rd = device.p_read_disturb
        self.p_wr = device.p_write_error
        self._p_ret: dict = {}
        self.reads = self.writes = 0
        self.flips = dict.fromkeys(MECHANISMS, 0)
        self.error_bits = 0

    def p_retention(self, cycles: int, clock_hz: float) -> float:
        p = self._p_ret.get(cycles)
        if p is None:
            if len(self._p_ret) > 65536:
                self._p_ret.clear()
            p = self._p_ret[cycles] = self.device.p_retention(cycles / clock_hz)
        return p

    def counters(self) -> dict:
        return {"bits_per_word": self.bits, "delta": self.device.delta, "reads": self.reads, "writes": self.writes,
                "bits_read": self.reads * self.bits, "bits_written": self.writes * self.bits,
                "bit_flips": sum(self.flips.values()), "flips": dict(self.flips), "error_bits": self.error_bits,
                "p_read_disturb": self.p_rd, "p_write_error": self.p_wr}


class _Word:
    """Per-word state of the device model / tensor records (internal)."""

    __slots__ = ("wcycle", "seen", "n", "ret", "rd", "intended")

    def __init__(self, data: int):
        self.wcycle = 0       # cycle of the last write (decision 4: never written = written at 0)
        self.seen = 0         # cycle up to which retention failures are revealed
        self.n = 0            # accesses of this word so far (replay key, decision 5)
        self.ret = 0          # bits failed by retention since the last write
        self.rd = 0           # bits disturbed by reads since the last write
        self.intended = data  # the data last written


class GlobalBuffer(ArrayModel):
    """A word-addressed STT-MRAM buffer of ``words`` x ``width`` bits.

    Parameters
    ----------
    words, width : int
        Capacity in words and bits per word.
    read_latency, write_latency : int
        Cycles from request to completion at the memory port (>= 1).
    ber : float
        Bit error probability applied to each read, in [0, 1) (0: no errors); excludes ``device``/``ultra``.
    seed : int
        Seed of the error pattern.
    device : BankDevice, optional
        All bits are cells of this device (decisions 1-6 of the module docstring).
    ultra : (BankDevice, BankDevice), optional
        STT-AI Ultra: (robust, relaxed) banks (decision 7); excludes ``device``.
    element_bits : int, optional
        Bits per element in a word for the Ultra split, dividing ``width`` (default ``width``).
    robust_bits : int, optional
        Most significant bits of each element in the robust bank, in [0, element_bits] (default half).
    clock_hz : float
        Clock that converts access cycles into seconds for eq. (14) (default 1 GHz, Table II).

    Attributes
    ----------
    reads, writes, injected_bits : int
        Accesses served, and bits served that differ from the data written (``ber``: bits the injector flipped).
    loaded_words : int
        Words written with :meth:`load` (not counted in ``writes``).
    cycle : int
        Cycle used by accesses that do not pass one.
    tensors : dict of str to TensorRecord
        Allocated tensors in allocation order.
    """

    def __init__(self, words: int, width: int, *, read_latency: int = 2, write_latency: int = 4,
                 ber: float = 0.0, seed: int = 0, device: BankDevice | None = None,
                 ultra: tuple | None = None, element_bits: int | None = None, robust_bits: int | None = None,
                 clock_hz: float = CLOCK_HZ):
        super().__init__(check_int("words", words, min=1), check_int("width", width, min=1))
        self.read_latency = check_int("read_latency", read_latency, min=1, type_error=False)
        self.write_latency = check_int("write_latency", write_latency, min=1, type_error=False)
        self.ber = check_real("ber", ber, min=0, max=1, max_open=True, type_error=False)
        self.seed = check_int("seed", seed, min=0, type_error=False)
        self.clock_hz = check_real("clock_hz", clock_hz, min=0, min_open=True, unit="Hz", type_error=False)
        if device is not None and ultra is not None:
            raise ValueError("device and ultra exclude each other (one bank or STT-AI Ultra's two)")
        if self.ber > 0 and (device is not None or ultra is not None):
            raise ValueError("ber and device/ultra exclude each other (a flat BER or the device model)")
        self._inject = BitFlipInjector(self.ber, width, seed) if self.ber > 0 else None
        self.injected_bits = 0
        self.loaded_words = 0
        self.cycle = 0
        self.tensors: dict[str, TensorRecord] = {}
        self._bases: list[int] = []          # sorted bases of the tensors
        self._by_base: list[TensorRecord] = []
        self._next = 0                        # bump pointer of the allocator
        self._state: dict[int, _Word] = {}
        self.banks = self._make_banks(device, ultra, element_bits, robust_bits)

    # ------------------------------------------------------------------------------------------ construction
    @classmethod
    def of_bytes(cls, width: int, capacity_bytes: int = GLB_PAPER_BYTES, **kwargs) -> "GlobalBuffer":
        """A buffer of ``capacity_bytes`` (default 12 MB, Section V.A) in words of ``width`` bits (a multiple of 8).

        Other keyword arguments as the constructor.
        """
        width = check_int("width", width, min=8)
        if width % 8:
            raise ValueError(f"width must be a multiple of 8 bits to size the buffer in bytes, got {width}")
        capacity_bytes = check_int("capacity_bytes", capacity_bytes, min=width // 8)
        return cls(capacity_bytes // (width // 8), width, **kwargs)

    def _make_banks(self, device, ultra, element_bits, robust_bits) -> list[_Bank]:
        full = (1 << self.width) - 1
        if device is None and ultra is None:
            if element_bits is not None or robust_bits is not None:
                raise ValueError("element_bits and robust_bits apply only to ultra=(robust, relaxed)")
            return []
        if device is not None:
            if not isinstance(device, BankDevice):
                raise ValueError(f"device must be a BankDevice, got {type(device).__name__}")
            if element_bits is not None or robust_bits is not None:
                raise ValueError("element_bits and robust_bits apply only to ultra=(robust, relaxed)")
            return [_Bank("main", 0, full, device)]
        if not (isinstance(ultra, (tuple, list)) and len(ultra) == 2 and all(isinstance(d, BankDevice) for d in ultra)):
            raise ValueError("ultra must be a pair (robust, relaxed) of BankDevice")
        e = self.width if element_bits is None else check_int("element_bits", element_bits, min=1,
                                                                max=self.width, type_error=False)
        if self.width % e:
            raise ValueError(f"element_bits must divide the word width {self.width}, got {e}")
        r = e // 2 if robust_bits is None else check_int("robust_bits", robust_bits, min=0, max=e, type_error=False)
        element_robust = ((1 << e) - 1) ^ ((1 << (e - r)) - 1)   # the r most significant bits of one element
        robust = 0
        for k in range(self.width // e):
            robust |= element_robust << (k * e)
        return [_Bank("robust", 0, robust, ultra[0]), _Bank("relaxed", 1, full ^ robust, ultra[1])]

    # ---------------------------------------------------------------------------------------------- allocator
    @property
    def free_words(self) -> int:
        """Words above the highest allocated tensor."""
        return self.depth - self._next

    def words_for(self, elements: int, element_bits: int) -> int:
        """Words that ``elements`` packed elements of ``element_bits`` bits occupy (elements do not straddle
        words: ``width // element_bits`` per word)."""
        elements = check_int("elements", elements, min=0, type_error=False)
        element_bits = check_int("element_bits", element_bits, min=1, max=self.width, type_error=False)
        return -(-elements // (self.width // element_bits))

    def allocate(self, name: str, words: int, *, kind: str = "", align: int = 1, base: int | None = None) -> int:
        """Place tensor ``name`` of ``words`` words and return its base address.

        Parameters
        ----------
        name : str
            Unique tensor name (e.g. ``"conv1.weights"``, ``"conv1.ofmap"``).
        words : int
            Size in words, >= 1.
        kind : str
            Free label kept in its :class:`TensorRecord`.
        align : int
            The base is a multiple of ``align`` words (>= 1); ignored with an explicit ``base``.
        base : int, optional
            Explicit base (must not overlap another tensor); default: the next free aligned address above every
            tensor.

        Raises
        ------
        ValueError
            Duplicate name, bad size/alignment, overlap, or the tensor does not fit in the capacity (the message
            names the tensor, its size and what is left).
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"tensor name must be a non-empty string, got {name!r}")
        if name in self.tensors:
            raise ValueError(f"glb: tensor {name!r} is already allocated")
        words = check_int(f"words of tensor {name!r}", words, min=1, type_error=False)
        align = check_int("align", align, min=1, type_error=False)
        if base is None:
            start = -(-self._next // align) * align
        else:
            start = check_int(f"base of tensor {name!r}", base, min=0, type_error=False)
        if start + words > self.depth:
            raise ValueError(f"glb: tensor {name!r} needs {words} words at address {start}, but the buffer has "
                             f"{self.depth} words of {self.width} bits ({self.depth * self.width // 8} bytes); "
                             f"{max(0, self.depth - start)} words left from there")
        i = bisect.bisect_right(self._bases, start)
        before = self._by_base[i - 1] if i else None
        after = self._by_base[i] if i < len(self._by_base) else None
        for other in (before, after):
            if other is not None and start < other.end and other.base < start + words:
                raise ValueError(f"glb: tensor {name!r} at words [{start}, {start + words}) overlaps tensor "
                                 f"{other.name!r} at [{other.base}, {other.end})")
        rec = TensorRecord(name, str(kind), start, words)
        self.tensors[name] = rec
        self._bases.insert(i, start)
        self._by_base.insert(i, rec)
        self._next = max(self._next, start + words)
        return start

    def tensor_at(self, addr: int) -> TensorRecord | None:
        """The tensor holding word ``addr``, or ``None``."""
        i = bisect.bisect_right(self._bases, addr) - 1
        if i >= 0:
            rec = self._by_base[i]
            if addr < rec.end:
                return rec
        return None

    def occupancy(self) -> dict:
        """``{tensor name: occupancy cycles or None}`` (first write to last read)."""
        return {n: t.occupancy_cycles for n, t in self.tensors.items()}

    # ---------------------------------------------------------------------------------------------- accesses
    def set_cycle(self, cycle: int) -> None:
        """Set :attr:`cycle`, the cycle of accesses that do not pass one (it may not go back)."""
        if not (type(cycle) is int and cycle >= self.cycle):
            cycle = check_int("cycle", cycle, min=self.cycle, type_error=False)
        self.cycle = cycle

    def _cycle(self, cycle) -> int:
        if cycle is None:
            return self.cycle
        if type(cycle) is int and cycle >= 0:   # the common case, without building an error message
            return cycle
        return check_int("cycle", cycle, min=0, type_error=False)

    def _word(self, addr: int, t: int) -> _Word:
        st = self._state.get(addr)
        if st is None:
            st = self._state[addr] = _Word(self.words[addr])
        if t < st.seen:
            raise ValueError(f"cycle must not go back for word {addr}: got {t}, its last access was at {st.seen}")
        return st

    def read(self, addr: int, cycle: int | None = None) -> int:
        """The word at ``addr`` as served at ``cycle`` (default :attr:`cycle`), with the configured errors."""
        if not self.banks and not self.tensors:          # today's callers: no cycle bookkeeping at all
            data = super().read(addr)
            if self._inject is not None:
                served = int(self._inject(self.reads - 1, addr, data))
                self.injected_bits += (served ^ data).bit_count()
                return served
            return data
        addr = self._check_addr(int(addr))
        t = self._cycle(cycle)
        st = self._word(addr, t)        # checks the cycle before anything is counted
        data = super().read(addr)
        flips = wrong = 0
        if self._inject is not None:    # flat BER: nothing persists
            served = int(self._inject(self.reads - 1, addr, data))
            wrong = flips = (served ^ data).bit_count()
            self.injected_bits += flips
            data = served
        elif self.banks:
            n = st.n
            dt = t - st.seen
            for b in self.banks:
                b.reads += 1
                if dt > 0:
                    m = self._flips(b, _RET, addr, n, b.mask & ~st.ret, b.p_retention(dt, self.clock_hz))
                    st.ret |= m
                    data ^= m
                    flips += m.bit_count()
                    b.flips["retention"] += m.bit_count()
                m = self._flips(b, _RD, addr, n, b.mask & ~st.rd, b.p_rd)
                st.rd |= m
                data ^= m
                flips += m.bit_count()
                b.flips["read_disturb"] += m.bit_count()
            self.words[addr] = data
            diff = data ^ st.intended
            for b in self.banks:
                b.error_bits += (diff & b.mask).bit_count()
            wrong = diff.bit_count()
            self.injected_bits += wrong
        st.seen = t
        st.n += 1
        rec = self.tensor_at(addr)
        if rec is not None:
            rec.read_cycles.append(t)
            age = t - st.wcycle
            if rec.max_read_age is None or age > rec.max_read_age:
                rec.max_read_age = age
            rec.bit_flips += flips
            rec.error_bits += wrong
        return data

    def write(self, addr: int, data: int, cycle: int | None = None) -> None:
        """Write ``data`` to ``addr`` at ``cycle`` (default :attr:`cycle`), with write errors if configured."""
        self._store(addr, data, cycle)
        self.writes += 1

    def load(self, base: int, data, cycle: int | None = None) -> None:
        """Write the words ``data`` from address ``base`` on at ``cycle`` (e.g. weights and the input image placed
        in the GLB before the run): like :meth:`write` word by word (write errors, tensor records) but counted in
        :attr:`loaded_words`, not in :attr:`writes`, so :attr:`writes` stays the port's count."""
        base = check_int("base", base, min=0, type_error=False)
        data = [int(d) for d in data]
        if base + len(data) > self.depth:
            raise ValueError(f"load of {len(data)} words at base {base} exceeds the buffer's {self.depth} words")
        for k, d in enumerate(data):
            self._store(base + k, d, cycle)
        self.loaded_words += len(data)

    def _store(self, addr: int, data: int, cycle) -> None:
        addr = self._check_addr(int(addr))
        data = int(data) & self._mask
        if not self.banks and not self.tensors:
            self.words[addr] = data
            return
        t = self._cycle(cycle)
        st = self._word(addr, t)
        stored = self.words[addr]
        flips = 0
        if self.banks:
            n = st.n
            fail = 0
            for b in self.banks:
                b.writes += 1
                m = self._flips(b, _WR, addr, n, (stored ^ data) & b.mask, b.p_wr)
                fail |= m
                flips += m.bit_count()
                b.flips["write"] += m.bit_count()
            st.ret = st.rd = 0
            st.intended = data
            data ^= fail    # a failed bit keeps its old state, which differs from the data exactly there
        else:
            st.intended = data
        self.words[addr] = data
        st.wcycle = st.seen = t
        st.n += 1
        rec = self.tensor_at(addr)
        if rec is not None:
            rec.write_cycles.append(t)
            rec.bit_flips += flips

    # ------------------------------------------------------------------------------------------------ errors
    def _flips(self, bank: _Bank, mech: int, addr: int, n: int, candidates: int, p: float) -> int:
        """XOR mask of the candidate bits that flip, each with probability ``p`` (decision 5)."""
        if p <= 0.0 or candidates == 0:
            return 0
        k_max = candidates.bit_count()
        p_any = 1.0 if p >= 1.0 else -math.expm1(k_max * math.log1p(-p))
        key = (self.seed, bank.index, mech, addr, n)
        h = int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "little")
        if h >= p_any * 18446744073709551616.0:    # 2**64: no flip with probability (1 - p)**k_max
            return 0
        rng = np.random.default_rng(key)
        if p_any >= 0.1:                             # Binomial(k_max, p) given >= 1: rejection, <= 10 tries
            k = 0
            while k == 0:
                k = int(rng.binomial(k_max, p))
        else:                                        # inverse CDF of the same, pmf(k)/p_any from k = 1
            u, k = rng.random() * p_any, 1
            pmf = k_max * p * (1.0 - p) ** (k_max - 1)
            cum = pmf
            while cum < u and k < k_max:
                pmf *= (k_max - k) / (k + 1) * p / (1.0 - p)
                k += 1
                cum += pmf
        positions = [i for i in range(self.width) if candidates >> i & 1]
        mask = 0
        for j in rng.choice(k_max, size=k, replace=False).tolist():
            mask |= 1 << positions[j]
        return mask

    # -------------------------------------------------------------------------------------------- reporting
    def counters(self) -> dict:
        """``reads``, ``writes``, ``injected_bits``; with the device model also ``loaded_words``, ``bit_flips``
        (cell flips injected, all banks) and ``banks`` (per bank: ``bits_per_word``, ``delta``, ``reads``,
        ``writes``, ``bits_read``, ``bits_written``, ``bit_flips``, ``flips`` per mechanism, ``error_bits`` served,
        ``p_read_disturb``, ``p_write_error``)."""
        out = {"reads": self.reads, "writes": self.writes, "injected_bits": self.injected_bits}
        if self.banks:
            banks = {b.name: b.counters() for b in self.banks}
            out.update(loaded_words=self.loaded_words, bit_flips=sum(b["bit_flips"] for b in banks.values()),
                       banks=banks)
        return out


def analytic_retention_cycles(model, clock_hz: float = CLOCK_HZ, **kwargs) -> dict:
    """T_ret of every pair of consecutive compute layers in clock cycles, eqs. (5)-(11).

    ``{(prev, next): cycles}`` from :func:`model.stt_ai.dse.retention` (``kwargs``: ``array``, ``batch``,
    ``conv_cycles``, ``fc_cycles``, ``t_pool_relu``), times ``clock_hz``: the time the ofmap of ``prev`` (the ifmap
    of ``next``) occupies the GLB, to compare with the measured :attr:`TensorRecord.occupancy_cycles`.
    """
    clock_hz = check_real("clock_hz", clock_hz, min=0, min_open=True, unit="Hz", type_error=False)
    r = retention(model, clock_hz=clock_hz, **kwargs)
    return {(p, n): float(t) * clock_hz for p, n, t in zip(r.prev, r.next, r.t_ret)}
