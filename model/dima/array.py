"""MRAM deep in-memory architecture (MRAM-DIMA): behavioural analog matrix-vector product and the golden of its
digital post-processing.

Source: ``mram-dima-patil-iscas2019.txt`` (our copy ends after Section II.B). What it gives: ``a = W x``
(eq. (1)), ``W`` of ``M x N`` with ``B_w``-bit weights, ``B_a``-bit inputs and outputs, a 1T-1MTJ bitcell array
of ``N_row x N_col = M x N·B_w`` with one weight bit per cell, wordline (WL) and sourceline (SL) along a row,
bitline (BL) along a column (Fig. 1), and "modified peripheral circuits" that make the standard array compute
multi-bit products. The DIMA pipeline of the same group (SRAM: Kang et al., JSSC 2018 "A multi-functional
in-memory inference processor using a standard 6T SRAM array"; Kang, Gonugondla, Shanbhag, Proc. IEEE 2020
"Deep in-memory architectures in SRAM: an analog approach to approximate computing") is: multi-row functional
read, bitline processing (per-column multiplication), cross-bitline charge sharing (summation), an ADC, and
digital processing of the ADC codes. How each stage becomes an MRAM operation here is **our decision**:

* **Storage (Fig. 1).** Row ``i`` holds ``w_i1 .. w_iN``; weight-bit slice ``k`` (bit ``k`` of every weight,
  two's complement, ``k = B_w-1`` the sign bit) is a set of ``N`` cells of the row. A cell in the parallel (P,
  low-resistance) state stores 1, anti-parallel (AP) stores 0.
* **Functional read + bitline processing -> bit-serial input on the bitlines.** Input-bit plane ``b`` (bit ``b``
  of every unsigned ``x_j``) drives the bitlines of slice ``k``: ``V_read`` where ``x_j`` has bit ``b`` set, 0
  elsewhere. The cell current is then the 1-bit product ``x_jb · w_ijk`` (scaled by its conductance): the MRAM
  equivalent of DIMA's per-column multiplication, with the binary weighting done digitally (the MTJ is 1 bit).
* **Cross-bitline summation -> the sourceline.** The SL of row ``i`` runs along the row (Fig. 1), so it sums the
  currents of the active cells: ``I_ikb = V_read Σ_j x_jb g_ijk`` (Kirchhoff, in place of charge sharing). Every
  row has its own SL, so all ``M`` outputs accumulate at once.
* **Offset and gain.** A cell in AP still conducts (finite TMR). The periphery subtracts ``n_b·g_off`` (``n_b``
  = number of ones in the input plane, known digitally; a replica of ``n_b`` nominal AP cells) and the ADC's unit
  is the nominal P-AP difference, so the analog value is ``v = (Σ_j x_jb g_ijk - n_b g_off) / (g_on - g_off)``,
  which is exactly the count ``Σ_j x_jb w_ijk`` for nominal cells.
* **Cells.** ``g = G_MTJ / (1 + r_access·G_MTJ)`` (MTJ in series with its access transistor, resistances in
  units of ``R_P``); ``G_MTJ = 1`` (P) or ``1 / (1 + TMR)`` (AP), times ``max(1 + σ·ε, 0)``, ``ε ~ N(0, 1)`` drawn
  once per cell: conductance variation σ/μ is a static property of a chip (the paper's "variation in cell
  conductance"), the same for every input; one random generator state is one chip. The access transistor's
  resistance is taken as nominal (variation on the MTJ only).
* **ADC.** One conversion per (output, weight-bit slice, input-bit plane) with ``adc_bits`` bits and a full-scale
  range ``full_scale`` in counts (default ``N``, the largest possible count). Its step is a power of two of the
  unit count, ``lsb = 2**max(0, ceil_log2(full_scale + 1) - adc_bits)``, so that the digital side rescales by a
  shift; ``code = clip(floor(v / lsb + 1/2), 0, 2**adc_bits - 1)``. With ``adc_bits >=``
  :func:`lossless_adc_bits` the step is one count and nominal cells give the exact count.
* **Digital post-processing (the RTL, ``hw/dima_post.py``).** Per plane ``p = Σ_{k<B_w-1} 2^k code_k -
  2^(B_w-1) code_{B_w-1}``; planes MSB first, ``acc = 2·acc + p``; then bias, arithmetic shift, optional ReLU
  and saturation (:func:`ref_dima_post`). ``a = lsb · acc``.

With ideal parameters (σ = 0; any TMR and access resistance, since offset and gain are calibrated to the nominal
cells) and a lossless ADC, :func:`dima_matvec` equals ``W @ x`` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.checks import check_int, check_real

__all__ = ["DIMAParams", "AnalogMVM", "weight_range", "input_range", "check_weights", "check_inputs",
           "lossless_adc_bits", "adc_lsb", "cell_conductances", "dima_codes",
           "plane_weights", "recombine", "dima_matvec", "dima_post", "ref_dima_post", "pack_codes", "unpack_codes",
           "post_stream", "acc_width_for", "to_signed", "wrap_signed"]

#: Largest weight / input precision the model accepts (bits).
MAX_BITS = 16


@dataclass(frozen=True)
class DIMAParams:
    """Non-idealities of the MRAM-DIMA array and its ADC (module docstring: where each enters).

    Parameters
    ----------
    sigma : float
        σ/μ of the MTJ conductance, per cell, in [0, 1] (the paper's "variation in cell conductance": 24 % for
        LeNet-300-100, 12 % for the CIFAR-10 CNN).
    tmr : float
        Tunnel magnetoresistance ``(R_AP - R_P) / R_P`` > 0; ``math.inf`` = ideal (AP cells carry no current).
        Default 1.5 (150 %): an assumption, typical of commercial perpendicular MTJs (100-200 %); the paper's
        value is in the part of the paper we do not have.
    r_access : float
        On-resistance of the access transistor in units of ``R_P``, >= 0 (0 = ideal). Default 0.25: an
        assumption (a few hundred ohms to ~1 kΩ against R_P of a few kΩ).
    adc_bits : int or None
        ADC resolution, 1 .. 16; ``None`` = lossless for the full-scale range (:func:`lossless_adc_bits`).
    full_scale : float or None
        ADC full-scale range in counts (unit cell currents), > 0; ``None`` = ``N`` (no count can clip).
    """

    sigma: float = 0.0
    tmr: float = 1.5
    r_access: float = 0.25
    adc_bits: int | None = 8
    full_scale: float | None = None

    def __post_init__(self):
        check_real("sigma", self.sigma, min=0, max=1)
        if not (isinstance(self.tmr, (int, float)) and not isinstance(self.tmr, bool) and self.tmr == math.inf):
            check_real("tmr", self.tmr, min=0, min_open=True)
        check_real("r_access", self.r_access, min=0)
        if self.adc_bits is not None:
            check_int("adc_bits", self.adc_bits, min=1, max=MAX_BITS)
        if self.full_scale is not None:
            check_real("full_scale", self.full_scale, min=0, min_open=True)

    @classmethod
    def ideal(cls) -> "DIMAParams":
        """No variation, infinite TMR, no access resistance, lossless ADC."""
        return cls(sigma=0.0, tmr=math.inf, r_access=0.0, adc_bits=None)

    @property
    def g_on(self) -> float:
        """Nominal conductance of a P cell (MTJ + access transistor), in units of ``1 / R_P``."""
        return 1.0 / (1.0 + self.r_access)

    @property
    def g_off(self) -> float:
        """Nominal conductance of an AP cell, in units of ``1 / R_P``."""
        g = 0.0 if self.tmr == math.inf else 1.0 / (1.0 + self.tmr)
        return g / (1.0 + self.r_access * g)


@dataclass(frozen=True)
class AnalogMVM:
    """The ADC codes of one (batched) analog matrix-vector product.

    Attributes
    ----------
    codes : int64 array (batch, M, B_a, B_w)
        ``codes[n, i, b, k]``: output ``i`` of input vector ``n``, input-bit plane ``b`` (weight ``2**b``),
        weight-bit slice ``k``.
    lsb : int
        ADC step in counts (a power of two); ``a ≈ lsb · recombine(codes)``.
    adc_bits : int
    full_scale : float
        ADC full-scale range in counts.
    """

    codes: np.ndarray
    lsb: int
    adc_bits: int
    full_scale: float


# --------------------------------------------------------------------------------------------- number ranges
def weight_range(b_w: int) -> tuple[int, int]:
    """Signed ``b_w``-bit two's-complement range ``(-2**(b_w-1), 2**(b_w-1) - 1)``."""
    b_w = check_int("b_w", b_w, min=2, max=MAX_BITS)
    return -(1 << (b_w - 1)), (1 << (b_w - 1)) - 1


def input_range(b_a: int) -> tuple[int, int]:
    """Unsigned ``b_a``-bit range ``(0, 2**b_a - 1)``."""
    b_a = check_int("b_a", b_a, min=1, max=MAX_BITS)
    return 0, (1 << b_a) - 1


def _check_int_array(name: str, a, lo: int, hi: int, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and a.size and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integers ({what}), got dtype {a.dtype}")
    bad = (a < lo) | (a > hi)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}: value {a[idx].item()} at index {idx} is outside the {what} range [{lo}, {hi}]")
    return a.astype(np.int64)


def check_weights(w, b_w: int, name: str = "W") -> np.ndarray:
    """``w`` as int64 ``(M, N)``; ValueError naming the first value outside the signed ``b_w``-bit range."""
    lo, hi = weight_range(b_w)
    w = np.asarray(w)
    if w.ndim != 2 or 0 in w.shape:
        raise ValueError(f"{name} must be a 2-D (M, N) array with M, N >= 1, got shape {w.shape}")
    return _check_int_array(name, w, lo, hi, f"signed {b_w}-bit")


def check_inputs(x, b_a: int, n: int | None = None, name: str = "X") -> np.ndarray:
    """``x`` as int64 ``(N,)`` or ``(batch, N)``; ValueError naming the first value outside ``[0, 2**b_a - 1]``."""
    lo, hi = input_range(b_a)
    x = np.asarray(x)
    if x.ndim not in (1, 2) or 0 in x.shape:
        raise ValueError(f"{name} must be a 1-D (N,) or 2-D (batch, N) array, got shape {x.shape}")
    if n is not None and x.shape[-1] != n:
        raise ValueError(f"{name} must have N = {n} values per vector (the columns of W), got shape {x.shape}")
    return _check_int_array(name, x, lo, hi, f"unsigned {b_a}-bit")


# ------------------------------------------------------------------------------------------ bits and slices
def _slices(w: np.ndarray, b_w: int) -> np.ndarray:
    u = w & ((1 << b_w) - 1)
    return ((u[None] >> np.arange(b_w)[:, None, None]) & 1).astype(np.uint8)


def _planes(x: np.ndarray, b_a: int) -> np.ndarray:
    return ((x[None] >> np.arange(b_a)[:, None, None]) & 1).astype(np.uint8)


def plane_weights(b_w: int) -> np.ndarray:
    """Slice weights ``(1, 2, ..., 2**(b_w-2), -2**(b_w-1))`` of the two's-complement recombination (int64)."""
    s = (1 << np.arange(b_w)).astype(np.int64)
    s[-1] = -s[-1]
    return s


# ---------------------------------------------------------------------------------------------------- ADC
def lossless_adc_bits(n: int) -> int:
    """ADC bits that resolve every count ``0 .. n`` of a slice of ``n`` cells: ``ceil(log2(n + 1))``.

    With at least this many bits (and the default full scale ``n``) :func:`dima_matvec` reproduces ``W @ x``
    exactly at σ = 0.
    """
    n = check_int("n", n, min=1)
    return int(n).bit_length()


def adc_lsb(full_scale: float, adc_bits: int) -> int:
    """ADC step in counts: ``2**max(0, ceil_log2(ceil(full_scale) + 1) - adc_bits)`` (module docstring)."""
    full_scale = check_real("full_scale", full_scale, min=0, min_open=True)
    adc_bits = check_int("adc_bits", adc_bits, min=1, max=MAX_BITS)
    return 1 << max(0, lossless_adc_bits(math.ceil(full_scale)) - adc_bits)


# ------------------------------------------------------------------------------------------ the analog array
def cell_conductances(slices: np.ndarray, params: DIMAParams, rng: np.random.Generator | None) -> np.ndarray:
    """Conductance of every cell (units of ``1 / R_P``) for stored bits ``slices``: float64, same shape.

    ``g = G / (1 + r_access·G)``, ``G = (1 or 1/(1+TMR)) · max(1 + σ·ε, 0)`` (module docstring).
    """
    bits = np.asarray(slices, dtype=bool)
    g_ap = 0.0 if params.tmr == math.inf else 1.0 / (1.0 + params.tmr)
    g = np.where(bits, 1.0, g_ap)
    if params.sigma > 0:
        if rng is None:
            raise ValueError("rng is required when sigma > 0 (one generator state = one chip)")
        g = g * np.maximum(1.0 + params.sigma * rng.standard_normal(bits.shape), 0.0)
    return g / (1.0 + params.r_access * g)


def _rng(rng) -> np.random.Generator | None:
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(check_int("seed", rng, min=0))


def dima_codes(w, x, b_w: int, b_a: int, params: DIMAParams = DIMAParams(), rng=None) -> AnalogMVM:
    """The ADC codes of ``a = W x`` on the MRAM-DIMA array, vectorised over a batch of input vectors.

    Parameters
    ----------
    w : int array (M, N)
        Signed ``b_w``-bit weights.
    x : int array (N,) or (batch, N)
        Unsigned ``b_a``-bit inputs.
    b_w, b_a : int
        Weight and input precision, 2 .. 16 and 1 .. 16 bits.
    params : DIMAParams
    rng : numpy Generator or int seed, optional
        Draws the cell variation (required when ``params.sigma > 0``); one state = one chip.

    Returns
    -------
    AnalogMVM
        Codes ``(batch, M, b_a, b_w)`` (batch 1 for a 1-D ``x``) and the ADC step.
    """
    w = check_weights(w, b_w)
    m, n = w.shape
    x = np.atleast_2d(check_inputs(x, b_a, n))
    full_scale = float(n) if params.full_scale is None else float(params.full_scale)
    bits = lossless_adc_bits(math.ceil(full_scale)) if params.adc_bits is None else params.adc_bits
    lsb = adc_lsb(full_scale, bits)
    g = cell_conductances(_slices(w, b_w), params, _rng(rng))                # (B_w, M, N)
    # What each cell adds to v / lsb when its input bit is 1: the offset n_b·g_off and the gain are folded in.
    unit = (g - params.g_off) / ((params.g_on - params.g_off) * lsb)
    batch = x.shape[0]
    # float32 is exact for nominal cells (sums of 1/lsb below 2**22) and 2x faster; float64 beyond.
    dtype = np.float32 if n < (1 << 22) else np.float64
    planes = _planes(x, b_a).reshape(b_a * batch, n).astype(dtype)
    # One BLAS call: every (plane, vector) against every (slice, row): the sourceline currents, in ADC steps.
    v = planes @ unit.reshape(b_w * m, n).T.astype(dtype)                     # (B_a·batch, B_w·M)
    v += 0.5
    np.floor(v, out=v)
    np.clip(v, 0, (1 << bits) - 1, out=v)
    codes = v.astype(np.int64).reshape(b_a, batch, b_w, m).transpose(1, 3, 0, 2)   # (batch, M, B_a, B_w)
    return AnalogMVM(codes, lsb, bits, full_scale)


def recombine(codes, lsb: int = 1) -> np.ndarray:
    """``lsb · Σ_b 2**b Σ_k s_k 2**k code[..., b, k]`` (two's-complement slice signs ``s_k``), int64 of shape
    ``codes.shape[:-2]``."""
    codes = np.asarray(codes, dtype=np.int64)
    b_a, b_w = codes.shape[-2:]
    return lsb * np.einsum("...bk,b,k->...", codes, (1 << np.arange(b_a)).astype(np.int64), plane_weights(b_w))


def dima_matvec(w, x, b_w: int, b_a: int, params: DIMAParams = DIMAParams(), rng=None) -> np.ndarray:
    """``a = W x`` through the MRAM-DIMA model: int64 ``(M,)`` for ``x`` of shape ``(N,)``, else ``(batch, M)``.

    Equals ``W @ x`` exactly for σ = 0 and ``adc_bits >= lossless_adc_bits(N)`` (default full scale).
    """
    mvm = dima_codes(w, x, b_w, b_a, params, rng)
    a = recombine(mvm.codes, mvm.lsb)
    return a[0] if np.ndim(x) == 1 else a


# ------------------------------------------------------------------------------ digital post-processing golden
def wrap_signed(v, width: int):
    """``v`` wrapped to a ``width``-bit two's-complement value (int64 arrays for width <= 62, or a Python int)."""
    half = 1 << (width - 1)
    if isinstance(v, np.ndarray):
        return ((v + half) & ((1 << width) - 1)) - half
    return ((int(v) + half) & ((1 << width) - 1)) - half


def to_signed(pattern, width: int):
    """A ``width``-bit pattern read as two's complement: a Python int, or an int64 array (``width <= 62``)."""
    if np.ndim(pattern) == 0:
        return wrap_signed(int(pattern), width)
    return wrap_signed(np.asarray(pattern).astype(np.int64), width)


def _check_post_params(b_w, slice_bits, acc_width, b_out) -> tuple[int, int, int, int, int]:
    b_w = check_int("b_w", b_w, min=2, max=MAX_BITS)
    slice_bits = check_int("slice_bits", slice_bits, min=1, max=MAX_BITS)
    acc_width = check_int("acc_width", acc_width, min=2, max=64)
    b_out = check_int("b_out", b_out, min=1, max=64)
    return b_w, slice_bits, acc_width, b_out, (acc_width - 1).bit_length()


def _clamp(y: int, relu: bool, b_out: int) -> int:
    """The saturated output as its ``b_out``-bit pattern."""
    lo, hi = (0, (1 << b_out) - 1) if relu else (-(1 << (b_out - 1)), (1 << (b_out - 1)) - 1)
    return min(max(y, lo), hi) & ((1 << b_out) - 1)


def ref_dima_post(codes, first, last, bias, shift, relu, b_w: int = 4, slice_bits: int = 8, acc_width: int = 32,
                  b_out: int = 8) -> np.ndarray:
    """Golden of :class:`hw.dima_post.DIMAPostProcessor`: a stream of input-bit planes to saturated outputs.

    One entry per valid plane (transaction) ``t``; planes arrive MSB first. Per plane
    ``p = Σ_{j < b_w-1} 2**j code_j - 2**(b_w-1) code_{b_w-1}``; ``acc = p`` on ``first``, else ``acc = 2·acc + p``,
    wrapped to ``acc_width`` bits two's complement (``acc`` starts at 0 and persists across vectors). On ``last``:
    ``y = (acc + bias) >> shift`` (exact sum, arithmetic shift: floor); ``out = clamp(y, 0, 2**b_out - 1)`` with
    ``relu``, else ``clamp(y, -2**(b_out-1), 2**(b_out-1) - 1)``; ``bias``, ``shift``, ``relu`` are those of the
    ``last`` plane.

    Parameters
    ----------
    codes : int array (T,) of packed codes, or (T, b_w) of slice codes
        Packed: slice ``j`` in bits ``[j*slice_bits, (j+1)*slice_bits)``; each code in ``[0, 2**slice_bits)``.
    first, last : bool arrays (T,)
    bias : int array (T,) or int
        Signed value or its ``acc_width``-bit pattern (read modulo ``2**acc_width`` as two's complement).
    shift : int array (T,) or int
        ``0 .. 2**ceil_log2(acc_width) - 1``.
    relu : bool array (T,) or bool
    b_w, slice_bits, acc_width, b_out : int
        As the RTL's parameters (``b_w`` 2..16, ``slice_bits`` 1..16, ``acc_width`` 2..64, ``b_out`` 1..64).

    Returns
    -------
    numpy.ndarray of object (Python ints)
        One ``b_out``-bit output pattern (two's complement without ``relu``) per ``last`` plane.
    """
    b_w, slice_bits, acc_width, b_out, shift_width = _check_post_params(b_w, slice_bits, acc_width, b_out)
    t = len(first)
    slices = unpack_codes(codes, b_w, slice_bits) if np.ndim(codes) == 1 else np.asarray(codes, dtype=object)
    if slices.shape != (t, b_w):
        raise ValueError(f"codes must have {t} entries of {b_w} slices, got shape {np.shape(codes)}")
    bias, shift, relu = (np.full(t, v, dtype=object) if np.ndim(v) == 0 else v for v in (bias, shift, relu))
    for name, arr in (("last", last), ("bias", bias), ("shift", shift), ("relu", relu)):
        if len(arr) != t:
            raise ValueError(f"{name} must have {t} entries (one per plane), got {len(arr)}")
    limit = 1 << slice_bits
    weights = [1 << j for j in range(b_w)]
    weights[-1] = -weights[-1]
    out, acc = [], 0
    for i in range(t):
        c = [int(v) for v in slices[i]]
        if any(not 0 <= v < limit for v in c):
            raise ValueError(f"codes[{i}] has a slice code outside [0, {limit - 1}]: {c}")
        p = sum(wj * cj for wj, cj in zip(weights, c))
        acc = wrap_signed(p if first[i] else 2 * acc + p, acc_width)
        if last[i]:
            s = int(shift[i])
            if not 0 <= s < (1 << shift_width):
                raise ValueError(f"shift[{i}] must be in [0, {(1 << shift_width) - 1}], got {s}")
            y = (acc + wrap_signed(int(bias[i]), acc_width)) >> s
            out.append(_clamp(y, bool(relu[i]), b_out))
    return np.array(out, dtype=object)


def dima_post(codes, bias=0, shift=0, relu=False, acc_width: int = 32, b_out: int = 8) -> np.ndarray:
    """Vectorised :func:`ref_dima_post` for whole vectors: codes ``(..., B_a, B_w)`` (plane ``b`` = bit ``b``) to
    the signed output values (int64, ``codes.shape[:-2]``); ``bias``, ``shift``, ``relu`` broadcast against it.

    The same arithmetic as the RTL (Horner over the planes MSB first with the ``acc_width`` wrap, exact bias sum,
    floor shift, saturation), for ``acc_width <= 62``; returns the value, not the bit pattern.
    """
    codes = np.asarray(codes, dtype=np.int64)
    b_a, b_w = codes.shape[-2:]
    acc_width = check_int("acc_width", acc_width, min=2, max=62)
    b_out = check_int("b_out", b_out, min=1, max=62)
    p = codes @ plane_weights(b_w)                                            # (..., B_a)
    acc = wrap_signed(p[..., b_a - 1], acc_width)
    for b in range(b_a - 2, -1, -1):
        acc = wrap_signed(2 * acc + p[..., b], acc_width)
    y = (acc + wrap_signed(np.asarray(bias, dtype=np.int64), acc_width)) >> np.asarray(shift, dtype=np.int64)
    relu = np.asarray(relu, dtype=bool)
    lo = np.where(relu, 0, -(1 << (b_out - 1)))
    hi = np.where(relu, (1 << b_out) - 1, (1 << (b_out - 1)) - 1)
    return np.minimum(np.maximum(y, lo), hi)


def pack_codes(slices, slice_bits: int) -> np.ndarray:
    """Slice codes ``(T, b_w)`` to packed ints (slice ``j`` in bits ``[j*slice_bits, ...)``); object array."""
    slices = np.asarray(slices, dtype=np.int64)
    if slices.size and (slices.min() < 0 or slices.max() >= (1 << slice_bits)):
        raise ValueError(f"slice codes must be in [0, {(1 << slice_bits) - 1}], got values in "
                         f"[{slices.min()}, {slices.max()}]")
    words = np.zeros(slices.shape[0], dtype=object)
    for j in range(slices.shape[1]):
        words = words + (slices[:, j].astype(object) << (j * slice_bits))
    return words


def unpack_codes(words, b_w: int, slice_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: object ``(T, b_w)``."""
    mask = (1 << slice_bits) - 1
    return np.array([[(int(v) >> (j * slice_bits)) & mask for j in range(b_w)] for v in np.asarray(words).tolist()],
                    dtype=object).reshape(-1, b_w)


def post_stream(codes, slice_bits: int, bias=0, shift=0, relu=False, acc_width: int = 32) -> dict:
    """The post-processor's input transactions for codes ``(batch, M, B_a, B_w)``: one vector per (n, i), its
    planes MSB first; ``bias`` (as its ``acc_width``-bit pattern), ``shift`` and ``relu`` broadcast over
    ``(batch, M)`` and repeated on every plane. Returns port -> array (``codes`` packed, object dtype)."""
    codes = np.asarray(codes, dtype=np.int64)
    batch, m, b_a, b_w = codes.shape
    per_plane = codes[:, :, ::-1, :].reshape(-1, b_w)                        # MSB plane first
    vectors = batch * m
    first = np.tile(np.arange(b_a) == 0, vectors).astype(np.uint8)
    last = np.tile(np.arange(b_a) == b_a - 1, vectors).astype(np.uint8)

    def rep(v, dtype=np.int64):
        return np.repeat(np.broadcast_to(np.asarray(v, dtype=dtype), (batch, m)).reshape(-1), b_a)

    bias_bits = rep(bias) & ((1 << acc_width) - 1) if acc_width <= 62 else \
        np.array([int(b) % (1 << acc_width) for b in rep(bias)], dtype=object)
    return {"codes": pack_codes(per_plane, slice_bits), "first": first, "last": last, "bias": bias_bits,
            "shift": rep(shift), "relu": rep(relu).astype(np.uint8)}


def acc_width_for(b_w: int, b_a: int, slice_bits: int) -> int:
    """Accumulator width that no ``b_a``-plane vector of ``slice_bits``-bit codes can wrap (sign included)."""
    biggest = ((1 << b_a) - 1) * (1 << (b_w - 1)) * ((1 << slice_bits) - 1)
    return biggest.bit_length() + 1
