"""Write the repository URL from ``_config.yml`` into every chapter notebook.

The URL is typed by hand in one place, ``repository.url`` in ``_config.yml``. Each
notebook's Colab badge and its Colab install cell are derived from it by this script:

    python scripts/sync_notebooks.py          # rewrite the notebooks that differ
    python scripts/sync_notebooks.py --check  # exit 1 and list them, change nothing
    python scripts/sync_notebooks.py notebooks/03_dcgan.ipynb  # only the ones named

The badge is the line of the first cell that starts with ``[![Open In Colab]``; the install
line is the one containing ``git+https://``. A notebook missing either is reported.
The install cell and the device cell (the first code cell that prints ``device_report()``)
are also tagged ``hide-input``, so the rendered book shows them collapsed: a reader sees
the device and profile the chapter ran with, and opens the code when wanted (the device
cell also defines names the chapter uses, ``P`` and the sizes, so it is not removed).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BADGE_PREFIX = "[![Open In Colab]"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
INSTALL_RE = re.compile(r"git\+https://[^\s\"']+")
DEVICE_CALL = "device_report()"
COLLAPSED = "hide-input"


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """(url, branch) from the ``repository:`` block of ``_config.yml``.

    A tiny reader of that block, so the script needs no YAML package.
    """
    url = branch = None
    in_block = False
    for line in config.read_text().splitlines():
        if not line.startswith((" ", "\t")):
            in_block = line.startswith("repository:")
            continue
        if in_block:
            key, _, value = line.strip().partition(":")
            value = value.strip().strip("\"'")
            if key == "url":
                url = value
            elif key == "branch":
                branch = value
    if not url or not url.startswith("https://github.com/"):
        raise SystemExit(f"{config}: repository.url must be a https://github.com/ URL, got {url!r}")
    return url.rstrip("/"), branch or "main"


def badge(url: str, branch: str, notebook: str) -> str:
    owner_repo = url.removeprefix("https://github.com/")
    target = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{notebook}"
    return f"{BADGE_PREFIX}({BADGE_IMAGE})]({target})"


def sync(nb: dict, rel: str, url: str, branch: str) -> tuple[dict | None, list[str]]:
    """For notebook ``nb`` at repository path ``rel``: (the updated notebook if it changed,
    else None; problems). Pure: reads and writes no file."""
    problems, changed = [], False
    cells = nb["cells"]
    first = cells[0] if cells else None
    if first is None or first["cell_type"] != "markdown":
        return None, [f"{rel}: the first cell must be markdown with the Colab badge"]
    lines = "".join(first["source"]).split("\n")
    found = False
    for i, line in enumerate(lines):
        if line.startswith(BADGE_PREFIX):
            found = True
            want = badge(url, branch, rel)
            if line != want:
                lines[i], changed = want, True
    if not found:
        problems.append(f"{rel}: no line starting with {BADGE_PREFIX!r} in the first cell")
    first["source"] = _split_source("\n".join(lines))
    install = f"git+{url}"
    has_install = has_device = False
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        if INSTALL_RE.search(src):
            has_install = True
            # Collapsed on the rendered page: a reader of the book needs it only on Colab.
            changed |= _collapse(cell)
            new = INSTALL_RE.sub(install, src)
            if new != src:
                cell["source"], changed = _split_source(new), True
        elif DEVICE_CALL in src and not has_device:
            has_device = True
            # Collapsed too: its output (device, profile, sizes) stays in view.
            changed |= _collapse(cell)
    if not has_install:
        problems.append(f"{rel}: no install cell with a git+https:// URL")
    if not has_device:
        problems.append(f"{rel}: no device cell calling {DEVICE_CALL}")
    return (nb if changed else None), problems


def _collapse(cell: dict) -> bool:
    """Tag a code cell ``hide-input``; whether that changed it."""
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if COLLAPSED in tags:
        return False
    tags.append(COLLAPSED)
    return True


def _split_source(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    parser.add_argument("notebook", nargs="*", type=Path, help="default: every chapter")
    args = parser.parse_args(argv)
    url, branch = repository()
    status = 0
    for path in [p.resolve() for p in args.notebook] or notebooks():
        rel = path.relative_to(ROOT).as_posix()
        updated, problems = sync(json.loads(path.read_text()), rel, url, branch)
        for p in problems:
            print(p)
            status = 1
        if updated is not None:
            if args.check:
                print(f"{rel}: badge, install URL or tags differ from _config.yml and this script")
                status = 1
            else:
                # As nbformat writes it, so that a later nbconvert run changes only outputs.
                text = json.dumps(updated, indent=1, ensure_ascii=False, sort_keys=True)
                path.write_text(text + "\n")
                print(f"updated {rel}")
    return status


if __name__ == "__main__":
    sys.exit(main())
