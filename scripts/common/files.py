"""Files of the commands and programs: the one ``.npy`` loader, the one output check, atomic writes, committed
weights.

Inputs. :func:`load_npy` reads the header first and refuses, before allocating anything, a file that is not a
regular file, a header whose shape and dtype do not match the bytes after it (a forged header claiming 10^12
elements over 64 bytes), more than :data:`MAX_NPY_ELEMENTS` elements, object (pickled), structured or text arrays.

Outputs. :func:`check_output` checks a destination **before any work**: its folder exists and is writable (tried
with a temporary file, so read-only and pseudo filesystems count too), it is not a folder or a device, and it is
not the same file (path, symbolic or hard link) as any input of the same invocation. ``scripts.cli.main`` runs it
on every command's ``--out`` (:func:`check_outputs`) against every other option that names an existing file
(:func:`input_files`), so no command can overwrite its own input. :func:`atomic_write` writes a temporary file in
the destination folder and renames it, so a failure leaves nothing half-written.

Each function raises :class:`ValueError` naming the option and the file (``scripts.cli.main`` turns that into one
line ``error: ...`` and exit status 2).
"""

from __future__ import annotations

import math
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["MAX_NPY_ELEMENTS", "load_npy", "check_output", "check_outputs", "input_files", "option_flag",
           "out_npy_path", "save_npy", "atomic_write", "save_weights"]

#: Largest ``.npy`` array (elements) a command reads. Ours: 2^27 elements (1 GiB of float64) -- the machine has
#: 24 GiB shared by every job and a command keeps a few converted copies; the largest input any command needs
#: (a 1024 x 1024 crossbar, a batch of layer inputs) is 2^20 to 2^24 elements.
MAX_NPY_ELEMENTS = 1 << 27

#: dtype kinds a command may read: bool, signed and unsigned integers, floats, complex (never objects, records,
#: strings, dates).
_NUMERIC_KINDS = "biufc"


def load_npy(path: str, option: str, max_elements: int = MAX_NPY_ELEMENTS):
    """The numeric array in the ``.npy`` file ``path``, checked before any allocation.

    Parameters
    ----------
    path : str
        The file.
    option : str
        The option that named it, for messages (``"--g"``).
    max_elements : int
        Largest number of elements accepted (default :data:`MAX_NPY_ELEMENTS`).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        Naming ``option`` and the file: missing, a folder or device, unreadable, not ``.npy`` (an ``.npz``, a text
        file), a header whose shape and dtype need more or fewer bytes than follow it, more than ``max_elements``
        elements, a dtype that is not bool/integer/float/complex (object arrays would need pickle).
    """
    from numpy.lib import format as npformat

    where = f"{option}: {path!r}"
    unreadable = f"{option}: cannot read {path!r} as a .npy array"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"{option}: no such file {path!r}") from None
    except OSError as e:
        raise ValueError(f"{option}: cannot read {path!r} ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{where} is a folder; give a .npy file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{where} is not a regular file (a device, pipe or socket); give a .npy file")
    try:
        with open(path, "rb") as fh:
            if fh.read(6) != b"\x93NUMPY":
                raise ValueError(f"{unreadable} (no NumPy .npy header)")
            fh.seek(0)
            try:
                version = npformat.read_magic(fh)
                if version == (1, 0):
                    shape, fortran, dtype = npformat.read_array_header_1_0(fh)
                elif version == (2, 0):
                    shape, fortran, dtype = npformat.read_array_header_2_0(fh)
                else:
                    raise ValueError(f"format version {version[0]}.{version[1]} (only 1.0 and 2.0 hold numeric "
                                     f"arrays)")
            except (ValueError, SyntaxError, TypeError, EOFError, OverflowError) as e:
                raise ValueError(f"{unreadable} (bad header: {' '.join(str(e).split())})") from None
            if dtype.hasobject or dtype.kind not in _NUMERIC_KINDS or dtype.names is not None:
                raise ValueError(f"{where}: dtype {dtype} is not accepted; the file must hold numbers (bool, "
                                 f"integer, float or complex; object arrays would need pickle)")
            count = math.prod(shape)
            if count > max_elements:
                raise ValueError(f"{where}: shape {shape} has {count} elements, above the limit of {max_elements} "
                                 f"(2^{max_elements.bit_length() - 1})")
            need = count * dtype.itemsize
            have = st.st_size - fh.tell()
            if have != need:
                raise ValueError(f"{where}: the header says shape {shape} of {dtype} ({need} bytes) but {have} "
                                 f"bytes follow it (truncated or forged file)")
            fh.seek(0)
            return npformat.read_array(fh, allow_pickle=False)
    except ValueError:
        raise
    except (OSError, EOFError) as e:
        raise ValueError(f"{option}: cannot read {path!r} ({getattr(e, 'strerror', None) or e})") from None


def option_flag(dest: str) -> str:
    """The command-line flag of an ``argparse`` destination: ``"glb_read_latency"`` -> ``"--glb-read-latency"``."""
    return "--" + dest.replace("_", "-")


def _probe_writable(folder: Path, option: str, what: str) -> None:
    """Create and remove a temporary file in ``folder``: the only test that also catches read-only and pseudo
    filesystems and a root user, for whom permission bits say nothing."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mram-accel-probe.", suffix=".tmp")
    except OSError as e:
        raise ValueError(f"{option}: cannot write in {what} {str(folder)!r} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(tmp)


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check_output(text, option: str = "--out", *, kind: str = "file", suffix: str | tuple | None = None,
                 inputs: dict | None = None) -> Path:
    """Check an output destination before any work; return it as a :class:`~pathlib.Path`.

    Parameters
    ----------
    text : str or path
        The destination.
    option : str
        Its option, for messages.
    kind : {"file", "append", "dir"}
        ``"file"``: a file written whole (atomically): its folder must exist and be writable, and it must not be a
        folder or a device. ``"append"``: a file appended to (a record): the same, and an existing one must be a
        regular file. ``"dir"``: a folder that is created if missing: an existing path must be a writable folder,
        else its nearest existing parent must be.
    suffix : str or tuple of str, optional
        Required file-name ending(s), e.g. ``".npy"``.
    inputs : dict, optional
        ``{option: path}`` of the invocation's input files: the destination must not be any of them (same path, a
        symbolic or a hard link).

    Raises
    ------
    ValueError
        One line naming ``option``, the path and the rule.
    """
    if kind not in ("file", "append", "dir"):
        raise ValueError(f"kind must be one of ('file', 'append', 'dir'), got {kind!r}")
    text = str(text)
    if not text.strip():
        raise ValueError(f"{option}: give a {'folder' if kind == 'dir' else 'file'} name, got an empty string")
    path = Path(text)
    if suffix is not None:
        suffixes = (suffix,) if isinstance(suffix, str) else tuple(suffix)
        if not text.endswith(suffixes):
            raise ValueError(f"{option}: the output file must end in {' or '.join(suffixes)}, got {text!r}")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise ValueError(f"{option}: cannot use {text!r} ({e.strerror or e})") from None
    if kind == "dir":
        if st is not None:
            if not stat.S_ISDIR(st.st_mode):
                raise ValueError(f"{option}: {text!r} exists and is not a folder; give a folder name")
            _probe_writable(path, option, "folder")
            return path
        parent = path.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise ValueError(f"{option}: cannot create folder {text!r}: {str(parent)!r} is not a folder")
        _probe_writable(parent, option, "folder")
        return path
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise ValueError(f"{option}: {text!r} is a folder; give a file name")
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{option}: {text!r} is not a regular file (a device, pipe or socket)")
        for name, other in (inputs or {}).items():
            try:
                same = _same_file(st, os.stat(other))
            except OSError:
                continue
            if same:
                raise ValueError(f"{option}: {text!r} is the input file of {name} ({other!r}); writing it would "
                                 f"overwrite that input: give another output file")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{option}: folder {str(folder)!r} does not exist")
    _probe_writable(folder, option, "folder")
    return path


def input_files(args, exclude=()) -> dict:
    """``{flag: path}`` of every option of an ``argparse`` namespace whose value names an existing regular file
    (list values element by element), except the destinations in ``exclude``: the inputs of one invocation."""
    found = {}
    for dest, value in vars(args).items():
        if dest in exclude or dest in ("func", "outputs") or value is None:
            continue
        for i, v in enumerate(value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(v, (str, os.PathLike)) and str(v):
                try:
                    ok = stat.S_ISREG(os.stat(v).st_mode)
                except (OSError, ValueError):
                    ok = False
                if ok:
                    found[option_flag(dest) + (f"[{i}]" if isinstance(value, (list, tuple)) else "")] = str(v)
    return found


def check_outputs(args) -> None:
    """The pre-flight of ``scripts.cli.main``: :func:`check_output` on each output of a parsed command line.

    The outputs are ``args.outputs`` (``{dest: kind}``, set with ``parser.set_defaults(outputs=...)``), by default
    ``{"out": "file"}`` when the command has an ``--out``; each is checked against every input
    (:func:`input_files`). ValueError naming the output's option.
    """
    outputs = getattr(args, "outputs", None)
    if outputs is None:
        outputs = {"out": "file"} if isinstance(getattr(args, "out", None), (str, os.PathLike)) else {}
    inputs = input_files(args, exclude=tuple(outputs))
    for dest, kind in outputs.items():
        value = getattr(args, dest, None)
        if value is not None:
            check_output(value, option_flag(dest), kind=kind, inputs=inputs)


def out_npy_path(text: str, option: str = "--out") -> Path:
    """The output path of ``option``: it must end in ``.npy``, its folder must exist and be writable and it must
    not be a folder or a device (:func:`check_output`, before any work)."""
    return check_output(text, option, kind="file", suffix=".npy")


def atomic_write(path: Path | str, data: bytes, mode: int = 0o644, option: str | None = None) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder (created ``mode``, not mkstemp's
    0600: outputs may be committed), then a rename; a failure leaves nothing half-written.

    With ``option`` (a command's output flag) a failure to write is a ValueError naming it and ``path`` (never the
    temporary file); without, the OSError propagates.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if option is None:
            raise
        raise ValueError(f"{option}: cannot write {str(path)!r} ({e.strerror or e})") from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def save_npy(out: Path, array, option: str = "--out") -> None:
    """Write ``array`` to ``out`` as ``.npy``, atomically (:func:`atomic_write`; a failure names ``option``)."""
    import io

    import numpy as np

    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write(out, buf.getvalue(), option=option)


def save_weights(arrays: dict, meta: dict, out: Path | str) -> None:
    """Committed weights: ``out`` (npz, compressed, ``meta`` included as the string array ``metadata``) and the
    same name with suffix ``.json`` (``meta``), each written atomically. ValueError unless ``out`` ends in .npz."""
    import io
    import json

    import numpy as np

    out = Path(out)
    if out.suffix != ".npz":
        raise ValueError(f"--out must end in .npz, got {str(out)!r}")
    text = json.dumps(meta, indent=2) + "\n"
    buf = io.BytesIO()
    np.savez_compressed(buf, metadata=np.array(text), **arrays)
    atomic_write(out, buf.getvalue())
    atomic_write(out.with_suffix(".json"), text.encode())
