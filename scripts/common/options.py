"""Value parsers for command-line options (times with units, probabilities, temperatures, fractions, frequencies)
and the range check of the plain ``argparse`` programs (benchmarks, training). Every parser has an upper bound
(a duration at most :data:`MAX_DURATION_S`, a temperature at most :data:`MAX_TEMPERATURE_K`, ...): no value reaches
a formula as an infinity.

Each parser takes the option text and the option's name and returns an SI float, or raises
:class:`ValueError` naming the option and the allowed values (``scripts.cli.main`` turns that into
``error: ...`` and exit status 2). Use them inside a command's ``func``::

    retention_s = parse_duration(args.retention, "--retention")
"""

from __future__ import annotations

import math
import re

from model.checks import describe_range, parse_int, parse_real

__all__ = ["DURATION_UNITS_S", "MAX_DURATION_S", "MAX_TEMPERATURE_K", "MAX_FREQUENCY_HZ", "MAX_SEED",
           "parse_duration", "parse_probability", "parse_temperature", "parse_fraction", "FREQUENCY_UNITS_HZ",
           "parse_frequency", "parse_seed", "format_duration", "check_ranges"]

#: Accepted time units and their length in seconds (year = Julian year, 365.25 days).
DURATION_UNITS_S = {
    "ps": 1e-12, "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0,
    "min": 60.0, "h": 3600.0, "d": 86400.0, "y": 365.25 * 86400.0,
}
#: Longest time any option accepts: 10^6 years (ours: far above any retention specification -- 10 years -- and any
#: pulse, wait or data age of the commands; a bound, so that no time reaches a formula as an overflow to inf).
MAX_DURATION_S = 1e6 * DURATION_UNITS_S["y"]
#: Hottest temperature any option accepts, 1000 K (ours: above every chip's operating range; the CoFeB free layer
#: of an MTJ loses its magnetisation near its Curie temperature, about 1000 K and above).
MAX_TEMPERATURE_K = 1000.0
#: Fastest clock any option accepts, 1 THz (ours: 100 times the fastest CMOS logic clock).
MAX_FREQUENCY_HZ = 1e12
#: Largest seed: 2^32 - 1 (the range every numpy generator accepts, ``np.random.seed`` included).
MAX_SEED = 2**32 - 1
_ALIASES = {"sec": "s", "second": "s", "seconds": "s", "hour": "h", "hours": "h", "day": "d", "days": "d",
            "yr": "y", "year": "y", "years": "y", "mins": "min", "minute": "min", "minutes": "min"}
_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)?\s*$")


def _split(text: str, name: str, what: str) -> tuple[float, str]:
    m = _NUMBER_UNIT.match(str(text))
    if not m:
        raise ValueError(f"{name} must be {what}, got {text!r}")
    return float(m.group(1)), (m.group(2) or "")


def parse_duration(text: str, name: str = "duration", allow_zero: bool = False,
                   max_s: float = MAX_DURATION_S) -> float:
    """Seconds from ``"3s"``, ``"10ms"``, ``"1.5 ns"``, ``"3y"`` (a bare number means seconds).

    Units: ps, ns, us (µs), ms, s, min, h, d, y (= 365.25 d). The value must be > 0 (>= 0 with
    ``allow_zero``) and at most ``max_s`` seconds (default :data:`MAX_DURATION_S`, 10^6 years).
    """
    units = ", ".join(DURATION_UNITS_S)
    value, unit = _split(text, name, f"a time with a unit ({units}), e.g. 3s or 10ms")
    unit = _ALIASES.get(unit.lower(), unit.lower())
    if unit and unit not in DURATION_UNITS_S:
        raise ValueError(f"{name}: unknown time unit {unit!r} in {text!r}; allowed units: {units}")
    seconds = value * DURATION_UNITS_S.get(unit, 1.0)
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero) or seconds > max_s:
        raise ValueError(f"{name} must be a time {'>=' if allow_zero else '>'} 0 s and <= {format_duration(max_s)}, "
                         f"got {text!r}")
    return seconds


def parse_probability(text: str, name: str = "probability") -> float:
    """A probability strictly inside (0, 1), e.g. ``"1e-9"``."""
    return parse_real(text, name, min=0, max=1, min_open=True, max_open=True)


def parse_temperature(text: str, name: str = "temperature") -> float:
    """Kelvin from ``"393"``, ``"393K"`` or ``"120C"`` / ``"-20°C"``; must be in (0, :data:`MAX_TEMPERATURE_K`] K."""
    value, unit = _split(text, name, "a temperature such as 393K or 120C")
    unit = unit.replace("°", "").upper()
    if unit not in ("", "K", "C"):
        raise ValueError(f"{name}: unknown temperature unit {unit!r} in {text!r}; use K or C")
    kelvin = value + 273.15 if unit == "C" else value
    if not math.isfinite(kelvin) or kelvin <= 0 or kelvin > MAX_TEMPERATURE_K:
        rng = describe_range(0, MAX_TEMPERATURE_K, min_open=True, unit="K")
        raise ValueError(f"{name} must be a temperature {rng}, got {text!r} ({kelvin:g} K)")
    return kelvin


def parse_fraction(text: str, name: str = "fraction", upper: float = 1.0, max_open: bool = True) -> float:
    """A fraction in [0, ``upper``) (``[0, upper]`` with ``max_open=False``) from ``"0.021"`` or ``"2.1%"``.

    The one parser of relative spreads (``--sigma`` of ``dima``, ``delta`` and ``bcnn``): every command accepts
    both forms, ``0.05`` and ``5%``.
    """
    value, unit = _split(text, name, "a fraction such as 0.021 or 2.1%")
    if unit not in ("", "%"):
        raise ValueError(f"{name} must be a fraction such as 0.021 or 2.1%, got {text!r}")
    frac = value / 100 if unit == "%" else value
    if not (0 <= frac < upper if max_open else 0 <= frac <= upper):
        rng = describe_range(0, upper, max_open=max_open)
        pct = f"[0, {upper * 100:g}%{')' if max_open else ']'}"
        raise ValueError(f"{name} must be a fraction {rng} (i.e. {pct}), got {text!r}")
    return frac


FREQUENCY_UNITS_HZ = {"": 1.0, "hz": 1.0, "khz": 1e3, "mhz": 1e6, "ghz": 1e9}


def parse_frequency(text: str, name: str = "--clock") -> float:
    """Hz from ``"1GHz"``, ``"500 MHz"``, ``"1e9"`` (a bare number means Hz); must be in (0, 1 THz]
    (:data:`MAX_FREQUENCY_HZ`)."""
    units = ", ".join(u for u in FREQUENCY_UNITS_HZ if u)
    value, unit = _split(text, name, f"a frequency with an optional unit ({units}), e.g. 1GHz")
    if unit.lower() not in FREQUENCY_UNITS_HZ:
        raise ValueError(f"{name}: unknown frequency unit {unit!r} in {text!r}; allowed units: {units}")
    hz = value * FREQUENCY_UNITS_HZ[unit.lower()]
    if not (math.isfinite(hz) and 0 < hz <= MAX_FREQUENCY_HZ):
        raise ValueError(f"{name} must be > 0 Hz and <= {MAX_FREQUENCY_HZ:g} Hz (1 THz), got {text!r}")
    return hz


def parse_seed(text: str, name: str = "--seed") -> int:
    """A random seed: an integer in 0..:data:`MAX_SEED` (2^32 - 1)."""
    return parse_int(text, name, min=0, max=MAX_SEED)


def format_duration(seconds: float) -> str:
    """Human-readable time: the largest unit from :data:`DURATION_UNITS_S` that keeps the value >= 1."""
    for unit in ("y", "d", "h", "min", "s", "ms", "us", "ns", "ps"):
        if abs(seconds) >= DURATION_UNITS_S[unit]:
            return f"{seconds / DURATION_UNITS_S[unit]:.4g} {unit}"
    return f"{seconds:.4g} s"


def check_ranges(parser, args, ranges: dict) -> None:
    """For plain ``argparse`` programs (benchmarks): exit 2 through ``parser.error`` naming the first flag whose
    value lies outside its inclusive range, ``ranges = {"dest": (low, high)}``."""
    for name, (lo, hi) in ranges.items():
        value = getattr(args, name)
        if not lo <= value <= hi:
            parser.error(f"--{name.replace('_', '-')} must be in {lo}..{hi}, got {value}")
