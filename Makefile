# The README's commands. Each target installs what it needs first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?=
# The project is tested on Python 3.11 (pyproject.toml): the venv is made with python3.11
# (Debian 12: apt-get install python3.11 python3.11-venv), never with another python3.
PYTHON311 := $(shell command -v python3.11 2>/dev/null)

.PHONY: install devnet test lint bench clean postgres fuzz browser

install: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || { test -n "$(PYTHON311)" || { echo "make: Python 3.11 is needed and python3.11 is not on PATH (Debian 12: apt-get install python3.11 python3.11-venv)" >&2; exit 1; }; \
		echo "$(PYTHON311) -m venv $(VENV)"; $(PYTHON311) -m venv $(VENV); }
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "make: $(VENV) is not Python 3.11 (make clean, then make install)" >&2; exit 1; }
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,devnet]'
	touch $@

# npm ci installs exactly the committed lock and never rewrites it (npm install would).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Bring up the local system: devnet chains, the relayer and a reference resolver.
devnet: install
	$(PY) -m devnet

## Debian's PostgreSQL server for the store and replica tests (installed when missing).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update && DEBIAN_FRONTEND=noninteractive \
		$$sudo apt-get install -y --no-install-recommends postgresql; }

## Debian's Chromium for the explorer's browser tests (tests/explorer; installed when
## missing). Playwright drives it as it is: no browser of Playwright's own is downloaded.
browser:
	@test -x /usr/bin/chromium || { \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update && DEBIAN_FRONTEND=noninteractive \
		$$sudo apt-get install -y --no-install-recommends chromium; }

## Run every test (unit, store contract, API, browser, integration against real processes).
test: install postgres browser
	$(PY) -m pytest -rs $(PYTEST_ARGS)

## Adversarial settlement fuzzing: FUZZ_RUNS state-machine runs (default 10,000) with a
## fresh random seed, or FUZZ_SEED; fails on any invariant violation (docs/settlement.md).
FUZZ_RUNS ?= 10000
fuzz: install
	$(PY) scripts/fuzz_settlement.py --runs $(FUZZ_RUNS) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

## ruff, mypy --strict, the layer contracts (lint-imports) and the checks of
## scripts/check_architecture.py (docs/architecture.md).
lint: install
	$(VENV)/bin/ruff check relayer devnet resolver tests scripts bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-logo --no-cache
	$(PY) scripts/check_architecture.py

## Benchmarks; figures go to docs/benchmarks.md.
bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) node_modules .devnet .pytest_cache .mypy_cache .ruff_cache
