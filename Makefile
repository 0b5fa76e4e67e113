# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.netspace-installed
NODE_STAMP := frontend/node_modules/.netspace-installed
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest worker processes (pytest-xdist) for the fast tests, and for the slow/browser ones; 0 runs them in this
# process. A test file runs whole in one worker (--dist loadfile): some modules' tests build on the state their
# earlier tests left behind. The slow stage also runs on two workers: much of it waits (servers starting, workers
# polling, browsers rendering, PostgreSQL), so two overlap well even on 2 cores. Its fuzz test is one pytest item
# per (database, operation) (tests/test_hardening_fuzz.py), so xdist reports every failing operation; the
# schemathesis plugin's items shared one node id and once let ten failing fuzz cases pass unseen under xdist.
# Every test's database is a copy of a migrated template (tests/conftest.py), and browser tests share one Chromium
# per worker with a fresh context each. SLOW_WORKERS=0 runs the slow stage serially (to time one test alone).
# Files go out longest first (tests/conftest.py, from tests/durations.json), not xdist's default of the files with
# the most tests first, which started the one-test tutorial (a minute) last, alone.
TEST_WORKERS ?= 2
SLOW_WORKERS ?= 2
pytest = $(VENV)/bin/pytest -q -p no:cacheprovider $(if $(filter-out 0,$(1)),-n $(1) --dist loadfile --no-loadscope-reorder)

.PHONY: run test test-fast test-slow durations bench screenshots lint lint-python lint-js api-types setup node system-deps clean

setup: $(STAMP)

# The venv is rebuilt only when pyproject.toml changes; torch comes first so that a CPU-only machine
# takes the local CPU build (never a multi-GB CUDA download) and a GPU host the regular CUDA build.
$(STAMP): pyproject.toml scripts/install_torch.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	bash scripts/install_torch.sh $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# TypeScript (tsc) and openapi-typescript for the type check of the dashboard; never needed to serve it.
node: $(NODE_STAMP)

$(NODE_STAMP): frontend/package.json frontend/package-lock.json
	npm ci --prefix frontend --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# Debian packages the tests need (installed only when running as root and missing): chromium, docker-compose, npm.
system-deps:
	@bash scripts/install_system_deps.sh

run: setup
	$(VENV)/bin/netspace serve --host $(HOST) --port $(PORT) --workers auto

# The whole check in stages, fastest first, each with its wall time: lint (ruff, import contracts, mypy, tsc,
# the generated API types; the Python and JS halves side by side: mypy alone takes ~18 s), the fast tests, then
# the slow and browser tests.
test: system-deps setup node
	@rm -f build/stages.log; mkdir -p build
	@STAGE_LOG=build/stages.log bash scripts/stage.sh lint $(MAKE) --no-print-directory -j2 lint
	@STAGE_LOG=build/stages.log bash scripts/stage.sh fast $(MAKE) --no-print-directory test-fast
	@STAGE_LOG=build/stages.log bash scripts/stage.sh slow $(MAKE) --no-print-directory test-slow
	@cat build/stages.log

test-fast: setup
	$(call pytest,$(TEST_WORKERS)) -m "not slow and not browser"

test-slow: setup system-deps
	$(call pytest,$(SLOW_WORKERS)) -m "slow or browser"

# tests/durations.json (seconds per test file): the order in which xdist hands files out, longest first
durations: setup system-deps node
	@mkdir -p build
	-$(call pytest,$(TEST_WORKERS)) -m "not slow and not browser" --junitxml=build/junit-fast.xml
	-$(call pytest,$(SLOW_WORKERS)) -m "slow or browser" --junitxml=build/junit-slow.xml
	$(PY) scripts/test_durations.py build/junit-fast.xml build/junit-slow.xml

lint: lint-python lint-js

lint-python: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

lint-js: setup node
	frontend/node_modules/.bin/tsc --noEmit -p frontend
	$(PY) scripts/api_types.py --check

# rewrite frontend/types/api.d.ts after changing a route or a response model
api-types: setup node
	$(PY) scripts/api_types.py

bench: setup system-deps
	$(PY) -m bench.run_all $(ONLY)

# every dashboard page in the light and the dark theme, as artifacts/screenshots/<page>-<theme>.png
screenshots: setup system-deps
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info frontend/node_modules build
