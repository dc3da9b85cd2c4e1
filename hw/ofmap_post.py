"""The ofmap path: bias, ReLU, 2x2 max-pooling and rounding to bfloat16 of a stream of FP32 ofmap results.

Source: ``stt-ai-mishty-sadi.txt``, eq. (1) (``Ofmap = ReLU(B[u] + sum ...)``, "Activation functions (e.g., ReLU)
operate on the results before they go to the MaxPooling layer") and Section III.B, eqs. (7), (11): the ofmap of
one layer "goes through Maxpooling and Activation functions (e.g., ReLU) to serve as the input to the following
layer", and T_pool_relu is estimated "from hardware implementation of ReLU and MaxPool layers" -- this block is that
hardware; :func:`model.stt_ai.ofmap.ofmap_post_cycles` is its T_pool_relu. Golden (bit-exact, every rule stated
there): :func:`model.stt_ai.ofmap.ref_ofmap_post`.

Design decisions (the paper gives no micro-architecture):

* One element per cycle, row-major, each 2-D map (one channel of one image) opened by ``first``; ``pool`` and
  ``width`` are sampled with ``first`` and hold for the map, ``bias`` and ``relu`` are sampled per element.
* Bias: the FP32 adder of the MACs (:class:`hw.fp32_add.FP32Adder`, same rounding, specials and ``ftz``);
  ``bias = -0`` is the identity.
* ReLU: sign bit set -> ``+0`` (the adder's NaN is canonical and positive, so it passes).
* Max-pooling 2x2, stride 2, odd last row / column dropped. Comparisons use the unsigned key of
  :func:`model.stt_ai.ofmap.order_key` (``-0 < +0``, total on non-NaN values); the canonical NaN has the largest key
  of any adder output, so a window holding a NaN gives the NaN. An even-row pair's horizontal maximum goes to a
  line buffer (``lib.memory.Memory`` of ``max_width // 2`` words of 32 bits: half a row, one word per window, read
  synchronously one element ahead), the odd row's pair maximum is compared with it and gives the window's result
  at the window's bottom-right element.
* Rounding to bfloat16: nearest, ties to even, NaN -> ``0x7FC0``; both the bfloat16 word (``out``, the next layer's
  ifmap) and the FP32 value before rounding (``out_fp32``, e.g. for logits) are output.
* Back-pressure: ``out_ready`` low with a result waiting stalls the whole pipeline and drops ``ready``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, EnableInserter, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from hw.fp32_add import FP32Adder
from hw.fp_common import FP32, check_bool, delay
from model.checks import check_int

__all__ = ["OfmapPost", "order_key", "round_bf16"]

#: The bfloat16 canonical NaN (upper half of ``hw.fp_common.CANONICAL_NAN``).
BF16_NAN = 0x7FC0


def order_key(value: Value) -> Value:
    """Unsigned 32-bit key whose order is the numeric order of a binary32 pattern, ``-0 < +0``: positive
    patterns with the sign bit set, negative patterns inverted (:func:`model.stt_ai.ofmap.order_key`)."""
    return Mux(value[31], ~value, Cat(value[:31], Const(1, 1)))


def round_bf16(m: Module, value: Value, name: str) -> Signal:
    """Combinational bfloat16 of a binary32 pattern: nearest, ties to even, carry into the exponent (overflow to
    infinity), NaN -> ``0x7FC0`` (:func:`model.stt_ai.ofmap.round_bf16`)."""
    v = data.View(FP32, value)
    upper, lower = value[16:32], value[:16]
    up = lower[15] & ((lower[:15] != 0) | upper[0])
    out = Signal(16, name=name)
    m.d.comb += out.eq(Mux((v.exp == 0xFF) & (v.mant != 0), BF16_NAN, (upper + up)[:16]))
    return out


class OfmapPost(wiring.Component):
    """Bias + ReLU + 2x2 max-pooling + FP32 -> bfloat16 on a row-major stream of ofmap elements.

    Parameters
    ----------
    max_width : int
        Widest map that can be pooled (line buffer of ``max_width // 2`` words), 2 .. 4096. Default 256: the widest
        conv ofmap of the :mod:`model.zoo` models (darknet53 ``conv0``; VGG-16's is 224) -- ours, so every zoo
        model's maps pool.
    ftz : bool
        Flush-to-zero of the bias adder (:class:`hw.fp32_add.FP32Adder`); default ``False`` (IEEE-754 subnormals).

    Ports
    -----
    data : In(32)
        binary32 ofmap element.
    bias : In(32)
        binary32 bias added to it (``0x80000000``, ``-0``: no bias).
    relu : In(1)
        Apply ReLU to this element.
    pool : In(1)
        2x2 max-pooling of this map; sampled with ``first``.
    first : In(1)
        This element is row 0, column 0 of a map.
    width : In(range(max_width + 1))
        Elements per row of the map, 1 .. ``max_width`` when pooling (otherwise ignored); sampled with ``first``.
    valid : In(1), ready : Out(1)
        Input handshake (an element transfers in a cycle with both high); ``ready`` is low only while a result
        waits for ``out_ready``.
    out : Out(16)
        bfloat16 result, rounded to nearest-even; held until the next result.
    out_fp32 : Out(32)
        The same result before rounding (binary32).
    out_valid : Out(1), out_ready : In(1)
        Output handshake; ``out_valid`` stays high until the result is taken.

    Attributes
    ----------
    latency : int
        6 cycles from the transfer of a result's anchor element (the element itself; with pooling the window's
        bottom-right element) to its ``out_valid``, with ``out_ready`` high: 4 in the adder, 1 ReLU + pooling
        compare, 1 rounding. One element per cycle; with pooling a quarter of the elements (at most) gives a result,
        so the registry's latency check measures each result from its anchor (``Expected.anchors``).
    """

    latency = FP32Adder.latency + 2

    def __init__(self, max_width: int = 256, *, ftz: bool = False):
        self._max_width = check_int("max_width", max_width, min=2, max=4096)
        self._ftz = check_bool("ftz", ftz)
        super().__init__({
            "data": In(32), "bias": In(32), "relu": In(1), "pool": In(1), "first": In(1),
            "width": In(range(self._max_width + 1)), "valid": In(1), "ready": Out(1),
            "out": Out(16), "out_fp32": Out(32), "out_valid": Out(1), "out_ready": In(1),
        })

    max_width = property(lambda self: self._max_width)
    ftz = property(lambda self: self._ftz)

    @property
    def buffer_words(self) -> int:
        """Words of the line buffer: one per window of a row, ``max_width // 2``."""
        return self._max_width // 2

    def elaborate(self, platform):
        m = Module()
        en = Signal()                        # the pipeline advances this cycle
        m.d.comb += [en.eq(~self.out_valid | self.out_ready), self.ready.eq(en)]

        # Stages 1-4: the bias add; the side band travels beside it.
        adder = FP32Adder(ftz=self._ftz)
        m.submodules.adder = EnableInserter(en)(adder)
        m.d.comb += [adder.a.eq(self.data), adder.b.eq(self.bias), adder.valid.eq(self.valid)]
        tag_layout = data.StructLayout({"relu": 1, "pool": 1, "first": 1, "width": len(self.width)})
        tag_in = Signal(tag_layout)
        m.d.comb += [tag_in.relu.eq(self.relu), tag_in.pool.eq(self.pool), tag_in.first.eq(self.first),
                     tag_in.width.eq(self.width)]
        tag = data.View(tag_layout, delay(m, tag_in.as_value(), FP32Adder.latency, "tag", en=en))

        # Stage 5: ReLU, then the pooling bookkeeping on the adder's result.
        va = adder.sum_valid
        y = Signal(32)
        m.d.comb += y.eq(Mux(tag.relu & adder.sum[31], 0, adder.sum))
        pool_r = Signal()
        width_r = Signal.like(self.width)
        col = Signal(range(self._max_width))
        row_odd = Signal()
        pool_e = Mux(tag.first, tag.pool, pool_r)       # the map's configuration, a new one on `first`
        width_e = Mux(tag.first, tag.width, width_r)
        col_e = Mux(tag.first, 0, col)
        row_e = Mux(tag.first, 0, row_odd)
        last_col = col_e == width_e - 1
        odd_col = col_e[0]
        step = en & va
        with m.If(step):
            m.d.sync += [pool_r.eq(pool_e), width_r.eq(width_e), col.eq(Mux(last_col, 0, col_e + 1)),
                         row_odd.eq(row_e ^ last_col)]

        def maximum(a, b):
            return Mux(order_key(b) > order_key(a), b, a)

        hold = Signal(32)                    # the left element of the current pair
        with m.If(step & ~odd_col):
            m.d.sync += hold.eq(y)
        pair = Signal(32)
        m.d.comb += pair.eq(maximum(hold, y))
        m.submodules.line = line = Memory(shape=32, depth=self.buffer_words, init=[])
        wp = line.write_port()
        rp = line.read_port()                # synchronous; holds its data while `en` is low
        index = (col_e >> 1)[:ceil_log2(self.buffer_words) or 1]
        m.d.comb += [wp.addr.eq(index), wp.data.eq(pair), wp.en.eq(step & pool_e & odd_col & ~row_e),
                     rp.addr.eq(index), rp.en.eq(step & pool_e & ~odd_col & row_e)]
        s5_valid = Signal()
        s5_value = Signal(32)
        with m.If(en):
            m.d.sync += s5_valid.eq(va & (~pool_e | (odd_col & row_e)))
            m.d.sync += s5_value.eq(Mux(pool_e, maximum(rp.data, pair), y))

        # Stage 6: round to bfloat16, the output register.
        bf16 = round_bf16(m, s5_value, "s6_bf16")
        with m.If(en):
            m.d.sync += self.out_valid.eq(s5_valid)
            with m.If(s5_valid):
                m.d.sync += [self.out.eq(bf16), self.out_fp32.eq(s5_value)]
        return m
