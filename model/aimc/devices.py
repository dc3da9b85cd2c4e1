"""SOT-MRAM analog in-memory computing: ternary weights on differential conductance pairs and their spread.

Paper: sot-mram-aimc-doevenspeck-imec.txt (J. Doevenspeck et al., imec, VLSI 2020), Figs. 8-11, Table I.

Weight encoding (Fig. 9)
------------------------
Each ternary weight is a pair of SOT-MTJs ``(G+, G-)`` on two summation lines whose currents are subtracted:
``+1 -> (G_P, G_AP)``, ``-1 -> (G_AP, G_P)``, ``0 -> (G_AP, G_AP)``. The effective weight is

    w = (G+ - G-) / (mu_GP - mu_GAP)                                              (Fig. 10)

normalised so that the mean of level +1 is exactly 1 (the periphery calibrates its gain to the mean P/AP
difference). With ``TMR = (R_AP - R_P) / R_P``, ``mu_GAP = mu_GP / (1 + TMR)`` and
``mu_GP - mu_GAP = TMR mu_GAP``. The two devices of a pair are independent, so with ``c_P = sigma_GP / mu_GP``
and ``c_AP = sigma_GAP / mu_GAP``:

    sigma_{+1} = sigma_{-1} = sqrt(sigma_GP^2 + sigma_GAP^2) / (mu_GP - mu_GAP)
                            = sqrt(c_P^2 (1 + TMR)^2 + c_AP^2) / TMR
    sigma_0                 = sqrt(2) sigma_GAP / (mu_GP - mu_GAP) = sqrt(2) c_AP / TMR      (Fig. 10 (b))

The paper's Fig. 10 (b) caption says the spread depends on "sigma_GAP, sigma_GP and mu_GP . mu_GAP"; the
dot is read as the difference ``mu_GP - mu_GAP`` (the text-extraction lost the minus): the product has the wrong
unit (S^2) for normalising a conductance difference.

Inverse (Fig. 11, TMR = 150 %): the largest conductance spread for a target weight spread ``sigma_w``. Level 0
constrains the AP state only: ``c_AP <= sigma_w TMR / sqrt(2)``. Levels +-1 constrain both; with equal relative
spreads ``c_P = c_AP = c`` (Fig. 8 (b): sigma/mu does not depend on RA, and P and AP are the same pillar, whose
area sets both) ``c <= sigma_w TMR / sqrt((1 + TMR)^2 + 1)``; :func:`max_cv_p` gives the bound on ``c_P`` for any
other ``c_AP``.

Device data (each constant names its figure)
--------------------------------------------
The text gives RA, CD, R_ON, TMR, the radius spread and the cell area; the measured sigma/mu of Fig. 8 (a, b) are
plotted but not printed. We therefore derive the conductance spread from Fig. 8 (c)'s statement that "a Gaussian
distribution on the MTJ radius with sigma = 3 nm suffices to capture nearly all variation": ``G = pi r^2 / RA``
with ``r ~ N(r0, s)`` has exactly ``E[r^2] = r0^2 + s^2`` and ``Var[r^2] = 4 r0^2 s^2 + 2 s^4``
(:func:`radius_model_cv`), and both states of one pillar share its area. R_ON = 6 MOhm at RA = 20 kOhm um^2 (Table I)
is not the nominal 80 nm pillar (that gives 3.98 MOhm, :func:`resistance_from_ra`): it needs an electrical
diameter of 65.1 nm (:func:`diameter_for_resistance`), which we take as the device of Table I (Fig. 8 (b) plots
sigma/mu against this electrical CD, eCD). The report shows both and the resulting sigma_w beside the paper's 15 %.

What 15 % needs (:func:`required_spreads`): sigma/mu <= 8.36 % for levels +-1 (15.9 % for level 0), i.e. a radius
sigma of 1.36 nm at the 65.1 nm eCD; or, keeping Fig. 8 (c)'s 3 nm, a pillar of about 143 nm whose R_P at
20 kOhm um^2 is about 1.24 MOhm -- 6 MOhm then needs RA of about 97 kOhm um^2 (Fig. 4: RA grows exponentially with
the MgO thickness; Fig. 8 (b): sigma/mu does not grow with RA). The report shows these beside ours.

Wire resistance (Fig. 16, "line resistance extracted from the layout in Fig. 9"): the paper prints no value.
Ours, :data:`R_WIRE_22NM_OHM`, is an assumption: a 22-nm-node lower-metal line of 10 ohm/um (about 45 nm x
80 nm copper at an effective 3.6 uOhm cm) over one device pitch, the pitch taken as the side of a square half
ternary cell, ``sqrt(0.076 um^2 / 2) = 0.195 um``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.checks import check_int, check_real, check_real_array

__all__ = [
    "RA_OHM_M2", "RA_VALUES_OHM_M2", "NOMINAL_CD_M", "R_ON_OHM", "R_ON_SPEC_MIN_OHM", "TMR", "SIGMA_RADIUS_M",
    "SIGMA_W_SPEC", "CELL_AREA_M2", "WRITE_PULSE_S", "V_WR_MAX_V", "LINE_RESISTANCE_OHM_PER_M", "DEVICE_PITCH_M",
    "R_WIRE_22NM_OHM", "ECD_6MOHM_M", "TABLE_I", "TABLE_I_COLUMNS", "LEVELS",
    "resistance_from_ra", "diameter_for_resistance", "radius_model_cv", "sigma_radius_for_cv", "radius_for_cv",
    "required_spreads",
    "weight_sigmas", "max_conductance_spread", "max_cv_p", "GaussianStates", "RadiusModel",
    "effective_weight", "pair_conductances", "crossbar_conductances", "sample_weights", "monte_carlo_sigmas",
]

# --------------------------------------------------------------------------------------------- device constants
#: RA product of the optimised stack, 20 kOhm um^2 (Table I; Fig. 6 and Fig. 8 (a)).
RA_OHM_M2 = 20e3 * 1e-12
#: The RA products of the R-H loops of Fig. 6 and the switching of Fig. 7: 5, 20, 50 kOhm um^2.
RA_VALUES_OHM_M2 = (5e3 * 1e-12, 20e3 * 1e-12, 50e3 * 1e-12)
#: Nominal pillar CD, 80 nm (Fig. 6, Fig. 7, Fig. 9 "pillar diameter <= 80 nm", Table I).
NOMINAL_CD_M = 80e-9
#: On (parallel-state) resistance of the Table I device, 6 MOhm (Table I [*]).
R_ON_OHM = 6e6
#: Inference specification R_ON > 5 MOhm (Table I [**]; Fig. 16: the error rises below it).
R_ON_SPEC_MIN_OHM = 5e6
#: Tunnel magnetoresistance assumed for Fig. 11 and Table I [*]: 150 %.
TMR = 1.5
#: Standard deviation of the MTJ radius that captures nearly all resistance variation, 3 nm (Fig. 8 (c)).
SIGMA_RADIUS_M = 3e-9
#: Target weight spread sigma_w < 15 % (Table I "Inference specs."; Fig. 14 (b); text: "sigma_w,test < 15 %").
SIGMA_W_SPEC = 0.15
#: Area of one ternary compute cell (two SOT-MTJs, two two-finger transistors) in the 22 nm layout, 0.076 um^2
#: (Fig. 9).
CELL_AREA_M2 = 0.076e-12
#: SOT write pulse, 0.5 ns (Fig. 7).
WRITE_PULSE_S = 0.5e-9
#: Write voltage of SOT-MRAM, < 1 V (Table I).
V_WR_MAX_V = 1.0
#: Assumed 22-nm lower-metal line resistance, 10 ohm/um (ours; the paper prints no value, see module docstring).
LINE_RESISTANCE_OHM_PER_M = 10.0 / 1e-6
#: Device pitch along a line: side of a square half ternary cell, sqrt(CELL_AREA / 2) (ours, from Fig. 9's area).
DEVICE_PITCH_M = math.sqrt(CELL_AREA_M2 / 2)
#: Wire resistance of one segment (one device pitch) at 22 nm, our estimate for Fig. 16's extracted value.
R_WIRE_22NM_OHM = LINE_RESISTANCE_OHM_PER_M * DEVICE_PITCH_M

LEVELS = (-1, 0, 1)

#: Table I columns, as printed.
TABLE_I_COLUMNS = ("Flash", "RRAM", "PCM", "STT-MRAM", "SOT-MRAM RA=20 kOhm um^2, CD=80 nm (this work)",
                   "Inference specs.")
#: Table I of the paper, row by row (metric, one text cell per column); "[*] Assuming TMR = 150 %. [**] This
#: specification depends on array size and wire resistance but is representative for relevant AIMC array sizes
#: (> 1000 rows) and sub 22 nm nodes." The RRAM R_ON cell "at R_ON > 1 MOhm" qualifies its sigma_w cell.
TABLE_I = (
    ("sigma_W", ("< 15 %", "sigma_W >> 15 %", "< 15 %", "< 15 %", "sigma_W = 15 % at R_ON = 6 MOhm [*]", "< 15 %")),
    ("R_ON", ("programmable", "at R_ON > 1 MOhm", "< 10 MOhm", "< 10 kOhm", "R_ON = 6 MOhm [*]", "> 5 MOhm [**]")),
    ("V_WR", ("> 7 V", "V_FORM > 3 V", "> 2 V", "< 1 V", "< 1 V", "< 1 V")),
)


# -------------------------------------------------------------------------------------------- geometry (Fig. 8)
def resistance_from_ra(ra: float, diameter: float) -> float:
    """MTJ resistance ``RA / (pi d^2 / 4)`` in ohms (RA in ohm m^2, diameter in m; Fig. 4, Fig. 8 (a))."""
    ra = check_real("ra", ra, min=0, min_open=True, unit="ohm m^2", type_error=False)
    diameter = check_real("diameter", diameter, min=0, min_open=True, unit="m", type_error=False)
    return ra / (math.pi * diameter ** 2 / 4)


def diameter_for_resistance(ra: float, resistance: float) -> float:
    """The circular pillar diameter in m with resistance ``resistance`` at ``ra`` (inverse of
    :func:`resistance_from_ra`)."""
    ra = check_real("ra", ra, min=0, min_open=True, unit="ohm m^2", type_error=False)
    resistance = check_real("resistance", resistance, min=0, min_open=True, unit="ohm", type_error=False)
    return math.sqrt(4 * ra / (math.pi * resistance))


#: Electrical diameter of the Table I device: 6 MOhm at 20 kOhm um^2 (65.1 nm; ours, see module docstring).
ECD_6MOHM_M = diameter_for_resistance(RA_OHM_M2, R_ON_OHM)


def radius_model_cv(radius: float, sigma_radius: float) -> float:
    """Relative spread sigma_G / mu_G of ``G = pi r^2 / RA`` for a Gaussian radius ``r ~ N(radius, sigma_radius)``.

    Exact for the Gaussian: ``sqrt(4 r0^2 s^2 + 2 s^4) / (r0^2 + s^2)`` (Fig. 8 (c)); to first order ``2 s / r0``.
    The same for R_P and R_AP conductances of one pillar (both scale with its area).
    """
    r0 = check_real("radius", radius, min=0, min_open=True, unit="m", type_error=False)
    s = check_real("sigma_radius", sigma_radius, min=0, unit="m", type_error=False)
    return math.sqrt(4 * r0 ** 2 * s ** 2 + 2 * s ** 4) / (r0 ** 2 + s ** 2)


def sigma_radius_for_cv(cv: float, radius: float) -> float:
    """The radius sigma (m) for which :func:`radius_model_cv` equals ``cv`` (< sqrt(2), the s -> inf limit).

    Squaring ``cv (r0^2 + s^2) = sqrt(4 r0^2 s^2 + 2 s^4)`` gives a quadratic in ``x = s^2`` whose non-negative
    root is ``x = r0^2 (sqrt(2 / (2 - cv^2)) - 1)`` (to first order ``s = r0 cv / 2``).
    """
    cv = check_real("cv", cv, min=0, max=math.sqrt(2), max_open=True, type_error=False)
    r0 = check_real("radius", radius, min=0, min_open=True, unit="m", type_error=False)
    return r0 * math.sqrt(math.sqrt(2 / (2 - cv ** 2)) - 1)


def radius_for_cv(cv: float, sigma_radius: float) -> float:
    """The mean radius (m) at which a Gaussian radius spread ``sigma_radius`` gives ``cv`` (the other inverse of
    :func:`radius_model_cv`; ``0 < cv < sqrt(2)``).

    ``cv^2 (u + s^2)^2 = 4 u s^2 + 2 s^4`` with ``u = r0^2`` is a quadratic in ``u``; its root with ``r0 > s`` is
    ``u = s^2 (2 - cv^2 + sqrt(4 - 2 cv^2)) / cv^2`` (to first order ``r0 = 2 s / cv``).
    """
    cv = check_real("cv", cv, min=0, max=math.sqrt(2), min_open=True, max_open=True, type_error=False)
    s = check_real("sigma_radius", sigma_radius, min=0, min_open=True, unit="m", type_error=False)
    return s * math.sqrt(2 - cv ** 2 + math.sqrt(4 - 2 * cv ** 2)) / cv


def required_spreads(sigma_w: float = None, level: int = 1, diameter: float = None, tmr: float = TMR,
                     sigma_radius: float = None, ra: float = None) -> dict:
    """What a weight-spread target ``sigma_w`` at ``level`` asks of the devices (Fig. 11 inverse + Fig. 8 (c)).

    Parameters
    ----------
    sigma_w : float
        Target weight spread (default :data:`SIGMA_W_SPEC`, Table I's 15 %).
    level : int
        -1, 0 or 1 (0: the AP state only; +-1: equal sigma/mu of P and AP, :func:`max_conductance_spread`).
    diameter : float
        Mean electrical pillar diameter in m (default :data:`ECD_6MOHM_M`).
    tmr : float
        TMR (> 0).
    sigma_radius : float
        The radius spread to keep (default :data:`SIGMA_RADIUS_M`, Fig. 8 (c)), for the larger pillar it needs.
    ra : float
        RA product in ohm m^2 (default :data:`RA_OHM_M2`), for the resistance of that pillar.

    Returns
    -------
    dict
        ``cv``: largest sigma/mu; ``sigma_radius``: largest radius sigma at ``diameter`` (m); ``diameter_at_sigma_r``:
        the pillar diameter at which ``sigma_radius`` gives ``cv`` (m); ``r_p_at_sigma_r``: its R_P at ``ra`` (ohm);
        ``ra_for_r_on``: the RA that brings that pillar back to R_ON = 6 MOhm (ohm m^2).
    """
    sigma_w = SIGMA_W_SPEC if sigma_w is None else sigma_w
    diameter = ECD_6MOHM_M if diameter is None else diameter
    sigma_radius = SIGMA_RADIUS_M if sigma_radius is None else sigma_radius
    ra = RA_OHM_M2 if ra is None else ra
    cv = max_conductance_spread(sigma_w, level, tmr)
    d_needed = 2 * radius_for_cv(cv, sigma_radius)
    return {"cv": cv, "sigma_radius": sigma_radius_for_cv(cv, check_real("diameter", diameter, min=0, min_open=True,
                                                                           unit="m", type_error=False) / 2),
            "diameter_at_sigma_r": d_needed, "r_p_at_sigma_r": resistance_from_ra(ra, d_needed),
            "ra_for_r_on": R_ON_OHM * math.pi * d_needed ** 2 / 4}


# --------------------------------------------------------------------------------- weight spread (Figs. 10, 11)
def _check_cv(name, value):
    return check_real(name, value, min=0, type_error=False)


def _check_tmr(tmr):
    return check_real("tmr", tmr, min=0, min_open=True, type_error=False)


def weight_sigmas(cv_p: float, cv_ap: float, tmr: float = TMR) -> dict[int, float]:
    """Standard deviation of each effective weight level, in units of the +1 weight (Fig. 10 (b)).

    Parameters
    ----------
    cv_p, cv_ap : float
        sigma_GP / mu_GP and sigma_GAP / mu_GAP, >= 0.
    tmr : float
        ``(R_AP - R_P) / R_P`` > 0 (1.5 = 150 %).

    Returns
    -------
    dict
        ``{-1: sigma, 0: sigma, 1: sigma}`` from the module docstring's formulas.
    """
    cv_p, cv_ap, tmr = _check_cv("cv_p", cv_p), _check_cv("cv_ap", cv_ap), _check_tmr(tmr)
    pm = math.sqrt(cv_p ** 2 * (1 + tmr) ** 2 + cv_ap ** 2) / tmr
    return {-1: pm, 0: math.sqrt(2) * cv_ap / tmr, 1: pm}


def max_conductance_spread(sigma_w: float, level: int, tmr: float = TMR) -> float:
    """Largest sigma/mu of the conductance states for a weight spread ``sigma_w`` at ``level`` (Fig. 11).

    Level 0: the largest sigma_GAP / mu_GAP (the P state is not used). Levels +-1: the largest common
    sigma_GP / mu_GP = sigma_GAP / mu_GAP (equal relative spreads, see the module docstring).
    """
    sigma_w = check_real("sigma_w", sigma_w, min=0, type_error=False)
    level = check_int("level", level, min=-1, max=1, type_error=False)
    tmr = _check_tmr(tmr)
    if level == 0:
        return sigma_w * tmr / math.sqrt(2)
    return sigma_w * tmr / math.sqrt((1 + tmr) ** 2 + 1)


def max_cv_p(sigma_w: float, cv_ap: float, tmr: float = TMR) -> float:
    """Largest sigma_GP / mu_GP for levels +-1 given sigma_GAP / mu_GAP: ``sqrt((sigma_w TMR)^2 - c_AP^2) / (1 + TMR)``.

    Raises
    ------
    ValueError
        ``cv_ap`` alone already exceeds the budget (``cv_ap > sigma_w TMR``).
    """
    sigma_w = check_real("sigma_w", sigma_w, min=0, type_error=False)
    cv_ap, tmr = _check_cv("cv_ap", cv_ap), _check_tmr(tmr)
    budget = (sigma_w * tmr) ** 2 - cv_ap ** 2
    if budget < 0:
        raise ValueError(f"cv_ap must be <= sigma_w * tmr = {sigma_w * tmr:g} for levels +-1 to reach sigma_w = "
                         f"{sigma_w:g}, got {cv_ap:g}")
    return math.sqrt(budget) / (1 + tmr)


# ------------------------------------------------------------------------------------------------ populations
@dataclass(frozen=True)
class GaussianStates:
    """Gaussian P and AP conductance distributions (Fig. 10 (a)).

    Parameters
    ----------
    g_p : float
        Mean parallel-state conductance mu_GP in siemens (``1 / R_ON``).
    cv_p, cv_ap : float
        sigma_GP / mu_GP and sigma_GAP / mu_GAP.
    tmr : float
        mu_GAP = mu_GP / (1 + tmr).
    """

    g_p: float
    cv_p: float
    cv_ap: float
    tmr: float = TMR

    def __post_init__(self):
        object.__setattr__(self, "g_p", check_real("g_p", self.g_p, min=0, min_open=True, unit="S", type_error=False))
        object.__setattr__(self, "cv_p", _check_cv("cv_p", self.cv_p))
        object.__setattr__(self, "cv_ap", _check_cv("cv_ap", self.cv_ap))
        object.__setattr__(self, "tmr", _check_tmr(self.tmr))

    @property
    def g_ap(self) -> float:
        return self.g_p / (1 + self.tmr)

    def mean_g(self, state: str) -> float:
        """mu_GP (``state="P"``) or mu_GAP (``"AP"``)."""
        return self.g_p if _state(state) == "P" else self.g_ap

    def sample_g(self, state: str, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent device conductances in ``state``."""
        mu, cv = (self.g_p, self.cv_p) if _state(state) == "P" else (self.g_ap, self.cv_ap)
        return rng.normal(mu, cv * mu, check_int("n", n, min=1, type_error=False))

    def weight_sigmas(self) -> dict[int, float]:
        """:func:`weight_sigmas` of these states."""
        return weight_sigmas(self.cv_p, self.cv_ap, self.tmr)


@dataclass(frozen=True)
class RadiusModel:
    """SOT-MTJs whose only variation is a Gaussian pillar radius (Fig. 8 (c)).

    Parameters
    ----------
    ra : float
        RA product in ohm m^2 (R_P = RA / area).
    diameter : float
        Mean electrical diameter in m.
    sigma_radius : float
        Radius standard deviation in m (3 nm in Fig. 8 (c)).
    tmr : float
        R_AP = (1 + tmr) R_P for the same pillar.
    """

    ra: float = RA_OHM_M2
    diameter: float = ECD_6MOHM_M
    sigma_radius: float = SIGMA_RADIUS_M
    tmr: float = TMR

    def __post_init__(self):
        object.__setattr__(self, "ra", check_real("ra", self.ra, min=0, min_open=True, unit="ohm m^2",
                                                  type_error=False))
        object.__setattr__(self, "diameter", check_real("diameter", self.diameter, min=0, min_open=True, unit="m",
                                                        type_error=False))
        object.__setattr__(self, "sigma_radius", check_real("sigma_radius", self.sigma_radius, min=0, unit="m",
                                                            type_error=False))
        object.__setattr__(self, "tmr", _check_tmr(self.tmr))

    @property
    def cv(self) -> float:
        """sigma_G / mu_G of both states (:func:`radius_model_cv`)."""
        return radius_model_cv(self.diameter / 2, self.sigma_radius)

    @property
    def r_p_nominal(self) -> float:
        """R_P of the mean-diameter pillar (the R_ON the paper quotes)."""
        return resistance_from_ra(self.ra, self.diameter)

    def mean_g(self, state: str) -> float:
        """Exact mean conductance ``pi (r0^2 + s^2) / RA``, divided by ``1 + tmr`` for AP."""
        r0 = self.diameter / 2
        g = math.pi * (r0 ** 2 + self.sigma_radius ** 2) / self.ra
        return g if _state(state) == "P" else g / (1 + self.tmr)

    def sample_g(self, state: str, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent pillars in ``state``: ``pi r^2 / RA`` (/ (1 + tmr) for AP), ``r ~ N(r0, s)``."""
        r = rng.normal(self.diameter / 2, self.sigma_radius, check_int("n", n, min=1, type_error=False))
        g = math.pi * r ** 2 / self.ra
        return g if _state(state) == "P" else g / (1 + self.tmr)

    def gaussian(self) -> GaussianStates:
        """Gaussian states with the same means and relative spreads (what Figs. 10/11 assume)."""
        return GaussianStates(self.mean_g("P"), self.cv, self.cv, self.tmr)

    def weight_sigmas(self) -> dict[int, float]:
        """Exact weight spreads: the radius model's means and spreads in :func:`weight_sigmas`."""
        return weight_sigmas(self.cv, self.cv, self.tmr)


def _state(state: str) -> str:
    if state not in ("P", "AP"):
        raise ValueError(f"state must be one of ('P', 'AP'), got {state!r}")
    return state


# ---------------------------------------------------------------------------------------------- encoding (Fig. 9)
def _check_ternary(name: str, t) -> np.ndarray:
    a = check_real_array(name, t, type_error=False)
    bad = (a != -1) & (a != 0) & (a != 1)
    if bad.any():
        idx = tuple(int(k) for k in np.argwhere(bad)[0]) if a.ndim else ()
        raise ValueError(f"{name} must hold ternary weights in {{-1, 0, 1}}, got {a[idx]!r} at index {idx}")
    return a


def pair_conductances(t, g_p: float, g_ap: float) -> tuple[np.ndarray, np.ndarray]:
    """``(G+, G-)`` of ternary weights ``t`` (Fig. 9): +1 -> (G_P, G_AP), -1 -> (G_AP, G_P), 0 -> (G_AP, G_AP)."""
    t = _check_ternary("t", t)
    g_p = check_real("g_p", g_p, min=0, unit="S", type_error=False)
    g_ap = check_real("g_ap", g_ap, min=0, unit="S", type_error=False)
    return np.where(t > 0, g_p, g_ap), np.where(t < 0, g_p, g_ap)


def crossbar_conductances(t, g_p: float, g_ap: float) -> np.ndarray:
    """Crossbar conductances ``(fan_in, 2 fan_out)`` of a ternary weight matrix ``t`` ``(fan_in, fan_out)``.

    Output ``k`` uses columns ``2k`` (G+) and ``2k + 1`` (G-), side by side on the activation line as in the 2x2
    array of Fig. 9; its result is ``I[:, 2k] - I[:, 2k+1]``.
    """
    t = _check_ternary("t", t)
    if t.ndim != 2 or t.size == 0:
        raise ValueError(f"t must be a non-empty 2-D (fan_in, fan_out) matrix, got shape {t.shape}")
    gp, gm = pair_conductances(t, g_p, g_ap)
    g = np.empty((t.shape[0], 2 * t.shape[1]))
    g[:, 0::2] = gp
    g[:, 1::2] = gm
    return g


def effective_weight(g_plus, g_minus, g_p: float, g_ap: float):
    """``(G+ - G-) / (mu_GP - mu_GAP)`` (Fig. 10): +1 for a nominal (G_P, G_AP) pair."""
    g_p = check_real("g_p", g_p, min=0, unit="S", type_error=False)
    g_ap = check_real("g_ap", g_ap, min=0, unit="S", type_error=False)
    if g_p <= g_ap:
        raise ValueError(f"g_p must be > g_ap (TMR > 0), got g_p={g_p!r}, g_ap={g_ap!r}")
    return (np.asarray(g_plus) - np.asarray(g_minus)) / (g_p - g_ap)


def sample_weights(population, level: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` effective weights of ``level`` with two independent devices from ``population`` (Fig. 10 (b)).

    ``population`` is a :class:`GaussianStates` or :class:`RadiusModel` (anything with ``mean_g`` and
    ``sample_g``); the weights are normalised by the population's exact mean P/AP difference.
    """
    level = check_int("level", level, min=-1, max=1, type_error=False)
    plus = "P" if level == 1 else "AP"
    minus = "P" if level == -1 else "AP"
    g_plus = population.sample_g(plus, n, rng)
    g_minus = population.sample_g(minus, n, rng)
    return effective_weight(g_plus, g_minus, population.mean_g("P"), population.mean_g("AP"))


def monte_carlo_sigmas(population, n_samples: int, n_seeds: int, seed: int) -> dict[int, np.ndarray]:
    """Sample standard deviation of each weight level for ``n_seeds`` independent seeds.

    Returns ``{level: array (n_seeds,)}``; seed ``k`` uses ``np.random.default_rng([seed, k, level + 1])``. The
    mean over seeds with its Student-t interval (:func:`model.stats.t_interval`) is the Monte Carlo estimate of
    :func:`weight_sigmas`.
    """
    n_samples = check_int("n_samples", n_samples, min=2, type_error=False)
    n_seeds = check_int("n_seeds", n_seeds, min=1, type_error=False)
    seed = check_int("seed", seed, min=0, type_error=False)
    out = {}
    for level in LEVELS:
        out[level] = np.array([sample_weights(population, level, n_samples,
                                              np.random.default_rng([seed, k, level + 1])).std(ddof=1)
                               for k in range(n_seeds)])
    return out
