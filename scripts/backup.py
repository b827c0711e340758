"""Back up and restore civicgrid: database (pg_dump custom format), media archive, manifest.

    backup.py backup  [--out DIR]                     -> DIR/civicgrid-YYYYmmdd-HHMMSS/
    backup.py restore BACKUP_DIR --database-url URL [--media-root DIR] [--force]
    backup.py verify  BACKUP_DIR                      (checksums of the files in the manifest)
    backup.py fingerprint [--database-url URL] [--media-root DIR]   (JSON, for the drill)

A backup folder holds ``database.dump`` (pg_dump -Fc), ``media.tar.gz`` and ``manifest.json``:
SHA-256 of both files, and per table its row count and a content checksum (the sum of the rows' md5s), plus the media files' count and checksum. ``restore`` verifies the files
against the manifest first, refuses a non-empty target database without --force, restores with
pg_restore and unpacks the media, then compares the restored fingerprint with the manifest.
PostgreSQL only (SQLite: copy the file with `sqlite3 .backup`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pg_env(url: str) -> tuple[list[str], dict]:
    """libpq arguments for pg_dump/pg_restore (the password through the environment)."""
    u = urlsplit(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    args = [
        "-h",
        u.hostname or "127.0.0.1",
        "-p",
        str(u.port or 5432),
        "-U",
        u.username or "postgres",
    ]
    return args + ["-d", u.path.lstrip("/")], env


def _conninfo(url: str) -> str:
    return url.replace("postgresql://", "postgres://", 1)


def table_fingerprints(url: str) -> dict[str, dict]:
    """{table: {rows, checksum}} for every table in the public schema (partitions in their parent)."""
    with psycopg.connect(_conninfo(url)) as conn:
        return _fingerprints(conn)


def _fingerprints(conn) -> dict[str, dict]:
    out = {}
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " ORDER BY 1"
        )
    ]
    for t in tables:
        # Order-independent and constant memory: the sum of each row's md5 (60-bit prefix).
        rows, digest = conn.execute(
            "SELECT count(*), coalesce(sum(('x' || substr(md5(x::text), 1, 15))::bit(60)::bigint), 0)"
            f' FROM "{t}" x'
        ).fetchone()
        out[t] = {"rows": rows, "checksum": str(digest)}
    return out


def media_fingerprint(root: Path) -> dict:
    h = hashlib.sha256()
    n = 0
    if root.exists():
        for p in sorted(x for x in root.rglob("*") if x.is_file()):
            h.update(str(p.relative_to(root)).encode() + b"\0" + sha256(p).encode() + b"\n")
            n += 1
    return {"files": n, "sha256": h.hexdigest()}


def _settings_defaults() -> tuple[str, Path]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    from django.conf import settings

    return settings.DATABASE_URL, Path(settings.MEDIA_ROOT)


def backup(out: Path, url: str, media: Path) -> Path:
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("backup: PostgreSQL only (DATABASE_URL)")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    folder = out / f"civicgrid-{stamp}"
    folder.mkdir(parents=True)
    args, env = _pg_env(url)
    with psycopg.connect(_conninfo(url)) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        subprocess.run(
            [
                "pg_dump",
                *args,
                "-Fc",
                "--no-owner",
                f"--snapshot={snapshot}",
                "-f",
                str(folder / "database.dump"),
            ],
            check=True,
            env=env,
        )
        tables = _fingerprints(conn)  # in the dump's snapshot: both describe the same state
    with tarfile.open(folder / "media.tar.gz", "w:gz") as tar:
        if media.exists():
            tar.add(media, arcname="media")
    manifest = {
        "created_at": stamp,
        "files": {n: sha256(folder / n) for n in ("database.dump", "media.tar.gz")},
        "tables": tables,
        "media": media_fingerprint(media),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    print(folder)
    return folder


def verify(folder: Path) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        if sha256(folder / name) != digest:
            raise SystemExit(f"verify: {name} does not match its checksum in manifest.json")
    return manifest


def restore(folder: Path, url: str, media: Path, force: bool) -> None:
    manifest = verify(folder)
    with psycopg.connect(_conninfo(url)) as conn:
        n = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    if n and not force:
        raise SystemExit(f"restore: the target database has {n} tables; use --force to replace")
    args, env = _pg_env(url)
    subprocess.run(
        [
            "pg_restore",
            *args,
            "--no-owner",
            "--clean",
            "--if-exists",
            "--exit-on-error",
            str(folder / "database.dump"),
        ],
        check=True,
        env=env,
    )
    media.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "media.tar.gz") as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("media/") and m.isfile()]
        for m in members:
            m.name = m.name.removeprefix("media/")
        tar.extractall(media, members=members, filter="data")
    diff = compare(manifest, {"tables": table_fingerprints(url), "media": media_fingerprint(media)})
    if diff:
        raise SystemExit("restore: restored data differs from the manifest:\n" + "\n".join(diff))
    print(f"restored {len(manifest['tables'])} tables and {manifest['media']['files']} media files")


def compare(expected: dict, actual: dict) -> list[str]:
    diff = []
    for t, fp in expected["tables"].items():
        got = actual["tables"].get(t)
        if got != fp:
            diff.append(f"table {t}: expected {fp}, restored {got}")
    for t in set(actual["tables"]) - set(expected["tables"]):
        diff.append(f"table {t}: not in the backup")
    if expected["media"] != actual["media"]:
        diff.append(f"media: expected {expected['media']}, restored {actual['media']}")
    return diff


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("backup")
    b.add_argument("--out", type=Path, default=ROOT / "var" / "backups")
    r = sub.add_parser("restore")
    r.add_argument("folder", type=Path)
    r.add_argument("--database-url", required=True)
    r.add_argument("--media-root", type=Path)
    r.add_argument("--force", action="store_true")
    v = sub.add_parser("verify")
    v.add_argument("folder", type=Path)
    f = sub.add_parser("fingerprint")
    f.add_argument("--database-url")
    f.add_argument("--media-root", type=Path)
    a = p.parse_args(argv)
    if a.cmd == "verify":
        verify(a.folder)
        print("ok")
        return
    url, media = _settings_defaults()
    if a.cmd == "backup":
        backup(a.out, url, media)
    elif a.cmd == "restore":
        restore(a.folder, a.database_url, a.media_root or media, a.force)
    else:
        print(
            json.dumps(
                {
                    "tables": table_fingerprints(a.database_url or url),
                    "media": media_fingerprint(a.media_root or media),
                }
            )
        )


if __name__ == "__main__":
    main()
