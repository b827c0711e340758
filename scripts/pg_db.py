"""Create, drop or ensure a PostgreSQL database (used by .ci/run, bench and make prod).

pg_db.py create|drop BASE_URL NAME   (create drops an existing one first)
pg_db.py ensure DATABASE_URL         (creates the database of the URL only if it is missing)
"""

import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg

action = sys.argv[1]
if action == "ensure":
    url = urlsplit(sys.argv[2])
    if not url.scheme.startswith("postgres"):
        sys.exit(0)  # SQLite and others: nothing to create
    name = url.path.lstrip("/")
    admin = urlunsplit((url.scheme, url.netloc, "/postgres", url.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            print(f"database {name} exists")
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"database {name} created")
    sys.exit(0)

base, name = sys.argv[2], sys.argv[3]
with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if action == "create":
        conn.execute(f'CREATE DATABASE "{name}"')
