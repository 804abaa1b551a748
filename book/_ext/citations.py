"""One citation label per work, the same in the text and on the references page.

sphinxcontrib-bibtex's ``author_year`` style writes "Reed et al., 2016" in the text for
both of Reed et al.'s 2016 papers, the GAN paper and the text encoder's, while the
references page shows pybtex's ``alpha`` labels ([RAY+16], [RALS16]). This extension
registers two styles, which ``_config.yml`` selects:

* ``authoryear`` (a pybtex formatting style, ``bibtex_default_style``): pybtex's ``plain``
  entries, labelled "Reed et al., 2016a", "Mirza and Osindero, 2014", "Quilez, n.d." and
  sorted by that label, then by title; works whose label would be the same get the
  suffixes a, b, ... in that order, as natbib's author-year styles do.
* ``label_semicolon`` (a sphinxcontrib-bibtex referencing style, ``bibtex_reference_style``):
  a citation is its entries' labels in brackets, separated by semicolons, since a label
  contains a comma: "[Reed et al., 2016a; Reed et al., 2016b]".

``author_year_labels`` is the labelling on its own, for tests.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle
from sphinx.application import Sphinx
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.label import LabelReferenceStyle


def _family_name(person) -> str:
    """'van den Oord', 'Dollár': the parts of a name that sort it, LaTeX decoded."""
    parts = person.rich_prelast_names + person.rich_last_names
    return " ".join(str(Text.from_latex(str(p)).render_as("text")) for p in parts)


def _who(entry) -> str:
    """'Reed et al.', 'Mirza and Osindero', 'Quilez': the label's author part."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_family_name(p) for p in people]
    if not names:
        who = str(entry.fields.get("title", entry.key)).strip("{}")
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return who


def _base_label(entry) -> str:
    """'Reed et al., 2016' before disambiguation."""
    return f"{_who(entry)}, {entry.fields.get('year', 'n.d.')}"


def author_year_labels(entries: Iterable) -> Iterator[str]:
    """One label per entry, in order: entries sharing a base label get a, b, ..."""
    entries = list(entries)
    bases = [_base_label(e) for e in entries]
    shared = Counter(bases)
    seen: Counter[str] = Counter()
    for base in bases:
        if shared[base] == 1:
            yield base
        else:
            yield base + string.ascii_lowercase[seen[base]]
            seen[base] += 1


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        return author_year_labels(sorted_entries)


class AuthorYearSortingStyle(BaseSortingStyle):
    """By the label's author part, then year, then title: a work's suffix follows the
    order of titles, and one author's works run by year."""

    def sorting_key(self, entry):
        title = str(Text.from_latex(entry.fields.get("title", "")).render_as("text"))
        return (_who(entry).lower(), entry.fields.get("year", ""), title.lower())


class AuthorYearStyle(PlainStyle):
    """pybtex's ``plain`` entries, sorted and labelled by author and year."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = AuthorYearSortingStyle


def _semicolons() -> BracketStyle:
    return BracketStyle(sep="; ")


@dataclass
class LabelSemicolonReferenceStyle(LabelReferenceStyle):
    """Citations by label, "[A; B]"."""

    bracket_parenthetical: BracketStyle = field(default_factory=_semicolons)
    bracket_textual: BracketStyle = field(default_factory=_semicolons)
    bracket_label: BracketStyle = field(default_factory=_semicolons)


pybtex.plugin.register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
register_plugin(
    "sphinxcontrib.bibtex.style.referencing", "label_semicolon", LabelSemicolonReferenceStyle
)


def setup(app: Sphinx) -> dict:
    return {"parallel_read_safe": True, "parallel_write_safe": True}
