# chainrule: `make run` serves the app, `make test` runs every test. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
CHROMIUM ?= /usr/bin/chromium

.PHONY: run serve-prod wheel test install install-dev chromium lint bench load clean moons-html

$(BIN)/.runtime: backend/requirements.txt backend/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r backend/requirements.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e backend
	touch $@

$(BIN)/.dev: $(BIN)/.runtime backend/requirements-dev.txt backend/requirements-build.txt
	$(BIN)/pip install --disable-pip-version-check -q -r backend/requirements-dev.txt
	touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The built page and embed view (dist/index.html, dist/embed.html, dist/assets/) and the bundles
# of the player (the offline page, the notebook widget's module): frontend/build.mjs.
frontend/dist/.built: frontend/node_modules/.installed frontend/build.mjs frontend/*.css frontend/*.html \
		frontend/src/*.js
	cd frontend && npm run --silent build
	touch $@

install: $(BIN)/.runtime frontend/node_modules/.installed frontend/dist/.built

install-dev: install $(BIN)/.dev chromium

# Headless Chromium from Debian's package (never a browser download by a test tool).
chromium:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The app on HOST:PORT; its computations run in CHAINRULE_WORKERS worker processes (default 2,
# README: How the server computes). Ctrl+C or SIGTERM stops it within seconds.
run: install
	$(BIN)/uvicorn chainrule.server.app:create_app --factory --host $(HOST) --port $(PORT) \
		--timeout-graceful-shutdown 3

# The production server (docker-compose.yml runs this): one uvicorn process answering, WORKERS
# worker processes computing.
serve-prod: install
	HOST=$(HOST) PORT=$(PORT) CHAINRULE_WORKERS=$(WORKERS) $(BIN)/python -m chainrule.server

# dist/chainrule-<version>-py3-none-any.whl, the built UI and its npm files inside: installed
# anywhere, `chainrule serve` needs neither Node nor the network. (The Dockerfile's build stage.)
$(BIN)/.build: backend/requirements-build.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r backend/requirements-build.txt
	touch $@

wheel: $(BIN)/.build frontend/node_modules/.installed
	$(BIN)/python tools/build_wheel.py --out dist

lint: $(BIN)/.dev
	$(BIN)/ruff check backend tests
	$(BIN)/mypy backend/chainrule

test: install-dev
	$(MAKE) --no-print-directory lint
	cd frontend && npm test
	$(BIN)/pytest

# Benchmarks: docs/benchmarks.md and docs/img/*.png. Not part of `make test`. PyTorch comes with
# the tests' requirements (from_torch is tested against it).
$(BIN)/.bench: $(BIN)/.dev backend/requirements-bench.txt
	$(BIN)/pip install --disable-pip-version-check -q -r backend/requirements-bench.txt
	touch $@

bench: install-dev $(BIN)/.bench
	$(BIN)/python bench/run.py

# micrograd's moons demo whole (65,818 Values, 100 points) as one offline file, about 18 MB:
# dist/moons.html (docs/moons.ipynb is the same demo in a notebook).
moons-html: install $(BIN)/.dev
	CHAINRULE_MAX_SECONDS=600 $(BIN)/python bench/moons.py --points 100 --html dist/moons.html

# Load test on loopback, 1 then 2 workers; writes docs/load.md. Not part of `make test`.
load: install-dev
	$(BIN)/python bench/load.py --write docs/load.md

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist dist .pytest_cache .hypothesis
