"""The bibliography: one key per work, one label per key, every citation resolvable, and
the same labels in the text and on the references page (book/_ext/citations.py)."""

import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIB = ROOT / "book" / "references.bib"
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import citations  # noqa: E402

ENTRY = re.compile(r"^@(\w+)\s*\{\s*([^,\s]+)\s*,", re.M)
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def bibliography():
    from pybtex.database import parse_file

    return parse_file(str(BIB))


def cited_keys() -> dict[str, list[str]]:
    """{key: [files citing it]} over the book's pages and the chapters' markdown cells."""
    found: dict[str, list[str]] = {}
    sources = [(p.name, p.read_text()) for p in sorted((ROOT / "book").glob("*.md"))]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        sources.append((path.name, text))
    for name, text in sources:
        for group in CITE.findall(text):
            for key in group.split(","):
                found.setdefault(key.strip(), []).append(name)
    return found


def test_each_key_appears_once():
    keys = Counter(key for kind, key in ENTRY.findall(BIB.read_text()) if kind.lower() != "string")
    assert keys, f"no entries found in {BIB}"
    assert not [k for k, n in keys.items() if n > 1], f"keys defined twice: {keys.most_common(3)}"


def test_each_work_has_one_key():
    """Two keys with the same title are one work cited under two names."""
    titles: dict[str, list[str]] = {}
    for key, entry in bibliography().entries.items():
        title = re.sub(r"[^a-z0-9]+", " ", entry.fields["title"].lower()).strip()
        titles.setdefault(title, []).append(key)
    assert not {t: k for t, k in titles.items() if len(k) > 1}


def test_each_work_has_its_own_label():
    from pybtex.plugin import find_plugin

    style = find_plugin("pybtex.style.formatting", "authoryear")()
    labels = {e.key: e.label for e in style.format_bibliography(bibliography())}
    assert len(set(labels.values())) == len(labels), Counter(labels.values()).most_common(3)
    # The paper this book rebuilds and its text encoder's paper: same authors, same year.
    assert labels["reed2016generative"] == "Reed et al., 2016a"
    assert labels["reed2016learning"] == "Reed et al., 2016b"
    assert labels["mirza2014conditional"] == "Mirza and Osindero, 2014"
    assert labels["oord2018representation"] == "van den Oord et al., 2018"


def test_labels_take_suffixes_only_when_they_collide():
    class Person:
        def __init__(self, last):
            self.rich_prelast_names, self.rich_last_names = [], [last]

    class Entry:
        def __init__(self, year, *authors):
            self.key, self.fields = "k", {"year": year, "title": "t"}
            self.persons = {"author": [Person(a) for a in authors]}

    entries = [
        Entry("2016", "Reed", "Akata", "Yan"),
        Entry("2016", "Reed", "Akata", "Lee"),
        Entry("2016", "Reed", "Akata"),
        Entry("2015", "Reed", "Akata", "Lee"),
    ]
    assert list(citations.author_year_labels(entries)) == [
        "Reed et al., 2016a",
        "Reed et al., 2016b",
        "Reed and Akata, 2016",
        "Reed et al., 2015",
    ]


def test_every_cited_key_is_in_the_bibliography():
    keys = set(bibliography().entries)
    cited = cited_keys()
    assert "reed2016generative" in cited
    missing = {k: v for k, v in cited.items() if k not in keys}
    assert not missing, f"cited but not in {BIB.name}: {missing}"


@pytest.mark.slow
def test_text_and_references_page_use_the_same_labels(built_book):
    result, html = built_book
    assert result.returncode == 0, "the book did not build: see test_book_builds_without_warnings"
    refs = (html / "book" / "references.html").read_text()
    chapter = (html / "notebooks" / "02_text_encoder.html").read_text()
    for label in ("Reed et al., 2016a", "Reed et al., 2016b"):
        assert f'<span class="fn-bracket">[</span>{label}<span' in refs, label
        assert f">{label}</a>" in chapter, label
    assert "RAY+16" not in refs and "RALS16" not in refs
