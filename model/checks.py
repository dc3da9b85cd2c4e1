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

JSON data and weight files (issue 22 item 4): :func:`schema_error` turns the first violation of a JSON Schema into
one such line (shape files, exhaustive records); :func:`load_weights` validates a ``.npz`` weight file, described as
data (array name -> dtype and shape, plus its JSON metadata), against a schema built from the network's expected
shapes, and :func:`check_arrays` does the same for parameters passed in memory::

    weights file 'w.npz': conv1.weight must have shape (8, 1, 3, 3), got (8, 3, 3)
    weights file 'w.npz' is missing ['fc2.bias']; expected [...]
    params['fc.weight'] must have shape (10, 64), got (10, 3)

Pure Python + numpy (``jsonschema`` is imported on first use); imports nothing else of this project (``hw`` may
import it).
"""

from __future__ import annotations

import json
import math
import numbers

import numpy as np

__all__ = ["check_int", "check_bool", "check_real", "check_real_array", "check_probability", "check_choice",
           "parse_int", "parse_real", "describe_range", "show_value", "schema_error", "describe_arrays",
           "describe_npz", "weights_schema", "check_arrays", "load_weights", "WeightFileNotFound", "NUMERIC_DTYPES",
           "INTEGER_DTYPES", "MAX_WEIGHT_BYTES"]


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


# ----------------------------------------------------------------------------------- JSON Schema messages
def _describe_schema(schema: dict) -> str:
    """What a JSON Schema node allows, in the words of this module (``"an integer >= 1"``, ``"one of ('a',)"``)."""
    if "enum" in schema:
        return f"one of {tuple(schema['enum'])!r}"
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type")
    if kind in ("integer", "number"):
        rng = describe_range(schema.get("minimum"), schema.get("maximum"), integer=kind == "integer")
        return _requirement("an integer" if kind == "integer" else "a number", rng)
    if kind == "boolean":
        return "true or false"
    if kind in ("string", "array"):
        noun, unit = ("string", "characters") if kind == "string" else ("list", "entries")
        at_least = schema.get("minLength" if kind == "string" else "minItems", 0)
        at_most = schema.get("maxLength" if kind == "string" else "maxItems")
        return (f"a {'non-empty ' if at_least >= 1 else ''}{noun}"
                + (f" of at most {at_most} {unit}" if at_most is not None else ""))
    if kind == "object":
        return "an object"
    return str(schema)


def _place(parts) -> str:
    """A JSON path as text: ``layers[0]``, ``metadata.architecture[2]``."""
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if k else str(p)) for k, p in enumerate(parts))


def _validator(schema: dict):
    """A draft 2020-12 validator of ``schema`` (``jsonschema`` is imported on first use)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema)


def schema_error(data, schema: dict, source: str) -> str | None:
    """The first (shallowest) violation of JSON Schema ``schema`` by ``data`` as one line naming ``source``, the
    place and the field, or None.

    ``"t.json: layers[0]: field 'out_c' must be an integer >= 1 and <= 1048576, got -1"``; validated with
    ``jsonschema`` (draft 2020-12) and its ``best_match``.
    """
    from jsonschema.exceptions import best_match

    err = best_match(_validator(schema).iter_errors(data))
    if err is None:
        return None
    path = list(err.absolute_path)
    if err.validator in ("required", "additionalProperties"):
        where = _place(path)
        prefix = f"{source}: {where}: " if where else f"{source}: "
        props = err.schema.get("properties", {})
        if err.validator == "required":
            missing = next(k for k in err.validator_value if k not in err.instance)
            return f"{prefix}missing required field {missing!r}"
        return f"{prefix}unknown field(s) {sorted(set(err.instance) - set(props))}; allowed: {list(props)}"
    value = err.instance
    if isinstance(value, (list, tuple)):
        shown = f"a list of {len(value)} entries"
    elif isinstance(value, dict):
        shown = "an object"
    else:
        shown = repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:60]}... ({type(value).__name__})"
    if not path:
        what = _describe_schema(err.schema)
        if what == "an object":
            what = "a JSON object with " + " and ".join(repr(k) for k in err.schema.get("required", ()))
        return f"{source}: top level must be {what}, got {shown}"
    if isinstance(path[-1], int):
        return f"{source}: {_place(path)}: must be {_describe_schema(err.schema)}, got {shown}"
    where = _place(path[:-1])
    return (f"{source}: {where + ': ' if where else ''}field {path[-1]!r} must be {_describe_schema(err.schema)}, "
            f"got {shown}")


# ------------------------------------------------------------------------------------------------ weight files
#: dtype names a weight array may have by default: real numbers (no bool, complex, string, object or void).
NUMERIC_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
                  "float64")
#: dtype names of integer arrays (indices, seeds, packed codes).
INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
#: Largest total size of the arrays a weight file may ask :func:`load_weights` to read (ours: the committed weight
#: files hold at most 0.4 MB of arrays; 256 MiB keeps a forged header from exhausting memory).
MAX_WEIGHT_BYTES = 256 << 20
#: Most members a weight file may hold, and the longest metadata string (ours: far above any file we write).
MAX_NPZ_MEMBERS = 4096
MAX_METADATA_CHARS = 1 << 20


class WeightFileNotFound(ValueError, FileNotFoundError):
    """A weight file that does not exist: a :class:`ValueError` (bad input) that is also a ``FileNotFoundError``."""


def describe_arrays(arrays) -> dict:
    """A mapping of arrays as data: ``{name: {"dtype": dtype name, "shape": [sizes]}}`` (``np.asarray`` of each)."""
    out = {}
    for name, value in arrays.items():
        a = np.asarray(value) if not isinstance(value, np.ndarray) else value
        out[str(name)] = {"dtype": a.dtype.name, "shape": list(a.shape)}
    return out


def _npz_errors():
    import zipfile
    import zlib

    return (ValueError, OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error)


def describe_npz(path, source: str) -> dict:
    """A ``.npz`` file as data, read from the ``.npy`` headers of its members (no array data is read).

    Parameters
    ----------
    path : str or Path
        The file.
    source : str
        Names the file in messages.

    Returns
    -------
    dict
        ``{name: {"dtype": dtype name, "shape": [sizes]}}`` for every ``.npy`` member (an object array has dtype
        ``"object"``), and ``"metadata"``: the parsed JSON of a ``metadata`` member (a 0-d string array).

    Raises
    ------
    ValueError
        Not a zip archive (truncated, or another format), more than :data:`MAX_NPZ_MEMBERS` members, an unreadable
        ``.npy`` header, or a ``metadata`` member that is not a JSON string.
    """
    import zipfile

    fmt = np.lib.format
    errors = _npz_errors()
    try:
        zf = zipfile.ZipFile(path)
    except errors as e:
        raise ValueError(f"{source} is not a .npz file (a zip archive of .npy arrays): {_reason(e)}") from None
    out = {}
    with zf:
        infos = [i for i in zf.infolist() if i.filename.endswith(".npy")]
        if len(infos) > MAX_NPZ_MEMBERS:
            raise ValueError(f"{source} has {len(infos)} arrays, above the limit of {MAX_NPZ_MEMBERS}")
        for info in infos:
            name = info.filename[:-4]
            try:
                with zf.open(info) as f:
                    version = fmt.read_magic(f)
                    if version not in ((1, 0), (2, 0)):
                        raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
                    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                    shape, _, dtype = read(f)
                    text = None
                    if name == "metadata" and shape == () and dtype.kind == "U" \
                            and dtype.itemsize <= 4 * MAX_METADATA_CHARS:
                        data = f.read(dtype.itemsize)
                        if len(data) != dtype.itemsize:
                            raise EOFError(f"{len(data)} of {dtype.itemsize} bytes")
                        text = str(np.frombuffer(data, dtype=dtype)[0])
            except errors as e:
                raise ValueError(f"{source}: {name}: unreadable ({_reason(e)})") from None
            if name != "metadata":
                out[name] = {"dtype": dtype.name, "shape": list(shape)}
                continue
            if text is None:
                raise ValueError(f"{source}: metadata must be a JSON string (a 0-d str array of at most "
                                 f"{MAX_METADATA_CHARS} characters), got dtype {dtype.name} shape {tuple(shape)}")
            try:
                out["metadata"] = json.loads(text)
            except (ValueError, RecursionError) as e:
                raise ValueError(f"{source}: metadata is not valid JSON ({_reason(e)})") from None
    return out


def _reason(e: BaseException) -> str:
    """An exception as a short one-line reason."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _show_shape(shape) -> str:
    """``(8, 1, 3, 3)``, ``(10,)``, ``(c1, 1, 3, 3)`` (a named size by its name)."""
    inner = ", ".join(str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _bind_sizes(shapes: dict, description: dict) -> dict:
    """Named sizes (``str`` entries of ``shapes``) bound to the sizes in ``description``: ``{size name: (size,
    array name)}``, each from the first array, highest rank first and then in ``shapes`` order, that has it and the
    expected rank."""
    sizes = {}
    order = sorted(shapes, key=lambda n: -len(shapes[n]))
    for name in order:
        entry = description.get(name)
        if not isinstance(entry, dict) or len(entry.get("shape", ())) != len(shapes[name]):
            continue
        for want, got in zip(shapes[name], entry["shape"]):
            if isinstance(want, str) and want not in sizes:
                sizes[want] = (got, name)
    return sizes


def weights_schema(shapes, dtypes=None, metadata: dict | None = None) -> dict:
    """JSON Schema (draft 2020-12) of a weight file's description (:func:`describe_npz`, :func:`describe_arrays`).

    Parameters
    ----------
    shapes : dict[str, tuple]
        Array name -> exact shape; a ``str`` entry is a named size (any integer >= 1).
    dtypes : dict[str, tuple of str] or callable, optional
        Array name -> allowed dtype names, as a dict or a function of the name (a name it leaves out, or None:
        :data:`NUMERIC_DTYPES`).
    metadata : dict, optional
        JSON Schema of the ``metadata`` entry, which is then required; without it ``metadata`` is optional and, if
        present, must be a JSON object.

    Returns
    -------
    dict
        Every name in ``shapes`` required; other arrays are allowed (and never read).
    """
    props = {}
    for name, shape in shapes.items():
        allowed = (dtypes(name) if callable(dtypes) else dtypes.get(name)) if dtypes is not None else None
        if all(not isinstance(d, str) for d in shape):
            shape_schema = {"const": [int(d) for d in shape]}
        else:
            shape_schema = {"type": "array", "minItems": len(shape), "items": False,
                            "prefixItems": [{"type": "integer", "minimum": 1} if isinstance(d, str)
                                            else {"const": int(d)} for d in shape]}
        props[name] = {"type": "object", "required": ["dtype", "shape"],
                       "properties": {"dtype": {"enum": list(allowed or NUMERIC_DTYPES)},
                                      "shape": shape_schema}}
    props["metadata"] = metadata if metadata is not None else {"type": "object"}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "required": list(shapes) + (["metadata"] if metadata is not None else []), "properties": props}


def _weights_problem(description: dict, shapes: dict, dtypes, metadata, source: str, where) -> str | None:
    """The first problem of ``description`` against :func:`weights_schema` as one line, or None."""
    sizes = _bind_sizes(shapes, description)
    named = shapes
    shapes = {n: tuple(sizes[d][0] if isinstance(d, str) and d in sizes else d for d in s)
              for n, s in shapes.items()}
    schema = weights_schema(shapes, dtypes, metadata)
    errors = list(_validator(schema).iter_errors(description))
    if not errors:
        return None
    missing = [n for n in schema["required"] if n not in description]
    if missing == ["metadata"]:
        return f"{source} has no metadata (a 0-d JSON string array 'metadata')"
    if missing:
        return f"{source} is missing {missing}; expected {list(shapes)}"
    names = list(shapes)

    def key(e):
        p = list(e.absolute_path)
        return (p[0] != "metadata", names.index(p[0]) if p and p[0] in shapes else -1,
                (p[1:2] or [""])[0] != "dtype", len(p))

    err = min(errors, key=key)
    path = list(err.absolute_path)
    if path[0] == "metadata":
        return schema_error({"metadata": description["metadata"]},
                            {"type": "object", "properties": {"metadata": schema["properties"]["metadata"]}}, source)
    name, entry = path[0], description[path[0]]
    if len(path) > 1 and path[1] == "dtype":
        allowed = schema["properties"][name]["properties"]["dtype"]["enum"]
        what = "a real numeric dtype" if allowed == list(NUMERIC_DTYPES) else (
            "an integer dtype" if allowed == list(INTEGER_DTYPES) else f"dtype {' or '.join(allowed)}")
        return f"{where(name)} must have {what}, got dtype {entry['dtype']}"
    if len(path) > 1 and path[1] == "shape":
        whence = [f"{d} = {sizes[d][0]} from {sizes[d][1]}" for d in dict.fromkeys(named[name])
                  if isinstance(d, str) and d in sizes and sizes[d][1] != name]
        return (f"{where(name)} must have shape {_show_shape(shapes[name])}"
                f"{' (' + ', '.join(whence) + ')' if whence else ''}, got {_show_shape(entry['shape'])}")
    return schema_error(description, schema, source)  # not reached for descriptions made here


def _first_non_finite(a: np.ndarray) -> str | None:
    if a.dtype.kind != "f":
        return None
    bad = ~np.isfinite(a)
    if not bad.any():
        return None
    where = tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(bad)[0]), a.shape))
    return f"{int(bad.sum())} NaN or inf value(s), the first {a[where]} at index {where}"


def check_arrays(arrays, shapes: dict, name: str = "params", *, dtypes=None, finite: bool = True) -> dict:
    """Check a mapping of arrays against expected shapes (:func:`weights_schema`) and return them as arrays.

    Parameters
    ----------
    arrays : Mapping[str, array_like]
        E.g. a network's parameters; keys not in ``shapes`` are ignored.
    shapes : dict[str, tuple]
        Name -> exact shape; ``str`` entries are named sizes (:func:`load_weights`).
    name : str
        The argument's name in messages: ``"params['fc.weight'] must have shape (10, 64), got (10, 3)"``.
    dtypes : dict[str, tuple of str] or callable, optional
        Allowed dtype names per array (:func:`weights_schema`; default :data:`NUMERIC_DTYPES`).
    finite : bool
        Also require float arrays to hold no NaN or inf.

    Returns
    -------
    dict[str, numpy.ndarray]
        The arrays of ``shapes``, in its order.

    Raises
    ------
    ValueError
        ``"params is missing ['fc.bias']; expected [...]"``, a wrong shape or dtype, a NaN or inf.
    """
    given = arrays
    arrays = {}
    for k in shapes:
        if k in given:
            try:
                arrays[k] = np.asarray(given[k])
            except (TypeError, ValueError):  # ragged nested sequences
                raise ValueError(f"{name}[{k!r}] must be an array of real numbers, got a ragged sequence") from None
    problem = _weights_problem(describe_arrays(arrays), shapes, dtypes, None, name, lambda k: f"{name}[{k!r}]")
    if problem:
        raise ValueError(problem)
    for k, a in arrays.items():
        bad = _first_non_finite(a) if finite else None
        if bad:
            raise ValueError(f"{name}[{k!r}] must hold finite numbers, got {bad}")
    return arrays


def load_weights(path, shapes, *, source: str = "weights file", dtypes=None, metadata: dict | None = None,
                 finite: bool = True, max_bytes: int = MAX_WEIGHT_BYTES, hint: str = "") -> tuple[dict, dict]:
    """Read and validate a ``.npz`` weight file: one :class:`ValueError` naming the file and the field otherwise.

    The file is described as data (:func:`describe_npz`, from the ``.npy`` headers) and validated against
    :func:`weights_schema` with ``jsonschema`` before any array is read; then only the arrays of ``shapes`` are
    read (``allow_pickle=False``) and, with ``finite``, float arrays are checked for NaN and inf.

    Parameters
    ----------
    path : str or Path
        The ``.npz`` file.
    shapes : dict[str, tuple] or callable
        Array name -> exact shape. A ``str`` entry is a named size (any integer >= 1) that must be the same
        wherever it appears: it takes its value from the first array of highest rank that has it (e.g.
        ``{"w1": ("h", 64), "b1": ("h",)}``). A callable gets the validated metadata (``{}`` if absent) and
        returns the dict; a ValueError it raises is reported naming the file.
    source : str
        What the file is, for messages: ``"weights file '/x/w.npz': conv1.weight must have shape ..."``.
    dtypes : dict[str, tuple of str] or callable, optional
        Allowed dtype names per array (:func:`weights_schema`; default :data:`NUMERIC_DTYPES`, e.g.
        :data:`INTEGER_DTYPES` for indices).
    metadata : dict, optional
        JSON Schema of the metadata (then required); without it the metadata is optional (a JSON object).
    finite : bool
        Require float arrays to hold no NaN or inf.
    max_bytes : int
        Largest total size of the arrays read (:data:`MAX_WEIGHT_BYTES`).
    hint : str
        Appended to the message for a missing file (e.g. how to make one).

    Returns
    -------
    tuple
        ``({name: numpy.ndarray}, metadata dict)``: the arrays of ``shapes`` in its order.

    Raises
    ------
    ValueError
        A missing file (:class:`WeightFileNotFound`, also a ``FileNotFoundError``), a folder, not a zip archive (a
        truncated or foreign file), a missing array, a wrong shape or dtype (e.g. an object array), bad metadata,
        unreadable array data, a NaN or inf; always one line naming the file and, where there is one, the field.
    """
    from pathlib import Path

    path = Path(path)
    label = f"{source} {str(path)!r}"
    if not path.exists():
        raise WeightFileNotFound(f"{label} not found{hint}")
    if not path.is_file():
        raise ValueError(f"{label} is not a regular file (a folder or device); give a .npz file")
    description = describe_npz(path, label)
    if callable(shapes):
        problem = _weights_problem(description, {}, None, metadata, label, None)
        if problem:
            raise ValueError(problem)
        try:
            shapes = shapes(description.get("metadata", {}))
        except ValueError as e:
            raise ValueError(f"{label}: {e}") from None
    problem = _weights_problem(description, shapes, dtypes, metadata, label, lambda k: f"{label}: {k}")
    if problem:
        raise ValueError(problem)
    size = sum(int(np.prod(description[k]["shape"], dtype=np.float64)) * np.dtype(description[k]["dtype"]).itemsize
               for k in shapes)
    if size > max_bytes:
        raise ValueError(f"{label} holds {size} bytes of arrays, above the limit of {max_bytes}")
    arrays = {}
    with np.load(path, allow_pickle=False) as z:
        for k in shapes:
            try:
                arrays[k] = z[k]
            except _npz_errors() as e:
                raise ValueError(f"{label}: {k}: unreadable ({_reason(e)})") from None
    for k, a in arrays.items():
        bad = _first_non_finite(a) if finite else None
        if bad:
            raise ValueError(f"{label}: {k} must hold finite numbers, got {bad}")
    return arrays, description.get("metadata", {})
