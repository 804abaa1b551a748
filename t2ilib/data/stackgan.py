"""Importing StackGAN's precomputed char-CNN-RNN embeddings, safely.

StackGAN (Zhang et al. 2017) shared Reed's caption embeddings for CUB and Oxford-102 as
Python 2 pickles, and many later projects start from them::

    <ds>/train/char-CNN-RNN-embeddings.pickle   (N, 10, 1024) float32  (CUB: 8,855 images)
    <ds>/train/filenames.pickle                 N names, e.g. "002.Laysan_Albatross/Laysan_..."
    <ds>/train/class_info.pickle                N class ids
    <ds>/test/...                                (CUB: 2,933 images)

A pickle can run arbitrary code when it is loaded: ``pickle.load`` calls whatever function
the file names. These files come from file-sharing links, so they are read with
:class:`RestrictedUnpickler`, which lets a file build only numpy arrays and dtypes,
lists, tuples, dicts, strings and numbers, and refuses anything else by name, before
calling it. Python 2 byte strings are decoded as latin-1 (``encoding='latin1'``), the
only setting under which numpy arrays pickled by Python 2 load correctly.

The embeddings are matched to a dataset by image stem (the last part of each file name),
so they can be attached to a cache built from :class:`t2ilib.data.cub.CUB`::

    split = load_stackgan("data/birds", "train")
    emb = split.align(cache.keys)               # (N, 10, 1024), in the cache's order
    add_embeddings("cache/cub_trainval", emb)
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for something other than numpy arrays, lists, strings and numbers."""


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    return _reconstruct, scalar


def _allowed() -> dict[tuple[str, str], object]:
    import _codecs

    reconstruct, scalar = _numpy_reconstruct()
    allowed: dict[tuple[str, str], object] = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = reconstruct  # builds an empty ndarray
        allowed[(module, "scalar")] = scalar  # a numpy scalar from its bytes
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    # Python 3 writes bytes at protocol 2 as _codecs.encode(text, 'latin1'): text -> bytes.
    allowed[("_codecs", "encode")] = _codecs.encode
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can build only numpy arrays, dtypes and scalars, plus the plain
    types pickle makes without any lookup (lists, tuples, dicts, str, bytes, numbers,
    booleans, None). Every other global raises :class:`UnsafePickleError`, before it is
    imported or called."""

    _ALLOWED = None

    def find_class(self, module: str, name: str):
        if RestrictedUnpickler._ALLOWED is None:
            RestrictedUnpickler._ALLOWED = _allowed()
        try:
            return RestrictedUnpickler._ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load {module}.{name}: only numpy arrays, lists, strings and "
                "numbers may appear in these files"
            ) from None

    def persistent_load(self, pid):
        raise UnsafePickleError("refusing a persistent id: not a plain data pickle")


def load_pickle(path: str | os.PathLike):
    """Load a (Python 2 or 3) data pickle through :class:`RestrictedUnpickler`.

    Raises :class:`UnsafePickleError` (a :class:`pickle.UnpicklingError`) naming the file and
    the refused global for a file that asks for anything but plain data, ``ValueError`` for
    a truncated or corrupt file, ``FileNotFoundError`` for a missing one.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing pickle {path}")
    data = path.read_bytes()
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except UnsafePickleError as e:
        raise UnsafePickleError(f"{path}: {e}; the file was not loaded") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
    ) as e:
        raise ValueError(
            f"{path} is truncated or not a data pickle ({type(e).__name__}: {e}); download it again"
        ) from None


EMBEDDINGS = "char-CNN-RNN-embeddings.pickle"
FILENAMES = "filenames.pickle"
CLASS_INFO = "class_info.pickle"


@dataclass
class StackGANSplit:
    """One split of StackGAN's files."""

    embeddings: np.ndarray  # (N, C, D) float32: C captions (10), D = 1024
    filenames: list[str]  # N names, e.g. "002.Laysan_Albatross/Laysan_Albatross_0002_1027"
    class_info: list[int]  # N class ids

    def __len__(self) -> int:
        return len(self.filenames)

    def align(self, keys: list[str]) -> torch.Tensor:
        """The embeddings of ``keys`` (dataset/cache keys), in that order: (len(keys), C, D).

        Keys and file names are matched by their last path component without extension
        (``Laysan_Albatross_0002_1027``, ``image_06734``); a key with no embedding raises
        ValueError naming it.
        """
        index = {_stem(f): i for i, f in enumerate(self.filenames)}
        missing = [k for k in keys if _stem(k) not in index]
        if missing:
            raise ValueError(
                f"{len(missing)} of {len(keys)} samples have no StackGAN embedding (first: "
                f"{missing[0]!r}); use the StackGAN split that matches the dataset split "
                "(StackGAN's train/test are Reed's trainval/test classes)"
            )
        order = [index[_stem(k)] for k in keys]
        return torch.from_numpy(np.ascontiguousarray(self.embeddings[order]))


def _stem(name: str) -> str:
    return Path(str(name).replace("\\", "/")).stem


def load_stackgan(root: str | os.PathLike, split: str) -> StackGANSplit:
    """Read ``<root>/<split>/`` (``split``: ``"train"`` or ``"test"``) and check it."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown StackGAN split {split!r}; valid splits are ('train', 'test')")
    folder = Path(root) / split
    emb = load_pickle(folder / EMBEDDINGS)
    filenames = load_pickle(folder / FILENAMES)
    class_info = load_pickle(folder / CLASS_INFO)
    emb = np.asarray(emb)
    if emb.ndim == 2:  # some shares hold one embedding per image
        emb = emb[:, None, :]
    if emb.ndim != 3 or not np.issubdtype(emb.dtype, np.floating):
        raise ValueError(
            f"{folder / EMBEDDINGS}: expected a float array (N, 10, 1024), got "
            f"{emb.dtype} {emb.shape}"
        )
    if not isinstance(filenames, (list, tuple)) or not all(isinstance(f, str) for f in filenames):
        raise ValueError(f"{folder / FILENAMES}: expected a list of strings")
    class_info = [int(c) for c in np.asarray(class_info).reshape(-1).tolist()]
    if not (len(emb) == len(filenames) == len(class_info)):
        raise ValueError(
            f"{folder}: {len(emb)} embeddings, {len(filenames)} file names and "
            f"{len(class_info)} class ids; the three files must come from the same split"
        )
    return StackGANSplit(emb.astype(np.float32, copy=False), list(filenames), class_info)
