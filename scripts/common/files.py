"""Files of the commands and programs: the ``.npy`` arrays of the array commands, atomic writes, committed weights.

Each function raises :class:`ValueError` naming the option and the file (``scripts.cli.main`` turns that into
``error: ...`` and exit status 2); outputs are written atomically, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["load_npy", "out_npy_path", "save_npy", "atomic_write", "save_weights"]


def load_npy(path: str, option: str):
    """The array in the ``.npy`` file ``path`` (no pickles); ValueError naming ``option`` and the file when it is
    missing, unreadable or not a ``.npy`` array (an ``.npz`` archive, a text file)."""
    import numpy as np

    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except FileNotFoundError:
        raise ValueError(f"{option}: no such file {path!r}") from None
    except OSError as e:
        raise ValueError(f"{option}: cannot read {path!r} ({e.strerror or e})") from None
    if magic != b"\x93NUMPY":
        raise ValueError(f"{option}: cannot read {path!r} as a .npy array (no NumPy .npy header)")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"{option}: cannot read {path!r} as a .npy array ({e})") from None


def out_npy_path(text: str, option: str = "--out") -> Path:
    """The output path of ``option``: it must end in ``.npy`` and its folder must exist (checked before any work)."""
    out = Path(text)
    if out.suffix != ".npy":
        raise ValueError(f"{option}: the output file must end in .npy, got {text!r}")
    if not out.parent.is_dir():
        raise ValueError(f"{option}: folder {str(out.parent)!r} does not exist")
    return out


def atomic_write(path: Path | str, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder (created ``mode``, not mkstemp's
    0600: outputs may be committed), then a rename; a failure leaves nothing half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_npy(out: Path, array) -> None:
    """Write ``array`` to ``out`` as ``.npy``, atomically (:func:`atomic_write`)."""
    import io

    import numpy as np

    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write(out, buf.getvalue())


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
