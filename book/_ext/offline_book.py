"""The rendered book reads offline: every page loads its scripts and images from the book.

Jupyter Book 1.x fetches three things from the internet on every page; ``_config.yml``
and this extension keep them out:

* MathJax. ``mathjax_path`` in ``_config.yml`` names ``mathjax/tex-chtml.js`` in the
  static folder ``book/_static``, where ``make mathjax`` copies it from the npm package
  pinned in ``package-lock.json``.
  A build without that copy stops here and names the command, rather than writing a book
  whose formulas stay raw TeX.
* sphinx-thebe, which Jupyter Book always loads. The book launches Colab, not thebe, yet
  sphinx-thebe writes ``const THEBE_JS_URL = ...`` (a CDN address) into every page, and
  under Sphinx 7.4 it is written twice: a script added after the builder started is kept
  once as given (file name ``None``) and once more when the builder re-reads the
  registry (file name ``''``), so the de-duplication misses it, and the browser logs
  ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``. Its event
  handlers and stylesheet are removed here, before they run.
* The Colab badge in each notebook's first cell. The notebook keeps Colab's own badge
  address (GitHub, Jupyter and Colab show it); the book shows the copy drawn in
  ``book/_static/colab-badge.svg``.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.transforms import SphinxTransform

# The address scripts/sync_notebooks.py writes into every badge.
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
# The book's copy, as a path from the book's root (Sphinx copies it into _images/).
LOCAL_BADGE = "/book/_static/colab-badge.svg"


class LocalColabBadge(SphinxTransform):
    """Point every image at Colab's badge address to the book's own copy."""

    default_priority = 400

    def apply(self, **kwargs) -> None:
        for image in self.document.findall(nodes.image):
            if image["uri"] == COLAB_BADGE:
                image["uri"] = LOCAL_BADGE


def check_mathjax(app: Sphinx, config: Config) -> None:
    """Stop the build when the local MathJax named by ``mathjax_path`` is missing."""
    path = config.mathjax_path
    if "://" in path or path.startswith("//"):
        return
    for static in config.html_static_path:
        if (Path(app.confdir) / static / path).is_file():
            return
    raise ConfigError(
        f"mathjax_path {path!r} is in none of html_static_path {config.html_static_path}: "
        "run `make mathjax` (it copies MathJax from the npm package in package-lock.json "
        "into book/_static/mathjax), or build with `make book`"
    )


def drop_thebe(app: Sphinx) -> None:
    """Disconnect sphinx-thebe: no thebe script, config or stylesheet on any page."""
    for listeners in list(app.events.listeners.values()):
        for listener in list(listeners):
            if getattr(listener.handler, "__module__", "").startswith("sphinx_thebe"):
                app.disconnect(listener.id)
    app.registry.css_files[:] = [
        (name, attrs) for name, attrs in app.registry.css_files if name != "sphinx-thebe.css"
    ]


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx_thebe")  # so that it is loaded, and its handlers known
    drop_thebe(app)
    app.connect("config-inited", check_mathjax)
    app.add_transform(LocalColabBadge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
