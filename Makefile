# civicgrid — `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
NPM_STAMP := node_modules/.installed
VENDOR_STAMP := var/vendor/.stamp
HOST ?= 127.0.0.1
PORT ?= 8000
BENCH_SCALE ?= full

PROD_PORT ?= 8080

BACKUP_DIR ?= var/backups

.PHONY: prod backup restore backup-drill replica-drill fault-drill fault-drill-web fault-drill-postgres fault-drill-disk fault-drill-worker load-drill run serve test test-browser bench lint fmt install assets migrate demo chromium screenshots clean

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

# The production stack from this checkout: nginx -> gunicorn -> Django (DEBUG off), two task
# workers, PostgreSQL from DATABASE_URL (default: local database civicgrid). DEMO=1 loads the demo
# city into an empty database. Ctrl-C stops everything. See docs/operations.md.
prod: assets
	PROD_PORT=$(PROD_PORT) bash scripts/prod.sh

# Database (pg_dump -Fc) + media archive + checksum manifest into $(BACKUP_DIR)/civicgrid-<time>/.
backup: install
	$(PY) scripts/backup.py backup --out $(BACKUP_DIR)

# make restore BACKUP=var/backups/civicgrid-... [TARGET_DATABASE_URL=...] [FORCE=1]
restore: install
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=<folder> [TARGET_DATABASE_URL=url] [FORCE=1]"; exit 2; }
	$(PY) scripts/backup.py restore $(BACKUP) --database-url "$${TARGET_DATABASE_URL:-$$DATABASE_URL}" $(if $(FORCE),--force)

# Backup, restore into a new database and folder, compare every table and the media, serve it.
backup-drill: install
	bash scripts/backup_drill.sh

# A private primary + streaming replica (initdb/pg_basebackup in a temp folder, private ports).
replica-drill: install
	bash scripts/replica_drill.sh

# Fault drills, each on a PostgreSQL cluster of its own (initdb on a private port, demo city) and
# the make prod stack on loopback; each exits non-zero when a report or task is lost or doubled.
# fault-drill-web: kill -9 web workers while 8 clients report and retry with their client_id.
# fault-drill-postgres: restart the drill's PostgreSQL twice under that load (no app restart).
# fault-drill-disk: the media disk full (a 2 MB tmpfs): 507 storage_full, no case without photo.
# fault-drill-worker: kill -9 a task worker mid-sweep and mid-export; the restart catches up.
fault-drill: install
	$(PY) scripts/fault_drill.py all

fault-drill-web fault-drill-postgres fault-drill-disk fault-drill-worker: install
	$(PY) scripts/fault_drill.py $(@:fault-drill-%=%)

# A city peak in miniature with locust (seat operators, grid workers every 30 s, citizens, a
# dashboard audience) against the make prod stack on loopback, at most 60 s / 4000 requests:
# p50/p95 and errors per endpoint; fails on any error.
load-drill: install
	$(PY) scripts/load_drill.py $(LOAD_ARGS)

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
