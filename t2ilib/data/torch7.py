"""Reading the Torch7 files of Reed et al.'s releases, through the ``torchfile`` package.

PyTorch once read these files with ``torch.utils.serialization.load_lua``; it was removed in
PyTorch 1.0, and "how do I load the .t7 files now" is a common question on the ports'
issue trackers. ``torchfile`` reads the Torch7 binary format in pure Python.

Two layouts exist:

* **Per class** (``reedscot/cvpr2016``, inside ``cvpr2016_cub/`` and ``cvpr2016_flowers/``),
  one file per class folder listed in ``manifest.txt``::

      images/<class>.t7     float (N, 1024, 10): GoogLeNet features of 10 crops/flips per image
      text_c10/<class>.t7   char indices (N, 201, 10): 10 captions of 201 characters per image

  Image ``n`` of the class (the N axis) is the ``n``-th caption file of
  ``text_c10/<class>/`` in sorted order.

* **Per image** (``reedscot/icml2016``, ``cub_icml/`` and ``flowers_icml/``)::

      <class>/<image>.t7    a table {img = "<class>/<image>.jpg",
                                     txt = float (10, 1024) caption embeddings,
                                     char = (201, 10) char indices}

Character indices are 1-based positions in Reed's 70-character alphabet, 0 meaning padding
(see :mod:`t2ilib.text`, which encodes captions the same way).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Reed's alphabet (reedscot/cvpr2016, util/MultimodalMinibatchLoaderCaption.lua); the same
# string as t2ilib.text.ALPHABET. '-' appears twice; the Lua dictionary maps it to 60.
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{} "
DOC_LENGTH = 201
_CHAR_TO_INDEX = {c: i for i, c in enumerate(ALPHABET, start=1)}  # later '-' wins: 60


class Torch7Error(ValueError):
    """A file is not a Torch7 file of the expected layout."""


def load_t7(path: str | os.PathLike):
    """Read any Torch7 binary file: tensors become numpy arrays, tables dicts or lists,
    strings ``str`` (UTF-8)."""
    try:
        import torchfile
    except ImportError:  # pragma: no cover - torchfile is a dependency
        raise ImportError(
            "reading .t7 files needs the torchfile package: pip install torchfile"
        ) from None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing Torch7 file {path}")
    try:
        return torchfile.load(str(path), utf8_decode_strings=True)
    except Exception as e:  # torchfile raises struct.error, T7ReaderException, ValueError...
        raise Torch7Error(
            f"{path} is not a readable Torch7 file ({type(e).__name__}: {e}); it may be "
            "truncated or in Torch's ascii format; re-extract it from its archive"
        ) from None


def encode_chars(captions: list[str], length: int = DOC_LENGTH) -> np.ndarray:
    """Captions to Reed's char-index layout: (length, len(captions)) uint8, 1-based, 0 = pad."""
    out = np.zeros((length, len(captions)), dtype=np.uint8)
    for j, caption in enumerate(captions):
        for i, ch in enumerate(caption.lower()[:length]):
            out[i, j] = _CHAR_TO_INDEX.get(ch, 0)
    return out


def decode_chars(indices: np.ndarray) -> list[str]:
    """(length, n) char indices (one caption per column) to ``n`` strings; padding dropped."""
    indices = np.asarray(indices)
    if indices.ndim != 2:
        raise ValueError(f"expected (length, n) char indices, got shape {indices.shape}")
    captions = []
    for column in indices.T.astype(np.int64):
        captions.append(
            "".join(ALPHABET[i - 1] for i in column if 1 <= i <= len(ALPHABET)).rstrip()
        )
    return captions


def _expect(array, ndim_shape: tuple, path: Path, what: str) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise Torch7Error(f"{path}: expected a tensor of {what}, found {type(array).__name__}")
    if array.ndim != len(ndim_shape) or any(
        want is not None and got != want for got, want in zip(array.shape, ndim_shape, strict=True)
    ):
        shape = " x ".join("N" if s is None else str(s) for s in ndim_shape)
        raise Torch7Error(f"{path}: expected {what} of shape {shape}, got {tuple(array.shape)}")
    return np.array(array)  # own the memory (torchfile returns strided views)


def read_class_features(path: str | os.PathLike) -> np.ndarray:
    """``images/<class>.t7``: (N, 1024, 10) float32 image features."""
    path = Path(path)
    return _expect(load_t7(path), (None, 1024, None), path, "image features").astype(np.float32)


def read_class_chars(path: str | os.PathLike) -> np.ndarray:
    """``text_c10/<class>.t7``: (N, 201, 10) int64 char indices."""
    path = Path(path)
    return _expect(load_t7(path), (None, DOC_LENGTH, None), path, "char indices").astype(np.int64)


def read_class_captions(path: str | os.PathLike) -> list[list[str]]:
    """``text_c10/<class>.t7`` decoded: N lists of captions (10 each)."""
    return [decode_chars(image) for image in read_class_chars(path)]


@dataclass
class IcmlItem:
    """One icml2016 per-image file."""

    img: str  # image path relative to the image root, e.g. "002.Laysan_Albatross/...jpg"
    txt: np.ndarray  # (n_captions, 1024) float32 caption embeddings
    char: np.ndarray  # (201, n_captions) int64 char indices

    @property
    def captions(self) -> list[str]:
        return decode_chars(self.char)


def read_icml_item(path: str | os.PathLike) -> IcmlItem:
    """Read one ``<class>/<image>.t7`` of ``cub_icml`` / ``flowers_icml``."""
    path = Path(path)
    table = load_t7(path)
    if not isinstance(table, dict):
        raise Torch7Error(
            f"{path}: expected a table with img, txt, char; got {type(table).__name__}"
        )
    missing = [k for k in ("img", "txt", "char") if k not in table]
    if missing:
        raise Torch7Error(f"{path}: the table lacks {missing}; keys are {sorted(map(str, table))}")
    img = table["img"]
    if isinstance(img, bytes):
        img = img.decode("utf-8")
    txt = _expect(table["txt"], (None, 1024), path, "caption embeddings").astype(np.float32)
    char = _expect(table["char"], (DOC_LENGTH, None), path, "char indices").astype(np.int64)
    return IcmlItem(img=str(img), txt=txt, char=char)


def read_icml_folder(root: str | os.PathLike) -> dict[str, IcmlItem]:
    """Every ``<class>/<image>.t7`` under ``root``, keyed ``"<class>/<image>"`` (sorted)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"missing folder {root} (icml2016 per-image t7 files)")
    return {f"{p.parent.name}/{p.stem}": read_icml_item(p) for p in sorted(root.glob("*/*.t7"))}


def read_reed_class(
    root: str | os.PathLike, class_folder: str
) -> tuple[np.ndarray, list[list[str]]]:
    """Reed's per-class pair for one class: (features (N, 1024, 10), N caption lists)."""
    root = Path(root)
    features = read_class_features(root / "images" / f"{class_folder}.t7")
    captions = read_class_captions(root / "text_c10" / f"{class_folder}.t7")
    if len(features) != len(captions):
        raise Torch7Error(
            f"{root}: images/{class_folder}.t7 has {len(features)} images but "
            f"text_c10/{class_folder}.t7 has {len(captions)}"
        )
    return features, captions
