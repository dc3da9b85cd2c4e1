"""Behavioural STT-MRAM global buffer (GLB): capacity, latencies, access counters, retention bit errors.

Source: ``stt-ai-mishty-sadi.txt``, Sections III.B, IV and V (the 12 MB STT-MRAM global buffer with scaled Δ).
The RTL reaches it through the simulation's memory responder (:class:`scripts.sim.contract.MemoryResponder`
calls :meth:`GlobalBuffer.read` / :meth:`GlobalBuffer.write`; the latencies here are what the responder is built
with). Bit errors: every read flips each bit independently with probability ``ber``
(:class:`model.memory.BitFlipInjector`, deterministic per ``(seed, read index)`` so a golden can replay it). The
BER is given directly or taken from the device model: the retention failure probability of a cell of thermal
stability Δ after the data has waited ``retention_s`` (eq. (14) of the paper, :func:`model.stt_ai.stt_mram.retention_failure_probability`).
"""

from __future__ import annotations

from model.checks import check_int, check_real
from model.memory import ArrayModel, BitFlipInjector
from model.stt_ai.stt_mram import TAU_ATTEMPT_S, retention_failure_probability

__all__ = ["GlobalBuffer", "ber_from_device"]


def ber_from_device(delta: float, retention_s: float, tau_s: float = TAU_ATTEMPT_S) -> float:
    """Per-bit error probability of data held ``retention_s`` seconds in cells of thermal stability ``delta``."""
    check_real("delta", delta, min=0, min_open=True, type_error=False)
    check_real("retention_s", retention_s, min=0, min_open=True, type_error=False)
    return float(retention_failure_probability(retention_s, delta, tau_s))


class GlobalBuffer(ArrayModel):
    """A word-addressed STT-MRAM buffer of ``words`` x ``width`` bits.

    Parameters
    ----------
    words, width : int
        Capacity in words and bits per word.
    read_latency, write_latency : int
        Cycles from request to completion at the memory port (>= 1).
    ber : float
        Bit error probability applied to each read, in [0, 1) (0: no errors).
    seed : int
        Seed of the error pattern.

    Attributes
    ----------
    reads, writes, injected_bits : int
        Accesses served, and bits the errors flipped.
    """

    def __init__(self, words: int, width: int, *, read_latency: int = 2, write_latency: int = 4,
                 ber: float = 0.0, seed: int = 0):
        super().__init__(check_int("words", words, min=1), check_int("width", width, min=1))
        self.read_latency = check_int("read_latency", read_latency, min=1, type_error=False)
        self.write_latency = check_int("write_latency", write_latency, min=1, type_error=False)
        self.ber = check_real("ber", ber, min=0, max=1, max_open=True, type_error=False)
        self._inject = BitFlipInjector(self.ber, width, seed) if self.ber > 0 else None
        self.injected_bits = 0

    def read(self, addr: int) -> int:
        data = super().read(addr)
        if self._inject is not None:
            served = int(self._inject(self.reads - 1, addr, data))
            self.injected_bits += bin(served ^ data).count("1")
            return served
        return data

    def counters(self) -> dict:
        return {"reads": self.reads, "writes": self.writes, "injected_bits": self.injected_bits}

