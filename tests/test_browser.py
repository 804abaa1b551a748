"""The rendered book as a reader meets it: every page opened in headless Chromium.

The book built once for the session (``built_book`` in conftest.py, the build
test_book.py checks) is served on 127.0.0.1 and read by Debian's Chromium, driven by
Playwright (``make browser`` installs Chromium; Playwright's own browser download is never
used). Each page is opened at a desktop width (1280 px) and a phone width (390 px); its
screenshots go to ``_build/screenshots/{desktop,phone}/``, for a person to look at (in
the whole-page ones the theme's sticky sidebars are drawn where the first screen has them).

Without Chromium or Playwright the tests skip, except where ``CI`` or
``T2I_REQUIRE_BROWSER=1`` is set (CI sets the first, ``.ci/run`` the second): there they
fail, so that CI cannot pass by skipping them.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import sync_notebooks  # noqa: E402

CHROMIUM = Path(os.environ.get("T2I_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "_build" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Taller pages are cut to this height in their screenshots (the build stays small).
SCREENSHOT_MAX_HEIGHT = 16000
# How long a page may take to load or answer, in ms: seconds normally, but generous for a
# machine whose CPU is busy with other work.
TIMEOUT_MS = 60_000
# A block may be this many pixels wider than its column (rounding, borders).
OVERFLOW_TOLERANCE = 2

pytestmark = pytest.mark.slow


def _browser_required() -> bool:
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("T2I_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str):
    if _browser_required():
        pytest.fail(f"{reason}; CI (or T2I_REQUIRE_BROWSER=1) requires the browser tests")
    pytest.skip(reason)


# Everything the tests ask of a page, measured in the page by one script.
MEASURE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const images = await Promise.all([...document.images].map(async (img) => {
    try { await img.decode(); } catch (e) {}
    return {src: img.getAttribute("src"), width: img.naturalWidth, alt: img.alt};
  }));
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const rawTex = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    if (!/\\\\\\(|\\\\\\[|\\$\\$|\\\\begin\\{/.test(text)) continue;
    if (node.parentElement.closest(skip)) continue;
    rawTex.push(text.trim().slice(0, 80));
  }
  const math = [...document.querySelectorAll(".math")];
  return {
    images: images,
    rawTex: rawTex,
    mathCount: math.length,
    untypeset: math.filter((m) => !m.querySelector("mjx-container"))
                   .map((m) => m.textContent.trim().slice(0, 80)),
    mathErrors: [...document.querySelectorAll("mjx-merror")]
                   .map((m) => m.textContent.trim().slice(0, 80)),
    mjxCount: document.querySelectorAll("mjx-container").length,
    launchColab: [...document.querySelectorAll(".dropdown-launch-buttons a")]
                   .map((a) => a.href).filter((h) => h.includes("colab")),
    badges: [...document.querySelectorAll("article a")]
              .filter((a) => a.querySelector("img[alt='Open In Colab']")).map((a) => a.href),
  };
}"""

# Code blocks and output areas wider than their column, with every dropdown opened.
OVERFLOW = """(tolerance) => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach((e) => e.classList.remove("toggle-hidden"));
  const blocks = document.querySelectorAll("article div.highlight pre, article .cell_output > *");
  return [...blocks].filter((el) => el.scrollWidth > el.clientWidth + tolerance).map((el) => ({
    kind: el.closest(".cell_output") ? "output" : "code",
    first: (el.textContent.split("\\n").find((l) => l.trim()) || "").trim().slice(0, 70),
    scroll: el.scrollWidth,
    client: el.clientWidth,
  }));
}"""


@pytest.fixture(scope="module")
def site(built_book):
    """The built book served over HTTP on 127.0.0.1: (base URL, html folder)."""
    result, html = built_book
    assert result.returncode == 0, "the book did not build: see test_book_builds_without_warnings"
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", html
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")  # session: found missing before the book is built
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: `make browser` installs Debian's chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: `make venv` installs requirements.txt")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def pages(html: Path) -> list[str]:
    """Every page of the book, as a path relative to the site root, but index.html, which
    only redirects to the first page (test_the_front_door_opens_the_first_page)."""
    return sorted(
        p.relative_to(html).as_posix()
        for p in html.rglob("*.html")
        if not p.relative_to(html).parts[0].startswith("_") and p != html / "index.html"
    )


@pytest.fixture(scope="module")
def visits(browser, site):
    """Each page opened at both widths: what its console said, which requests left the
    site, what MEASURE and OVERFLOW found; its screenshots: the first screen a reader sees
    (``NAME.first-screen.png``) and the whole page (``NAME.png``, cut at 16,000 px)."""
    base, html = site
    found = {}
    errors, remote = [], []  # of the page being read
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        out = SCREENSHOTS / width
        out.mkdir(parents=True, exist_ok=True)
        context = browser.new_context(
            viewport=viewport, is_mobile=width == "phone", has_touch=width == "phone"
        )
        # Each page as on a first visit: the sidebar not scrolled to where the last one was.
        context.add_init_script("sessionStorage.removeItem('sidebar-scroll-top')")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(base) else None)
        for path in pages(html):
            errors.clear()
            remote.clear()
            page.goto(base + path, wait_until="load")
            measured = page.evaluate(MEASURE)
            height = min(
                page.evaluate("document.documentElement.scrollHeight"), SCREENSHOT_MAX_HEIGHT
            )
            name = path.removesuffix(".html").replace("/", "-")
            page.screenshot(path=str(out / f"{name}.first-screen.png"))
            page.screenshot(
                path=str(out / f"{name}.png"),
                full_page=True,
                clip={"x": 0, "y": 0, "width": viewport["width"], "height": height},
            )
            visit = found.setdefault(path, {})
            visit[width] = {
                **measured,
                "errors": list(errors),
                "remote": list(remote),
                "page_width": page.evaluate("document.documentElement.scrollWidth"),
            }
            if width == "desktop":
                visit["overflow"] = page.evaluate(OVERFLOW, OVERFLOW_TOLERANCE)
        context.close()
    return found


def test_every_page_opens_without_console_errors(visits):
    problems = [
        f"{path} ({width}): {message}"
        for path, visit in visits.items()
        for width in ("desktop", "phone")
        for message in visit[width]["errors"]
    ]
    assert not problems, "\n".join(problems)


def test_no_page_loads_anything_from_outside_the_book(visits):
    remote = sorted({url for visit in visits.values() for url in visit["desktop"]["remote"]})
    assert not remote, "\n".join(remote)


def test_every_image_loads(visits):
    broken = [
        f"{path}: {img['src']} (alt {img['alt']!r})"
        for path, visit in visits.items()
        for img in visit["desktop"]["images"]
        if img["width"] == 0
    ]
    assert not broken, "\n".join(broken)
    assert sum(len(v["desktop"]["images"]) for v in visits.values()) > 20


def test_math_is_typeset(visits):
    problems = []
    for path, visit in visits.items():
        m = visit["desktop"]
        problems += [f"{path}: raw TeX in the text: {t!r}" for t in m["rawTex"]]
        problems += [f"{path}: not typeset: {t!r}" for t in m["untypeset"]]
        problems += [f"{path}: MathJax error: {t!r}" for t in m["mathErrors"]]
        if m["mathCount"] and not m["mjxCount"]:
            problems.append(f"{path}: {m['mathCount']} formulas and no MathJax output")
    assert not problems, "\n".join(problems)
    with_math = [path for path, visit in visits.items() if visit["desktop"]["mjxCount"]]
    assert "notebooks/03_dcgan.html" in with_math and "book/notation.html" in with_math


def test_each_chapter_opens_its_own_notebook_in_colab(visits):
    url, branch = sync_notebooks.repository()
    chapters = [path for path in visits if path.startswith("notebooks/")]
    assert len(chapters) == len(sync_notebooks.notebooks())
    for path in chapters:
        notebook = path.removesuffix(".html") + ".ipynb"
        want = sync_notebooks.badge(url, branch, notebook).rsplit("(", 1)[1].rstrip(")")
        m = visits[path]["desktop"]
        assert m["launchColab"] == [want], f"{path}: launch button {m['launchColab']}"
        assert m["badges"] == [want], f"{path}: badge {m['badges']}"


def test_the_front_door_opens_the_first_page(browser, site):
    base, _ = site
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(base, wait_until="load")
        page.wait_for_url("**/book/intro.html")
        title = page.title()
    finally:
        page.close()
    assert title.startswith("Text to Image with GANs"), title


def test_search_finds_the_gan_cls_chapter(browser, site):
    base, _ = site
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(base + "search.html?q=GAN-CLS", wait_until="load")
        page.wait_for_selector("#search-results ul.search li a")
        links = page.eval_on_selector_all(
            "#search-results ul.search li a", "(as) => as.map((a) => a.href)"
        )
    finally:
        page.close()
    assert any(urlsplit(link).path.endswith("notebooks/05_gan_cls.html") for link in links), links


def test_phone_pages_are_no_wider_than_the_phone(visits):
    wide = [
        f"{path}: {visit['phone']['page_width']} px"
        for path, visit in visits.items()
        if visit["phone"]["page_width"] > PHONE["width"] + OVERFLOW_TOLERANCE
    ]
    assert not wide, "\n".join(wide)


def _wider_than_the_column(visits, kind: str) -> list[str]:
    return [
        f"{path}: {block['kind']} {block['scroll']} px in {block['client']} px: {block['first']}"
        for path, visit in visits.items()
        for block in visit["overflow"]
        if block["kind"] == kind
    ]


def test_no_output_is_wider_than_its_column(visits):
    """Printed output wraps at the column (book.css), whatever its lines' length."""
    wide = _wider_than_the_column(visits, "output")
    assert not wide, f"{len(wide)} outputs wider than their column at 1280 px:\n" + "\n".join(wide)


def test_no_code_block_is_wider_than_its_column(visits):
    wide = _wider_than_the_column(visits, "code")
    message = f"{len(wide)} code blocks wider than their column at 1280 px:\n"
    assert not wide, message + "\n".join(wide)
