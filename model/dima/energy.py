"""Energy and delay of one MVM on MRAM-DIMA against the conventional digital MRAM architecture of Fig. 1.

Source: ``mram-dima-patil-iscas2019.txt``: abstract and Section I ("4.5x and 70x lower energy and delay ...
compared to digital MRAM implementation with the matrix stored in an identical MRAM array"), Section II.B and
Fig. 1 (the digital architecture: an ``M x N·B_w`` 1T-1MTJ array, an L:1 column multiplexer in front of
``N·B_w / L`` sense amplifiers, a digital processor). Our copy ends before the paper's energy model, so every
per-operation number below is **ours**, named, with its source or the reason for the assumed value; the report
shows how both ratios move with the ones the paper does not give (:func:`sensitivity`).

Digital architecture (Fig. 1), one MVM ``a = W x``::

    row accesses     M·L              (each senses N·B_w / L bits through the L:1 mux)
    E_digital = M·N·B_w·(e_sense_bit + e_move_bit) + M·L·e_row + M·N·e_mac
    T_digital = M·L·t_read            (the N / L MAC units keep pace with the reads; the MACs are pipelined)

MRAM-DIMA (``model/dima/array.py``; ``S`` magnitude-or-bit slices per weight (``B_w`` twos, ``B_w - 1`` otherwise),
``G`` = 2 column groups for differential else 1, ``C`` = ADC conversions per output
(:func:`model.dima.array.conversions_per_output`: ``B_a·S`` bit-serial, 1 dima))::

    bit-serial   E = B_a·S·G·(M·N·ρ·e_cell + P·N·e_bitline) + M·C·(e_adc + e_post) [+ E_sign]
    dima         E = G·h·(M·N·ρ·e_cell + P·N·e_bitline) + P·N·S·G·e_pwm + M·(e_adc + e_post) [+ E_sign]
                 h = Σ_{k<S} 2^k / 2^(B_w-1)    (bitline (j, k) at amplitude 2^k/2^(B_w-1)·V_in for x_j/(2^B_a-1)
                                                 of t_int: a cell's energy scales with its drive)
    row-parallel (twos, differential: P = 1)
                 T = B_a·S·max(t_int, R·t_ADC) + t_int   (bit-serial)   |   t_int + R·t_ADC   (dima)
    row-serial   (sign-magnitude: the polarity of weight (i, j) cannot be set on bitline j that all rows share, so
                 P = M passes of one row each, after sensing the row's N sign bits through the N·B_w / L sense
                 amplifiers: E_sign = M·N·e_sense_bit + M·ceil(L/B_w)·e_row)
                 T = M·(ceil(L/B_w)·t_read + B_a·S·max(t_int, t_ADC)) + t_int   (bit-serial; one step for dima)

``ρ`` = fraction of input bits that are 1 (cells that conduct; for the dima mapping the mean of ``x_j / (2^B_a-1)``,
the same for independent bits), ``e_cell`` the energy of one conducting cell for one integration (the average of a
P and an AP cell), ``e_adc`` from Walden's figure of merit at the ADC resolution (lossless for the mapping by
default, :func:`model.dima.array.lossless_bits`), ``e_pwm`` one ``B_a``-bit comparison per driven bitline (the
pulse-width input driver of the dima mapping). Thermal and readout noise are not modelled, so the dima mapping's
smaller charge per LSB (``2^(B_w-1)·(2^B_a-1)`` times below a bit-serial count) costs nothing here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from model.checks import check_choice, check_int, check_real
from model.dima.array import (ENCODINGS, MAPPINGS, MAX_ADC_BITS, conversions_per_output, default_full_scale,
                              is_bipolar, lossless_bits, n_slices)

__all__ = ["EnergyParams", "PARAM_INFO", "Cost", "digital_cost", "dima_cost", "ratios", "sensitivity",
           "solve_for_ratio", "PAPER_ENERGY_RATIO", "PAPER_DELAY_RATIO", "row_serial"]

#: The paper's claims (abstract).
PAPER_ENERGY_RATIO = 4.5
PAPER_DELAY_RATIO = 70.0


@dataclass(frozen=True)
class EnergyParams:
    """Named per-operation parameters (units in the field names; :data:`PARAM_INFO` gives each one's source)."""

    m: int = 256                 # rows = outputs M
    n: int = 256                 # weights per row N (N·B_w columns)
    b_w: int = 4
    b_a: int = 4
    mux_l: int = 8               # L of the L:1 column multiplexer (Fig. 1)
    v_dd: float = 0.9            # V
    t_read_s: float = 4e-9       # digital read (sensing) time
    i_read_a: float = 20e-6      # digital read current of one cell
    e_move_bit_j: float = 0.05e-12
    e_row_j: float = 1e-12
    e_mul8_j: float = 0.2e-12
    e_add8_j: float = 0.03e-12
    tech_scale: float = 0.5
    r_p_ohm: float = 5e3
    tmr: float = 1.5
    r_access: float = 0.25       # in units of R_P
    v_in: float = 0.1            # V, bitline voltage of an input bit 1 (DIMA)
    t_int_s: float = 4e-9        # sourceline integration time per step (DIMA)
    input_density: float = 0.5   # ρ
    c_bitline_cell_f: float = 0.1e-15
    adc_bits: int | None = None  # None: lossless for the mapping (N per bit-serial count)
    adc_fom_j: float = 20e-15    # Walden FOM, J per conversion step
    t_adc_bit_s: float = 1e-9    # SAR: one bit per cycle at 1 GHz
    rows_per_adc: int = 1
    encoding: str = "twos"       # model/dima/array.py ENCODINGS
    mapping: str = "bit-serial"  # model/dima/array.py MAPPINGS

    def __post_init__(self):
        for name in ("m", "n", "mux_l", "rows_per_adc"):
            check_int(name, getattr(self, name), min=1)
        check_int("b_w", self.b_w, min=2, max=16)
        check_int("b_a", self.b_a, min=1, max=16)
        if self.adc_bits is not None:
            check_int("adc_bits", self.adc_bits, min=1, max=MAX_ADC_BITS)
        check_choice("encoding", self.encoding, ENCODINGS)
        check_choice("mapping", self.mapping, MAPPINGS)
        for f in fields(self):
            if f.type == "float":
                check_real(f.name, getattr(self, f.name), min=0, min_open=f.name != "r_access")
        check_real("input_density", self.input_density, min=0, max=1)

    @property
    def adc_resolution(self) -> int:
        """``adc_bits``, or the lossless resolution of the mapping's full scale (9 b for N = 256 bit-serial twos)."""
        if self.adc_bits is not None:
            return self.adc_bits
        fs = default_full_scale(self.n, self.b_w, self.b_a, self.encoding, self.mapping)
        return lossless_bits(fs, is_bipolar(self.encoding, self.mapping))

    @property
    def conversions_per_output(self) -> int:
        """ADC conversions per output (:func:`model.dima.array.conversions_per_output`)."""
        return conversions_per_output(self.b_w, self.b_a, self.encoding, self.mapping)

    @property
    def e_sense_bit_j(self) -> float:
        """One sensed bit: cell branch + reference branch of a current-mode sense amplifier, ``2·I·V_DD·t_read``."""
        return 2 * self.i_read_a * self.v_dd * self.t_read_s

    @property
    def e_mac_j(self) -> float:
        """One ``B_w x B_a`` multiply and its accumulation: Horowitz's 8-bit multiply scaled by the bit product,
        plus an add of ``B_w + B_a + log2 N`` bits (8-bit add scaled linearly), times ``tech_scale``."""
        acc_bits = self.b_w + self.b_a + math.log2(self.n)
        return self.tech_scale * (self.e_mul8_j * self.b_w * self.b_a / 64 + self.e_add8_j * acc_bits / 8)

    @property
    def e_cell_j(self) -> float:
        """One conducting cell for one integration, ``V_DD·V_in·t_int·mean(g_P, g_AP)/R_P``."""
        g_p = 1 / (1 + self.r_access)
        g_ap = 1 / (1 + self.tmr + self.r_access)
        return self.v_dd * self.v_in * self.t_int_s * 0.5 * (g_p + g_ap) / self.r_p_ohm

    @property
    def e_bitline_j(self) -> float:
        """Charging one bitline (M cells) to ``V_in`` from ``V_DD``: ``M·c_cell·V_in·V_DD``."""
        return self.m * self.c_bitline_cell_f * self.v_in * self.v_dd

    @property
    def e_adc_j(self) -> float:
        """Walden: ``FOM·2**bits`` per conversion."""
        return self.adc_fom_j * 2 ** self.adc_resolution

    @property
    def e_post_j(self) -> float:
        """One shift-and-add of the post-processor on a ``B_w + B_a + bits`` accumulator (8-bit add scaled)."""
        return self.tech_scale * self.e_add8_j * (self.b_w + self.b_a + self.adc_resolution) / 8

    @property
    def e_pwm_j(self) -> float:
        """One ``B_a``-bit comparison of a pulse-width driver (8-bit add scaled linearly, times ``tech_scale``)."""
        return self.tech_scale * self.e_add8_j * self.b_a / 8

    @property
    def t_adc_s(self) -> float:
        """SAR conversion, one bit per cycle plus one sampling cycle."""
        return (self.adc_resolution + 1) * self.t_adc_bit_s


#: Per parameter: (unit, source or reason, sensitivity range (low, high) or None for fixed/known ones).
PARAM_INFO = {
    "m": ("rows", "array rows = outputs M (paper notation, Sec. II.A-B); size not in our copy: assumed", (64, 1024)),
    "n": ("weights/row", "N (N·B_w columns); not in our copy: assumed", (64, 1024)),
    "b_w": ("bits", "B_w (paper notation); value not in our copy: 4 as our networks", (2, 8)),
    "b_a": ("bits", "B_a (paper notation); value not in our copy: 4 as our networks", (2, 8)),
    "mux_l": ("", "L of the L:1 column mux (Fig. 1); value not in our copy: assumed", (2, 32)),
    "v_dd": ("V", "22 nm logic supply; the 0.9 V of Wei et al., ISSCC 2019 (Intel 22FFL STT-MRAM)", None),
    "t_read_s": ("s", "4 ns read sensing time, Wei et al., ISSCC 2019 (Intel 22FFL STT-MRAM, 0.9 V)", (2e-9, 10e-9)),
    "i_read_a": ("A", "assumed: read current well below the write current (typ. 10-30 µA)", (10e-6, 40e-6)),
    "e_move_bit_j": ("J", "assumed: ~0.1 pJ/bit/mm of on-chip wire over ~0.5 mm from the sense amplifiers to the "
                          "digital processor", (0.01e-12, 0.2e-12)),
    "e_row_j": ("J", "assumed: row decoder + wordline driver per access", (0.2e-12, 5e-12)),
    "e_mul8_j": ("J", "8-bit integer multiply, 45 nm: Horowitz, ISSCC 2014, 'Computing's energy problem'", None),
    "e_add8_j": ("J", "8-bit integer add, 45 nm: Horowitz, ISSCC 2014", None),
    "tech_scale": ("", "assumed 45 nm -> 22 nm energy scaling of digital logic", (0.25, 1.0)),
    "r_p_ohm": ("Ω", "assumed: R_P of a 22 nm perpendicular MTJ (a few kΩ)", (2e3, 10e3)),
    "tmr": ("", "assumed TMR 150 % (commercial pMTJ 100-200 %), as model/dima/array.py", (1.0, 2.5)),
    "r_access": ("R_P", "assumed access-transistor on-resistance / R_P, as model/dima/array.py", (0.1, 0.5)),
    "v_in": ("V", "assumed low-swing bitline drive of an input bit (DIMA), below the 0.1-0.2 V read bias",
             (0.05, 0.2)),
    "t_int_s": ("s", "assumed sourceline integration per step = one read sensing time", (1e-9, 8e-9)),
    "input_density": ("", "assumed fraction of input bits equal to 1", (0.25, 0.75)),
    "c_bitline_cell_f": ("F", "assumed bitline capacitance per cell", (0.05e-15, 0.3e-15)),
    "adc_fom_j": ("J/step", "Walden FOM of SAR ADCs near 8 b (Murmann, ADC performance survey: ~1-100 fJ/step)",
                  (5e-15, 100e-15)),
    "t_adc_bit_s": ("s", "assumed SAR clock 1 GHz (one bit per cycle)", (0.5e-9, 4e-9)),
    "rows_per_adc": ("rows", "assumed: one ADC per row (pitch-matched at the sourceline end)", (1, 16)),
    "adc_bits": ("bits", "ADC resolution; default lossless for the mapping's full scale (bit-serial twos: "
                         "ceil(log2(N+1)); model/dima/array.py lossless_bits)", (5, 10)),
}


@dataclass(frozen=True)
class Cost:
    """Energy (J) and delay (s) of one MVM, with the named terms of each."""

    energy_j: float
    delay_s: float
    energy_terms: dict
    delay_terms: dict


def digital_cost(p: EnergyParams) -> Cost:
    """The conventional architecture of Fig. 1 (module docstring)."""
    bits = p.m * p.n * p.b_w
    terms = {"sense": bits * p.e_sense_bit_j, "move to processor": bits * p.e_move_bit_j,
             "row access": p.m * p.mux_l * p.e_row_j, "MAC": p.m * p.n * p.e_mac_j}
    return Cost(sum(terms.values()), p.m * p.mux_l * p.t_read_s, terms, {"reads": p.m * p.mux_l * p.t_read_s})


def row_serial(encoding: str) -> bool:
    """Whether the array computes one row at a time: sign-magnitude applies each weight's sign as the polarity of
    its bitlines, which all rows share (module docstring)."""
    return check_choice("encoding", encoding, ENCODINGS) == "sign-magnitude"


def dima_cost(p: EnergyParams) -> Cost:
    """MRAM-DIMA in ``p.encoding`` and ``p.mapping`` (module docstring): energy terms ``cells``, ``bitlines``,
    (``PWM drivers``,) ``ADC``, ``post-processing`` (, ``sign reads``)."""
    s, g = n_slices(p.b_w, p.encoding), 2 if p.encoding == "differential" else 1
    serial = row_serial(p.encoding)
    passes = p.m if serial else 1
    conv = p.conversions_per_output
    sign_reads = math.ceil(p.mux_l / p.b_w)
    if p.mapping == "bit-serial":
        steps = p.b_a * s
        terms = {"cells": steps * g * p.m * p.n * p.input_density * p.e_cell_j,
                 "bitlines": steps * g * passes * p.n * p.e_bitline_j}
    else:
        steps = 1
        h = sum(2 ** k for k in range(s)) / 2 ** (p.b_w - 1)
        terms = {"cells": g * h * p.m * p.n * p.input_density * p.e_cell_j,
                 "bitlines": g * h * passes * p.n * p.e_bitline_j,
                 "PWM drivers": passes * p.n * s * g * p.e_pwm_j}
    terms.update({"ADC": p.m * conv * p.e_adc_j, "post-processing": p.m * conv * p.e_post_j})
    if serial:
        terms["sign reads"] = p.m * p.n * p.e_sense_bit_j + p.m * sign_reads * p.e_row_j
        per_row = sign_reads * p.t_read_s + steps * max(p.t_int_s, p.t_adc_s)
        delay = {"rows, one at a time": p.m * per_row, "last integration": p.t_int_s}
    elif p.mapping == "bit-serial":
        delay = {"steps": steps * max(p.t_int_s, p.rows_per_adc * p.t_adc_s), "first integration": p.t_int_s}
    else:
        delay = {"integration": p.t_int_s, "conversion": p.rows_per_adc * p.t_adc_s}
    return Cost(sum(terms.values()), sum(delay.values()), terms, delay)


def ratios(p: EnergyParams) -> tuple[float, float]:
    """(digital / DIMA energy, digital / DIMA delay): the paper's "x lower" factors."""
    d, a = digital_cost(p), dima_cost(p)
    return d.energy_j / a.energy_j, d.delay_s / a.delay_s


def sensitivity(p: EnergyParams = EnergyParams()) -> list[tuple]:
    """Per parameter with a range in :data:`PARAM_INFO`: ``(name, low, high, energy ratio at low, at high, delay
    ratio at low, at high)``, the others at ``p``."""
    rows = []
    for name, (_, _, rng) in PARAM_INFO.items():
        if rng is None:
            continue
        lo, hi = rng
        at = [ratios(replace(p, **{name: v})) for v in (lo, hi)]
        rows.append((name, lo, hi, at[0][0], at[1][0], at[0][1], at[1][1]))
    return rows


def solve_for_ratio(name: str, target: float, which: str = "energy", p: EnergyParams = EnergyParams(),
                    widen: float = 10.0) -> float | None:
    """The value of parameter ``name`` (the others at ``p``) that makes the energy or delay ratio equal ``target``,
    searched over its :data:`PARAM_INFO` range widened ``widen`` times on each side (integers rounded); None if the
    ratio does not reach ``target`` there."""
    idx = {"energy": 0, "delay": 1}[which]
    lo, hi = PARAM_INFO[name][2]
    is_int = isinstance(lo, int)
    lo, hi = lo / widen, hi * widen
    if name == "input_density":
        hi = 1.0
    if is_int:
        lo = max(lo, 1.0)

    def f(v):
        v = max(1, round(v)) if is_int else v
        try:
            return ratios(replace(p, **{name: v}))[idx] - target
        except (ValueError, TypeError):
            return math.nan

    grid = [lo * (hi / lo) ** (i / 40) for i in range(41)]
    vals = [f(v) for v in grid]
    for (a, fa), (b, fb) in zip(zip(grid, vals), zip(grid[1:], vals[1:])):
        if math.isfinite(fa) and math.isfinite(fb) and fa * fb <= 0:
            for _ in range(40):
                mid = math.sqrt(a * b)
                fm = f(mid)
                if fa * fm <= 0:
                    b, fb = mid, fm
                else:
                    a, fa = mid, fm
            v = math.sqrt(a * b)
            return max(1, round(v)) if is_int else v
    return None
