"""The one digits data module: scikit-learn's 8x8 digits, the project's train/test split and the image check.

Every digits network of the project (:mod:`model.digits_cnn`, :mod:`model.bcnn.net`, :mod:`model.dima.net`,
:mod:`model.aimc.net`) and its trainer (``scripts/train/``) loads its data here.

Data: :func:`sklearn.datasets.load_digits` (1797 greyscale images of 8x8 pixels with integer values 0..16, 10
classes, shipped with scikit-learn: no download). Two forms:

``kind="images"``
    NCHW ``(N, 1, 8, 8)`` in ``dtype`` (float32 by default): ``pixels / 16``, exact in float32 and float64.
``kind="pixels"``
    the raw pixels ``(N, 8, 8)`` int64, 0..16 (the integer networks of :mod:`model.dima.net` quantise them).

Labels are int64 ``(N,)``.

Split: ``train_test_split(arange(1797), test_size=0.3, random_state=seed, stratify=labels)`` -- stratified by
class, reproducible by ``seed``; 540 test and 1257 training images. Test indices are returned sorted; every
trainer stores them in its weights file, and inference reads the test set back by those stored indices
(:func:`load_test_set`), so a later scikit-learn cannot silently change a committed network's test set.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from model.checks import check_choice, check_int, check_real

__all__ = ["N_IMAGES", "N_CLASSES", "IMAGE_SHAPE", "TEST_SIZE", "KINDS", "load", "split_indices", "load_split",
           "take", "stored_test_indices", "load_test_set", "check_images"]

N_IMAGES = 1797
N_CLASSES = 10
#: (C, H, W) of one image of ``kind="images"``
IMAGE_SHAPE = (1, 8, 8)
#: fraction of the images held out for testing
TEST_SIZE = 0.3
KINDS = ("images", "pixels")


@lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray]:
    """The pixels (N, 8, 8) int64 and labels (N,) int64 of ``load_digits()``, read once, read-only."""
    from sklearn.datasets import load_digits

    d = load_digits()
    pixels, labels = d.images.astype(np.int64), d.target.astype(np.int64)
    if not np.array_equal(pixels, d.images):
        raise ValueError("load_digits().images must hold integers 0..16")
    pixels.flags.writeable = False
    labels.flags.writeable = False
    return pixels, labels


def _form(pixels: np.ndarray, kind: str, dtype) -> np.ndarray:
    kind = check_choice("kind", kind, KINDS)
    if kind == "pixels":
        return pixels.copy()
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a float dtype for kind 'images', got {dtype}")
    return (pixels.astype(dtype) / dtype.type(16.0)).reshape(-1, *IMAGE_SHAPE)


def load(kind: str = "images", dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """All 1797 images and their labels.

    Parameters
    ----------
    kind : str
        ``"images"``: NCHW ``(N, 1, 8, 8)`` ``pixels / 16`` in ``dtype``; ``"pixels"``: ``(N, 8, 8)`` int64 0..16.
    dtype : numpy float dtype
        For ``kind="images"`` (default float32).

    Returns
    -------
    tuple of numpy.ndarray
        ``(x, y)``: ``x`` as above (a new array), ``y`` int64 ``(N,)`` labels 0..9.
    """
    pixels, labels = _raw()
    return _form(pixels, kind, dtype), labels.copy()


def split_indices(seed: int = 0, test_size: float = TEST_SIZE, *, test_indices=None,
                  sort_train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The train/test split as indices into :func:`load`'s arrays.

    Parameters
    ----------
    seed : int
        ``random_state`` of ``train_test_split`` (``>= 0``).
    test_size : float
        Held-out fraction, in (0, 1) (default 0.3).
    test_indices : array_like of int, optional
        A stored test set: then these define the test set and the training set is every other image; ``seed``
        and ``test_size`` are not used.
    sort_train : bool
        ``True`` (default): the training indices ascending. ``False``: in the order ``train_test_split``
        returns them (:mod:`model.aimc.net` trains in that order; a mini-batch shuffle permutes positions, so the
        order is part of what reproduces the committed AiMC models). Not used with ``test_indices``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(train_indices, test_indices)``, int64; the test indices ascending, without duplicates.
    """
    labels = _raw()[1]
    n = len(labels)
    if test_indices is not None:
        test = np.unique(np.asarray(test_indices, dtype=np.int64))
        if test.size != np.size(test_indices) or (test.size and (test[0] < 0 or test[-1] >= n)):
            raise ValueError(f"test_indices must be distinct indices in [0, {n}), got {np.size(test_indices)} "
                             f"values in [{np.min(test_indices)}, {np.max(test_indices)}]")
        return np.setdiff1d(np.arange(n, dtype=np.int64), test), test
    from sklearn.model_selection import train_test_split

    seed = check_int("seed", seed, min=0, type_error=False)
    test_size = check_real("test_size", test_size, min=0, max=1, min_open=True, max_open=True, type_error=False)
    train, test = train_test_split(np.arange(len(labels)), test_size=test_size, random_state=seed, stratify=labels)
    train = np.sort(train) if sort_train else np.asarray(train)
    return train.astype(np.int64, copy=False), np.sort(test).astype(np.int64, copy=False)


def load_split(seed: int = 0, test_size: float = TEST_SIZE, *, test_indices=None, kind: str = "images",
               dtype=np.float32, sort_train: bool = True):
    """The training and test data of the split :func:`split_indices`.

    Parameters
    ----------
    seed, test_size, test_indices, sort_train
        As for :func:`split_indices`.
    kind, dtype
        As for :func:`load`.

    Returns
    -------
    tuple
        ``(x_train, y_train, x_test, y_test, test_indices)``; images in :func:`load`'s form, the test set in
        ascending index order, ``test_indices`` int64 ascending.
    """
    train, test = split_indices(seed, test_size, test_indices=test_indices, sort_train=sort_train)
    x, y = load(kind, dtype)
    return x[train], y[train], x[test], y[test], test


def take(indices, kind: str = "images", dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels at ``indices`` (in the order given; e.g. a stored test set), in :func:`load`'s form."""
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise ValueError(f"indices must be a 1-d integer array, got dtype {idx.dtype} and shape {idx.shape}")
    x, y = load(kind, dtype)
    return x[idx], y[idx]


def stored_test_indices(path: str | Path) -> np.ndarray:
    """The ``test_indices`` array (int64) stored in a weights file (npz) written by a trainer."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as z:
        if "test_indices" not in z.files:
            raise ValueError(f"{str(path)!r} holds no 'test_indices' array")
        return z["test_indices"].astype(np.int64)


def load_test_set(path: str | Path, kind: str = "images", dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The held-out test set of a weights file: :func:`take` at its :func:`stored_test_indices`."""
    return take(stored_test_indices(path), kind, dtype)


def check_images(x, dtype=np.float32) -> np.ndarray:
    """Digits images as NCHW ``(N, 1, 8, 8)`` floats (``load_digits().images / 16``).

    Parameters
    ----------
    x : array_like
        ``(N, 1, 8, 8)`` or ``(N, 8, 8)`` real numbers (not checked for finiteness).
    dtype : numpy float dtype or None
        The result dtype (default float32); ``None`` keeps float32 input as float32 and makes anything else
        float64.

    Returns
    -------
    numpy.ndarray
        ``(N, 1, 8, 8)`` (no copy when the input already has that shape and dtype).

    Raises
    ------
    ValueError
        Naming the shape or dtype of ``x`` otherwise.
    """
    x = np.asarray(x)
    if x.ndim == 3 and x.shape[1:] == IMAGE_SHAPE[1:]:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"x must have shape (N, 1, 8, 8) or (N, 8, 8) (load_digits().images / 16), "
                         f"got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"x must be a real numeric array, got dtype {x.dtype}")
    if dtype is None:
        dtype = np.float32 if x.dtype == np.float32 else np.float64
    return x.astype(dtype, copy=False)
