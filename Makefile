PYTHON ?= python3
VENV = .venv

.PHONY: test demo screenshots bench lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade pip
	$(VENV)/bin/pip install -e '.[dev]'
	touch $@

# The linters first: CI holds the code to them as it does to the tests.
test: lint
	$(VENV)/bin/pytest

# Seeds an empty store, then serves the API (Ctrl-C stops it) on HOST:PORT.
HOST ?= 127.0.0.1
PORT ?= 8000
demo: $(VENV)/.installed
	$(VENV)/bin/ledger demo
	$(VENV)/bin/ledger serve --demo --host $(HOST) --port $(PORT)

# Refreshes docs/screenshots/ (the README's pictures) from the console's browser tests.
screenshots: $(VENV)/.installed
	LEDGER_SCREENSHOTS=docs/screenshots $(VENV)/bin/pytest -q tests/console/test_console_browser.py -k sqlite

bench: $(VENV)/.installed
	$(VENV)/bin/pip install -e '.[dev,bench]'
	$(VENV)/bin/python bench/store_write.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
