"""Oxford-102 flowers with Reed et al.'s ten captions per image, in the zero-shot class split.

Oxford-102 (Nilsback and Zisserman 2008) holds 8,189 photographs of 102 flower species common
in the United Kingdom, 40 to 258 per species. Reed et al. (CVPR 2016) collected ten captions
per image on Amazon Mechanical Turk, as for CUB, and split the classes 82 trainval / 20 test
(``trainvalclasses.txt``, ``testclasses.txt``). The official *image* split of
``setid.mat`` (``trnid``, ``valid``, ``tstid``) is not the one text-to-image work uses;
:func:`official_split` reads it for reference.

The root is the downloads as they unpack::

    ROOT/jpg/image_00001.jpg ... image_08189.jpg
    ROOT/imagelabels.mat          key "labels": (1, 8189), class 1..102 of image_%05d
    ROOT/setid.mat                keys "trnid", "valid", "tstid": 1-based image numbers
    ROOT/cvpr2016_flowers/trainvalclasses.txt  testclasses.txt ...   ("class_00001" a line)
    ROOT/cvpr2016_flowers/text_c10/class_00001/image_06734.txt

(``102flowers.tgz``, ``imagelabels.mat`` and ``setid.mat`` from the Visual Geometry Group,
Oxford; ``cvpr2016_flowers.tar.gz`` from Google Drive.) Class folder ``class_%05d`` holds
the images whose label in ``imagelabels.mat`` is that number. Prepare it with ``python -m
t2ilib prepare flowers --root ROOT --download`` (or unpack by hand and run it without
``--download`` to check).

Usage::

    from t2ilib.data.flowers import Flowers
    train = Flowers("data/flowers", split="trainval")
    image, captions, label = train[0]   # (3, H, W) uint8, 10 strings, class 0..101
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import reed
from .download import (
    FLOWERS_RESOURCES,
    Problem,
    caption_file_problems,
    looks_like_jpeg,
    prepare_root,
    source_of,
)
from .real import CaptionedImageFolder, CorruptFileError, Sample

IMAGES_DIR = "jpg"  # what 102flowers.tgz unpacks to
CAPTIONS_DIR = "cvpr2016_flowers"  # what Reed's cvpr2016_flowers.tar.gz unpacks to
LABELS_FILE = "imagelabels.mat"
SETID_FILE = "setid.mat"
SPLITS = ("trainval", "test", "all", "train", "val")
N_IMAGES = 8_189
N_CLASSES = 102
FIX = "run `python -m t2ilib prepare flowers --root {root} --download` to fetch it again"

_SOURCES = {r.filename: source_of(r) for r in FLOWERS_RESOURCES}
_IMAGES_SOURCE = _SOURCES["102flowers.tgz"]
_CAPTIONS_SOURCE = _SOURCES["cvpr2016_flowers.tar.gz"]


def image_name(number: int) -> str:
    """``'image_00042'``: the stem of image ``number`` (1-based)."""
    return f"image_{number:05d}"


def class_folder(label: int) -> str:
    """``'class_00007'``: Reed's folder of class ``label`` (1-based, as in imagelabels.mat)."""
    return f"class_{label:05d}"


def read_labels(root: str | os.PathLike) -> np.ndarray:
    """Class 1..102 of each image, (N,) int64, from ``imagelabels.mat``."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    path = Path(root) / LABELS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"missing {path} (from {_SOURCES[LABELS_FILE]}); {FIX.format(root=Path(root))}"
        )
    try:
        labels = loadmat(path, squeeze_me=True)["labels"]
    except (KeyError, ValueError, OSError, TypeError, MatReadError) as e:
        raise CorruptFileError(
            path, f"{type(e).__name__}: {e}", FIX.format(root=Path(root))
        ) from None
    return np.atleast_1d(np.asarray(labels, dtype=np.int64))


def official_split(root: str | os.PathLike) -> dict[str, np.ndarray]:
    """The official image split of ``setid.mat``: 1-based image numbers per part."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    path = Path(root) / SETID_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"missing {path} (from {_SOURCES[SETID_FILE]}); {FIX.format(root=Path(root))}"
        )
    try:
        mat = loadmat(path, squeeze_me=True)
        return {
            k: np.atleast_1d(np.asarray(mat[k], dtype=np.int64))
            for k in ("trnid", "valid", "tstid")
        }
    except (KeyError, ValueError, OSError, TypeError, MatReadError) as e:
        raise CorruptFileError(
            path, f"{type(e).__name__}: {e}", FIX.format(root=Path(root))
        ) from None


class Flowers(CaptionedImageFolder):
    """Oxford-102 with Reed's captions, one of Reed's class splits.

    Args:
        root: the folder holding ``jpg/``, ``imagelabels.mat``, ``setid.mat`` and
            ``cvpr2016_flowers/`` (see the module docstring).
        split: ``"trainval"`` (82 classes), ``"test"`` (20 classes), ``"all"``, ``"train"``
            or ``"val"``.
        download: fetch and unpack the files first when the root does not verify.
        transform: applied to each (3, H, W) uint8 image tensor.

    ``dataset[i]`` is ``(image, 10 captions, label)`` with ``label`` in 0..101 (the
    ``imagelabels.mat`` class minus one). Images are ordered by class (in the order of the
    split file), then by image number.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "trainval",
        download: bool = False,
        transform=None,
    ):
        super().__init__(transform)
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid splits are {SPLITS}")
        self.root = Path(root)
        self.split = split
        self.fix = FIX.format(root=self.root)
        self._download_if_asked(download, prepare, "Oxford-102", "flowers")
        labels = read_labels(self.root)
        captions_root = self.root / CAPTIONS_DIR
        self.classes = reed.read_classes(captions_root, split)
        by_class: dict[str, list[int]] = {}
        for number, label in enumerate(labels.tolist(), start=1):
            by_class.setdefault(class_folder(label), []).append(number)
        self.samples = []
        for folder in self.classes:
            if not folder.startswith("class_") or not folder[6:].isdigit():
                raise ValueError(
                    f"{captions_root / reed.SPLIT_FILES[split]} lists {folder!r}, not a "
                    "class folder like 'class_00001'; re-extract cvpr2016_flowers.tar.gz"
                )
            for number in by_class.get(folder, []):
                stem = image_name(number)
                txt = captions_root / "text_c10" / folder / f"{stem}.txt"
                if not txt.is_file():
                    raise FileNotFoundError(
                        f"missing caption file {txt} (from {_CAPTIONS_SOURCE}); {self.fix}"
                    )
                self.samples.append(
                    Sample(
                        path=self.root / IMAGES_DIR / f"{stem}.jpg",
                        captions=reed.read_caption_file(txt),
                        label=int(folder[6:]) - 1,
                        key=f"{folder}/{stem}",
                    )
                )
        if not self.samples:
            raise ValueError(
                f"no Oxford-102 images belong to the {split!r} classes of "
                f"{captions_root / reed.SPLIT_FILES[split]}; check {self.root / LABELS_FILE}"
            )

    def __repr__(self) -> str:
        return f"Flowers(split={self.split!r}, images={len(self)}, classes={len(self.classes)})"


# ---------------------------------------------------------------------------------------
# Verifying and preparing a root
# ---------------------------------------------------------------------------------------


def verify(root: str | os.PathLike) -> list[Problem]:
    """Every missing or corrupt file of an Oxford-102 root, by path and source."""
    root = Path(root)
    problems: list[Problem] = []
    labels = None
    for name in (LABELS_FILE, SETID_FILE):
        path = root / name
        if not path.is_file():
            problems.append(Problem(path, "missing", _SOURCES[name]))
            continue
        try:
            if name == LABELS_FILE:
                labels = read_labels(root)
            else:
                official_split(root)
        except CorruptFileError as e:
            problems.append(Problem(path, f"corrupt ({e.detail})", _SOURCES[name]))
    jpg = root / IMAGES_DIR
    if not jpg.is_dir():
        problems.append(Problem(jpg, "missing folder", _IMAGES_SOURCE))
    elif labels is not None:
        for number in range(1, len(labels) + 1):
            path = jpg / f"{image_name(number)}.jpg"
            if not path.is_file():
                problems.append(Problem(path, "missing", _IMAGES_SOURCE))
            elif (bad := looks_like_jpeg(path)) is not None:
                problems.append(Problem(path, bad, _IMAGES_SOURCE))
    base = root / CAPTIONS_DIR
    if not base.is_dir():
        return problems + [Problem(base, "missing folder", _CAPTIONS_SOURCE)]
    split_classes: list[str] = []
    for split in ("trainval", "test"):
        path = base / reed.SPLIT_FILES[split]
        if not path.is_file():
            problems.append(Problem(path, "missing", _CAPTIONS_SOURCE))
        else:
            split_classes += reed.read_classes(base, split)
    text = base / "text_c10"
    if not text.is_dir():
        return problems + [Problem(text, "missing folder", _CAPTIONS_SOURCE)]
    if labels is None:
        return problems
    wanted = set(split_classes)
    entries = [
        (class_folder(label), image_name(number))
        for number, label in enumerate(labels.tolist(), start=1)
        if class_folder(label) in wanted
    ]
    return problems + caption_file_problems(text, entries, _CAPTIONS_SOURCE)


def prepare(
    root: str | os.PathLike, download: bool = False, *, progress: bool = True
) -> list[Problem]:
    """Download (if asked) and verify an Oxford-102 root; returns the problems left."""
    return prepare_root(root, FLOWERS_RESOURCES, verify, download=download, progress=progress)
