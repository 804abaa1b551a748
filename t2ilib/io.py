"""Writing files so that a crash never leaves a half-written one behind.

Every file t2ilib writes (dataset exports, caches, checkpoints, downloads) goes through
:func:`atomic_write`: the bytes go to ``<name>.part`` beside the target, are flushed to
disk, and only then renamed over the target. A rename within one directory is atomic on
POSIX and Windows, so a reader sees either the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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
