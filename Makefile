# Two entry points for a fresh machine: `make bench` (the main job) and `make test`.
# Each creates the virtual environment it needs. torch is pinned to the CPU build on disk;
# pyproject.toml keeps torch>=2.2 for real users.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_PIN ?= torch==2.13.0
SK_GROUPREC_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export SK_GROUPREC_DATA

.PHONY: test bench docs lint clean

$(VENV)/.dev-installed: pyproject.toml setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PIN) -e ".[dev,bench,distributed,docs,implicit]"
	touch $@

test: $(VENV)/.dev-installed
	$(PY) -m pytest

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/run.py

docs: $(VENV)/.dev-installed
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check sk_grouprec tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info docs/_build
