"""CUB-200-2011 birds with Reed et al.'s ten captions per image, in the zero-shot class split.

CUB-200-2011 (Wah et al. 2011) holds 11,788 photographs of 200 North American bird species.
Reed, Akata, Lee and Schiele (CVPR 2016) had ten sentences written for each image on Amazon
Mechanical Turk ("describe what the bird looks like, at least 10 words, no background or
actions") and split the *classes*, not the images: 150 classes to train and validate on
(``trainvalclasses.txt``), 50 held out (``testclasses.txt``). Reed et al. (ICML 2016) train
the GAN on the 150 and show samples for the 50, so a caption at test time describes a
species the generator never saw.

The root is the two archives as they unpack::

    ROOT/CUB_200_2011/images.txt               "<id> <class>/<file>.jpg", 11,788 lines
    ROOT/CUB_200_2011/image_class_labels.txt   "<id> <class id 1..200>"
    ROOT/CUB_200_2011/classes.txt              "<class id> <class folder>"
    ROOT/CUB_200_2011/train_test_split.txt     the official *image* split (not used here)
    ROOT/CUB_200_2011/bounding_boxes.txt       "<id> x y w h" (not used here)
    ROOT/CUB_200_2011/images/002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg
    ROOT/cvpr2016_cub/trainvalclasses.txt  testclasses.txt  allclasses.txt ...
    ROOT/cvpr2016_cub/text_c10/002.Laysan_Albatross/Laysan_Albatross_0002_1027.txt

(``CUB_200_2011.tgz`` from CaltechDATA; ``cvpr2016_cub.tar.gz`` from Google Drive, see
:mod:`t2ilib.data.download`). Prepare it with ``python -m t2ilib prepare cub --root ROOT
--download``, or unpack the two archives there yourself and run the same command without
``--download`` to check it.

Deviation: StackGAN and later work crop each bird to 1.5x its bounding box; Reed et al.
use the whole image, and so does this class.

Usage::

    from t2ilib.data.cub import CUB
    train = CUB("data/cub", split="trainval")
    image, captions, label = train[0]   # (3, H, W) uint8, 10 strings, class 0..199
"""

from __future__ import annotations

import os
from pathlib import Path

from . import reed
from .download import (
    CUB_RESOURCES,
    Problem,
    caption_file_problems,
    looks_like_jpeg,
    prepare_root,
    source_of,
)
from .real import CaptionedImageFolder, Sample

IMAGES_DIR = "CUB_200_2011"  # what CUB_200_2011.tgz unpacks to
CAPTIONS_DIR = "cvpr2016_cub"  # what Reed's cvpr2016_cub.tar.gz unpacks to
META_FILES = (
    "images.txt",
    "image_class_labels.txt",
    "classes.txt",
    "train_test_split.txt",
    "bounding_boxes.txt",
)
SPLITS = ("trainval", "test", "all", "train", "val")  # Reed's class lists
N_IMAGES = 11_788  # in the full dataset
N_CLASSES = 200
FIX = "run `python -m t2ilib prepare cub --root {root} --download` to fetch it again"

_IMAGES_SOURCE = source_of(CUB_RESOURCES[0])
_CAPTIONS_SOURCE = source_of(CUB_RESOURCES[1])


def _read_pairs(path: Path) -> list[tuple[int, str]]:
    """Lines ``"<int> <text>"`` of a CUB metadata file."""
    pairs = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        first, _, rest = line.strip().partition(" ")
        if not first.isdigit() or not rest:
            raise ValueError(f"{path}, line {n}: expected '<id> <value>', got {line!r}")
        pairs.append((int(first), rest.strip()))
    return pairs


def read_images(root: str | os.PathLike) -> list[tuple[int, str, int]]:
    """``(image id, relative path, class id 1..200)`` for every image, in ``images.txt`` order."""
    base = Path(root) / IMAGES_DIR
    paths = _read_pairs(base / "images.txt")
    labels = dict((i, int(c)) for i, c in _read_pairs(base / "image_class_labels.txt"))
    missing = [i for i, _ in paths if i not in labels]
    if missing:
        raise ValueError(
            f"{base / 'image_class_labels.txt'} has no class for image id {missing[0]} "
            f"({len(missing)} in all); re-extract CUB_200_2011.tgz"
        )
    return [(i, p, labels[i]) for i, p in paths]


class CUB(CaptionedImageFolder):
    """CUB-200-2011 with Reed's captions, one of Reed's class splits.

    Args:
        root: the folder holding ``CUB_200_2011/`` and ``cvpr2016_cub/`` (see the module
            docstring).
        split: ``"trainval"`` (150 classes), ``"test"`` (50 classes), ``"all"``, or Reed's
            finer ``"train"`` / ``"val"``.
        download: fetch and unpack the archives first when the root does not verify.
        transform: applied to each (3, H, W) uint8 image tensor.

    ``dataset[i]`` is ``(image (3, H, W) uint8, 10 captions, label)`` with ``label`` the
    CUB class id minus one (0..199), so labels agree across splits.
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
        self._download_if_asked(download, prepare, "CUB", "cub")
        if not (self.root / IMAGES_DIR / "images.txt").is_file():
            raise FileNotFoundError(
                f"CUB-200-2011 not found: {self.root / IMAGES_DIR / 'images.txt'} is missing; "
                f"run `python -m t2ilib prepare cub --root {self.root} --download` "
                "or pass download=True"
            )
        captions_root = self.root / CAPTIONS_DIR
        classes = reed.read_classes(captions_root, split)
        wanted = set(classes)
        self.classes = classes
        self.samples = []
        for _, rel, class_id in read_images(self.root):
            folder, _, filename = rel.partition("/")
            if folder not in wanted:
                continue
            stem = Path(filename).stem
            txt = captions_root / "text_c10" / folder / f"{stem}.txt"
            if not txt.is_file():
                raise FileNotFoundError(
                    f"missing caption file {txt} (from {_CAPTIONS_SOURCE}); {self.fix}"
                )
            self.samples.append(
                Sample(
                    path=self.root / IMAGES_DIR / "images" / rel,
                    captions=reed.read_caption_file(txt),
                    label=class_id - 1,
                    key=f"{folder}/{stem}",
                )
            )
        if not self.samples:
            raise ValueError(
                f"no CUB images belong to the {split!r} classes listed in "
                f"{captions_root / reed.SPLIT_FILES[split]}; check that the two archives "
                "come from the same release"
            )

    def __repr__(self) -> str:
        return f"CUB(split={self.split!r}, images={len(self)}, classes={len(self.classes)})"


# ---------------------------------------------------------------------------------------
# Verifying and preparing a root
# ---------------------------------------------------------------------------------------


def verify(root: str | os.PathLike) -> list[Problem]:
    """Every missing or corrupt file of a CUB root, by path and source; [] when complete."""
    root = Path(root)
    problems: list[Problem] = []
    base = root / IMAGES_DIR
    images: list[tuple[int, str, int]] = []
    if not base.is_dir():
        problems.append(Problem(base, "missing folder", _IMAGES_SOURCE))
    else:
        for name in META_FILES:
            if not (base / name).is_file():
                problems.append(Problem(base / name, "missing", _IMAGES_SOURCE))
        try:
            images = read_images(root)
        except FileNotFoundError:
            images = []
        except ValueError as e:
            problems.append(Problem(base / "images.txt", f"corrupt ({e})", _IMAGES_SOURCE))
        missing_folders: set[str] = set()
        for _, rel, _ in images:
            folder = rel.partition("/")[0]
            if folder in missing_folders:
                continue
            path = base / "images" / rel
            if not path.parent.is_dir():
                missing_folders.add(folder)
                problems.append(Problem(path.parent, "missing folder", _IMAGES_SOURCE))
                continue
            if not path.is_file():
                problems.append(Problem(path, "missing", _IMAGES_SOURCE))
            elif (bad := looks_like_jpeg(path)) is not None:
                problems.append(Problem(path, bad, _IMAGES_SOURCE))
    problems += _verify_captions(root, images)
    return problems


def _verify_captions(root: Path, images: list[tuple[int, str, int]]) -> list[Problem]:
    problems: list[Problem] = []
    base = root / CAPTIONS_DIR
    if not base.is_dir():
        return [Problem(base, "missing folder", _CAPTIONS_SOURCE)]
    split_classes: set[str] = set()
    known = {rel.partition("/")[0] for _, rel, _ in images}
    for split in ("trainval", "test"):
        path = base / reed.SPLIT_FILES[split]
        if not path.is_file():
            problems.append(Problem(path, "missing", _CAPTIONS_SOURCE))
            continue
        classes = reed.read_classes(base, split)
        split_classes.update(classes)
        for cls in [c for c in classes if c not in known] if known else []:
            problems.append(
                Problem(
                    path,
                    f"corrupt (lists class {cls!r}, which {IMAGES_DIR} lacks)",
                    _CAPTIONS_SOURCE,
                )
            )
    text = base / "text_c10"
    if not text.is_dir():
        return problems + [Problem(text, "missing folder", _CAPTIONS_SOURCE)]
    entries = []
    for _, rel, _ in images:
        folder, _, filename = rel.partition("/")
        if not split_classes or folder in split_classes:
            entries.append((folder, Path(filename).stem))
    return problems + caption_file_problems(text, entries, _CAPTIONS_SOURCE)


def prepare(
    root: str | os.PathLike, download: bool = False, *, progress: bool = True
) -> list[Problem]:
    """Download (if asked) and verify a CUB root; returns the problems left (none: ready)."""
    return prepare_root(root, CUB_RESOURCES, verify, download=download, progress=progress)
