"""Writing files so that a crash never leaves a half-written one behind.

Every file t2ilib writes (dataset exports, caches, checkpoints, downloads) goes through
:func:`atomic_write`: the bytes go to ``<name>.part`` beside the target, are flushed to
disk, and only then renamed over the target. A rename within one directory is atomic on
POSIX and Windows, so a reader sees either the old file or the complete new one.

Every file of weights (checkpoints, encoders, the judge, caches) is a *bundle*:
:func:`save_bundle` writes a dict tagged with its kind and format version,
:func:`load_bundle` reads it back with one set of checks and one-line errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import torch

PART_SUFFIX = ".part"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, fsync: bool = True) -> Iterator[IO]:
    """Open ``path + '.part'`` for writing; on success rename it to ``path``.

    On an exception the partial file is removed and the target is left untouched.
    ``mode`` is ``"wb"`` or ``"w"`` (text, UTF-8). ``fsync=False`` skips forcing the bytes
    to disk before the rename: still safe against a crashed process, not against a power
    cut; exports of thousands of small files use it and mark completion with one
    fsynced manifest written last.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', not {mode!r}")
    path = Path(path)
    part = path.with_name(path.name + PART_SUFFIX)
    encoding = None if "b" in mode else "utf-8"
    try:
        with open(part, mode, encoding=encoding) as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise


def write_text_atomic(path: str | os.PathLike, text: str, *, fsync: bool = True) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w", fsync=fsync) as f:
        f.write(text)


# ---------------------------------------------------------------------------------------
# Bundles: every file of weights t2ilib writes
# ---------------------------------------------------------------------------------------

# The kinds of bundle, by their ``format`` field, with the name errors use for each.
BUNDLE_KINDS: dict[str, str] = {
    "t2ilib.gan_checkpoint": "GAN checkpoint",
    "t2ilib.generator": "shipped generator",
    "t2ilib.text_encoder": "text encoder",
    "t2ilib.encoder_checkpoint": "encoder training checkpoint",
    "t2ilib.image_encoder": "image encoder",
    "t2ilib.shapes_judge": "Shapes judge",
    "t2ilib.embeddings": "embedding cache",
    "t2ilib.image_features": "image-feature cache",
    "t2ilib.style_encoder": "style encoder",
}


def to_cpu(obj):
    """``obj`` with every tensor detached and moved to the CPU, so a bundle written on a
    GPU loads anywhere; dicts, lists and tuples are walked, everything else kept."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def save_bundle(path: str | os.PathLike, format: str, payload: dict, *, version: int = 1) -> None:
    """Write ``{"format": format, "version": version, **payload}`` to ``path`` atomically
    (creating its folder), tensors moved to the CPU.

    A bundle holds only tensors, dicts, lists, strings and numbers, so it loads with
    ``torch.load(path, weights_only=True)``: opening a stranger's file cannot run code.
    """
    if format not in BUNDLE_KINDS:
        raise ValueError(f"unknown bundle format {format!r}; known: {sorted(BUNDLE_KINDS)}")
    blob = {"format": format, "version": version, **to_cpu(payload)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        torch.save(blob, f)


def bundle_format(path: str | os.PathLike) -> str | None:
    """The ``format`` field of the bundle at ``path``, or None when it is not a readable
    t2ilib bundle (then :func:`load_bundle` says precisely what is wrong)."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None
    return blob.get("format") if isinstance(blob, dict) else None


def load_bundle(
    path: str | os.PathLike,
    format: str,
    *,
    version: int = 1,
    hint: str = "",
    required: tuple[str, ...] = (),
) -> dict:
    """The bundle of kind ``format`` at ``path``, checked, as a dict on the CPU.

    Every failure is one error that names the file, what was expected and ``hint`` (how to
    get the right file): FileNotFoundError when there is no file; ValueError when it is
    truncated or not a torch file, is another kind of t2ilib bundle, is some other torch
    file, was written by a newer t2ilib (``version`` higher than the one given), or lacks
    a key of ``required``.
    """
    what = BUNDLE_KINDS[format]
    tail = f"; {hint}" if hint else ""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}{tail}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file: say so in one line
        text = str(e).strip()
        reason = text.splitlines()[0].split(". ")[0] if text else type(e).__name__
        raise ValueError(
            f"{path} is not a readable {what} (truncated, or not written by torch.save: "
            f"{reason[:200]}){tail}"
        ) from None
    found = blob.get("format") if isinstance(blob, dict) else None
    if found != format:
        if found in BUNDLE_KINDS:
            article = "an" if what[0] in "aeiou" else "a"
            raise ValueError(
                f"{path} is a t2ilib {BUNDLE_KINDS[found]}, not {article} {what}{tail}"
            )
        seen = (
            f"keys {sorted(map(str, blob))[:6]}" if isinstance(blob, dict) else type(blob).__name__
        )
        raise ValueError(
            f"{path} is not a t2ilib {what} (expected format {format!r}, found {seen}){tail}"
        )
    if blob.get("version", 0) > version:
        raise ValueError(
            f"{path} was written by a newer t2ilib ({what} format version {blob['version']}, "
            f"this one reads up to {version}); upgrade t2ilib"
        )
    missing = [k for k in required if k not in blob]
    if missing:
        raise ValueError(f"{path} is an incomplete {what}: missing {missing}{tail}")
    return blob


def state_fingerprint(state: dict[str, torch.Tensor]) -> str:
    """A short hash of a state dict's names and values: equal weights, equal fingerprint
    (16 hex digits of SHA-256 over the entries in name order)."""
    h = hashlib.sha256()
    for k, v in sorted(state.items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
