# make book: build the rendered book into _build/html/index.html
# make test: unit tests + every chapter notebook re-run under nbmake (smoke profile)
# Both create the virtual environment .venv first when it is missing or out of date.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test lint clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W --keep-going

test: $(STAMP)
	$(BIN)/python -m pytest tests --nbmake notebooks -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check t2ilib tests scripts

clean:
	rm -rf _build
