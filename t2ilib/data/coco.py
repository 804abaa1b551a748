"""MS-COCO 2014 with its own captions: about five per image, train2014 and val2014.

MS-COCO (Lin et al. 2014) holds everyday scenes with many objects; its captions were
collected separately (Chen et al. 2015) on Amazon Mechanical Turk, five or more sentences
per image ("describe all the important parts of the scene"). Reed et al. (2016) train on
train2014 (82,783 images) and show samples for captions of val2014 (40,504 images). There
are no classes: Reed's COCO script draws the mismatching ("wrong") image from any other
image, so each image here is its own class, ``label`` = its COCO image id.

The root is the three zips as they unpack::

    ROOT/annotations/captions_train2014.json   {"images": [{"id", "file_name", ...}],
    ROOT/annotations/captions_val2014.json      "annotations": [{"image_id", "caption"}]}
    ROOT/train2014/COCO_train2014_000000000009.jpg ...
    ROOT/val2014/COCO_val2014_000000000042.jpg ...

(``annotations_trainval2014.zip``, ``train2014.zip``, ``val2014.zip`` from
images.cocodataset.org). Prepare with ``python -m t2ilib prepare coco --root ROOT
--download`` (20 GB of zips; see chapter 9 for time and disk estimates).

Usage::

    from t2ilib.data.coco import COCO
    val = COCO("data/coco", split="val")
    image, captions, image_id = val[0]
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .download import COCO_RESOURCES, Problem, looks_like_jpeg, prepare_root, source_of
from .real import CaptionedImageFolder, CorruptFileError, Sample

SPLITS = {"train": "train2014", "val": "val2014", "train2014": "train2014", "val2014": "val2014"}
N_IMAGES = {"train2014": 82_783, "val2014": 40_504}
FIX = "run `python -m t2ilib prepare coco --root {root} --download` to fetch it again"

_SOURCES = {r.filename: source_of(r) for r in COCO_RESOURCES}
_ANNOTATIONS_SOURCE = _SOURCES["annotations_trainval2014.zip"]


def annotation_file(root: str | os.PathLike, split: str) -> Path:
    """``ROOT/annotations/captions_<split>.json``."""
    return Path(root) / "annotations" / f"captions_{SPLITS[split]}.json"


def read_annotations(root: str | os.PathLike, split: str) -> list[tuple[int, str, list[str]]]:
    """``(image id, file name, captions)`` per image that has captions, sorted by id.

    Captions keep the order of the annotation file, stripped of surrounding whitespace and
    newlines (a few COCO captions end with one).
    """
    path = annotation_file(root, split)
    if not path.is_file():
        raise FileNotFoundError(
            f"missing {path} (from {_ANNOTATIONS_SOURCE}); {FIX.format(root=Path(root))}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = {int(im["id"]): str(im["file_name"]) for im in data["images"]}
        captions: dict[int, list[str]] = {}
        for ann in data["annotations"]:
            text = " ".join(str(ann["caption"]).split())
            if text:
                captions.setdefault(int(ann["image_id"]), []).append(text)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as e:
        raise CorruptFileError(
            path, f"{type(e).__name__}: {e}", FIX.format(root=Path(root))
        ) from None
    unknown = sorted(set(captions) - set(files))
    if unknown:
        raise CorruptFileError(
            path,
            f"captions refer to image id {unknown[0]}, missing from its 'images' list",
            FIX.format(root=Path(root)),
        )
    return [(i, files[i], captions[i]) for i in sorted(captions)]


class COCO(CaptionedImageFolder):
    """MS-COCO 2014 captions and images.

    Args:
        root: the folder holding ``annotations/``, ``train2014/`` and ``val2014/``.
        split: ``"train"`` / ``"train2014"`` or ``"val"`` / ``"val2014"``.
        download: fetch and unpack the zips first when the root does not verify.
        transform: applied to each (3, H, W) uint8 image tensor.

    ``dataset[i]`` is ``(image, captions (usually 5, up to 7), label)`` with ``label`` the
    COCO image id (each image is its own class). Images are in increasing id order.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        download: bool = False,
        transform=None,
    ):
        super().__init__(transform)
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid splits are {tuple(SPLITS)}")
        self.root = Path(root)
        self.split = SPLITS[split]
        self.fix = FIX.format(root=self.root)
        self._download_if_asked(download, prepare, "COCO", "coco")
        folder = self.root / self.split
        self.samples = [
            Sample(path=folder / name, captions=tuple(caps), label=image_id, key=Path(name).stem)
            for image_id, name, caps in read_annotations(self.root, self.split)
        ]
        if not self.samples:
            raise ValueError(f"{annotation_file(self.root, self.split)} holds no captions")

    def __repr__(self) -> str:
        return f"COCO(split={self.split!r}, images={len(self)})"


def verify(root: str | os.PathLike) -> list[Problem]:
    """Every missing or corrupt file of a COCO 2014 root, by path and source."""
    root = Path(root)
    problems: list[Problem] = []
    for split in ("train2014", "val2014"):
        source = _SOURCES[f"{split}.zip"]
        ann = annotation_file(root, split)
        try:
            entries = read_annotations(root, split)
        except FileNotFoundError:
            problems.append(Problem(ann, "missing", _ANNOTATIONS_SOURCE))
            entries = []
        except CorruptFileError as e:
            problems.append(Problem(ann, f"corrupt ({e.detail})", _ANNOTATIONS_SOURCE))
            entries = []
        folder = root / split
        if not folder.is_dir():
            problems.append(Problem(folder, "missing folder", source))
            continue
        for _, name, _ in entries:
            path = folder / name
            if not path.is_file():
                problems.append(Problem(path, "missing", source))
            elif (bad := looks_like_jpeg(path)) is not None:
                problems.append(Problem(path, bad, source))
    return problems


def prepare(
    root: str | os.PathLike, download: bool = False, *, progress: bool = True
) -> list[Problem]:
    """Download (if asked) and verify a COCO 2014 root; returns the problems left."""
    return prepare_root(root, COCO_RESOURCES, verify, download=download, progress=progress)
