#!/usr/bin/env bash
# A real streaming replica, private to this drill: initdb a primary and pg_basebackup a standby in
# a temporary folder on private ports (never the machine's PostgreSQL), migrate the primary, write
# on it, read the row on the replica (directly and through replica_reads()), check a write there is
# refused, and show the replica's lag in /readyz's check.
set -euo pipefail
cd "$(dirname "$0")/.."
PGBIN=${PGBIN:-$(dirname "$(readlink -f "$(command -v pg_ctl || echo /usr/lib/postgresql/15/bin/pg_ctl)")")}
PY=.venv/bin/python
port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(port); P2=$(port)
work=$(mktemp -d /tmp/civicgrid-replica-XXXXXX)
chmod 755 "$work"
# PostgreSQL refuses to run as root: the clusters belong to the postgres account when we are root.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" -eq 0 ]; then chown postgres "$work"; fi
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$work/replica" -m immediate stop >/dev/null 2>&1 || true
  as_pg "$PGBIN/pg_ctl" -D "$work/primary" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "[replica] primary on 127.0.0.1:$P1, replica on 127.0.0.1:$P2 in $work"
as_pg "$PGBIN/initdb" -D "$work/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >> "$work/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $P1
unix_socket_directories = '$work'
wal_level = replica
max_wal_senders = 4
fsync = off
CONF
echo "host replication postgres 127.0.0.1/32 trust" >> "$work/primary/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$work/primary" -l "$work/primary.log" -w start >/dev/null
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$P1" -U postgres civicgrid
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$P1" -U postgres -D "$work/replica" -R -X stream -c fast
sed -i "s/^port = $P1/port = $P2/" "$work/replica/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$work/replica" -l "$work/replica.log" -w start >/dev/null

export DATABASE_URL="postgres://postgres@127.0.0.1:$P1/civicgrid"
export DATABASE_REPLICA_URL="postgres://postgres@127.0.0.1:$P2/civicgrid"
export CIVICGRID_VAR_DIR="$work/var" DEBUG=0 LOG_LEVEL=WARNING
echo "[replica] migrating the primary"
$PY manage.py migrate --noinput -v0
$PY - <<'PY'
import json, os, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
django.setup()
from django.db import connections
from django.utils import timezone
from civicgrid.ops import health
from civicgrid.ops.models import WorkerHeartbeat

now = timezone.now()
WorkerHeartbeat.objects.using("default").create(
    worker_id="replica-drill", hostname="drill", pid=os.getpid(), started_at=now, seen_at=now
)
start = time.perf_counter()
while not WorkerHeartbeat.objects.using("replica").filter(worker_id="replica-drill").exists():
    if time.perf_counter() - start > 30:
        raise SystemExit("[replica] the row never reached the replica")
    time.sleep(0.05)
seen = time.perf_counter() - start
with connections["replica"].cursor() as cur:
    cur.execute("SELECT pg_is_in_recovery()")
    assert cur.fetchone()[0] is True, "the replica is not a standby"
try:
    WorkerHeartbeat.objects.using("replica").filter(worker_id="replica-drill").delete()
    raise SystemExit("[replica] a write on the replica succeeded")
except django.db.Error as exc:
    refused = type(exc).__name__
from civicgrid.ops.replica import replica_reads
with replica_reads():
    routed = WorkerHeartbeat.objects.filter(worker_id="replica-drill").db
    assert routed == "replica" and WorkerHeartbeat.objects.filter(worker_id="replica-drill").exists()
assert WorkerHeartbeat.objects.filter(worker_id="replica-drill").db == "default"
ok, checks = health.readiness()
print(json.dumps({"row_on_replica_after_s": round(seen, 3), "replica_reads_use": routed, "write_on_replica": f"refused ({refused})",
                  "readyz_replica": checks["replica"]}, ensure_ascii=False))
assert checks["replica"]["ok"] and checks["replica"]["configured"], checks["replica"]
PY
echo "[replica] ok"
