"""The book: every chapter has its frame, badges agree with _config.yml, the build is clean."""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import sync_notebooks  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SETUP_LINES = [
    "# Setup: install t2ilib from the book's repository on Colab; elsewhere it's installed.",
    "import sys",
    "",
    'if "google.colab" in sys.modules:',
]
# Chapters that others were editing or re-executing when the device cell's hide-input tag
# came in: `python scripts/sync_notebooks.py` tags them once they are committed; then
# empty this.
DEVICE_TAG_PENDING: set[str] = set()


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks found"


def test_badges_and_install_cells_derive_from_config():
    synced = [str(p) for p in NOTEBOOKS if p.name not in DEVICE_TAG_PENDING]
    assert sync_notebooks.main(["--check", *synced]) == 0


def test_sync_rewrites_a_stale_url():
    url, branch = sync_notebooks.repository()
    path = next(p for p in NOTEBOOKS if p.name not in DEVICE_TAG_PENDING)
    rel = f"notebooks/{path.name}"
    stale = path.read_text().replace(url.removeprefix("https://"), "github.com/someone/old")
    assert "someone/old" in stale
    updated, problems = sync_notebooks.sync(json.loads(stale), rel, url, branch)
    assert not problems and updated is not None
    assert "someone/old" not in json.dumps(updated)
    assert sync_notebooks.badge(url, branch, rel) in "".join(updated["cells"][0]["source"])
    # An in-sync notebook is left alone.
    assert sync_notebooks.sync(json.loads(path.read_text()), rel, url, branch) == (None, [])


def test_sync_collapses_the_install_and_device_cells():
    url, branch = sync_notebooks.repository()
    path = NOTEBOOKS[0]
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("tags", None)
    updated, problems = sync_notebooks.sync(nb, f"notebooks/{path.name}", url, branch)
    assert not problems and updated is not None
    code = [c for c in updated["cells"] if c["cell_type"] == "code"]
    assert [c["metadata"].get("tags") for c in code[:2]] == [["hide-input"], ["hide-input"]]


def test_sync_reports_a_notebook_without_badge_install_or_device_cell():
    nb = {"cells": [{"cell_type": "markdown", "source": ["# Title"]}]}
    updated, problems = sync_notebooks.sync(
        nb, "notebooks/x.ipynb", "https://github.com/a/b", "main"
    )
    assert updated is None and len(problems) == 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_frame(path):
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    first = "".join(cells[0]["source"])
    assert first.startswith("# ") and sync_notebooks.BADGE_PREFIX in first
    code = [c for c in cells if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]).splitlines()[:4] == SETUP_LINES
    assert "hide-input" in code[0].get("metadata", {}).get("tags", [])  # collapsed on the page
    assert "device_report()" in "".join(code[1]["source"])
    if path.name not in DEVICE_TAG_PENDING:  # collapsed; its output (device, profile) shown
        assert "hide-input" in code[1].get("metadata", {}).get("tags", [])
    headings = [
        line
        for c in cells
        if c["cell_type"] == "markdown"
        for line in "".join(c["source"]).splitlines()
    ]
    assert "## Summary" in headings and "## Exercises" in headings
    assert headings.index("## Summary") < headings.index("## Exercises")
    # Committed with the outputs of a real run, without errors. A cell tagged skip-execution
    # is one nbclient (nbconvert, nbmake) skips on purpose: a playground widget, run by the
    # reader, with a static figure beside it (tests/test_playground.py checks those cells).
    ran = [c for c in code if "skip-execution" not in c.get("metadata", {}).get("tags", [])]
    assert all(c["execution_count"] is not None for c in ran if "".join(c["source"]).strip())
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_picture_is_a_numbered_captioned_figure(path):
    """A cell that draws a picture draws one, as a numbered figure with a caption
    (myst-nb's ``mystnb.figure`` metadata): the book can then cite it as "Figure 5.3" and
    a reader of any page can tell what it shows without its code."""
    nb = json.loads(path.read_text())
    chapter = path.name[:2]
    names = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        pictures = [o for o in cell["outputs"] if "image/png" in o.get("data", {})]
        if not pictures:
            continue
        figure = cell["metadata"].get("mystnb", {}).get("figure", {})
        where = f"{path.name} cell {i}"
        assert len(pictures) == 1, f"{where}: {len(pictures)} pictures; split the cell"
        assert figure.get("caption", "").strip(), f"{where}: a picture without a caption"
        assert figure.get("name", "").startswith(f"fig-ch{chapter}-"), f"{where}: {figure}"
        names.append(figure["name"])
    assert len(names) == len(set(names)), f"{path.name}: figure names repeat: {names}"


def test_the_intro_maps_every_chapter():
    """The intro's chapter map has one numbered entry per chapter, in order (it said
    "still to be written" of chapters that had been written for weeks)."""
    intro = (ROOT / "book" / "intro.md").read_text()
    section = intro.split("## What you will build", 1)[1].split("\n## ", 1)[0]
    numbers = [int(n) for n in re.findall(r"^(\d+)\. \*\*", section, flags=re.M)]
    chapters = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == chapters, f"the intro maps chapters {numbers}; the book has {chapters}"


def test_every_chapter_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in toc, f"{path.name} is missing from _toc.yml"


@pytest.mark.slow
def test_book_builds_without_warnings(built_book):
    result, html = built_book
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (html / "index.html").exists()


# A script, stylesheet, icon or image whose address leaves the book (http:, https: or //).
REMOTE_ASSET = re.compile(
    r"<(?:script|img|link|iframe|source)\b[^>]*?\s(?:src|href)=\"(?:https?:)?//[^\"]*\"[^>]*>"
)


@pytest.mark.slow
def test_book_loads_nothing_from_the_internet(built_book):
    """Offline, every formula is typeset and every picture shows: MathJax, the Colab badge
    and every other asset a page loads are the book's own files (links may leave it)."""
    result, html = built_book
    assert result.returncode == 0, "the book did not build: see test_book_builds_without_warnings"
    remote = {
        f"{page.relative_to(html)}: {tag}"
        for page in html.rglob("*.html")
        for tag in REMOTE_ASSET.findall(page.read_text())
    }
    assert not remote, "\n".join(sorted(remote))
    page = (html / "notebooks" / "03_dcgan.html").read_text()
    assert '<script defer="defer" src="../_static/mathjax/tex-chtml.js' in page
    assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    assert "THEBE_JS_URL" not in page


@pytest.mark.slow
def test_api_reference_documents_each_module_it_lists(built_book):
    result, html = built_book
    assert result.returncode == 0, "the book did not build: see test_book_builds_without_warnings"
    modules = re.findall(r"^\.\. automodule:: (\S+)$", (ROOT / "book" / "api.md").read_text(), re.M)
    assert "t2ilib.train.gan" in modules
    page = (html / "book" / "api.html").read_text()
    for name in modules:
        assert f'id="module-{name}"' in page, name
        assert f'id="{name}.' in page, f"{name}: no member documented"
