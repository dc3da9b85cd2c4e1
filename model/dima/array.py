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
digital processing of the ADC codes. How each stage becomes an MRAM operation here is **our decision**; the two
choices the paper leaves open are parameters (:data:`ENCODINGS`, :data:`MAPPINGS`):

* **Weight encoding** (``encoding``), one bit per cell, a cell in the parallel (P, low-resistance) state stores 1,
  anti-parallel (AP) stores 0:

  - ``"twos"`` (default): ``B_w`` cells, two's complement; slice ``k`` holds bit ``k`` of every weight and enters
    the weight with ``c_k 2^k``, ``c_k = 1`` except the sign slice ``c_{B_w-1} = -1``. Weights
    ``[-2^(B_w-1), 2^(B_w-1) - 1]``. The sign cell conducts (and varies) with weight ``-2^(B_w-1)``.
  - ``"sign-magnitude"``: ``B_w - 1`` magnitude cells (slice ``k`` weighs ``2^k``) and one sign cell that is
    **sensed as a bit** (a normal read; its read errors are not modelled, :func:`sign_read_error` gives their rate)
    and sets the polarity with which the weight's magnitude current enters the sum; its conductance never enters
    the analog value. Weights ``±(2^(B_w-1) - 1)``. A polarity per weight cannot be set on a bitline that all rows
    share, so this encoding computes one row at a time (the energy model, :mod:`model.dima.energy`).
  - ``"differential"``: two groups of ``B_w - 1`` magnitude columns per weight, ``w+ = max(w, 0)`` and
    ``w- = max(-w, 0)``; the negative group's bitlines are driven with the opposite polarity, so the row's SL sums
    ``w+ - w-``. Weights ``±(2^(B_w-1) - 1)``; ``2(B_w - 1)`` cells per weight; rows stay parallel.

* **Mapping** (``mapping``):

  - ``"bit-serial"`` (default): input-bit plane ``b`` (bit ``b`` of every unsigned ``x_j``) drives the bitlines of
    slice ``k``: ``V_read`` where ``x_j`` has bit ``b`` set, 0 elsewhere, so the cell current is the 1-bit product
    ``x_jb · w_ijk`` (scaled by its conductance); the row's SL sums them (Kirchhoff, in place of charge sharing).
    One ADC conversion per (output, slice, input-bit plane): ``B_a·B_w`` per output for ``"twos"``,
    ``B_a·(B_w - 1)`` for the others (both polarity groups of a slice are driven in the same step). The binary
    weighting is digital (:func:`ref_dima_post`).
  - ``"dima"``: the DIMA pipeline: every bitline ``(j, k)`` is driven at once with a signal proportional to
    ``x_j · 2^k`` (the input as a pulse width, the bit position as an amplitude; negative for the sign slice of
    ``"twos"`` and for the negative group of ``"differential"``), so the SL of row ``i`` integrates the whole
    multi-bit dot product in analog, and **one** conversion per output digitises it.

* **Offset and gain.** A cell in AP still conducts (finite TMR). The periphery subtracts the nominal AP current
  of every driven cell (known digitally from the inputs and, for sign-magnitude, the signs) and the ADC's unit is
  the nominal P-AP difference, so each cell adds ``u = (g - g_off) / (g_on - g_off)`` times its drive to the
  analog value ``v``; for nominal cells ``v`` is exactly the integer count (bit-serial) or dot product (dima).
* **Cells.** ``g = G_MTJ / (1 + r_access·G_MTJ)`` (MTJ in series with its access transistor, resistances in
  units of ``R_P``); ``G_MTJ = 1`` (P) or ``1 / (1 + TMR)`` (AP), times ``max(1 + σ·ε, 0)``, ``ε ~ N(0, 1)`` drawn
  once per cell: conductance variation σ/μ is a static property of a chip (the paper's "variation in cell
  conductance"), the same for every input; one random generator state is one chip, and both mappings of one
  encoding draw the same cells (shape ``(B_w, M, N)``, ``(B_w - 1, M, N)`` or ``(2, B_w - 1, M, N)`` for the
  positive then the negative group). The access transistor's resistance is nominal (variation on the MTJ only).
* **ADC.** ``adc_bits`` bits over a full-scale range ``full_scale`` (in units of the analog value; default the
  largest ``|v|``: ``N`` per bit-serial code, ``2^(B_w-1)·(2^B_a - 1)·N`` for the dima mapping, ``2^(B_w-1) - 1``
  in place of ``2^(B_w-1)`` for the symmetric encodings). Unipolar for twos + bit-serial (``v >= 0``), else
  bipolar with the offset code ``2^(adc_bits-1)`` for 0. Its step is a power of two,
  ``lsb = 2**max(0, L - adc_bits)`` with ``L`` = :func:`lossless_bits` (``ceil_log2(full_scale + 1)``, plus one
  for bipolar), so that the digital side rescales by a shift;
  ``code = clip(floor(v / lsb + 1/2) + offset, 0, 2**adc_bits - 1)``.
* **Digital post-processing (the RTL, ``hw/dima_post.py``).** Per plane ``p = 2^lsb_shift·Σ_k c_k 2^k
  (code_k - offset)`` (:func:`code_weights`); planes MSB first, ``acc = 2·acc + p``; then bias, arithmetic shift,
  optional ReLU and saturation (:func:`ref_dima_post`). ``a = acc`` (``lsb = 2^lsb_shift``).

With ideal parameters (σ = 0; any TMR and access resistance, since offset and gain are calibrated to the nominal
cells) and a lossless ADC, :func:`dima_matvec` equals ``W @ x`` exactly in every encoding and mapping.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from model.checks import check_choice, check_int, check_real

__all__ = ["DIMAParams", "AnalogMVM", "ENCODINGS", "MAPPINGS", "MAX_ADC_BITS", "weight_range", "input_range",
           "check_weights", "check_inputs", "n_slices", "bit_weights", "code_weights", "planes_per_output",
           "conversions_per_output", "is_bipolar", "code_offset", "default_full_scale", "lossless_bits",
           "lossless_adc_bits", "adc_lsb", "cell_conductances", "analog_units", "analog_weights", "cell_sigma_lsb",
           "weight_sigma_lsb", "sign_read_error", "dima_codes", "plane_weights", "recombine", "dima_matvec",
           "dima_post", "ref_dima_post", "pack_codes", "unpack_codes", "post_stream", "acc_width_for",
           "to_signed", "wrap_signed"]

#: Largest weight / input precision the model accepts (bits).
MAX_BITS = 16
#: Largest ADC resolution (bits): the dima mapping's lossless conversion of a whole dot product needs
#: ``B_w + B_a + ceil_log2(N) + 1`` bits; the analog sum stays an exact float64 integer below 2**53.
MAX_ADC_BITS = 48
#: Weight encodings and mappings (module docstring).
ENCODINGS = ("twos", "sign-magnitude", "differential")
MAPPINGS = ("bit-serial", "dima")


@dataclass(frozen=True)
class DIMAParams:
    """Non-idealities of the MRAM-DIMA array and its ADC, and the two modelling choices (module docstring).

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
        ADC resolution, 1 .. :data:`MAX_ADC_BITS`; ``None`` = lossless for the full-scale range
        (:func:`lossless_bits`).
    full_scale : float or None
        ADC full-scale range (largest ``|v|``, units of the analog value), > 0; ``None`` =
        :func:`default_full_scale` (no value can clip).
    encoding : str
        One of :data:`ENCODINGS` (default ``"twos"``).
    mapping : str
        One of :data:`MAPPINGS` (default ``"bit-serial"``).
    """

    sigma: float = 0.0
    tmr: float = 1.5
    r_access: float = 0.25
    adc_bits: int | None = 8
    full_scale: float | None = None
    encoding: str = "twos"
    mapping: str = "bit-serial"

    def __post_init__(self):
        check_real("sigma", self.sigma, min=0, max=1)
        if not (isinstance(self.tmr, (int, float)) and not isinstance(self.tmr, bool) and self.tmr == math.inf):
            check_real("tmr", self.tmr, min=0, min_open=True)
        check_real("r_access", self.r_access, min=0)
        if self.adc_bits is not None:
            check_int("adc_bits", self.adc_bits, min=1, max=MAX_ADC_BITS)
        if self.full_scale is not None:
            check_real("full_scale", self.full_scale, min=0, min_open=True)
        check_choice("encoding", self.encoding, ENCODINGS)
        check_choice("mapping", self.mapping, MAPPINGS)

    @classmethod
    def ideal(cls, encoding: str = "twos", mapping: str = "bit-serial") -> "DIMAParams":
        """No variation, infinite TMR, no access resistance, lossless ADC."""
        return cls(sigma=0.0, tmr=math.inf, r_access=0.0, adc_bits=None, encoding=encoding, mapping=mapping)

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
    codes : int64 array (batch, M, P, S)
        ``codes[n, i, b, k]``: output ``i`` of input vector ``n``, input-bit plane ``b`` (weight ``2**b``), code
        ``k`` of the plane (weight ``weights[k]``). Bit-serial: ``P = B_a`` planes of ``S`` = :func:`n_slices`
        codes; dima: ``P = S = 1``.
    lsb : int
        ADC step (a power of two) in units of the analog value; ``a ≈`` :meth:`values`.
    adc_bits : int
    full_scale : float
        ADC full-scale range.
    offset : int
        The code of an analog 0 (0 unipolar, ``2**(adc_bits-1)`` bipolar).
    weights : int64 array (S,)
        Weight of each code of a plane (:func:`code_weights`).
    encoding, mapping : str
    """

    codes: np.ndarray
    lsb: int
    adc_bits: int
    full_scale: float
    offset: int = 0
    weights: np.ndarray | None = None
    encoding: str = "twos"
    mapping: str = "bit-serial"

    def values(self) -> np.ndarray:
        """``lsb · Σ_b 2**b Σ_k weights_k (code - offset)``: int64 ``(batch, M)`` (:func:`recombine`)."""
        return recombine(self.codes, self.lsb, offset=self.offset, weights=self.weights)


# --------------------------------------------------------------------------------------------- number ranges
def weight_range(b_w: int, encoding: str = "twos") -> tuple[int, int]:
    """Signed ``b_w``-bit range: ``(-2**(b_w-1), 2**(b_w-1) - 1)`` for ``"twos"``, ``±(2**(b_w-1) - 1)`` for the
    symmetric encodings (sign-magnitude, differential)."""
    b_w = check_int("b_w", b_w, min=2, max=MAX_BITS)
    check_choice("encoding", encoding, ENCODINGS)
    hi = (1 << (b_w - 1)) - 1
    return (-(1 << (b_w - 1)) if encoding == "twos" else -hi), hi


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


def check_weights(w, b_w: int, name: str = "W", encoding: str = "twos") -> np.ndarray:
    """``w`` as int64 ``(M, N)``; ValueError naming the first value outside :func:`weight_range`."""
    lo, hi = weight_range(b_w, encoding)
    w = np.asarray(w)
    if w.ndim != 2 or 0 in w.shape:
        raise ValueError(f"{name} must be a 2-D (M, N) array with M, N >= 1, got shape {w.shape}")
    what = f"signed {b_w}-bit" if encoding == "twos" else f"{encoding} {b_w}-bit"
    return _check_int_array(name, w, lo, hi, what)


def check_inputs(x, b_a: int, n: int | None = None, name: str = "X") -> np.ndarray:
    """``x`` as int64 ``(N,)`` or ``(batch, N)``; ValueError naming the first value outside ``[0, 2**b_a - 1]``."""
    lo, hi = input_range(b_a)
    x = np.asarray(x)
    if x.ndim not in (1, 2) or 0 in x.shape:
        raise ValueError(f"{name} must be a 1-D (N,) or 2-D (batch, N) array, got shape {x.shape}")
    if n is not None and x.shape[-1] != n:
        raise ValueError(f"{name} must have N = {n} values per vector (the columns of W), got shape {x.shape}")
    return _check_int_array(name, x, lo, hi, f"unsigned {b_a}-bit")


# ------------------------------------------------------------------------------------ encodings and mappings
def n_slices(b_w: int, encoding: str = "twos") -> int:
    """Weight-bit slices that enter the analog value: ``b_w`` (twos) or ``b_w - 1`` magnitude slices."""
    check_choice("encoding", encoding, ENCODINGS)
    return b_w if encoding == "twos" else b_w - 1


def bit_weights(b_w: int, encoding: str = "twos") -> np.ndarray:
    """Weight of each slice in the weight's value (int64): ``(1, 2, ..., 2**(b_w-2), -2**(b_w-1))`` for twos (the
    sign cell's weight), ``(1, 2, ..., 2**(b_w-2))`` for the magnitude slices of the symmetric encodings."""
    b_w = check_int("b_w", b_w, min=2, max=MAX_BITS)
    s = (1 << np.arange(n_slices(b_w, encoding))).astype(np.int64)
    if encoding == "twos":
        s[-1] = -s[-1]
    return s


def plane_weights(b_w: int) -> np.ndarray:
    """Slice weights ``(1, 2, ..., 2**(b_w-2), -2**(b_w-1))`` of the two's-complement recombination (int64)."""
    return bit_weights(b_w, "twos")


def code_weights(b_w: int, encoding: str = "twos", mapping: str = "bit-serial") -> np.ndarray:
    """Weight of each ADC code of a plane in the recombination: :func:`bit_weights` (bit-serial) or ``(1,)``
    (dima: one code per output carries the whole signed dot product)."""
    check_choice("mapping", mapping, MAPPINGS)
    return bit_weights(b_w, encoding) if mapping == "bit-serial" else np.ones(1, np.int64)


def planes_per_output(b_a: int, mapping: str = "bit-serial") -> int:
    """Input-bit planes converted per output: ``b_a`` (bit-serial) or 1 (dima)."""
    check_choice("mapping", mapping, MAPPINGS)
    return b_a if mapping == "bit-serial" else 1


def conversions_per_output(b_w: int, b_a: int, encoding: str = "twos", mapping: str = "bit-serial") -> int:
    """ADC conversions per output (per dot product): ``B_a·B_w`` (twos, bit-serial), ``B_a·(B_w - 1)``
    (symmetric encodings, bit-serial), 1 (dima)."""
    return planes_per_output(b_a, mapping) * len(code_weights(b_w, encoding, mapping))


def is_bipolar(encoding: str = "twos", mapping: str = "bit-serial") -> bool:
    """Whether the analog value can be negative (bipolar ADC): all but twos + bit-serial."""
    check_choice("encoding", encoding, ENCODINGS)
    check_choice("mapping", mapping, MAPPINGS)
    return not (encoding == "twos" and mapping == "bit-serial")


def code_offset(adc_bits: int, encoding: str = "twos", mapping: str = "bit-serial") -> int:
    """The code of an analog 0: 0 (unipolar) or ``2**(adc_bits-1)`` (bipolar, offset binary)."""
    adc_bits = check_int("adc_bits", adc_bits, min=1, max=MAX_ADC_BITS)
    return (1 << (adc_bits - 1)) if is_bipolar(encoding, mapping) else 0


def default_full_scale(n: int, b_w: int, b_a: int, encoding: str = "twos", mapping: str = "bit-serial") -> int:
    """Largest ``|v|`` of one conversion: ``N`` (bit-serial: one slice's count), else the largest ``|dot
    product|``, ``2**(b_w-1)·(2**b_a - 1)·N`` (twos) or ``(2**(b_w-1) - 1)·(2**b_a - 1)·N``."""
    n = check_int("n", n, min=1)
    if check_choice("mapping", mapping, MAPPINGS) == "bit-serial":
        return n
    lo, hi = weight_range(b_w, encoding)
    return max(-lo, hi) * input_range(b_a)[1] * n


# ---------------------------------------------------------------------------------------------------- ADC
def lossless_adc_bits(n: int) -> int:
    """Unipolar ADC bits that resolve every count ``0 .. n``: ``ceil(log2(n + 1))``.

    With at least this many bits (and the default full scale ``n``) the twos + bit-serial array reproduces
    ``W @ x`` exactly at σ = 0.
    """
    n = check_int("n", n, min=1)
    return int(n).bit_length()


def lossless_bits(full_scale: float, bipolar: bool = False) -> int:
    """ADC bits that resolve every integer of ``[0, full_scale]`` (unipolar) or ``[-full_scale, full_scale]``
    (bipolar: one more bit, codes ``-2**(bits-1) .. 2**(bits-1) - 1`` around the offset)."""
    full_scale = check_real("full_scale", full_scale, min=0, min_open=True)
    return lossless_adc_bits(math.ceil(full_scale)) + bool(bipolar)


def adc_lsb(full_scale: float, adc_bits: int, bipolar: bool = False) -> int:
    """ADC step: ``2**max(0, lossless_bits(full_scale, bipolar) - adc_bits)`` (module docstring)."""
    adc_bits = check_int("adc_bits", adc_bits, min=1, max=MAX_ADC_BITS)
    return 1 << max(0, lossless_bits(full_scale, bipolar) - adc_bits)


# ------------------------------------------------------------------------------------------ the analog array
def cell_conductances(slices: np.ndarray, params: DIMAParams, rng: np.random.Generator | None) -> np.ndarray:
    """Conductance of every cell (units of ``1 / R_P``) for stored bits ``slices``: float64, same shape.

    ``g = G / (1 + r_access·G)``, ``G = (1 or 1/(1+TMR)) · max(1 + σ·ε, 0)`` (module docstring); one
    ``standard_normal(slices.shape)`` draw.
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


def _bits(v: np.ndarray, count: int) -> np.ndarray:
    """Bits ``0 .. count-1`` of the non-negative ints ``v``: uint8 ``(count, *v.shape)``."""
    return ((v[None] >> np.arange(count).reshape((-1,) + (1,) * v.ndim)) & 1).astype(np.uint8)


def _slices(w: np.ndarray, b_w: int) -> np.ndarray:
    return _bits(w & ((1 << b_w) - 1), b_w)


def _planes(x: np.ndarray, b_a: int) -> np.ndarray:
    return _bits(x, b_a)


def analog_units(w, b_w: int, params: DIMAParams = DIMAParams(), rng=None) -> np.ndarray:
    """What each weight's slice ``k`` adds to the analog value per unit of drive, offset and gain removed: float64
    ``(S, M, N)`` with ``S`` = :func:`n_slices` (module docstring).

    twos: ``u_k = (g_k - g_off) / (g_on - g_off)`` of cell ``k``; sign-magnitude: ``sign(w)·u_k`` of magnitude
    cell ``k`` (the sign cell is sensed, not summed); differential: ``u_k+ - u_k-`` of the two groups. Nominal
    cells give exactly the weight's bits (signed). The value of the weight is ``Σ_k bit_weights[k]·units[k]``.
    """
    w = check_weights(w, b_w, encoding=params.encoding)
    rng = _rng(rng)
    gain = params.g_on - params.g_off
    s = n_slices(b_w, params.encoding)
    if params.encoding == "twos":
        return (cell_conductances(_slices(w, b_w), params, rng) - params.g_off) / gain
    if params.encoding == "sign-magnitude":
        u = (cell_conductances(_bits(np.abs(w), s), params, rng) - params.g_off) / gain
        return np.where(w < 0, -u, u)
    groups = np.stack([_bits(np.maximum(w, 0), s), _bits(np.maximum(-w, 0), s)])          # (2, S, M, N)
    u = (cell_conductances(groups, params, rng) - params.g_off) / gain
    return u[0] - u[1]


def analog_weights(w, b_w: int, params: DIMAParams = DIMAParams(), rng=None) -> np.ndarray:
    """Each weight as the array reads it in one analog step (the dima mapping), in units of one weight LSB: float64
    ``(M, N)``, ``Σ_k bit_weights[k]·analog_units[k]``; equals ``w`` for nominal cells."""
    return np.tensordot(bit_weights(b_w, params.encoding).astype(np.float64), analog_units(w, b_w, params, rng),
                        axes=1)


def _quantise(v: np.ndarray, bits: int, offset: int) -> np.ndarray:
    """``clip(floor(v + 1/2) + offset, 0, 2**bits - 1)`` in place on float ``v`` (already in ADC steps)."""
    v += 0.5 + offset
    np.floor(v, out=v)
    np.clip(v, 0, (1 << bits) - 1, out=v)
    return v.astype(np.int64)


def dima_codes(w, x, b_w: int, b_a: int, params: DIMAParams = DIMAParams(), rng=None) -> AnalogMVM:
    """The ADC codes of ``a = W x`` on the MRAM-DIMA array, vectorised over a batch of input vectors.

    Parameters
    ----------
    w : int array (M, N)
        Signed ``b_w``-bit weights in :func:`weight_range` of ``params.encoding``.
    x : int array (N,) or (batch, N)
        Unsigned ``b_a``-bit inputs.
    b_w, b_a : int
        Weight and input precision, 2 .. 16 and 1 .. 16 bits.
    params : DIMAParams
        Non-idealities, ADC, encoding and mapping.
    rng : numpy Generator or int seed, optional
        Draws the cell variation (required when ``params.sigma > 0``); one state = one chip.

    Returns
    -------
    AnalogMVM
        Codes ``(batch, M, P, S)`` (batch 1 for a 1-D ``x``; :class:`AnalogMVM`) and the ADC step and offset.
    """
    enc, mapping = params.encoding, params.mapping
    w = check_weights(w, b_w, encoding=enc)
    m, n = w.shape
    x = np.atleast_2d(check_inputs(x, b_a, n))
    bipolar = is_bipolar(enc, mapping)
    full_scale = float(default_full_scale(n, b_w, b_a, enc, mapping) if params.full_scale is None
                       else params.full_scale)
    bits = lossless_bits(full_scale, bipolar) if params.adc_bits is None else params.adc_bits
    lsb = adc_lsb(full_scale, bits, bipolar)
    offset = code_offset(bits, enc, mapping)
    units = analog_units(w, b_w, params, rng)                                     # (S, M, N)
    batch, s = x.shape[0], units.shape[0]
    if mapping == "dima":
        # One analog step: v_i = Σ_j x_j Σ_k c_k 2^k u_ijk (float64: exact integers below 2**53 for nominal cells).
        v = x.astype(np.float64) @ (np.tensordot(bit_weights(b_w, enc).astype(np.float64), units, axes=1).T / lsb)
        codes = _quantise(v, bits, offset).reshape(batch, m, 1, 1)
    else:
        # float32 is exact for nominal cells (sums of ±1/lsb below 2**22) and 2x faster; float64 beyond.
        dtype = np.float32 if n < (1 << 22) else np.float64
        planes = _planes(x, b_a).reshape(b_a * batch, n).astype(dtype)
        # One BLAS call: every (plane, vector) against every (slice, row): the sourceline values, in ADC steps.
        v = planes @ (units / lsb).reshape(s * m, n).T.astype(dtype)              # (B_a·batch, S·M)
        codes = _quantise(v, bits, offset).reshape(b_a, batch, s, m).transpose(1, 3, 0, 2)   # (batch, M, B_a, S)
    return AnalogMVM(codes, lsb, bits, full_scale, offset, code_weights(b_w, enc, mapping), enc, mapping)


def recombine(codes, lsb: int = 1, *, offset: int = 0, weights=None) -> np.ndarray:
    """``lsb · Σ_b 2**b Σ_k weights_k (code[..., b, k] - offset)``, int64 of shape ``codes.shape[:-2]``;
    ``weights`` default :func:`plane_weights` (two's-complement slices)."""
    codes = np.asarray(codes, dtype=np.int64) - offset
    b_a, s = codes.shape[-2:]
    weights = plane_weights(s) if weights is None else np.asarray(weights, dtype=np.int64)
    return lsb * np.einsum("...bk,b,k->...", codes, (1 << np.arange(b_a)).astype(np.int64), weights)


def dima_matvec(w, x, b_w: int, b_a: int, params: DIMAParams = DIMAParams(), rng=None) -> np.ndarray:
    """``a = W x`` through the MRAM-DIMA model: int64 ``(M,)`` for ``x`` of shape ``(N,)``, else ``(batch, M)``.

    Equals ``W @ x`` exactly for σ = 0 and a lossless ADC (``adc_bits >=`` :func:`lossless_bits` of the default
    full scale), in every encoding and mapping.
    """
    a = dima_codes(w, x, b_w, b_a, params, rng).values()
    return a[0] if np.ndim(x) == 1 else a


# ------------------------------------------------------------------------------- variation of one weight's value
@functools.lru_cache(maxsize=1)
def _legendre_nodes(n: int = 128) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _cell_std(g_state: float, params: DIMAParams) -> float:
    """Standard deviation of ``g = G / (1 + r G)``, ``G = g_state·max(1 + σε, 0)``, ``ε ~ N(0, 1)``: mean, then the
    central second moment (no cancellation at small σ), by 128-node Gauss-Legendre quadrature over
    ``max(-1/σ, -12) <= ε <= 12`` (beyond ±12 the density is below 1e-31) plus the point mass ``P(ε < -1/σ)`` at
    ``g = 0``."""
    sigma, r = params.sigma, params.r_access
    if sigma == 0 or g_state == 0:
        return 0.0
    lo, hi = max(-1.0 / sigma, -12.0), 12.0
    t, wt = _legendre_nodes()
    e = 0.5 * (hi - lo) * t + 0.5 * (hi + lo)
    wt = 0.5 * (hi - lo) * wt * np.exp(-0.5 * e * e) / math.sqrt(2 * math.pi)
    big = g_state * (1.0 + sigma * e)
    g = big / (1.0 + r * big)
    clipped = 0.5 * math.erfc(1.0 / (sigma * math.sqrt(2))) if -1.0 / sigma > -12.0 else 0.0
    mean = float(wt @ g)
    return math.sqrt(float(wt @ (g - mean) ** 2) + clipped * mean * mean)


def cell_sigma_lsb(params: DIMAParams) -> tuple[float, float]:
    """Standard deviation of one P cell's and one AP cell's ``u`` (module docstring), in units of the nominal P-AP
    difference (one LSB of a bit-serial count)."""
    gain = params.g_on - params.g_off
    g_ap = 0.0 if params.tmr == math.inf else 1.0 / (1.0 + params.tmr)
    return _cell_std(1.0, params) / gain, _cell_std(g_ap, params) / gain


def weight_sigma_lsb(b_w: int, params: DIMAParams = DIMAParams()) -> dict[str, float]:
    """For every weight of :func:`weight_range` (key: the weight as a string, e.g. ``"-3"``): the standard
    deviation, in LSB (one weight unit), of that weight's analog value ``Σ_k bit_weights[k]·u_k`` before conversion.

    Cells vary independently: ``Var = Σ_cells bit_weight² · σ_u(state)²`` over the cells that enter the analog value:
    all ``B_w`` cells in twos (the sign cell with weight ``2**(b_w-1)``), the ``B_w - 1`` magnitude cells in
    sign-magnitude (the sign cell is sensed, not summed), both groups' ``B_w - 1`` cells in differential.
    """
    sd_p, sd_ap = cell_sigma_lsb(params)
    lo, hi = weight_range(b_w, params.encoding)
    w = np.arange(lo, hi + 1).reshape(1, -1)
    bw2 = bit_weights(b_w, params.encoding).astype(np.float64) ** 2
    s = n_slices(b_w, params.encoding)
    if params.encoding == "twos":
        on = [_slices(w, b_w)]
    elif params.encoding == "sign-magnitude":
        on = [_bits(np.abs(w), s)]
    else:
        on = [_bits(np.maximum(w, 0), s), _bits(np.maximum(-w, 0), s)]
    var = sum(np.tensordot(bw2, np.where(b == 1, sd_p ** 2, sd_ap ** 2), axes=1) for b in on)[0]
    return {str(int(v)): float(math.sqrt(x)) for v, x in zip(w[0], var)}


def sign_read_error(params: DIMAParams) -> float:
    """Probability that a single-ended read of one cell against the mid-point reference ``(g_on + g_off) / 2``
    returns the wrong bit, the mean over a P and an AP cell: what sign-magnitude's sensed sign bit would suffer
    without the margin and ECC of a memory read (the model assumes it read right).

    ``g`` rises with ``G``, so the P cell fails when ``1 + σε < G_ref`` and the AP cell when
    ``G_AP (1 + σε) > G_ref``, ``G_ref = ref / (1 - r·ref)``: ``(Φ((G_ref - 1)/σ) + 1 - Φ((G_ref/G_AP - 1)/σ))/2``.
    """
    ref = 0.5 * (params.g_on + params.g_off)
    g_ref = ref / (1.0 - params.r_access * ref)
    if params.sigma == 0:
        return 0.0
    phi = lambda z: 0.5 * math.erfc(-z / math.sqrt(2))           # noqa: E731
    p_fail = phi((g_ref - 1.0) / params.sigma)
    g_ap = 0.0 if params.tmr == math.inf else 1.0 / (1.0 + params.tmr)
    ap_fail = 0.0 if g_ap == 0 else 1.0 - phi((g_ref / g_ap - 1.0) / params.sigma)
    return 0.5 * (p_fail + ap_fail)


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


#: Largest ``lsb_shift`` of the post-processor (the ADC step ``2**lsb_shift``).
MAX_LSB_SHIFT = 48


def _check_post_params(b_w, slice_bits, acc_width, b_out, encoding="twos", mapping="bit-serial", lsb_shift=0):
    b_w = check_int("b_w", b_w, min=2, max=MAX_BITS)
    slice_bits = check_int("slice_bits", slice_bits, min=1, max=MAX_ADC_BITS)
    acc_width = check_int("acc_width", acc_width, min=2, max=64)
    b_out = check_int("b_out", b_out, min=1, max=64)
    check_choice("encoding", encoding, ENCODINGS)
    check_choice("mapping", mapping, MAPPINGS)
    lsb_shift = check_int("lsb_shift", lsb_shift, min=0, max=MAX_LSB_SHIFT)
    return b_w, slice_bits, acc_width, b_out, (acc_width - 1).bit_length(), lsb_shift


def _clamp(y: int, relu: bool, b_out: int) -> int:
    """The saturated output as its ``b_out``-bit pattern."""
    lo, hi = (0, (1 << b_out) - 1) if relu else (-(1 << (b_out - 1)), (1 << (b_out - 1)) - 1)
    return min(max(y, lo), hi) & ((1 << b_out) - 1)


def ref_dima_post(codes, first, last, bias, shift, relu, b_w: int = 4, slice_bits: int = 8, acc_width: int = 32,
                  b_out: int = 8, encoding: str = "twos", mapping: str = "bit-serial",
                  lsb_shift: int = 0) -> np.ndarray:
    """Golden of :class:`hw.dima_post.DIMAPostProcessor`: a stream of input-bit planes to saturated outputs.

    One entry per valid plane (transaction) ``t``; planes arrive MSB first. A plane has ``S`` =
    ``len(code_weights(b_w, encoding, mapping))`` codes; per plane
    ``p = 2**lsb_shift · Σ_k c_k (code_k - offset)`` with ``c`` = :func:`code_weights` and ``offset`` =
    :func:`code_offset` (``2**(slice_bits-1)`` for bipolar codes, else 0); ``acc = p`` on ``first``, else
    ``acc = 2·acc + p``, wrapped to ``acc_width`` bits two's complement (``acc`` starts at 0 and persists across
    vectors). On ``last``: ``y = (acc + bias) >> shift`` (exact sum, arithmetic shift: floor);
    ``out = clamp(y, 0, 2**b_out - 1)`` with ``relu``, else ``clamp(y, -2**(b_out-1), 2**(b_out-1) - 1)``;
    ``bias``, ``shift``, ``relu`` are those of the ``last`` plane.

    Parameters
    ----------
    codes : int array (T,) of packed codes, or (T, S) of codes
        Packed: code ``j`` in bits ``[j*slice_bits, (j+1)*slice_bits)``; each code in ``[0, 2**slice_bits)``.
    first, last : bool arrays (T,)
    bias : int array (T,) or int
        Signed value or its ``acc_width``-bit pattern (read modulo ``2**acc_width`` as two's complement).
    shift : int array (T,) or int
        ``0 .. 2**ceil_log2(acc_width) - 1``.
    relu : bool array (T,) or bool
    b_w, slice_bits, acc_width, b_out, encoding, mapping, lsb_shift
        As the RTL's parameters (``b_w`` 2..16, ``slice_bits`` 1..48, ``acc_width`` 2..64, ``b_out`` 1..64,
        :data:`ENCODINGS`, :data:`MAPPINGS`, ``lsb_shift`` 0..48).

    Returns
    -------
    numpy.ndarray of object (Python ints)
        One ``b_out``-bit output pattern (two's complement without ``relu``) per ``last`` plane.
    """
    b_w, slice_bits, acc_width, b_out, shift_width, lsb_shift = _check_post_params(
        b_w, slice_bits, acc_width, b_out, encoding, mapping, lsb_shift)
    weights = [int(c) for c in code_weights(b_w, encoding, mapping)]
    offset = code_offset(slice_bits, encoding, mapping)
    s_codes = len(weights)
    t = len(first)
    slices = unpack_codes(codes, s_codes, slice_bits) if np.ndim(codes) == 1 else np.asarray(codes, dtype=object)
    if slices.shape != (t, s_codes):
        raise ValueError(f"codes must have {t} entries of {s_codes} codes, got shape {np.shape(codes)}")
    bias, shift, relu = (np.full(t, v, dtype=object) if np.ndim(v) == 0 else v for v in (bias, shift, relu))
    for name, arr in (("last", last), ("bias", bias), ("shift", shift), ("relu", relu)):
        if len(arr) != t:
            raise ValueError(f"{name} must have {t} entries (one per plane), got {len(arr)}")
    limit = 1 << slice_bits
    out, acc = [], 0
    for i in range(t):
        c = [int(v) for v in slices[i]]
        if any(not 0 <= v < limit for v in c):
            raise ValueError(f"codes[{i}] has a slice code outside [0, {limit - 1}]: {c}")
        p = sum(wj * (cj - offset) for wj, cj in zip(weights, c)) << lsb_shift
        acc = wrap_signed(p if first[i] else 2 * acc + p, acc_width)
        if last[i]:
            s = int(shift[i])
            if not 0 <= s < (1 << shift_width):
                raise ValueError(f"shift[{i}] must be in [0, {(1 << shift_width) - 1}], got {s}")
            y = (acc + wrap_signed(int(bias[i]), acc_width)) >> s
            out.append(_clamp(y, bool(relu[i]), b_out))
    return np.array(out, dtype=object)


def dima_post(codes, bias=0, shift=0, relu=False, acc_width: int = 32, b_out: int = 8, *, offset: int = 0,
              weights=None, lsb_shift: int = 0) -> np.ndarray:
    """Vectorised :func:`ref_dima_post` for whole vectors: codes ``(..., P, S)`` (plane ``b`` = bit ``b``) to
    the signed output values (int64, ``codes.shape[:-2]``); ``bias``, ``shift``, ``relu`` broadcast against it;
    ``offset``, ``weights`` (default :func:`plane_weights`) and ``lsb_shift`` as the RTL's (:class:`AnalogMVM`).

    The same arithmetic as the RTL (Horner over the planes MSB first with the ``acc_width`` wrap, exact bias sum,
    floor shift, saturation), for ``acc_width <= 62``; returns the value, not the bit pattern.
    """
    codes = np.asarray(codes, dtype=np.int64) - offset
    b_a, s = codes.shape[-2:]
    acc_width = check_int("acc_width", acc_width, min=2, max=62)
    b_out = check_int("b_out", b_out, min=1, max=62)
    weights = plane_weights(s) if weights is None else np.asarray(weights, dtype=np.int64)
    p = (codes @ weights) << check_int("lsb_shift", lsb_shift, min=0, max=MAX_LSB_SHIFT)       # (..., P)
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
    """Inverse of :func:`pack_codes`: object ``(T, b_w)`` (``b_w`` = codes per word)."""
    mask = (1 << slice_bits) - 1
    return np.array([[(int(v) >> (j * slice_bits)) & mask for j in range(b_w)] for v in np.asarray(words).tolist()],
                    dtype=object).reshape(-1, b_w)


def post_stream(codes, slice_bits: int, bias=0, shift=0, relu=False, acc_width: int = 32) -> dict:
    """The post-processor's input transactions for codes ``(batch, M, P, S)`` (:class:`AnalogMVM`): one vector per
    (n, i), its planes MSB first; ``bias`` (as its ``acc_width``-bit pattern), ``shift`` and ``relu`` broadcast over
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


def acc_width_for(b_w: int, b_a: int, slice_bits: int, encoding: str = "twos", mapping: str = "bit-serial",
                  lsb_shift: int = 0) -> int:
    """Accumulator width that no vector of ``slice_bits``-bit codes can wrap (sign included): the largest
    ``|Σ_b 2**b p_b|`` over :func:`planes_per_output` planes, ``|p| <= 2**lsb_shift·Σ_k |c_k|·max|code - offset|``."""
    weights = code_weights(b_w, encoding, mapping)
    offset = code_offset(slice_bits, encoding, mapping)
    top = max(offset, (1 << slice_bits) - 1 - offset)
    if encoding == "twos" and mapping == "bit-serial":
        # the negative sign slice and the positive slices never reach their extremes in the same plane
        p_max = top * max(int(weights[weights > 0].sum()), int(-weights[weights < 0].sum()))
    else:
        p_max = top * int(np.abs(weights).sum())
    biggest = ((1 << planes_per_output(b_a, mapping)) - 1) * (p_max << lsb_shift)
    return biggest.bit_length() + 1
