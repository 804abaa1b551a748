"""What the GAN loop trains on: :class:`GANData`, the augmentation done on the training
device, caption averaging, mismatching images for GAN-CLS, and Shapes as GANData.

Data come in as tensors, so the loop (:mod:`t2ilib.train.gan`) does not care where they
came from: uint8 images (N, 3, H, W), possibly memory-mapped, and text embeddings
(N, 10, 1024) from any text encoder (``t2ilib.load_text_encoder``, StackGAN's pickles, a
cache). The random draws take a ``torch.Generator`` so the loop's one generator makes a
run reproducible.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from . import shapes


@dataclass
class GANData:
    """What the loop trains on, as tensors (any source: Shapes, a cache, pickles).

    images: (N, 3, H, W) uint8, H >= the model's image size (larger: random crops).
    embeddings: (N, C, D) float text embeddings, C captions per image, or None for the
        unconditional DCGAN.
    labels: (N,) class indices; GAN-CLS draws mismatching images from other classes.
    captions: N lists of C strings, optional; only used to title progress grids.
    """

    images: torch.Tensor
    embeddings: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    captions: list[list[str]] | None = None

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(
                f"GANData.images must be (N, 3, H, W) uint8, got {tuple(self.images.shape)} "
                f"{self.images.dtype}"
            )
        n = len(self.images)
        if self.embeddings is not None and (self.embeddings.ndim != 3 or len(self.embeddings) != n):
            raise ValueError(
                f"GANData.embeddings must be (N={n}, captions, dim), got "
                f"{tuple(self.embeddings.shape)}"
            )
        if self.labels is not None and len(self.labels) != n:
            raise ValueError(f"GANData.labels must have N={n} entries, got {len(self.labels)}")

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def from_dataset(cls, dataset) -> GANData:
        """From any object with ``images``, ``labels``, ``captions`` and optionally
        ``embeddings`` attributes: a :func:`t2ilib.data.cache.load_cache` cache (memory-
        mapped uint8 images, float16 embeddings: nothing is copied) or ``Shapes``."""
        return cls(
            images=dataset.images,
            embeddings=getattr(dataset, "embeddings", None),
            labels=getattr(dataset, "labels", None),
            captions=getattr(dataset, "captions", None),
        )


# ---------------------------------------------------------------------------------------
# Augmentation on the training device
# ---------------------------------------------------------------------------------------


def draw_augment(
    n: int, height: int, width: int, size: int, generator: torch.Generator, flip: bool = True
) -> dict[str, torch.Tensor | None]:
    """The random numbers of :func:`augment` for n images, drawn on the CPU from
    ``generator``: crop offsets ``oy``, ``ox`` (n,) (None when nothing is cropped) and the
    ``flip`` mask (n,) bool (None without flips). Drawing them apart from the pixels lets
    the trainer draw a whole batch's numbers and apply them to its own shard, on its own
    device (:mod:`t2ilib.train.distributed`)."""
    if height < size or width < size:
        raise ValueError(f"images of {height}x{width} are smaller than the model's {size}x{size}")
    draws: dict[str, torch.Tensor | None] = {"oy": None, "ox": None, "flip": None}
    if height > size or width > size:
        draws["oy"] = torch.randint(0, height - size + 1, (n,), generator=generator)
        draws["ox"] = torch.randint(0, width - size + 1, (n,), generator=generator)
    if flip:
        draws["flip"] = torch.rand(n, generator=generator) < 0.5
    return draws


def apply_augment(
    images: torch.Tensor, size: int, draws: dict[str, torch.Tensor | None]
) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float (B, 3, size, size) in [-1, 1] with the crops and flips
    of :func:`draw_augment`, computed on ``images.device`` (the draws may be on the CPU)."""
    dev = images.device
    if draws["oy"] is not None:
        oy, ox = draws["oy"].to(dev, non_blocking=True), draws["ox"].to(dev, non_blocking=True)
        r = torch.arange(size, device=dev)
        rows = (oy[:, None] + r)[:, :, None]  # (B, size, 1)
        cols = (ox[:, None] + r)[:, None, :]  # (B, 1, size)
        b = torch.arange(images.shape[0], device=dev)[:, None, None]
        images = images.permute(0, 2, 3, 1)[b, rows, cols].permute(0, 3, 1, 2)  # (B, 3, s, s)
    x = images.float() / 127.5 - 1.0
    if draws["flip"] is not None:
        mask = draws["flip"].to(dev, non_blocking=True)
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x.contiguous()  # (B, 3, size, size)


def augment(
    images: torch.Tensor, size: int, generator: torch.Generator, flip: bool = True
) -> torch.Tensor:
    """uint8 (B, 3, H, W) on any device -> float (B, 3, size, size) in [-1, 1].

    A random size x size crop per image when H > size (the paper: 76 -> 64), a horizontal
    flip with p = 0.5, then x / 127.5 - 1. The random numbers come from ``generator`` (CPU);
    the pixels are moved on ``images.device``. (:func:`draw_augment` then
    :func:`apply_augment`.)
    """
    B, _, H, W = images.shape
    return apply_augment(images, size, draw_augment(B, H, W, size, generator, flip))


def center_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float (B, 3, size, size) in [-1, 1], centre crop, no flip."""
    H, W = images.shape[-2:]
    top, left = (H - size) // 2, (W - size) // 2
    return images[..., top : top + size, left : left + size].float() / 127.5 - 1.0


def draw_caption_picks(n: int, c: int, k: int, generator: torch.Generator) -> torch.Tensor:
    """Which k of each of n images' c captions to average, drawn without replacement:
    (n, min(k, c)) indices, on the CPU."""
    return torch.rand(n, c, generator=generator).argsort(dim=1)[:, : min(k, c)]


def pick_captions(embeddings: torch.Tensor, pick: torch.Tensor) -> torch.Tensor:
    """(B, C, D) embeddings and (B, k) picks -> (B, D): the mean of the picked captions,
    computed in float32 on ``embeddings.device``."""
    pick = pick.to(embeddings.device, non_blocking=True)
    chosen = torch.gather(embeddings, 1, pick[:, :, None].expand(-1, -1, embeddings.shape[2]))
    return chosen.float().mean(dim=1)  # (B, D)


def average_captions(embeddings: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """(B, C, D) -> (B, D): the mean of k of each image's C caption embeddings, drawn
    without replacement (the paper: 4 of 10)."""
    B, C, _ = embeddings.shape
    return pick_captions(embeddings, draw_caption_picks(B, C, k, generator))


def mismatching_indices(
    labels: torch.Tensor, index: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """For each i in ``index``, a random image j whose class differs from i's (GAN-CLS)."""
    if labels.unique().numel() < 2:
        raise ValueError("GAN-CLS needs images of at least two classes")
    n = len(labels)
    j = torch.randint(0, n, (len(index),), generator=generator)
    for _ in range(1000):
        same = labels[j] == labels[index]
        if not same.any():
            return j
        j[same] = torch.randint(0, n, (int(same.sum()),), generator=generator)
    raise RuntimeError("could not draw mismatching images")  # pragma: no cover


class ClassIndex:
    """The images of each class, sorted once: what :func:`same_class_groups` draws from."""

    def __init__(self, labels: torch.Tensor):
        self.labels = labels  # (N,)
        self.order = torch.argsort(labels, stable=True)  # image indices sorted by class
        self.counts = torch.bincount(labels)  # (classes,)
        self.starts = torch.cumsum(self.counts, 0) - self.counts  # first position of each


def same_class_groups(
    classes: ClassIndex, anchors: torch.Tensor, group: int, generator: torch.Generator
) -> torch.Tensor:
    """Each anchor followed by ``group - 1`` images of its class, drawn at random (with
    replacement, so an image may come twice): (len(anchors) * group,) indices, the groups
    of a D with ``d_group_std``."""
    lab = classes.labels[anchors]  # (A,)
    r = torch.rand(len(anchors), group - 1, generator=generator)  # (A, G - 1)
    pos = classes.starts[lab][:, None] + (r * classes.counts[lab][:, None]).long()  # (A, G - 1)
    return torch.cat([anchors[:, None], classes.order[pos]], dim=1).reshape(-1)  # (A * G,)


def shapes_data(
    n: int,
    image_size: int = 64,
    seed: int = 0,
    *,
    split: str = "trainval",
    layout: str = shapes.DEFAULT_LAYOUT,
    encoder=None,
    cache: str | os.PathLike | None = None,
) -> GANData:
    """Shapes as :class:`GANData`: images, labels, captions and, given a text encoder, the
    embeddings (N, 10, 1024) of every caption (stored at ``cache`` and reused while the
    encoder and captions are unchanged). The default split holds out the zero-shot classes.
    """
    ds = shapes.Shapes(n, split=split, image_size=image_size, seed=seed, layout=layout)
    embeddings = None
    if encoder is not None:
        from ..text_encoder import embed_captions, embed_captions_cached

        if cache is not None:
            embeddings = embed_captions_cached(encoder, ds.captions, cache)
        else:
            embeddings = embed_captions(encoder, ds.captions)
    return GANData(images=ds.images, embeddings=embeddings, labels=ds.labels, captions=ds.captions)


def shapes_root_params(root: str | os.PathLike) -> dict:
    """(n, image_size, seed, layout) of a Shapes export written by ``python -m t2ilib prepare
    shapes``, read from its manifest. Shapes is deterministic, so the trainer regenerates
    the same images and captions in memory from them instead of decoding the PNGs."""
    manifest = Path(root) / shapes.MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(
            f"{root} holds no complete Shapes export (no {shapes.MANIFEST}); write one with "
            f"`python -m t2ilib prepare shapes --root {root}`, or omit --root"
        )
    try:
        found = shapes.with_layout(json.loads(manifest.read_text()))
        return {
            **{k: int(found[k]) for k in ("n", "image_size", "seed")},
            "layout": found["layout"],
        }
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{manifest} is unreadable ({e}); run prepare again") from None
