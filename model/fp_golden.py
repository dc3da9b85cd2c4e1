"""Bit-exact numpy golden models of the BF16 multiplier, FP32 adder, MAC and reconfigurable PE, plus vectors.

Source: ``stt-ai-mishty-sadi.txt``, Section III.A, Fig. 3 (reconfigurable core of three BF16-multiply /
FP32-add MACs). The paper states no rounding or special-value rule; the hardware (``hw/bf16_mul.py``,
``hw/fp32_add.py``, ``hw/mac.py``, ``hw/pe.py``) and these models implement the same decisions:

* IEEE-754 binary32 results with round-to-nearest, ties-to-even; overflow gives infinity.
* ``mul(a, b) = fl32(a * b)`` on bfloat16 operands; ``add(a, b) = fl32(a + b)``;
  ``mac(a, b, c) = fl32(fl32(a * b) + c)`` (two roundings: separate multiplier and adder).
* Signed zeros per IEEE-754 (``x + (-x) = +0``, ``-0 + -0 = -0``, product sign = XOR).
* Any NaN operand, ``inf - inf`` and ``0 * inf`` give the canonical NaN ``0x7FC00000``.
* Subnormals are exact by default. ``ftz=True``: subnormal operands read as zero of their sign (DAZ) and a
  subnormal result becomes zero of its sign (FTZ, decided after rounding); the MAC and PE apply this in every unit.

The arithmetic is numpy ``float32`` on values converted exactly from bfloat16 by ``ml_dtypes``. numpy float32
arithmetic is IEEE-754 round-to-nearest-even with gradual underflow (numpy never sets the FTZ/DAZ flags;
:func:`check_float32_subnormals` verifies this at import time and raises if the process has them set).

All functions work on numpy arrays of bit patterns (``uint16`` for bfloat16, ``uint32`` for binary32) and
broadcast like numpy. The corner and random vector generators are shared with the Verilator testbenches.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

__all__ = [
    "CANONICAL_NAN", "check_float32_subnormals", "bf16_to_f32", "f32_bits", "bits_f32", "flush_f32_bits",
    "flush_bf16_bits", "canonicalize_nan", "ref_bf16_mul", "ref_fp32_add", "ref_mac", "ref_pe",
    "BF16_CORNERS", "FP32_CORNERS", "corner_mul_vectors", "corner_add_vectors", "corner_mac_vectors",
    "corner_pe_vectors", "random_bf16", "random_fp32", "random_mul_vectors", "random_add_vectors",
    "random_mac_vectors", "random_pe_vectors", "all_bf16",
]

CANONICAL_NAN = 0x7FC00000
_F32_MIN_SUB = np.uint32(1).view(np.float32)


def check_float32_subnormals() -> None:
    """Raise ``RuntimeError`` if float32 arithmetic in this process flushes subnormals (FTZ/DAZ set)."""
    tiny = np.array([0x00000001, 0x00800000], dtype=np.uint32).view(np.float32)
    half = np.float32(0.5)
    ok = (tiny[0] * np.float32(3.0)).view(np.uint32) == 3 \
        and (tiny[1] * half).view(np.uint32) == 0x00400000 \
        and (tiny[0] + tiny[0]).view(np.uint32) == 2
    if not ok:
        raise RuntimeError("numpy float32 arithmetic flushes subnormals (FTZ/DAZ set in this process); "
                           "the golden models need IEEE-754 gradual underflow")


check_float32_subnormals()


def _bits(value, dtype, name: str) -> np.ndarray:
    """``value`` as an array of ``dtype`` bit patterns; ``ValueError`` if it is not integral or out of range."""
    arr = np.asarray(value)
    if arr.dtype == dtype:
        return arr
    if arr.dtype.kind not in "iub":
        raise TypeError(f"{name} must hold integer bit patterns ({np.dtype(dtype).name}), not dtype {arr.dtype}")
    top = np.iinfo(dtype).max
    if arr.size and (np.min(arr) < 0 or np.max(arr) > top):
        raise ValueError(f"{name} must hold bit patterns in 0 .. {top:#x}")
    return arr.astype(dtype)


def bits_f32(bits) -> np.ndarray:
    """binary32 bit patterns -> float32 values."""
    return _bits(bits, np.uint32, "bits").view(np.float32)


def f32_bits(values) -> np.ndarray:
    """float32 values -> binary32 bit patterns (``uint32``)."""
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def bf16_to_f32(bits) -> np.ndarray:
    """bfloat16 bit patterns -> float32 values (exact, via ``ml_dtypes.bfloat16``)."""
    return _bits(bits, np.uint16, "bf16 bits").view(ml_dtypes.bfloat16).astype(np.float32)


def flush_f32_bits(bits) -> np.ndarray:
    """binary32 patterns with subnormals replaced by the zero of the same sign."""
    b = _bits(bits, np.uint32, "bits")
    return np.where((b & 0x7F800000) == 0, b & 0x80000000, b).astype(np.uint32)


def flush_bf16_bits(bits) -> np.ndarray:
    """bfloat16 patterns with subnormals replaced by the zero of the same sign."""
    b = _bits(bits, np.uint16, "bf16 bits")
    return np.where((b & 0x7F80) == 0, b & 0x8000, b).astype(np.uint16)


def canonicalize_nan(bits) -> np.ndarray:
    """binary32 patterns with every NaN replaced by ``0x7FC00000``."""
    b = _bits(bits, np.uint32, "bits")
    nan = ((b & 0x7F800000) == 0x7F800000) & ((b & 0x007FFFFF) != 0)
    return np.where(nan, np.uint32(CANONICAL_NAN), b).astype(np.uint32)


def _binary_op(a, b, dtype, flush, to_f32, op, ftz: bool) -> np.ndarray:
    """``op`` on float32 values of bit patterns ``a``, ``b`` (``dtype``), NaNs canonical; DAZ/FTZ with ``ftz``."""
    a = _bits(a, dtype, "a")
    b = _bits(b, dtype, "b")
    if ftz:
        a, b = flush(a), flush(b)
    with np.errstate(all="ignore"):
        r = op(to_f32(a), to_f32(b))
    out = canonicalize_nan(np.asarray(r, dtype=np.float32).view(np.uint32))
    return flush_f32_bits(out) if ftz else out


def ref_bf16_mul(a, b, *, ftz: bool = False) -> np.ndarray:
    """Golden ``fl32(a * b)`` of bfloat16 patterns ``a``, ``b`` -> binary32 patterns (``uint32``)."""
    return _binary_op(a, b, np.uint16, flush_bf16_bits, bf16_to_f32, np.multiply, ftz)


def ref_fp32_add(a, b, *, ftz: bool = False) -> np.ndarray:
    """Golden ``fl32(a + b)`` of binary32 patterns -> binary32 patterns (``uint32``)."""
    return _binary_op(a, b, np.uint32, flush_f32_bits, bits_f32, np.add, ftz)


def ref_mac(a, b, c, *, ftz: bool = False) -> np.ndarray:
    """Golden MAC ``fl32(fl32(a * b) + c)``: bfloat16 ``a``, ``b``, binary32 ``c`` -> binary32 (``uint32``)."""
    return ref_fp32_add(ref_bf16_mul(a, b, ftz=ftz), c, ftz=ftz)


def ref_pe(mode, acts, wgts, psums, *, ftz: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Golden reconfigurable PE (``hw/pe.py``; Fig. 3 of the paper).

    Parameters
    ----------
    mode : int or array of shape (N,)
        0 = systolic, 1 = convolution, per vector.
    acts, wgts : arrays (N, 3) of bfloat16 patterns
    psums : array (N, 3) of binary32 patterns (mode 1 uses ``psums[:, 0]`` only)

    Returns
    -------
    outs : uint32 array (N, 3)
        mode 0: ``fl32(m_i + psum_i)``; mode 1: ``[adder1, adder2, adder3]`` =
        ``[fl32(m_0 + psum_0), fl32(out0 + out2), fl32(m_2 + m_1)]`` with ``m_i = fl32(act_i * wgt_i)``.
    pe_out : uint32 array (N,)
        ``outs[:, 1]`` in both modes (adder2's result).
    """
    acts = _bits(acts, np.uint16, "acts")
    wgts = _bits(wgts, np.uint16, "wgts")
    psums = _bits(psums, np.uint32, "psums")
    for name, arr in (("acts", acts), ("wgts", wgts), ("psums", psums)):
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise ValueError(f"{name} must have shape (N, 3), not {arr.shape}")
    if not (acts.shape == wgts.shape == psums.shape):
        raise ValueError(f"acts, wgts, psums must have the same shape, got {acts.shape}, {wgts.shape}, "
                         f"{psums.shape}")
    mode = np.broadcast_to(np.asarray(mode), (acts.shape[0],))
    if mode.dtype.kind not in "iub" or np.any((mode != 0) & (mode != 1)):
        raise ValueError("mode must be 0 (systolic) or 1 (convolution)")
    conv = mode.astype(bool)
    m = ref_bf16_mul(acts, wgts, ftz=ftz)
    sys_out = ref_fp32_add(m, psums, ftz=ftz)
    a1 = sys_out[:, 0]
    a3 = ref_fp32_add(m[:, 2], m[:, 1], ftz=ftz)
    a2 = ref_fp32_add(a1, a3, ftz=ftz)
    conv_out = np.stack([a1, a2, a3], axis=1)
    outs = np.where(conv[:, None], conv_out, sys_out).astype(np.uint32)
    return outs, outs[:, 1].copy()


# ---------------------------------------------------------------------------------------------------------------
# Vectors (TestFloat-style corners and seeded random mixes), shared with tb/.

#: bfloat16 corner values: zeros, subnormals, normal extremes, infinities, NaNs, values whose products tie,
#: underflow or overflow.
BF16_CORNERS = np.array([
    0x0000, 0x8000,            # +0, -0
    0x0001, 0x8001,            # smallest subnormal (2**-133)
    0x007F, 0x807F,            # largest subnormal
    0x0080, 0x8080,            # smallest normal 2**-126
    0x7F7F, 0xFF7F,            # largest normal
    0x3F80, 0xBF80,            # +-1
    0x3F81, 0x3FFF,            # 1 + ulp, 2 - ulp
    0x3FC0, 0x4040,            # 1.5, 3
    0x3F00,                    # 0.5
    0x7F00, 0x4000,            # 2**127, 2 (product overflows)
    0x3380, 0x33C0, 0x3440,    # 2**-24, 1.5*2**-24, 1.5*2**-23 (products with 2**-126 tie / round)
    0x1DFF, 0x2000,            # (2-2**-7)*2**-68 (square ties in the subnormal range), 2**-63
    0x5F80,                    # 2**64
    0x7F80, 0xFF80,            # +-inf
    0x7FC0, 0xFFC0, 0x7F81,    # quiet NaN, negative NaN, signalling NaN
], dtype=np.uint16)

#: binary32 corner values.
FP32_CORNERS = np.array([
    0x00000000, 0x80000000,    # +-0
    0x00000001, 0x80000001,    # smallest subnormal
    0x007FFFFF, 0x807FFFFF,    # largest subnormal
    0x00800000, 0x80800000,    # smallest normal
    0x00800001, 0x01000000,    # smallest normal + ulp, 2**-125
    0x7F7FFFFF, 0xFF7FFFFF,    # largest normal
    0x3F800000, 0xBF800000,    # +-1
    0x3F800001, 0xBF800001,    # 1 + ulp (odd)
    0x3FFFFFFF,                # 2 - ulp
    0x33800000, 0xB3800000,    # 2**-24 (half ulp of 1: ties)
    0x33800001,                # just above the tie
    0x33000000, 0xB3000000,    # 2**-25
    0x34000000,                # 2**-23 (one ulp of 1)
    0x73000000, 0x72800000,    # 2**103 (half ulp of max: overflow tie), 2**102
    0x4B000000,                # 2**23
    0x7F800000, 0xFF800000,    # +-inf
    0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FFFFFFF,   # NaNs
], dtype=np.uint32)


def _pairs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.meshgrid(values, values, indexing="ij")
    return a.ravel().copy(), b.ravel().copy()


def corner_mul_vectors() -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs of :data:`BF16_CORNERS` (``a``, ``b`` as ``uint16`` arrays)."""
    return _pairs(BF16_CORNERS)


def _neighbours(bits: np.ndarray) -> np.ndarray:
    """Each binary32 pattern with its magnitude one ulp up and one ulp down (same sign, finite inputs)."""
    mag = bits & 0x7FFFFFFF
    sign = bits & 0x80000000
    up = np.minimum(mag + 1, 0x7F7FFFFF) | sign
    down = np.where(mag > 0, mag - 1, 0) | sign
    return np.concatenate([up, down]).astype(np.uint32)


def corner_add_vectors() -> tuple[np.ndarray, np.ndarray]:
    """Adder corners: all pairs of :data:`FP32_CORNERS`, plus exact cancellation (``x + -x``), cancellation
    to one ulp (often subnormal), ties both ways and renormalising carries around the corners."""
    a, b = _pairs(FP32_CORNERS)
    finite = FP32_CORNERS[(FP32_CORNERS & 0x7F800000) != 0x7F800000]
    neg = finite ^ np.uint32(0x80000000)
    near = _neighbours(finite)
    extra_a = [finite, np.tile(finite, 2), finite]
    extra_b = [neg, near ^ np.uint32(0x80000000), finite]        # x - x, x - (x +- ulp), x + x
    # cancellation into the subnormal range and a carry into the normal range
    extra_a.append(np.array([0x00800001, 0x00800000, 0x007FFFFF, 0x00C00000, 0x01000001], np.uint32))
    extra_b.append(np.array([0x80800000, 0x807FFFFF, 0x00000001, 0x80800001, 0x81000000], np.uint32))
    # ties to even both ways at several exponents: x + half-ulp(x), x odd / even
    exps = np.array([1, 20, 100, 127, 150, 200, 253], np.uint32)
    for odd in (0, 1):
        x = (exps << 23) | np.uint32(0x123456 | odd)
        half = np.maximum(exps.astype(np.int64) - 24, 0).astype(np.uint32) << 23
        extra_a += [x, x]
        extra_b += [half, half ^ np.uint32(0x80000000)]
    return (np.concatenate([a] + extra_a).astype(np.uint32),
            np.concatenate([b] + extra_b).astype(np.uint32))


def corner_mac_vectors() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MAC corners: every multiplier corner pair with addends that cancel its product exactly (to ``+0``),
    cancel it to one ulp, tie with it, and cycle through :data:`FP32_CORNERS`."""
    a, b = corner_mul_vectors()
    p = ref_bf16_mul(a, b)
    finite = (p & 0x7F800000) != 0x7F800000
    cancel = p ^ np.uint32(0x80000000)
    near = _neighbours(p)
    cancel_near = near ^ np.uint32(0x80000000)
    cyc = np.resize(FP32_CORNERS, a.shape)
    cyc2 = np.resize(FP32_CORNERS[::-1], a.shape)
    aa = np.concatenate([a, a[finite], a[finite], a[finite], a, a])
    bb = np.concatenate([b, b[finite], b[finite], b[finite], b, b])
    cc = np.concatenate([cancel, cancel_near[:a.size][finite], cancel_near[a.size:][finite],
                         near[:a.size][finite], cyc, cyc2])
    return aa.astype(np.uint16), bb.astype(np.uint16), cc.astype(np.uint32)


def corner_pe_vectors() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PE corners from the MAC corners, in both modes, alternating mode every vector and in runs.

    Returns ``mode (N,)``, ``acts (N, 3)``, ``wgts (N, 3)``, ``psums (N, 3)``.
    """
    a, b, c = corner_mac_vectors()
    n = a.size // 3
    acts = a[:3 * n].reshape(n, 3)
    wgts = b[:3 * n].reshape(n, 3)
    psums = c[:3 * n].reshape(n, 3)
    idx = np.arange(n)
    mode = ((idx % 2) ^ ((idx // 7) % 2)).astype(np.uint8)  # alternating, with runs
    return mode, acts, wgts, psums


_U32 = np.uint32


def _raw(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random 32-bit words: the generators below cut their fields out of them (one draw per value instead of
    one per field, all in uint32: the stream path makes stimulus for millions of vectors per second). The bit
    generator's raw 64-bit outputs split in two, low half first on every machine (half the time of ``integers``)."""
    words = rng.bit_generator.random_raw(-(-n // 2)).astype("<u8", copy=False)
    return words.view("<u4")[:n].astype(np.uint32, copy=False)


def _select(mask: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.where(mask, a, b)`` for uint32 ``a``/``b`` without a branch per element: on the random masks of the
    generators ``np.where`` mispredicts every other element (7.7 against 1.8 ns per element measured)."""
    return b ^ ((a ^ b) & (_U32(0) - mask.view(np.uint8).astype(np.uint32)))


def _scaled(bits: np.ndarray, k: int) -> np.ndarray:
    """An 8-bit field mapped onto ``0 .. k - 1`` (``bits * k >> 8``; each value 1/k of the time to within 1/256)."""
    return (bits & _U32(0xFF)) * _U32(k) >> _U32(8)


def random_bf16(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` bfloat16 patterns: 1/2 uniform bit patterns, 3/8 near 1 (exponent 127 +- 16), 1/8 corners."""
    r = _raw(rng, n)
    kind = r >> _U32(29)
    uni = r & _U32(0xFFFF)                 # near and corner reuse its bits: they are taken only where it is not
    near = (uni & _U32(0x807F)) | ((_U32(111) + _scaled(r >> _U32(16), 33)) << _U32(7))
    corner = np.take(BF16_CORNERS, _scaled(uni, len(BF16_CORNERS))).astype(np.uint32)   # gathered for all: cheaper
    return _select(kind < 4, uni, _select(kind == 7, corner, near)).astype(np.uint16)     # than a masked gather


def random_fp32(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` binary32 patterns: 1/2 uniform bit patterns, 3/8 near 1 (exponent 127 +- 40), 1/8 corners."""
    uni = _raw(rng, n)
    r = _raw(rng, n)
    kind = r >> _U32(29)
    near = (uni & _U32(0x807FFFFF)) | ((_U32(87) + _scaled(r, 81)) << _U32(23))
    corner = np.take(FP32_CORNERS, _scaled(r >> _U32(8), len(FP32_CORNERS)))
    return _select(kind < 4, uni, _select(kind == 7, corner, near))


def _close_to(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """binary32 patterns with a random sign and an exponent within +-26 of ``x`` (alignment / cancellation)."""
    r = _raw(rng, x.size)
    m = _raw(rng, x.size)
    x = x.astype(np.uint32)
    exp = ((x >> _U32(23)) & _U32(0xFF)).astype(np.int32)
    new_exp = np.clip(exp + _scaled(r, 53).astype(np.int32) - 26, 0, 254).astype(np.uint32)
    mant = _select((r >> _U32(8)) & _U32(3) == 0, x, m) & _U32(0x7FFFFF)
    sign = r & _U32(0x80000000)
    return sign | (new_exp << _U32(23)) | mant


def _fractions(rng: np.random.Generator, n: int, *p: float) -> list[np.ndarray]:
    """Independent boolean masks with ``P(True) = p_k`` (to within 2^-16), from one 32-bit draw per element."""
    if len(p) > 2:
        raise ValueError("at most two fractions per draw")
    r = _raw(rng, n)
    return [((r >> _U32(16 * k)) & _U32(0xFFFF)) < _U32(round(q * 65536)) for k, q in enumerate(p)]


def random_mul_vectors(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random multiplier operands (``uint16`` ``a``, ``b``)."""
    rng = np.random.default_rng(seed)
    return random_bf16(rng, n), random_bf16(rng, n)


def random_add_vectors(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random adder operands; half of the ``b`` are close in exponent to ``a`` (and near ``-a``)."""
    rng = np.random.default_rng(seed)
    a = random_fp32(rng, n)
    b = random_fp32(rng, n)
    close, cancel = _fractions(rng, n, 0.5, 0.1)
    b = _select(close, _close_to(rng, a), b)
    b = _select(cancel, (a ^ np.uint32(0x80000000)) + rng.integers(-2, 3, n).astype(np.uint32), b)
    return a, b.astype(np.uint32)


def random_mac_vectors(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded random MAC operands; half of the addends are close to the product (alignment, cancellation)."""
    rng = np.random.default_rng(seed)
    a, b = random_bf16(rng, n), random_bf16(rng, n)
    p = ref_bf16_mul(a, b)
    c = random_fp32(rng, n)
    close, cancel = _fractions(rng, n, 0.5, 0.1)
    c = _select(close, _close_to(rng, p), c)
    c = _select(cancel, p ^ np.uint32(0x80000000), c)
    return a, b, c.astype(np.uint32)


def random_pe_vectors(seed: int, n: int, mode: int | None = None):
    """Seeded random PE vectors: ``mode (N,)`` (random per vector unless ``mode`` is 0 or 1), ``acts``,
    ``wgts``, ``psums`` of shape (N, 3). Conv-mode partial sums are close to the products."""
    if mode not in (None, 0, 1):
        raise ValueError(f"mode must be None, 0 or 1, not {mode!r}")
    rng = np.random.default_rng(seed)
    a, b, c = random_mac_vectors(int(rng.integers(1 << 31)), 3 * n)
    modes = rng.integers(0, 2, n).astype(np.uint8) if mode is None else np.full(n, mode, np.uint8)
    return modes, a.reshape(n, 3), b.reshape(n, 3), c.reshape(n, 3)


def all_bf16() -> np.ndarray:
    """Every bfloat16 bit pattern (65536)."""
    return np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)

