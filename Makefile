# The README's commands. Each target installs what it needs first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?=

.PHONY: install devnet test lint bench clean postgres fuzz browser

install: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

## Bring up the local system: devnet chains, the relayer and a reference resolver.
devnet: install
	$(PY) -m relayer devnet

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
	$(PY) -m pytest $(PYTEST_ARGS)

## Adversarial settlement fuzzing: FUZZ_RUNS state-machine runs (default 10,000) with a
## fresh random seed, or FUZZ_SEED; fails on any invariant violation (docs/settlement.md).
FUZZ_RUNS ?= 10000
fuzz: install
	$(PY) scripts/fuzz_settlement.py --runs $(FUZZ_RUNS) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

lint: install
	$(VENV)/bin/ruff check relayer tests scripts bench
	$(VENV)/bin/mypy

## Benchmarks; figures go to docs/benchmarks.md.
bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) node_modules .devnet .pytest_cache .mypy_cache .ruff_cache
