# make book: build the rendered book into _build/html/index.html
# make test: unit tests + every chapter notebook re-run under nbmake (smoke profile)
# make venv: only the virtual environment .venv (book and test create it too when it is
# missing or out of date)
# make mathjax: MathJax 3 into book/_static/mathjax, from the npm package in package-lock.json
# (book and test do it too), so that the book reads offline
# make browser: Debian's chromium, for tests/test_browser.py (CI runs it before the tests)
# make linkcheck: the book's links, offline: local files and internal references are checked,
# links to the internet only listed (report: _build/html/output.txt)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv mathjax browser book test linkcheck lint clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# Only what tex-chtml.js loads: itself, the TeX extensions it autoloads, its fonts, the menu
# and the accessibility parts the menu loads.
MATHJAX_NPM := node_modules/mathjax/es5
MATHJAX := book/_static/mathjax

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts

$(MATHJAX)/tex-chtml.js: node_modules/.package-lock.json
	rm -rf $(MATHJAX)
	mkdir -p $(MATHJAX)/output
	cp -R $(MATHJAX_NPM)/input $(MATHJAX_NPM)/ui $(MATHJAX_NPM)/a11y $(MATHJAX_NPM)/sre $(MATHJAX)/
	cp -R $(MATHJAX_NPM)/output/chtml $(MATHJAX)/output/
	cp $(MATHJAX_NPM)/tex-chtml.js $(MATHJAX_NPM)/../LICENSE $(MATHJAX)/

mathjax: $(MATHJAX)/tex-chtml.js

browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@/usr/bin/chromium --version

book: $(STAMP) mathjax
	$(BIN)/jupyter-book build . -W --keep-going

test: $(STAMP) mathjax
	$(BIN)/python -m pytest tests --nbmake notebooks -q

linkcheck: $(STAMP) mathjax
	$(BIN)/jupyter-book build . --builder linkcheck -W --keep-going

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check t2ilib tests scripts

clean:
	rm -rf _build
