#!/usr/bin/env bash
# make prod: the production stack from this checkout, in the foreground, on 127.0.0.1:$PROD_PORT.
# nginx (static files, X-Accel-Redirect media) -> gunicorn (2 x cores + 1 sync workers) -> Django
# with DEBUG off, plus $PROD_WORKERS task workers (manage.py worker), PostgreSQL from DATABASE_URL
# (default: local database "civicgrid", created if missing), migrations applied, demo city with
# DEMO=1. Ctrl-C (or any process dying) stops everything. Never runserver.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

PROD_HOST=${PROD_HOST:-127.0.0.1}
PROD_PORT=${PROD_PORT:-8080}
PROD_WORKERS=${PROD_WORKERS:-2}
RUN_DIR=${PROD_RUN_DIR:-var/prod}
export DEBUG=0
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/civicgrid}
export CACHE_URL=${CACHE_URL:-db://civicgrid_cache}
export LOG_FORMAT=${LOG_FORMAT:-json}
export FILES_ACCEL_REDIRECT_PREFIX=${FILES_ACCEL_REDIRECT_PREFIX:-/_protected/}
export CLIENT_IP_HEADER=${CLIENT_IP_HEADER:-HTTP_X_REAL_IP}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export CSRF_TRUSTED_ORIGINS=${CSRF_TRUSTED_ORIGINS:-http://127.0.0.1:$PROD_PORT,http://localhost:$PROD_PORT}
export GUNICORN_BIND=${GUNICORN_BIND:-127.0.0.1:$((PROD_PORT + 1))}
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
export PROMETHEUS_MULTIPROC_DIR=$RUN_DIR/metrics

say() { echo "[prod] $*" >&2; }

bash scripts/ensure-nginx.sh
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

say "database: ${DATABASE_URL%%\?*}"
$PY scripts/pg_db.py ensure "$DATABASE_URL"
$PY manage.py migrate --noinput -v0
if [[ $CACHE_URL == db://* ]]; then
  $PY manage.py createcachetable
fi
$PY manage.py check --fail-level ERROR
if [[ ${DEMO:-0} == 1 ]]; then
  say "demo city (only into an empty database)"
  $PY manage.py seed_demo --if-empty
fi

conf=$($PY scripts/render_deploy.py nginx --prefix "$RUN_DIR/nginx" \
  --listen "$PROD_HOST:$PROD_PORT" --upstream "$GUNICORN_BIND")
"$NGINX" -q -t -p "$RUN_DIR/nginx" -c "$conf"

pids=()
stop() {
  trap - INT TERM EXIT
  say "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

.venv/bin/gunicorn --config deploy/gunicorn.conf.py &
pids+=($!)
for i in $(seq 1 "$PROD_WORKERS"); do
  $PY manage.py worker --interval 1 --worker-id "$(hostname)-prod-$i" &
  pids+=($!)
done
"$NGINX" -p "$RUN_DIR/nginx" -c "$conf" -g "daemon off;" &
pids+=($!)

url="http://$PROD_HOST:$PROD_PORT"
for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; then break; fi
  sleep 0.5
done
say "readiness: $(curl -sS "$url/readyz" 2>&1 || true)"
say "civicgrid (production stack) on $url/  — Ctrl-C stops it"
# Any process ending (a crash, or Ctrl-C reaching the process group) stops the whole stack.
wait -n "${pids[@]}" || true
