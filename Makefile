# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.netspace-installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast bench lint setup system-deps clean

setup: $(STAMP)

# The venv is rebuilt only when pyproject.toml changes; torch comes first so that a CPU-only machine
# takes the local CPU build (never a multi-GB CUDA download) and a GPU host the regular CUDA build.
$(STAMP): pyproject.toml scripts/install_torch.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	bash scripts/install_torch.sh $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Debian packages the browser tests need (installed only when running as root and missing).
system-deps:
	@bash scripts/install_system_deps.sh

run: setup
	$(VENV)/bin/netspace serve --host $(HOST) --port $(PORT) --workers auto

test: setup system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -q

test-fast: setup
	$(VENV)/bin/pytest -q -m "not slow and not browser"

bench: setup system-deps
	$(PY) -m bench.run_all $(ONLY)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
