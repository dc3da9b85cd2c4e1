"""Unit tests of the shared FP helpers in hw/fp_common.py (leading-zero count, sticky right shift)."""

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from hw.fp_common import check_bool, leading_zeros, shift_right_sticky


def _comb_check(m, drive, check, vectors):
    async def bench(ctx):
        for vec in vectors:
            drive(ctx, vec)
            check(ctx, vec)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width", [1, 2, 3, 5, 8, 16, 27])
def test_leading_zeros(width, rng):
    m = Module()
    v = Signal(width)
    lz = leading_zeros(m, v, "lz")
    if width <= 16:
        vectors = range(1 << width)
    else:
        vectors = [0] + [int(x) >> int(s) for x, s in zip(rng.integers(0, 1 << width, 2000),
                                                          rng.integers(0, width, 2000))]

    def check(ctx, x):
        assert ctx.get(lz) == width - int(x).bit_length(), f"lzc({x:#x}) width {width}"

    _comb_check(m, lambda ctx, x: ctx.set(v, int(x)), check, vectors)


def test_shift_right_sticky(rng):
    width = 27
    m = Module()
    v = Signal(width)
    amt = Signal(8)
    out = shift_right_sticky(m, v, amt, "out")
    xs = rng.integers(0, 1 << width, 3000)
    ss = rng.integers(0, 40, 3000)
    vectors = [(int(x), int(s)) for x, s in zip(xs, ss)] + [(0, 0), (1, 27), (1, 255), ((1 << 27) - 1, 26)]

    def drive(ctx, vec):
        ctx.set(v, vec[0])
        ctx.set(amt, vec[1])

    def check(ctx, vec):
        x, s = vec
        want = (x >> s) | int((x & ((1 << s) - 1)) != 0) if s < width else int(x != 0)
        assert ctx.get(out) == want, f"{x:#x} >> {s}"

    _comb_check(m, drive, check, vectors)


def test_check_bool():
    assert check_bool("ftz", True) is True
    with pytest.raises(TypeError, match="ftz"):
        check_bool("ftz", np.bool_(True))
