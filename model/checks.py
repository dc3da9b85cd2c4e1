"""Argument checks shared by ``hw``, ``model`` and the CLI: one message shape for every bad value.

Every message names the parameter, the allowed values and the value given::

    width must be an integer >= 1 and <= 4096, got 8.0          (TypeError)
    width must be >= 1 and <= 4096, got 0                       (ValueError)
    ber must be in [0, 1], got 1.5
    clock_hz must be a finite number > 0, got nan
    t_hot_k must be a number in (0, inf) K, got 0.0
    --batch must be an integer >= 1, got 'two'

Conventions:

* A value of the wrong type raises :class:`TypeError` and a value out of range :class:`ValueError`. With
  ``type_error=False`` both raise :class:`ValueError` (for APIs that always did), and the message then also states
  the type ("an integer", "a number").
* ``bool`` is never accepted as a number; numpy scalars are (``np.int64``, ``np.float32``, ...) and come back as
  plain ``int`` / ``float``. Real values must be finite: NaN and +-inf are always rejected.
* Ranges: integer ranges are written as inequalities (``>= 1``, ``>= 1 and <= 4096``). A real range with both ends
  given is written in interval notation, an infinite end included (``in (0, 1)``, ``in [0, inf) K``); a real range
  with one end given as an inequality (``> 0``).
* The ``parse_*`` functions turn command-line text into checked numbers and always raise :class:`ValueError`
  (``scripts.cli`` prints it as ``mram-accel <cmd>: error: <message>`` and exits with status 2).

Pure Python + numpy; imports nothing else of this project (``hw`` may import it).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["check_int", "check_bool", "check_real", "check_real_array", "check_probability", "check_choice",
           "parse_int", "parse_real", "describe_range", "show_value"]


# --------------------------------------------------------------------------------------------------- formatting
def _fmt(x) -> str:
    """A bound as text: ``1`` not ``1.0``, ``inf``, otherwise the shortest round-trip repr."""
    if isinstance(x, numbers.Integral):
        return str(int(x))
    x = float(x)
    if math.isfinite(x) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _unit(unit: str) -> str:
    unit = unit.strip()
    return f" {unit}" if unit else ""


def describe_range(min=None, max=None, *, min_open: bool = False, max_open: bool = False, unit: str = "",
                   integer: bool = False) -> str:
    """The allowed range as message text.

    Parameters
    ----------
    min, max : int or float, optional
        Bounds; ``None`` means unbounded on that side.
    min_open, max_open : bool
        Exclude the bound (``(`` / ``)``, ``>`` / ``<``).
    unit : str
        Appended after the range, e.g. ``"K"``.
    integer : bool
        Integer range: always inequalities (open bounds make no sense for integers).

    Returns
    -------
    str
        ``">= 1"``, ``">= 1 and <= 4096"``, ``"in (0, 1)"``, ``"in [0, inf) K"``, ``"> 0 Hz"``; ``""`` if unbounded.
    """
    lo = None if min is None else ("> " if min_open else ">= ") + _fmt(min)
    hi = None if max is None else ("< " if max_open else "<= ") + _fmt(max)
    if min is not None and max is not None and not integer:
        left = "(" if min_open or min == -math.inf else "["  # an infinite end is always open: values are finite
        right = ")" if max_open or max == math.inf else "]"
        text = f"in {left}{_fmt(min)}, {_fmt(max)}{right}"
    else:
        text = " and ".join(t for t in (lo, hi) if t)
    return text + _unit(unit) if text else ""


def show_value(value) -> str:
    """The value given, for a message: ``repr`` of a scalar (numpy scalars as Python ones), a summary of an array."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if value.size == 0:
            return f"an empty array of shape {value.shape}"
        if value.dtype.kind not in "iuf":
            return f"an array of dtype {value.dtype}"
        finite = value[~np.isnan(value)] if value.dtype.kind == "f" else value
        nan = " and NaN" if finite.size < value.size else ""
        if finite.size == 0:
            return "an array of NaN"
        return f"an array with values in [{_fmt(finite.min())}, {_fmt(finite.max())}]{nan}"
    if isinstance(value, np.ndarray):
        return show_value(value[()])
    return repr(value)


def _requirement(noun: str, rng: str) -> str:
    return " ".join(t for t in (noun, rng) if t)


def _real_nouns(min, max) -> tuple[str, str, str]:
    """(TypeError noun, ValueError noun with type_error, ValueError noun without) for a real range."""
    bounded = min is not None and max is not None  # an interval already excludes +-inf
    if bounded:
        return "a real number", "", "a number"
    return "a finite real number", "a finite number", "a finite number"


def _fail(exc, name: str, requirement: str, shown: str):
    return exc(f"{name} must be {requirement}, got {shown}")


def _outside(a, min, max, min_open, max_open):
    """Boolean (array) of values outside the range; NaN counts as outside."""
    bad = ~np.isfinite(a) if isinstance(a, np.ndarray) else not math.isfinite(a)
    if min is not None:
        bad = bad | ((a <= min) if min_open else (a < min))
    if max is not None:
        bad = bad | ((a >= max) if max_open else (a > max))
    return bad


# ------------------------------------------------------------------------------------------------------- checks
def check_int(name: str, value, *, min: int | None = None, max: int | None = None, type_error: bool = True) -> int:
    """Check an integer argument and return it as ``int``.

    Parameters
    ----------
    name : str
        Parameter name used in the message.
    value
        The argument; any ``numbers.Integral`` except ``bool`` (``np.int64`` is accepted).
    min, max : int, optional
        Inclusive bounds.
    type_error : bool
        Raise ``TypeError`` for a non-integer (default); ``False`` raises ``ValueError`` instead.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        ``value`` is not an integer, or is a ``bool`` (``"width must be an integer >= 1, got 8.0"``).
    ValueError
        ``value`` outside the range (``"width must be >= 1 and <= 4096, got 0"``; without ``type_error``
        ``"batch must be an integer >= 1, got 0"``).
    """
    rng = describe_range(min, max, integer=True)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(TypeError if type_error else ValueError, name, _requirement("an integer", rng), show_value(value))
    v = int(value)
    if (min is not None and v < min) or (max is not None and v > max):
        raise _fail(ValueError, name, _requirement("" if type_error else "an integer", rng), show_value(value))
    return v


def check_bool(name: str, value) -> bool:
    """Check that ``value`` is a Python ``bool`` (not ``0``/``1``, not ``np.bool_``) and return it.

    Raises
    ------
    TypeError
        ``"ftz must be a bool (True or False), got 1"``.
    """
    if not isinstance(value, bool):
        raise _fail(TypeError, name, "a bool (True or False)", repr(value))  # repr keeps np.True_ distinct
    return value


def check_real(name: str, value, *, min: float | None = None, max: float | None = None, min_open: bool = False,
               max_open: bool = False, unit: str = "", type_error: bool = True) -> float:
    """Check a finite real argument and return it as ``float``.

    Parameters
    ----------
    name : str
        Parameter name used in the message.
    value
        The argument; any ``numbers.Real`` except ``bool`` (``np.float32`` is accepted).
    min, max : float, optional
        Bounds (``math.inf`` is allowed as ``max`` and shows the range as an interval, e.g. ``(0, inf)``).
    min_open, max_open : bool
        Exclude the bound.
    unit : str
        Unit shown after the range, e.g. ``"K"``.
    type_error : bool
        Raise ``TypeError`` for a non-real (default); ``False`` raises ``ValueError`` instead.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        Not a real number (``"ber must be a real number in [0, 1], got '1e-3'"``).
    ValueError
        NaN, +-inf or outside the range (``"ber must be in [0, 1], got 1.5"``,
        ``"clock_hz must be a finite number > 0, got 0"``).
    """
    rng = describe_range(min, max, min_open=min_open, max_open=max_open, unit=unit)
    t_noun, v_noun, loose_noun = _real_nouns(min, max)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(TypeError if type_error else ValueError, name,
                    _requirement(t_noun if type_error else loose_noun, rng), show_value(value))
    try:
        v = float(value)
    except OverflowError:  # an int beyond the float range
        v = math.inf if value > 0 else -math.inf
    if _outside(v, min, max, min_open, max_open):
        raise _fail(ValueError, name, _requirement(v_noun if type_error else loose_noun, rng), show_value(value))
    return v


def check_real_array(name: str, value, *, min: float | None = None, max: float | None = None,
                     min_open: bool = False, max_open: bool = False, unit: str = "",
                     type_error: bool = True) -> np.ndarray:
    """:func:`check_real` for a scalar or array-like: every element must be finite and in range.

    Returns
    -------
    numpy.ndarray
        ``float64`` array of the same shape (0-d for a scalar).

    Raises
    ------
    TypeError
        Not numeric (strings, bools, complex, objects); ``ValueError`` instead with ``type_error=False``.
    ValueError
        Any element NaN, +-inf or outside the range; an array is shown by its minimum and maximum
        (``"t_ret_s must be a number in (0, inf) s, got an array with values in [-1, 1]"``).
    """
    rng = describe_range(min, max, min_open=min_open, max_open=max_open, unit=unit)
    t_noun, v_noun, loose_noun = _real_nouns(min, max)
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):  # ragged nested sequences
        a = None
    if a is None or a.dtype.kind not in "iuf":
        noun = "a real number or real array" if type_error else loose_noun
        raise _fail(TypeError if type_error else ValueError, name, _requirement(noun, rng), show_value(value))
    a = a.astype(np.float64)
    if np.any(_outside(a, min, max, min_open, max_open)):
        raise _fail(ValueError, name, _requirement(v_noun if type_error else loose_noun, rng),
                    show_value(a if a.ndim else value))
    return a


def check_probability(name: str, value, *, open: bool = False, type_error: bool = True) -> float:
    """:func:`check_real` in ``[0, 1]``, or in ``(0, 1)`` with ``open=True``; returns ``float``."""
    return check_real(name, value, min=0, max=1, min_open=open, max_open=open, type_error=type_error)


def check_choice(name: str, value, choices):
    """Check that ``value`` is one of ``choices`` and return it.

    Raises
    ------
    ValueError
        ``"mode must be one of ('all', 'split'), got 'msb'"``.
    """
    choices = tuple(choices)
    try:
        ok = value in choices
    except (TypeError, ValueError):  # e.g. an array compared element-wise
        ok = False
    if not ok:
        raise _fail(ValueError, name, f"one of {choices!r}", show_value(value))
    return value


# ------------------------------------------------------------------------------------------------------ parsers
def parse_int(text, name: str, *, min: int | None = None, max: int | None = None) -> int:
    """Parse command-line ``text`` as a checked integer.

    Raises
    ------
    ValueError
        Not an integer or out of range: ``"--batch must be an integer >= 1, got 'two'"``.
    """
    requirement = _requirement("an integer", describe_range(min, max, integer=True))
    try:
        v = int(str(text).strip())
    except ValueError:
        raise _fail(ValueError, name, requirement, repr(text)) from None
    if (min is not None and v < min) or (max is not None and v > max):
        raise _fail(ValueError, name, requirement, repr(text))
    return v


def parse_real(text, name: str, *, min: float | None = None, max: float | None = None, min_open: bool = False,
               max_open: bool = False, unit: str = "") -> float:
    """Parse command-line ``text`` (a plain number, no unit) as a checked finite real.

    Raises
    ------
    ValueError
        Not a number, NaN, +-inf or out of range: ``"--ber must be a number in (0, 1), got '2'"``.
    """
    rng = describe_range(min, max, min_open=min_open, max_open=max_open, unit=unit)
    requirement = _requirement(_real_nouns(min, max)[2], rng)
    try:
        v = float(str(text).strip())
    except ValueError:
        raise _fail(ValueError, name, requirement, repr(text)) from None
    if _outside(v, min, max, min_open, max_open):
        raise _fail(ValueError, name, requirement, repr(text))
    return v
