# civicgrid — `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
NPM_STAMP := node_modules/.installed
VENDOR_STAMP := var/vendor/.stamp
HOST ?= 127.0.0.1
PORT ?= 8000
BENCH_SCALE ?= full

.PHONY: run serve test test-browser bench lint fmt install assets migrate demo chromium screenshots clean

install: $(VENV_STAMP) $(NPM_STAMP)

$(VENV_STAMP): pyproject.toml
	test -x $(PY) || python3.11 -m venv .venv || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Only the files the pages load are copied out of node_modules (echarts alone ships 50 MB).
$(VENDOR_STAMP): $(NPM_STAMP)
	rm -rf var/vendor && mkdir -p var/vendor/{htmx,leaflet,markercluster,echarts}
	cp node_modules/htmx.org/dist/htmx.min.js var/vendor/htmx/
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.js.map node_modules/leaflet/dist/leaflet.css node_modules/leaflet/dist/images var/vendor/leaflet/
	cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js node_modules/leaflet.markercluster/dist/leaflet.markercluster.js.map node_modules/leaflet.markercluster/dist/MarkerCluster.css node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css var/vendor/markercluster/
	cp node_modules/echarts/dist/echarts.min.js var/vendor/echarts/
	touch $@

assets: install $(VENDOR_STAMP)
	$(PY) manage.py compile_translations
	$(PY) manage.py collectstatic --noinput -v0

migrate: install
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py createcachetable

demo: migrate
	$(PY) manage.py seed_demo --if-empty

# Serves the site and the background task worker together; Ctrl-C stops both. The worker runs
# the SLA sweep first, catching up every deadline missed while it was down, then django-tasks' db_worker.
run: assets demo
	@echo "civicgrid on http://$(HOST):$(PORT)/  (demo accounts: see README.md)"
	@trap 'kill 0' EXIT INT TERM; \
	DEBUG=$${DEBUG:-1} $(PY) manage.py worker --interval 1 & \
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver --noreload $(HOST):$(PORT)

chromium:
	@bash scripts/ensure-chromium.sh

test: install $(VENDOR_STAMP) chromium
	$(PY) manage.py compile_translations
	bash scripts/pytest.sh $(PYTEST_ARGS)

test-browser: install $(VENDOR_STAMP) chromium
	bash scripts/pytest.sh -m browser $(PYTEST_ARGS)

bench: install $(VENDOR_STAMP)
	BENCH_SCALE=$(BENCH_SCALE) $(PY) -m bench $(BENCH_ARGS)

screenshots: assets
	$(PY) manage.py screenshots

lint: install
	.venv/bin/ruff check civicgrid config bench
	.venv/bin/ruff format --check civicgrid config bench

fmt: install
	.venv/bin/ruff check --fix civicgrid config bench
	.venv/bin/ruff format civicgrid config bench

clean:
	rm -rf var/static var/vendor .venv node_modules
