# amaranth: UnusedElaboratable=no
"""Amaranth-simulator unit tests of the bitcounter against its golden model (ref_* vs rtl_*)."""

import numpy as np
import pytest

from hw.bitcounter import BitCounter
from model.bcnn.bitcounter import RowStream, binary_dot, count_width, random_stream, ref_bitcounter
from scripts.blocks import rtl_bitcounter


@pytest.mark.parametrize("width,max_rows,lps", [(1, 4, 1), (8, 16, 1), (13, 8, 2), (64, 32, 2), (256, 8, 3)])
def test_random_groups_match_golden(width, max_rows, lps, rng):
    dut = BitCounter(width, max_rows, levels_per_stage=lps)
    stream = random_stream(rng, width, max_rows, groups=30)
    totals, out_cycles = rtl_bitcounter(dut, stream)
    assert totals == ref_bitcounter(stream, max_rows)
    # Latency: count_valid comes `latency` cycles after the cycle that carried the valid `last` row.
    last_cycles = np.flatnonzero(stream.valid & stream.last)
    assert [c - t for c, t in zip(out_cycles, last_cycles)] == [dut.latency] * len(last_cycles)


def test_back_to_back_one_row_groups_full_throughput(rng):
    width = 32
    dut = BitCounter(width, 4)
    bits = rng.random((50, width)) < 0.5
    ones = np.ones(50, bool)
    stream = RowStream(bits, ones, ones, ones)
    totals, out_cycles = rtl_bitcounter(dut, stream)
    assert totals == [int(r.sum()) for r in bits]
    assert np.all(np.diff(out_cycles) == 1)  # one result per cycle, no bubble


def test_binary_convolution_term(rng):
    """A group of rows, each the in-memory AND of I(B) and W(B), gives BitCount(and(I, W)) (Table I)."""
    width, rows = 64, 5
    i_bits = rng.random((rows, width)) < 0.5
    w_bits = rng.random((rows, width)) < 0.5
    flags = np.zeros(rows, bool)
    first, last = flags.copy(), flags.copy()
    first[0], last[-1] = True, True
    stream = RowStream(np.logical_and(i_bits, w_bits), np.ones(rows, bool), first, last)
    totals, _ = rtl_bitcounter(BitCounter(width, rows), stream)
    assert totals == [binary_dot(i_bits, w_bits)]


def test_overflow_wraps_like_golden():
    width, max_rows = 4, 3  # count_width = 4 bits: 12 fits, 16 wraps to 0, 20 to 4
    dut = BitCounter(width, max_rows)
    assert dut.count_width == count_width(width, max_rows) == 4
    n = 5
    bits = np.ones((n, width), bool)
    first = np.arange(n) == 0
    last = np.arange(n) == n - 1
    stream = RowStream(bits, np.ones(n, bool), first, last)
    totals, _ = rtl_bitcounter(dut, stream)
    assert totals == ref_bitcounter(stream, max_rows) == [20 % 16]


def test_latency_formula():
    assert BitCounter(256, 1024).latency == 5  # 8 levels / 2 per stage + accumulator
    assert BitCounter(1, 1).latency == 1
    assert BitCounter(256, 1024).count_width == 19  # 256*1024 = 2**18 needs 19 bits


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"width": 0}, ValueError, "width must be >= 1"),
    ({"width": 8.0}, TypeError, "width must be an integer"),
    ({"width": True}, TypeError, "width must be an integer"),
    ({"max_rows": 0}, ValueError, "max_rows must be >= 1"),
    ({"max_rows": "4"}, TypeError, "max_rows must be an integer"),
    ({"width": 5000}, ValueError, "<= 4096"),
    ({"levels_per_stage": 0}, ValueError, "levels_per_stage"),
])
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        BitCounter(**kwargs)


def test_golden_rejects_bad_shapes():
    with pytest.raises(ValueError, match="valid must have shape"):
        RowStream(np.zeros((3, 4)), [1, 1], [1, 1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="same shape"):
        binary_dot(np.zeros(3), np.zeros(4))
