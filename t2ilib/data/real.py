"""What the CUB, Oxford-102 and COCO datasets share: decoding images, the item format.

Each dataset lists its samples (image path, captions, label) when it is built and decodes
an image only when it is asked for one. ``dataset[i]`` is ``(image, captions, label)``
like :class:`t2ilib.data.shapes.Shapes`: a (3, H, W) uint8 tensor at the file's own size,
a list of caption strings, and an int class label.

:meth:`CaptionedImageFolder.get_resized` returns the same triple with the image already at
``size x size``. The compact cache (:mod:`t2ilib.data.cache`) uses it: for a JPEG, PIL's
``draft`` mode lets the decoder skip detail a 76x76 image cannot show, which makes decoding
several times faster than decoding at full size and shrinking afterwards.

Resizing squashes the whole image to a square without keeping its aspect ratio, as the
authors' Torch loader does (``image.scale(img, 76, 76)`` in ``reedscot/icml2016``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset


class CorruptImageError(ValueError):
    """An image file exists but cannot be decoded."""


class CorruptFileError(ValueError):
    """An annotation file exists but cannot be parsed; ``detail`` says why, briefly."""

    def __init__(self, path, detail: str, fix: str = ""):
        self.path, self.detail = Path(path), detail
        super().__init__(f"{path} is corrupt ({detail}); {fix}".rstrip("; "))


def decode_image(
    path: str | os.PathLike, size: int | None = None, *, fix: str = ""
) -> torch.Tensor:
    """Decode ``path`` to a (3, H, W) uint8 RGB tensor; ``size``: squash to (3, size, size).

    Grayscale and CMYK files (a few exist in CUB and COCO) are converted to RGB. A file
    that cannot be decoded raises :class:`CorruptImageError` naming it and ``fix``, the
    command that restores it.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            if size is not None and img.format == "JPEG":
                # Let the JPEG decoder downscale by 1/2, 1/4 or 1/8 while staying >= 2x size.
                img.draft("RGB", (2 * size, 2 * size))
            img = img.convert("RGB")
            if size is not None:
                img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
            array = np.asarray(img, dtype=np.uint8)
    except FileNotFoundError:
        raise FileNotFoundError(f"missing image {path}; {fix}".rstrip("; ")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise CorruptImageError(
            f"image {path} is corrupt ({type(e).__name__}: {e}); {fix}".rstrip("; ")
        ) from None
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


@dataclass(frozen=True)
class Sample:
    """One image of a real dataset, as listed from its annotation files."""

    path: Path  # the image file
    captions: tuple[str, ...]  # 10 for CUB and Oxford-102 (Reed's), about 5 for COCO
    label: int  # class index (COCO: the image id; see t2ilib.data.coco)
    key: str  # a stable name, e.g. "002.Laysan_Albatross/Laysan_Albatross_0002_1027"


class CaptionedImageFolder(Dataset):
    """Base class of CUB, Flowers and COCO: a list of :class:`Sample`, decoded on demand.

    Subclasses fill ``self.samples`` and set ``self.fix`` (the command that repairs the
    root, quoted by errors). ``transform``, if given, is applied to the uint8 image tensor.
    """

    samples: list[Sample]
    fix: str = ""

    def __init__(self, transform=None):
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def _download_if_asked(self, download: bool, prepare, name: str, command: str) -> None:
        """With ``download``, fetch and verify ``self.root`` through the dataset's
        ``prepare``; a root still incomplete afterwards raises FileNotFoundError."""
        if not download:
            return
        problems = prepare(self.root, download=True)
        if problems:
            raise FileNotFoundError(
                f"{name} root {self.root} is incomplete after download: {problems[0]} "
                f"({len(problems)} problems; `python -m t2ilib prepare {command} --root "
                f"{self.root}` lists them)"
            )

    def _item(self, i: int, size: int | None):
        s = self.samples[i]
        image = decode_image(s.path, size, fix=self.fix)
        if self.transform is not None:
            image = self.transform(image)
        return image, list(s.captions), s.label

    def __getitem__(self, i: int):
        return self._item(i, None)

    def get_resized(self, i: int, size: int):
        """``self[i]`` with the image squashed to (3, size, size) (fast JPEG draft decoding)."""
        return self._item(i, size)

    @property
    def keys(self) -> list[str]:
        """The samples' stable names, in order (stored in the cache, matched by importers)."""
        return [s.key for s in self.samples]

    @property
    def labels(self) -> torch.Tensor:
        return torch.tensor([s.label for s in self.samples], dtype=torch.long)

    @property
    def captions(self) -> list[list[str]]:
        return [list(s.captions) for s in self.samples]
