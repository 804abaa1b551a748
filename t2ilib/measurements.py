"""Measurements shipped with the library: runs longer than a chapter can afford.

The files in ``t2ilib/results/`` are JSON lines written by committed scripts (each row
names its command and hardware; ``t2ilib/results/README.md`` describes every file). They travel
with the package, so a chapter opened in Colab reads the same numbers as the rendered
book.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from importlib import resources


def read(name: str) -> list[dict]:
    """The rows of ``t2ilib/results/<name>.jsonl``; a clear error for an unknown name."""
    folder = resources.files("t2ilib") / "results"
    path = folder / f"{name}.jsonl"
    if not path.is_file():
        known = sorted(
            p.name[: -len(".jsonl")] for p in folder.iterdir() if p.name.endswith(".jsonl")
        )
        raise ValueError(f"no shipped measurements called {name!r}; known: {known}")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def by_setting(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows grouped by their ``setting``, in file order."""
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["setting"], []).append(row)
    return out


def provenance() -> dict:
    """The ``command`` and ``hardware`` fields every shipped row carries, for the script
    now running."""
    import torch

    return {
        "command": "python " + shlex.join(sys.argv),
        "hardware": f"{platform.machine()} CPU, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}",
    }


def append(path: str | os.PathLike, row: dict) -> None:
    """Print ``row`` as JSON and append it to ``path`` as one line."""
    line = json.dumps(row)
    print(line, flush=True)
    with open(path, "a") as f:
        f.write(line + "\n")
