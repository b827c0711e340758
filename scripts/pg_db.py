"""Create or drop a PostgreSQL database (used by .ci/run and bench): pg_db.py create|drop URL NAME."""

import sys

import psycopg

action, base, name = sys.argv[1], sys.argv[2], sys.argv[3]
with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if action == "create":
        conn.execute(f'CREATE DATABASE "{name}"')
