#!/usr/bin/env bash
# Backup drill: back up DATABASE_URL + MEDIA_ROOT, restore into a NEW database and a new media
# folder, prove per-table row counts and content checksums equal (and the media files), and that
# the restored site serves (gunicorn on a private port). Removes what it created.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
: "${DATABASE_URL:?set DATABASE_URL to the (PostgreSQL) database to drill}"
work=$(mktemp -d /tmp/civicgrid-drill-XXXXXX)
base=${DATABASE_URL%/*}
target_db="$(basename "${DATABASE_URL%%\?*}")_drill_$$"
target_url="$base/$target_db"
gpid=
cleanup() {
  [ -n "$gpid" ] && kill "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null || true
  $PY scripts/pg_db.py drop "$base" "$target_db" || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "[drill] backup of ${DATABASE_URL%%\?*}"
folder=$($PY scripts/backup.py backup --out "$work/backups")
$PY scripts/backup.py verify "$folder"

echo "[drill] restore into $target_db and $work/media"
$PY scripts/pg_db.py create "$base" "$target_db"
$PY scripts/backup.py restore "$folder" --database-url "$target_url" --media-root "$work/media"

echo "[drill] row counts and checksums of every table: source (now) = manifest = restored"
$PY - "$folder" "$target_url" "$work/media" <<'PY'
import json, subprocess, sys
folder, url, media = sys.argv[1:4]
manifest = json.load(open(f"{folder}/manifest.json"))
def fp(*args):
    out = subprocess.run([".venv/bin/python", "scripts/backup.py", "fingerprint", *args],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)
restored, source = fp("--database-url", url, "--media-root", media), fp()
for name, got in (("restored", restored), ("source", source)):
    bad = [t for t in manifest["tables"] if manifest["tables"][t] != got["tables"].get(t)]
    if bad or manifest["media"] != got["media"]:
        sys.exit(f"[drill] {name} differs from the backup (the source must be quiet during the drill): tables {bad[:10]} media "
                 f"{manifest['media']} vs {got['media']}")
rows = sum(t["rows"] for t in manifest["tables"].values())
print(f"[drill] equal: {len(manifest['tables'])} tables, {rows} rows, {manifest['media']['files']} media files")
PY

echo "[drill] the restored site serves"
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATABASE_URL="$target_url" MEDIA_ROOT="$work/media" DEBUG=0 CACHE_URL= WEB_CONCURRENCY=2 \
  GUNICORN_BIND="127.0.0.1:$port" PROMETHEUS_MULTIPROC_DIR="$work/metrics" LOG_LEVEL=WARNING \
  .venv/bin/gunicorn --config deploy/gunicorn.conf.py 2>"$work/gunicorn.log" &
gpid=$!
for _ in $(seq 1 120); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.5; done
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/login/")
ready=$(curl -sS "http://127.0.0.1:$port/readyz" || true)
echo "[drill] GET /login/ -> $code; /readyz -> $ready"
[ "$code" = 200 ] || { cat "$work/gunicorn.log"; exit 1; }
$PY -c 'import json,sys; c=json.loads(sys.argv[1])["checks"]; assert c["database"]["ok"] and c["migrations"]["ok"], c' "$ready"
echo "[drill] ok"
