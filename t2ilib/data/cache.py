"""The compact cache: every image decoded once, stored as uint8 at 76x76, memory-mapped.

Reed et al. train for 600 epochs. Decoding 8,855 JPEGs of 500x375 pixels 600 times would
cost more time than the GAN itself on a small machine, so every trainer in t2ilib reads a
cache instead: the images decoded once, squashed to 76x76 (the authors' load size; the
trainer crops 64x64 at random from it, as the authors' ``reedscot/icml2016`` loader
does) and stored as raw bytes that the operating system pages in on demand.

A cache is a folder::

    PATH/images.u8         N x 3 x S x S uint8, C order (S = 76): one sample = 17,328 bytes
    PATH/index.json        captions (N lists), labels (N ints), keys (N names), source
    PATH/embeddings.f16    optional: N x C x D float16 (C = 10 captions, D = 1024)
    PATH/meta.json         format, N, S, dtypes, shapes; written last: its presence means
                           the cache is complete

Every file is written through ``.part`` + rename (:mod:`t2ilib.io`); ``meta.json`` last, so
an interrupted build leaves no ``meta.json`` and :func:`load_cache` refuses the folder.

Example::

    from t2ilib.data.cache import build_cache, load_cache
    from t2ilib.data.shapes import Shapes
    build_cache(Shapes(n=256), "cache/shapes")
    cache = load_cache("cache/shapes")
    image, captions, label = cache[0]        # (3, 76, 76) uint8, 10 strings, int
    cache.images                             # (N, 3, 76, 76) uint8, memory-mapped
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..io import atomic_write, write_text_atomic

FORMAT = "t2ilib-cache-1"
IMAGE_SIZE = 76  # Reed's load size: images are stored at 76x76, cropped to 64x64 in training
IMAGES_FILE = "images.u8"
INDEX_FILE = "index.json"
EMBEDDINGS_FILE = "embeddings.f16"
META_FILE = "meta.json"


class CacheError(ValueError):
    """A cache folder is missing, incomplete or inconsistent; the message says what to run."""


# ---------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------


def _to_uint8_chw(image) -> torch.Tensor:
    """A PIL image, (3, H, W) / (H, W, 3) uint8 array or tensor -> (3, H, W) uint8 tensor."""
    if isinstance(image, torch.Tensor):
        t = image
    elif isinstance(image, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(image))
    else:  # PIL
        t = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy())
    if t.ndim == 3 and t.shape[0] != 3 and t.shape[-1] == 3:
        t = t.permute(2, 0, 1)
    if t.ndim != 3 or t.shape[0] != 3:
        raise ValueError(f"expected an RGB image (3, H, W), got shape {tuple(t.shape)}")
    if t.dtype != torch.uint8:
        raise ValueError(f"expected uint8 pixels, got {t.dtype}; convert with (x * 255).byte()")
    return t


def resize_uint8(image: torch.Tensor, size: int) -> torch.Tensor:
    """Squash a (3, H, W) uint8 image to (3, size, size): bilinear, antialiased."""
    if image.shape[-2:] == (size, size):
        return image.contiguous()
    x = image[None].float()
    y = torch.nn.functional.interpolate(
        x, size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )
    return y.round_().clamp_(0, 255).to(torch.uint8)[0]


class _Resized(Dataset):
    """Items of ``dataset`` with the image as a (3, S, S) uint8 tensor (worker-side)."""

    def __init__(self, dataset, size: int):
        self.dataset, self.size = dataset, size

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        if hasattr(self.dataset, "get_resized"):  # real datasets: fast JPEG draft decoding
            image, captions, label = self.dataset.get_resized(i, self.size)
        else:
            image, captions, label = self.dataset[i]
        image = resize_uint8(_to_uint8_chw(image), self.size)
        if isinstance(captions, str):
            captions = [captions]
        return image, [str(c) for c in captions], int(label)


def _collate(batch):
    images = torch.stack([b[0] for b in batch])
    return images, [b[1] for b in batch], [b[2] for b in batch]


def _dataset_keys(dataset, n: int) -> list[str]:
    keys = getattr(dataset, "keys", None)
    if callable(keys) or keys is None or len(keys) != n:
        return [str(i) for i in range(n)]
    return [str(k) for k in keys]


def build_cache(
    dataset,
    path: str | os.PathLike,
    image_size: int = IMAGE_SIZE,
    *,
    embeddings: torch.Tensor | None = None,
    num_workers: int | None = None,
    batch_size: int = 64,
    overwrite: bool = False,
    progress: bool = False,
    source: str | None = None,
) -> Path:
    """Decode every item of ``dataset`` once into a cache folder at ``path``; returns it.

    ``dataset`` yields ``(image, captions, label)``: image a (3, H, W) uint8 tensor (or a
    PIL image / (H, W, 3) array), captions a list of strings, label an int. Images are
    squashed to ``image_size`` x ``image_size``. Datasets with ``get_resized(i, size)``
    (CUB, Flowers, COCO) decode JPEGs directly at a reduced size. ``num_workers`` processes
    decode in parallel (default: all CPU cores but capped at 8; 0 decodes in this process).
    ``embeddings`` (N, C, D) are stored as float16 alongside. An existing complete cache is
    kept unless ``overwrite``.
    """
    path = Path(path)
    n = len(dataset)
    if n == 0:
        raise ValueError("the dataset is empty; nothing to cache")
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8, got {image_size}")
    if (path / META_FILE).exists():
        if not overwrite:
            return path
        shutil.rmtree(path)
    if path.exists() and any(p for p in path.iterdir() if not p.name.endswith(".part")):
        raise ValueError(
            f"{path} exists and is not a complete cache; delete it or pass overwrite=True"
        )
    path.mkdir(parents=True, exist_ok=True)
    if num_workers is None:
        num_workers = min(8, os.cpu_count() or 1)
    loader = DataLoader(
        _Resized(dataset, image_size),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=_collate,
        persistent_workers=False,
    )
    captions: list[list[str]] = []
    labels: list[int] = []
    start = time.perf_counter()
    from tqdm.auto import tqdm

    with (
        atomic_write(path / IMAGES_FILE) as f,
        tqdm(total=n, unit="img", desc=f"caching {path.name}", disable=not progress) as bar,
    ):
        for images, caps, labs in loader:
            f.write(images.numpy().tobytes())  # (B, 3, S, S) uint8, C order
            captions.extend(caps)
            labels.extend(labs)
            bar.update(len(labs))
    seconds = time.perf_counter() - start
    index = {
        "captions": captions,
        "labels": labels,
        "keys": _dataset_keys(dataset, n),
        "source": source or repr(dataset),
    }
    write_text_atomic(path / INDEX_FILE, json.dumps(index))
    meta = {
        "format": FORMAT,
        "n": n,
        "image_size": image_size,
        "images": {"file": IMAGES_FILE, "dtype": "uint8", "shape": [n, 3, image_size, image_size]},
        "embeddings": None,
        "build_seconds": round(seconds, 3),
    }
    if embeddings is not None:
        meta["embeddings"] = _write_embeddings(path, embeddings, n)
    write_text_atomic(path / META_FILE, json.dumps(meta, indent=1))
    return path


def _write_embeddings(path: Path, embeddings, n: int) -> dict:
    emb = torch.as_tensor(embeddings)
    if emb.ndim == 2:
        emb = emb[:, None]
    if emb.ndim != 3 or emb.shape[0] != n:
        raise ValueError(
            f"embeddings must be (N, C, D) with N = {n} samples, got {tuple(emb.shape)}"
        )
    array = emb.detach().cpu().to(torch.float16).contiguous().numpy()
    with atomic_write(path / EMBEDDINGS_FILE) as f:
        f.write(array.tobytes())
    return {"file": EMBEDDINGS_FILE, "dtype": "float16", "shape": list(array.shape)}


def add_embeddings(path: str | os.PathLike, embeddings: torch.Tensor) -> Path:
    """Attach (or replace) caption embeddings (N, C, D) to a complete cache, as float16."""
    path = Path(path)
    meta = _read_meta(path)
    meta["embeddings"] = _write_embeddings(path, embeddings, meta["n"])
    write_text_atomic(path / META_FILE, json.dumps(meta, indent=1))
    return path


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def _read_meta(path: Path) -> dict:
    meta_path = path / META_FILE
    if not meta_path.is_file():
        if path.is_dir() and (path / (IMAGES_FILE + ".part")).exists():
            raise CacheError(
                f"{path} is an interrupted cache build (no {META_FILE}); delete it and "
                "build the cache again"
            )
        raise CacheError(
            f"no cache at {path} ({META_FILE} is missing); build it with "
            "t2ilib.data.cache.build_cache(dataset, path)"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as e:
        raise CacheError(
            f"{meta_path} is corrupt ({e}); delete {path} and build it again"
        ) from None
    if meta.get("format") != FORMAT:
        raise CacheError(
            f"{path} holds cache format {meta.get('format')!r}, this t2ilib reads {FORMAT!r}; "
            "build the cache again"
        )
    return meta


def _memmap(path: Path, spec: dict, what: str) -> torch.Tensor:
    file = path / spec["file"]
    shape = tuple(spec["shape"])
    dtype = np.dtype(spec["dtype"])
    expected = int(np.prod(shape)) * dtype.itemsize
    if not file.is_file() or file.stat().st_size != expected:
        got = file.stat().st_size if file.is_file() else "missing"
        raise CacheError(
            f"{file} ({what}) should hold {expected} bytes, found {got}; delete {path} and "
            "build the cache again"
        )
    # Copy-on-write: pages are read from disk on demand and never written back.
    array = np.memmap(file, dtype=dtype, mode="c", shape=shape)
    return torch.from_numpy(array)


@dataclass
class CaptionedImageCache(Dataset):
    """A loaded cache: ``cache[i]`` is ``(image (3, S, S) uint8, captions, label)``."""

    images: torch.Tensor  # (N, 3, S, S) uint8, memory-mapped
    captions: list[list[str]]  # N lists of strings
    labels: torch.Tensor  # (N,) int64
    embeddings: torch.Tensor | None  # None or (N, C, D) float16, memory-mapped
    image_size: int  # S
    keys: list[str]  # N stable sample names
    path: Path
    source: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.images[i], self.captions[i], int(self.labels[i])

    @property
    def bytes_per_sample(self) -> int:
        """Bytes a trainer reads per sample: the image, plus its embeddings if present."""
        n = self.images[0].numel() * self.images.element_size()
        if self.embeddings is not None:
            n += self.embeddings[0].numel() * self.embeddings.element_size()
        return n

    def __repr__(self) -> str:
        emb = "none" if self.embeddings is None else "x".join(map(str, self.embeddings.shape))
        return (
            f"CaptionedImageCache({self.path}, images={len(self)}, size={self.image_size}, "
            f"embeddings={emb})"
        )


def load_cache(path: str | os.PathLike) -> CaptionedImageCache:
    """Open a cache folder written by :func:`build_cache` (memory-mapped, nothing copied)."""
    path = Path(path)
    meta = _read_meta(path)
    images = _memmap(path, meta["images"], "images")
    try:
        index = json.loads((path / INDEX_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CacheError(
            f"{path / INDEX_FILE} is unreadable ({e}); build the cache again"
        ) from None
    n = meta["n"]
    if not (len(index["captions"]) == len(index["labels"]) == len(index["keys"]) == n):
        raise CacheError(
            f"{path / INDEX_FILE} does not describe {n} samples; build the cache again"
        )
    embeddings = None
    if meta.get("embeddings"):
        embeddings = _memmap(path, meta["embeddings"], "embeddings")
    return CaptionedImageCache(
        images=images,
        captions=index["captions"],
        labels=torch.tensor(index["labels"], dtype=torch.long),
        embeddings=embeddings,
        image_size=int(meta["image_size"]),
        keys=list(index["keys"]),
        path=path,
        source=index.get("source", ""),
    )


def cache_size_bytes(path: str | os.PathLike) -> int:
    """Total bytes of a cache folder's files."""
    return sum(p.stat().st_size for p in Path(path).iterdir() if p.is_file())
