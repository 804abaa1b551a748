"""Reading Reed et al.'s caption layout (``cvpr2016_cub``, ``cvpr2016_flowers``).

Reed, Akata, Lee and Schiele (CVPR 2016) collected ten captions per image for CUB and
Oxford-102 and released them in one layout, which Shapes' export also writes::

    ROOT/text_c10/<class>/<image>.txt     ten lines, one caption each
    ROOT/allclasses.txt                   one class folder name a line
    ROOT/trainvalclasses.txt              the classes a model may train on
    ROOT/testclasses.txt                  the held-out (zero-shot) classes

e.g. ``text_c10/002.Laysan_Albatross/Laysan_Albatross_0002_1027.txt`` for CUB and
``text_c10/class_00001/image_06734.txt`` for Oxford-102. Images are elsewhere (CUB's
``CUB_200_2011/images/<class>/<image>.jpg``, Shapes' ``images/<class>/<image>.png``): the
caption file's stem is the image's stem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SPLIT_FILES = {
    "all": "allclasses.txt",
    "trainval": "trainvalclasses.txt",
    "test": "testclasses.txt",
    "train": "trainclasses.txt",
    "val": "valclasses.txt",
}


@dataclass(frozen=True)
class CaptionedImage:
    """One image's entry: its class folder, its file stem and its captions."""

    class_name: str  # e.g. "002.Laysan_Albatross"
    stem: str  # e.g. "Laysan_Albatross_0002_1027"
    captions: tuple[str, ...]  # usually 10


def read_classes(root: str | os.PathLike, split: str) -> list[str]:
    """The class folder names of ``split`` from ``ROOT/<split>classes.txt``, in file order."""
    if split not in SPLIT_FILES:
        raise ValueError(f"unknown split {split!r}; valid splits are {tuple(SPLIT_FILES)}")
    path = Path(root) / SPLIT_FILES[split]
    if not path.is_file():
        raise FileNotFoundError(
            f"missing class list {path}; it is part of Reed's caption archive "
            "(see `python -m t2ilib prepare --help`)"
        )
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def read_caption_file(path: str | os.PathLike) -> tuple[str, ...]:
    """The non-empty lines of one ``text_c10`` file, stripped."""
    path = Path(path)
    lines = tuple(
        line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    )
    if not lines:
        raise ValueError(f"caption file {path} is empty; re-extract Reed's caption archive")
    return lines


def read_captions(root: str | os.PathLike, split: str = "all") -> list[CaptionedImage]:
    """Every image of ``split`` with its captions, classes in split-file order, images sorted."""
    root = Path(root)
    entries = []
    for cls in read_classes(root, split):
        folder = root / "text_c10" / cls
        if not folder.is_dir():
            raise FileNotFoundError(
                f"missing caption folder {folder} for class {cls!r} listed in {SPLIT_FILES[split]}"
            )
        for path in sorted(folder.glob("*.txt")):
            entries.append(CaptionedImage(cls, path.stem, read_caption_file(path)))
    return entries
