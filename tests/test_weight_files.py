"""Weight files that could hurt a user (issue 22 item 4): every loader of a committed ``.npz`` --
:meth:`model.digits_cnn.DigitsCNN.load`, :meth:`model.bcnn.net.BCNN.load`, :func:`model.aimc.net.load_models` (CNN
and MLP files), :meth:`model.dima.net.QuantNet.load` -- given a corrupted copy raises ONE ``ValueError`` (one line) naming the file and the array, through
the shared schema check :func:`model.checks.load_weights`. The corrupted array is drawn with the ``rng`` fixture
(seed printed); the committed files still load to the very same arrays.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile

import numpy as np
import pytest

from model.aimc.net import DEFAULT_MLP_WEIGHTS, DEFAULT_WEIGHTS as AIMC_WEIGHTS, load_models
from model.bcnn.net import BCNN, DEFAULT_WEIGHTS as BCNN_WEIGHTS, PARAM_NAMES as BCNN_NAMES
from model.checks import WeightFileNotFound
from model.digits_cnn import DEFAULT_WEIGHTS as DIGITS_WEIGHTS, PARAM_NAMES as DIGITS_NAMES, DigitsCNN
from model.dima.net import QuantNet, weights_path as dima_weights


def _stored(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _aimc_names(path) -> tuple:
    return tuple(k for k in _stored(path) if k != "metadata")  # every array of models_npz is required


#: file -> (committed path, loader, the arrays the loader requires)
FILES = {
    "digits_cnn": (DIGITS_WEIGHTS, DigitsCNN.load, DIGITS_NAMES),
    "bcnn": (BCNN_WEIGHTS, BCNN.load, BCNN_NAMES),
    "aimc_cnn": (AIMC_WEIGHTS, load_models, _aimc_names(AIMC_WEIGHTS)),
    "aimc_mlp": (DEFAULT_MLP_WEIGHTS, load_models, _aimc_names(DEFAULT_MLP_WEIGHTS)),
    "dima_mlp": (dima_weights("mlp"), lambda path: QuantNet.load("mlp", path),
                 tuple(k for k in _stored(dima_weights("mlp")) if k != "metadata")),
}


def _one_error(loader, path) -> str:
    """The loader's error on ``path``: a ValueError of one line naming the file."""
    with pytest.raises(ValueError) as info:
        loader(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text, text
    return text


def _write(tmp_path, arrays: dict, name="w.npz"):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


# ------------------------------------------------------------------------------------------ corrupted arrays
@pytest.mark.parametrize("file", FILES)
def test_missing_array_is_named(file, tmp_path, rng):
    committed, loader, names = FILES[file]
    arrays = _stored(committed)
    gone = str(rng.choice(names))
    del arrays[gone]
    text = _one_error(loader, _write(tmp_path, arrays))
    assert f"is missing [{gone!r}]" in text


@pytest.mark.parametrize("change", ["shorter", "extra axis", "fewer axes"])
@pytest.mark.parametrize("file", FILES)
def test_wrong_shape_is_named_with_the_expected_shape(file, change, tmp_path, rng):
    committed, loader, names = FILES[file]
    arrays = _stored(committed)
    # aimc's test_indices alone sets its length: a shorter one is a valid file
    name = str(rng.choice([n for n in names if not (change == "shorter" and n == "test_indices")
                           and (change == "extra axis" or arrays[n].ndim)]))  # a scalar has no shorter form
    a = arrays[name]
    arrays[name] = {"shorter": lambda: a[..., :-1], "extra axis": lambda: a[..., None],
                    "fewer axes": lambda: a.reshape(-1) if a.ndim > 1 else a[0]}[change]()
    text = _one_error(loader, _write(tmp_path, arrays))
    # the expected shape is the committed one: a named size (the BCNN's widths, aimc's number of models) comes
    # from the arrays of highest rank, so the changed array is reported against the rest of the file
    m = re.search(r": (\S+) must have shape (\([^)]*\))(?: \([^)]*\))?, got (\([^)]*\))$", text)
    assert m, text
    # ... except a size no other array has (aimc's test_indices), shown by its name
    expected = "(tests,)" if name == "test_indices" and change != "shorter" else str(a.shape)
    assert m.groups() == (name, expected, str(arrays[name].shape)), text


@pytest.mark.parametrize("dtype", [np.complex64, np.bool_, "U4"])
@pytest.mark.parametrize("file", FILES)
def test_wrong_dtype_is_named(file, dtype, tmp_path, rng):
    committed, loader, names = FILES[file]
    arrays = _stored(committed)
    name = str(rng.choice(names))
    arrays[name] = arrays[name].astype(dtype)
    text = _one_error(loader, _write(tmp_path, arrays))
    assert re.search(rf": {re.escape(name)} must have (a real numeric|an integer|dtype uint8).*, got dtype "
                     rf"{np.dtype(dtype).name}$", text), text


@pytest.mark.parametrize("file", FILES)
def test_object_array_is_named_and_never_unpickled(file, tmp_path, rng):
    committed, loader, names = FILES[file]
    arrays = _stored(committed)
    name = str(rng.choice(names))
    arrays[name] = np.empty(arrays[name].shape, dtype=object)  # np.savez pickles it
    text = _one_error(loader, _write(tmp_path, arrays))
    assert text.endswith("got dtype object") and f": {name} must have" in text


@pytest.mark.parametrize("file", ["digits_cnn", "bcnn", "aimc_mlp"])  # aimc_cnn's float arrays: the same code
def test_nan_or_inf_is_named_with_its_index(file, tmp_path, rng):
    committed, loader, names = FILES[file]
    arrays = _stored(committed)
    floats = [n for n in names if arrays[n].dtype.kind == "f"]
    name = str(rng.choice(floats))
    a = arrays[name].copy()
    where = tuple(int(rng.integers(0, s)) for s in a.shape)
    a[where] = rng.choice([np.nan, np.inf, -np.inf])
    arrays[name] = a
    text = _one_error(loader, _write(tmp_path, arrays))
    assert f": {name} must hold finite numbers, got 1 NaN or inf value(s)" in text and text.endswith(f"{where}")


# ---------------------------------------------------------------------------------------- corrupted archives
@pytest.mark.parametrize("file", FILES)
def test_truncated_archive(file, tmp_path, rng):
    committed, loader, _ = FILES[file]
    raw = committed.read_bytes()
    path = tmp_path / "w.npz"
    path.write_bytes(raw[:int(rng.integers(0, len(raw) - 22))])  # the zip directory is in the last 22+ bytes
    assert "is not a .npz file (a zip archive of .npy arrays)" in _one_error(loader, path)


@pytest.mark.parametrize("what", ["text", "npy", "empty"])
@pytest.mark.parametrize("file", FILES)
def test_not_a_zip(file, what, tmp_path):
    _, loader, names = FILES[file]
    path = tmp_path / "w.npz"
    if what == "text":
        path.write_text("conv1.weight = [1, 2, 3]\n")
    elif what == "npy":  # np.save to a .npz name: np.load would return an ndarray, not an archive
        with open(path, "wb") as f:
            np.save(f, np.zeros(3, np.float32))
    else:
        path.write_bytes(b"")
    assert "is not a .npz file (a zip archive of .npy arrays)" in _one_error(loader, path)


def _flip_last_data_byte(path, member: str) -> None:
    """Flip the last stored byte of ``member`` (an uncompressed .npz): its .npy header stays readable, its CRC fails."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    raw = bytearray(path.read_bytes())
    n_name, n_extra = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    last = info.header_offset + 30 + n_name + n_extra + info.compress_size - 1
    raw[last] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("file", FILES)
def test_corrupted_array_data_is_named(file, tmp_path, rng):
    committed, loader, names = FILES[file]
    path = _write(tmp_path, _stored(committed))
    name = str(rng.choice(names))
    _flip_last_data_byte(path, f"{name}.npy")
    assert f": {name}: unreadable (Bad CRC-32" in _one_error(loader, path)


@pytest.mark.parametrize("file", FILES)
def test_missing_file_and_folder(file, tmp_path):
    _, loader, _ = FILES[file]
    with pytest.raises(WeightFileNotFound, match=r"nope\.npz' not found \(train with scripts/train/"):
        loader(tmp_path / "nope.npz")
    assert "is not a regular file" in _one_error(loader, tmp_path)


@pytest.mark.parametrize("file", FILES)
def test_bad_metadata(file, tmp_path):
    committed, loader, _ = FILES[file]
    arrays = _stored(committed)
    arrays["metadata"] = np.array("{'not': json}")
    assert ": metadata is not valid JSON (" in _one_error(loader, _write(tmp_path, arrays))
    arrays["metadata"] = np.array([1.0, 2.0])
    assert ": metadata must be a JSON string (a 0-d str array" in _one_error(loader, _write(tmp_path, arrays))
    arrays["metadata"] = np.array("[1, 2]")
    assert ": field 'metadata' must be an object, got a list of 2 entries" in \
        _one_error(loader, _write(tmp_path, arrays))


# ------------------------------------------------------------------------------------------ aimc's own rules
def _aimc_with_meta(tmp_path, edit):
    arrays = _stored(DEFAULT_MLP_WEIGHTS)
    meta = json.loads(str(arrays["metadata"]))
    edit(meta)
    arrays["metadata"] = np.array(json.dumps(meta))
    return _write(tmp_path, arrays)


def test_aimc_metadata_architecture_is_checked(tmp_path):
    path = _aimc_with_meta(tmp_path, lambda m: m["architecture"][1].update(fan_in=0))
    assert _one_error(load_models, path).endswith(
        "metadata.architecture[1]: field 'fan_in' must be an integer >= 1 and <= 1048576, got 0")
    path = _aimc_with_meta(tmp_path, lambda m: m["architecture"][1].update(fan_in=127))  # breaks the chain
    assert "metadata.architecture: an MLP must be [{'name': 'fc1', 'kind': 'fc', 'fan_in': 64, 'fan_out': 128}, " \
           "{'name': 'fc2', 'kind': 'fc', 'fan_in': 128," in _one_error(load_models, path)
    path = _aimc_with_meta(tmp_path, lambda m: m.pop("architecture"))  # no architecture: the CNN of LAYERS
    assert "is missing ['conv1.t5'," in _one_error(load_models, path)
    arrays = _stored(DEFAULT_MLP_WEIGHTS)
    del arrays["metadata"]
    assert "has no metadata" in _one_error(load_models, _write(tmp_path, arrays))


def test_aimc_packed_codes_seeds_and_duplicates(tmp_path, rng):
    arrays = _stored(AIMC_WEIGHTS)
    t5 = arrays["fc2.t5"].copy()
    code = int(rng.integers(243, 256))  # 5 base-3 digits reach 242 at most
    t5[int(rng.integers(0, t5.shape[0])), int(rng.integers(0, t5.shape[1]))] = code
    bad = dict(arrays, **{"fc2.t5": t5})
    assert _one_error(load_models, _write(tmp_path, bad)).endswith(
        f": fc2.t5 must hold base-3 codes in [0, 242] (pack_ternary), got {code}")
    bad = dict(arrays, **{"fc2.t5": arrays["fc2.t5"].astype(np.int16)})   # same values, wrong type
    assert _one_error(load_models, _write(tmp_path, bad)).endswith(": fc2.t5 must have dtype uint8, got dtype int16")
    bad = dict(arrays, seed=arrays["seed"].astype(np.float64))
    assert _one_error(load_models, _write(tmp_path, bad)).endswith(
        ": seed must have an integer dtype, got dtype float64")
    seed, sigma = arrays["seed"].copy(), arrays["sigma_train"].copy()
    seed[-1], sigma[-1] = seed[0], sigma[0]
    bad = dict(arrays, seed=seed, sigma_train=sigma)
    assert _one_error(load_models, _write(tmp_path, bad)).endswith(
        f": sigma_train, seed: model {len(seed) - 1} repeats (sigma_train, seed) = ({sigma[0]}, {seed[0]})")


# --------------------------------------------------------------------------------------- valid files unchanged
def test_bcnn_named_widths_name_where_the_size_came_from(tmp_path):
    arrays = _stored(BCNN_WEIGHTS)
    arrays["bconv1.weight"] = arrays["bconv1.weight"][:, :8]  # in-channels must be c1 = 16 (conv1.weight)
    assert _one_error(BCNN.load, _write(tmp_path, arrays)).endswith(
        ": bconv1.weight must have shape (32, 16, 3, 3) (c1 = 16 from conv1.weight), got (32, 8, 3, 3)")


def test_valid_files_load_the_same_arrays_whatever_the_layout(tmp_path):
    """Big-endian, Fortran-order and compressed copies with an extra (object) array load to the same parameters:
    other arrays are never read."""
    stored = _stored(BCNN_WEIGHTS)
    ref = BCNN.load()
    odd = {k: (np.asfortranarray(v.astype(v.dtype.newbyteorder(">"))) if k in BCNN_NAMES else v)
           for k, v in stored.items()}
    odd["notes"] = np.array([{"a": 1}], dtype=object)
    path = tmp_path / "odd.npz"
    np.savez_compressed(path, **odd)
    net = BCNN.load(path)
    assert all(np.array_equal(net.params[k], ref.params[k]) and net.params[k].dtype == np.float32
               for k in BCNN_NAMES)
    assert net.metadata == ref.metadata
    digits = _stored(DIGITS_WEIGHTS)
    model = DigitsCNN.load()
    assert all(np.array_equal(model.params[k], digits[k]) for k in DIGITS_NAMES)
    assert model.metadata == json.loads(str(digits["metadata"]))


@pytest.mark.parametrize("net", ["digits_cnn", "bcnn"])
def test_every_parameter_is_checked_in_memory_too(net):
    """The constructors check parameters passed in memory with the same schema: every name, every rank."""
    committed, _, names = FILES[net]
    cls = DigitsCNN if net == "digits_cnn" else BCNN
    stored = {k: v for k, v in _stored(committed).items() if k in names}
    for name in names:
        a = stored[name]
        wrong = rf"^params\[{re.escape(repr(name))}\] must have shape {re.escape(str(a.shape))}.*, got "
        with pytest.raises(ValueError, match=wrong + re.escape(str(a[..., None].shape)) + "$"):
            cls({**stored, name: a[..., None]})
        with pytest.raises(ValueError, match=rf"^params is missing \[{re.escape(repr(name))}\]; expected \["):
            cls({k: v for k, v in stored.items() if k != name})
