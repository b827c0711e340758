#!/usr/bin/env bash
# A real streaming replica, private to this drill: initdb a primary and pg_basebackup a standby in
# a temporary folder on private ports (never the machine's PostgreSQL), migrate the primary and
# load the demo city, then scripts/replica_check.py proves the routing through the application's
# own request handling: lag-tolerant reads land on the replica, writes and the writer's next reads
# on the primary, a write on the replica is refused, and /readyz shows the lag.
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
export CIVICGRID_VAR_DIR="$work/var" DEBUG=0 LOG_LEVEL=WARNING ALLOWED_HOSTS=testserver,localhost
echo "[replica] migrating the primary and loading the demo city"
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo --if-empty -v0 >/dev/null
$PY scripts/replica_check.py
echo "[replica] ok"
