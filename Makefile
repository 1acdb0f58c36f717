PYTHON ?= python3
VENV = .venv

.PHONY: test demo bench lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade pip
	$(VENV)/bin/pip install -e '.[dev]'
	touch $@

test: $(VENV)/.installed
	$(VENV)/bin/pytest

demo: $(VENV)/.installed
	$(VENV)/bin/ledger demo

bench: $(VENV)/.installed
	$(VENV)/bin/pip install -e '.[dev,bench]'
	$(VENV)/bin/python bench/store_write.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy store domain

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
