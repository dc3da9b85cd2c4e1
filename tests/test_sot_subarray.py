"""The dual-mode SOT-MRAM sub-array model (sot-mram-bcnn-fan-angizi.txt, Section II.B): memory write/read, compute
mode AND/OR, references, sense margins, and the analytic error rates against Monte Carlo."""

import math

import numpy as np
import pytest

from model.memory import pack_rows, unpack_rows
from model.bcnn.subarray import (SOTDevice, SOTSubArray, SenseProgram, error_rates, error_rates_mc, references,
                                sense_margins)


def par(a, b):
    return 1 / (1 / a + 1 / b)


def test_references_sit_between_the_states_they_separate():
    d = SOTDevice()
    p, ap = d.r_p + d.r_access, d.r_p * (1 + d.tmr) + d.r_access
    ref = references(d)
    assert p < ref["read"] < ap
    assert par(ap, p) < ref["and"] < par(ap, ap)
    assert par(p, p) < ref["or"] < par(p, ap)
    # margins: I_read times the distance to the nearest state (AND: R_AP//R_P and R_AP//R_AP are equidistant)
    m = sense_margins(d)
    assert m["and"] == pytest.approx(d.i_read * (par(ap, ap) - par(ap, p)) / 2)
    assert m["or"] == pytest.approx(d.i_read * (par(p, ap) - par(p, p)) / 2)
    assert m["read"] == pytest.approx(d.i_read * (ap - p) / 2)


def test_ideal_memory_and_compute_modes(rng):
    sub = SOTSubArray(16, 40)
    bits = rng.random((16, 40)) < 0.5
    for r in range(16):
        sub.write_row(r, bits[r])
    assert sub.counters["row_writes"] == 16
    assert np.array_equal(sub.read_rows(np.arange(16)), bits)
    a, b = rng.integers(0, 16, 50), rng.integers(0, 16, 50)
    keep = a != b
    a, b = a[keep], b[keep]
    assert np.array_equal(sub.sense("and", a, b), bits[a] & bits[b])
    assert np.array_equal(sub.sense("or", a, b), bits[a] | bits[b])
    # the responder's protocol: rows as ints, bit j = column j
    assert sub.read(3) == pack_rows(bits[3:4])[0]
    sub.write(5, pack_rows(~bits[5:6])[0])
    assert np.array_equal(unpack_rows([sub.read(5)], 40)[0], ~bits[5])


def test_write_biasing_follows_fig_2c():
    sub = SOTSubArray(8, 4)
    w = sub.bias("write", [3])
    assert w["WWL"].tolist() == [0, 0, 0, 1, 0, 0, 0, 0] and w["SL"].tolist() == w["WWL"].tolist()
    assert not w["RWL"].any() and w["EN"].tolist() == [0, 0, 0]
    assert sub.bias("read", [2])["EN"].tolist() == [1, 0, 0]
    c = sub.bias("and", [1, 6])
    assert c["RWL"].tolist() == [0, 1, 0, 0, 0, 0, 1, 0] and c["EN"].tolist() == [0, 1, 0]
    assert sub.bias("or", [0, 7])["EN"].tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match="distinct"):
        sub.bias("and", [2, 2])


def test_bad_arguments():
    with pytest.raises(ValueError, match="sigma_rp"):
        SOTDevice(sigma_rp=0.3)
    with pytest.raises(ValueError, match="tmr"):
        SOTDevice(tmr=0)
    with pytest.raises(ValueError, match="r_p"):
        SOTDevice(r_p=-1)
    with pytest.raises(ValueError, match="rows"):
        SOTSubArray(0, 4)
    sub = SOTSubArray(4, 4)
    with pytest.raises(ValueError, match="row 4"):
        sub.read_rows([4])
    with pytest.raises(ValueError, match="same row"):
        sub.sense("and", [1], [1])
    with pytest.raises(ValueError, match="op"):
        sub.sense("xor", [1], [2])


def test_variation_is_static_and_seeded():
    d = SOTDevice().with_variation(0.1, 0.02)
    a, b = SOTSubArray(32, 64, d, seed=7), SOTSubArray(32, 64, d, seed=7)
    bits = np.random.default_rng(0).random((32, 64)) < 0.5
    a.write_rows(0, bits)
    b.write_rows(0, bits)
    r1 = a.sense("or", np.arange(16), np.arange(16, 32))
    assert np.array_equal(r1, b.sense("or", np.arange(16), np.arange(16, 32)))
    assert np.array_equal(r1, a.sense("or", np.arange(16), np.arange(16, 32)))   # same devices, same answer
    assert not np.array_equal(a.offset, SOTSubArray(32, 64, d, seed=8).offset)


def test_sense_program_reads_ops_lazily_and_as_words(rng):
    sub = SOTSubArray(8, 20)
    bits = rng.random((8, 20)) < 0.5
    sub.write_rows(0, bits)
    snap = np.packbits(sub.state, axis=1, bitorder="little")
    sub.write_rows(0, np.zeros((8, 20), bool))           # the program senses the snapshot, not the array now
    ops = [(1, 0, 1, 0), (2, 2, 3, 0), (0, 4, 4, 0)]
    prog = SenseProgram(sub, ops, [snap])
    expect = pack_rows(np.stack([bits[0] & bits[1], bits[2] | bits[3], bits[4]]))
    assert [prog.read(i) for i in range(3)] == expect == prog.words


@pytest.mark.parametrize("sigma,offset", [(0.1, 0.0), (0.08, 0.01), (0.0, 0.012), (0.15, 0.0)])
def test_analytic_error_rates_agree_with_monte_carlo(sigma, offset, seed):
    d = SOTDevice().with_variation(sigma, offset)
    n = 100_000
    analytic = error_rates(d)
    mc = error_rates_mc(d, n, seed)
    for op, (p, lo, hi) in mc.items():
        # a 99.99 % binomial band around the analytic value (4 combinations of n draws each, at most)
        band = 3.9 * math.sqrt(max(analytic[op], 1e-7) * (1 - analytic[op]) / n) + 1e-6
        assert abs(p - analytic[op]) <= band, (op, p, analytic[op], band)
        assert lo <= p <= hi


def test_error_rates_ideal_and_limits():
    assert error_rates(SOTDevice()) == {"read": 0.0, "and": 0.0, "or": 0.0}
    # read: closed form Q(margin / sigma_total) for both states
    d = SOTDevice(sa_offset=0.02)
    q = 0.5 * math.erfc(sense_margins(d)["read"] / 0.02 / math.sqrt(2))
    assert error_rates(d)["read"] == pytest.approx(q, rel=1e-9)
    # the OR margin is the smaller one: OR fails first as the offset grows
    e = error_rates(SOTDevice(sa_offset=0.01))
    assert e["or"] > e["and"] > e["read"]
