"""Fault drills: each breaks something under load and asserts that nothing is lost or doubled.

    .venv/bin/python scripts/fault_drill.py web|postgres|disk|worker|all [--reports N]

Every drill runs against a PostgreSQL cluster of its own (initdb in a temporary folder on a
private port, migrated, demo city loaded; never the machine's PostgreSQL) and the `make prod`
stack (nginx -> gunicorn, deploy/gunicorn.conf.py) on free loopback ports (bench/_stack.py):

- web: 8 grid-worker clients report one by one, retrying a failed attempt with the same
  client_id, while a gunicorn worker is killed with SIGKILL every second.
- postgres: the same clients while the drill's cluster is restarted twice (fast, then
  immediate = a crash). The web and task workers are not restarted: they must recover alone.
- disk: MEDIA_ROOT on a 2 MB tmpfs filled to the last byte (a storage that fails with ENOSPC
  when the drill cannot mount): citizen reports with a photo and photo uploads answer 507
  storage_full and leave no case; once there is room the same client_ids report once each, every
  case with its photo on disk.
- worker: a task worker killed with SIGKILL in the middle of the SLA sweep and in the middle of an
  export: the restarted worker supervises every overdue case exactly once and writes the export
  completely; while it was half-written the download answered 404.

Each prints one JSON line of figures and exits non-zero when something was lost or doubled.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench._stack import PrivateCluster, Stack, kill9, report_until_done  # noqa: E402


def say(msg: str) -> None:
    print(f"[fault] {msg}", file=sys.stderr, flush=True)


def _cases_by_client(prefix: str) -> dict[str, int]:
    from django.db import connection

    from civicgrid.cases.models import Case

    connection.close()  # the drill's own connection may have died with the cluster
    per_id: dict[str, int] = {}
    for cid in Case.objects.filter(client_id__startswith=prefix).values_list(
        "client_id", flat=True
    ):
        per_id[cid] = per_id.get(cid, 0) + 1
    return per_id


def _clients(port: int, reporters, prefix: str, reports: int, stats: dict, stop=None) -> list:
    """One thread per reporter sending ``reports`` reports (or until ``stop`` is set)."""
    lock = threading.Lock()

    def client(i, rep):
        for n in range(reports):
            if stop is not None and stop.is_set():
                return
            with lock:
                stats["sent"] = stats.get("sent", 0) + 1
            ok, failed = report_until_done(port, rep, f"{prefix}{i}-{n}", attempts=120)
            with lock:
                stats["failed_attempts"] += failed
                stats["done" if ok else "gave_up"] += 1

    threads = [threading.Thread(target=client, args=(i, r)) for i, r in enumerate(reporters)]
    for t in threads:
        t.start()
    return threads


def _verdict(name: str, result: dict, ok: bool) -> bool:
    print(json.dumps({"drill": name, **result}, ensure_ascii=False), flush=True)
    say(f"{name}: ok" if ok else f"{name}: FAILED")
    return ok


def _once(prefix: str, expected: int) -> dict:
    per_id = _cases_by_client(prefix)
    return {
        "expected": expected,
        "cases": sum(per_id.values()),
        "distinct_client_ids": len(per_id),
        "doubles": sum(1 for v in per_id.values() if v > 1),
    }


# --- kill -9 web workers ------------------------------------------------------------------------


def drill_web(args) -> bool:
    from bench import cases as cb

    reporters = cb._reporters(8)
    prefix = f"fault-web-{uuid.uuid4().hex[:6]}-"
    stats = {"failed_attempts": 0, "done": 0, "gave_up": 0, "killed": 0}
    with Stack() as stack:
        threads = _clients(stack.port, reporters, prefix, args.reports, stats)
        while any(t.is_alive() for t in threads) and stats["killed"] < args.kills:
            time.sleep(1.0)
            pids = stack.web_workers()
            if pids:
                kill9(random.choice(pids))
                stats["killed"] += 1
        for t in threads:
            t.join()
    r = {**stats, **_once(prefix, 8 * args.reports)}
    ok = (
        stats["gave_up"] == 0
        and r["distinct_client_ids"] == r["expected"] == r["cases"]
        and not r["doubles"]
        and stats["killed"] > 0
    )
    return _verdict("web", r, ok)


# --- restart PostgreSQL under load --------------------------------------------------------------


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def drill_postgres(args, cluster: PrivateCluster) -> bool:
    from bench import cases as cb

    reporters = cb._reporters(8)
    prefix = f"fault-pg-{uuid.uuid4().hex[:6]}-"
    stats = {"failed_attempts": 0, "done": 0, "gave_up": 0, "restarts": 0}
    stop = threading.Event()
    with Stack(workers=1) as stack:
        ready = _wait(lambda: _get(f"{stack.url}/readyz")[0] == 200, 60, 0.5)
        if not ready:
            say("the stack never became ready: " + json.dumps(_get(f"{stack.url}/readyz")[1]))
        web_before, task_before = set(stack.web_workers()), stack.task_workers[0].pid
        # Reports go on for the whole drill: 2 s of load, a restart, 3 s, a crash, 3 s.
        threads = _clients(stack.port, reporters, prefix, 100_000, stats, stop)
        downtime = []
        for mode in ("fast", "immediate"):
            time.sleep(2.0 if mode == "fast" else 3.0)
            t0 = time.perf_counter()
            cluster.restart(mode)
            downtime.append(round(time.perf_counter() - t0, 2))
            stats["restarts"] += 1
            say(f"PostgreSQL restarted ({mode}) in {downtime[-1]} s under load")
        time.sleep(3.0)
        stop.set()
        for t in threads:
            t.join()
        time.sleep(2.0)  # a task worker retrying waits 1-2 s before it goes on
        # The stack recovered by itself: same processes, ready, and a fresh worker heartbeat.
        ready, body = 0, {}
        for _ in range(60):
            ready, body = _get(f"{stack.url}/readyz")
            if ready == 200:
                break
            time.sleep(0.5)
        same_web = set(stack.web_workers()) == web_before
        task_alive = (
            stack.task_workers[0].poll() is None and stack.task_workers[0].pid == task_before
        )
        worker_log = stack.log_tail(f"worker-stack-{stack.port}-1", 100_000)
        stats["task_worker_waits"] = worker_log.count("database unavailable")
        stats["task_worker_heartbeat_misses"] = worker_log.count("heartbeat failed")
        if not task_alive:
            say("the task worker ended:\n" + stack.log_tail(f"worker-stack-{stack.port}-1"))
    r = {
        **stats,
        "restart_seconds": downtime,
        **_once(prefix, stats["done"]),
        "readyz_after": ready,
        "web_workers_unchanged": same_web,
        "task_worker_survived": task_alive,
    }
    if ready != 200:
        r["readyz_body"] = body
    ok = (
        stats["gave_up"] == 0
        and stats["restarts"] == 2
        and r["distinct_client_ids"] == r["expected"] == r["cases"]
        and not r["doubles"]
        and ready == 200
        and same_web
        and task_alive
    )
    return _verdict("postgres", r, ok)


# --- the media disk full ------------------------------------------------------------------------


def _photo() -> bytes:
    from PIL import Image

    img = Image.effect_noise((640, 480), 64).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode())
        out.write(f"{v}\r\n".encode())
    for k, (name, data, ctype) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n".encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def _post(url: str, body: bytes, ctype: str, headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(
        url, data=body, headers={"Content-Type": ctype, "Host": "localhost", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"{}")
        except ValueError:
            return exc.code, {"raw": raw[:200].decode(errors="replace")}


def _fill(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` to the last byte (unbuffered writes, smaller and smaller)."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def drill_disk(args) -> bool:
    from django.db import connection

    from bench import cases as cb
    from civicgrid.cases.models import Attachment, Case

    reporters = cb._reporters(1)
    work = Path(f"/tmp/civicgrid-disk-{uuid.uuid4().hex[:6]}")
    media = work / "media"
    media.mkdir(parents=True)
    mounted = os.environ.get("FAULT_DRILL_NO_MOUNT") != "1" and (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(media)], capture_output=True
        ).returncode
        == 0
    )
    env = {
        "MEDIA_ROOT": str(media),
        "PUBLIC_IP_LIMITS": "[[600, 100000]]",
        "PUBLIC_PHONE_LIMITS": "[[600, 100000]]",
    }
    if not mounted:  # no mount permission: a storage that refuses with ENOSPC while flagged
        env["MEDIA_STORAGE"] = "bench._stack.FullDiskStorage"
    say(f"media on {'a 2 MB tmpfs' if mounted else 'a failing storage'} at {media}")
    photo = _photo()
    prefix = f"fault-disk-{uuid.uuid4().hex[:6]}-"
    n = args.reports
    result = {"filesystem": "tmpfs 2 MB" if mounted else "FullDiskStorage", "reports": n}
    try:
        with Stack(env) as stack:
            filler = _fill(media) if mounted else (media / ".full")
            filler.touch()
            before_att = Attachment.objects.count()
            full = []
            for i in range(n):
                body, ctype = _multipart(
                    {
                        "client_id": f"{prefix}{i}",
                        "category": "0101",
                        "description": "故障演练：井盖缺失，附照片",
                        "lat": reporters[0]["lat"],
                        "lng": reporters[0]["lng"],
                        "phone": "13800000000",
                    },
                    {"photos": ("p.jpg", photo, "image/jpeg")},
                )
                full.append(_post(f"{stack.url}/api/public/reports", body, ctype))
            up_body, up_ctype = _multipart({}, {"file": ("p.jpg", photo, "image/jpeg")})
            auth = {"Authorization": f"Bearer {reporters[0]['token']}"}
            upload = _post(f"{stack.url}/api/cases/attachments", up_body, up_ctype, auth)
            connection.close()
            result["while_full"] = sorted({s for s, _b in full})
            result["codes_while_full"] = sorted({b.get("code", "?") for _s, b in full})
            result["upload_while_full"] = [upload[0], upload[1].get("code")]
            result["cases_while_full"] = Case.objects.filter(client_id__startswith=prefix).count()
            result["attachments_while_full"] = Attachment.objects.count() - before_att
            result["message"] = full[0][1].get("message", "")
            filler.unlink()
            after = []
            for i in range(n):
                body, ctype = _multipart(
                    {
                        "client_id": f"{prefix}{i}",
                        "category": "0101",
                        "description": "故障演练：井盖缺失，附照片",
                        "lat": reporters[0]["lat"],
                        "lng": reporters[0]["lng"],
                        "phone": "13800000000",
                    },
                    {"photos": ("p.jpg", photo, "image/jpeg")},
                )
                after.append(_post(f"{stack.url}/api/public/reports", body, ctype)[0])
            result["after_room"] = sorted(set(after))
        connection.close()
        cases = list(Case.objects.filter(client_id__startswith=prefix))
        without_photo, missing_files = 0, 0
        for case in cases:
            atts = list(Attachment.objects.filter(case=case))
            if not atts:
                without_photo += 1
            for att in atts:
                path = media / att.file.name
                if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != att.sha256:
                    missing_files += 1
        per_id = _cases_by_client(prefix)
        result.update(
            cases=len(cases),
            distinct_client_ids=len(per_id),
            doubles=sum(1 for v in per_id.values() if v > 1),
            cases_without_photo=without_photo,
            photos_missing_on_disk=missing_files,
        )
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(media)], check=False)
        subprocess.run(["rm", "-rf", str(work)], check=False)
    ok = (
        result["while_full"] == [507]
        and result["codes_while_full"] == ["storage_full"]
        and result["upload_while_full"] == [507, "storage_full"]
        and result["cases_while_full"] == 0
        and result["attachments_while_full"] == 0
        and result["after_room"] == [201]
        and result["cases"] == result["distinct_client_ids"] == n
        and not result["doubles"]
        and result["cases_without_photo"] == 0
        and result["photos_missing_on_disk"] == 0
    )
    return _verdict("disk", result, ok)


# --- kill -9 a task worker mid-sweep and mid-export ---------------------------------------------


def _overdue_cases(n: int) -> list[int]:
    """Move the deadlines of ``n`` open, on-time cases into the past (as if the workers had been
    down); the sweep must supervise each once."""
    from django.db import connection

    from civicgrid.cases.models import OPEN_STATES, Case, SlaState

    ids = list(
        Case.objects.filter(
            state__in=OPEN_STATES,
            sla_state__in=[SlaState.NORMAL, SlaState.WARNING],
            sla_due_at__isnull=False,
        )
        .order_by("id")
        .values_list("id", flat=True)[:n]
    )
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE cases_case SET sla_due_at = now() - interval '1 hour', "
            "sla_warn_at = now() - interval '2 hours' WHERE id = ANY(%s)",
            [ids],
        )
    return ids


def _supervisions(ids: list[int], since) -> dict[int, int]:
    from django.db.models import Count

    from civicgrid.cases.models import CaseAction

    rows = (
        CaseAction.objects.filter(
            case_id__in=ids, action="supervise", actor__isnull=True, created_at__gte=since
        )
        .values("case_id")
        .annotate(n=Count("id"))
    )
    return {r["case_id"]: r["n"] for r in rows}


def _wait(pred, timeout: float, step: float = 0.01):
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def drill_worker(args) -> bool:
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from civicgrid.analytics.models import Export, ExportState
    from civicgrid.analytics.services import export_request
    from civicgrid.people.models import User

    result: dict = {}
    since = timezone.now()
    ids = _overdue_cases(args.overdue)
    result["overdue_cases"] = len(ids)
    with Stack() as stack:  # no workers yet: the drill starts and kills them
        # Mid-sweep: kill as soon as some, not all, of the overdue cases were supervised.
        w = stack.start_worker("drill-sweep")
        seen = _wait(lambda: 0 < len(_supervisions(ids, since)) < len(ids), 120, 0.005)
        kill9(w.pid)
        w.wait()
        result["supervised_when_killed"] = len(_supervisions(ids, since))
        result["killed_mid_sweep"] = bool(seen) and result["supervised_when_killed"] < len(ids)
        w2 = stack.start_worker("drill-sweep")  # the restart (same worker id, as systemd does)
        _wait(lambda: len(_supervisions(ids, since)) >= len(ids), 180, 0.2)
        sup = _supervisions(ids, since)
        result["supervised_after_restart"] = len(sup)
        result["supervised_twice"] = sum(1 for v in sup.values() if v > 1)

        # Mid-export: queue a big export, kill the worker while it is writing.
        leader = User.objects.get(username="leader")
        client = Client(HTTP_HOST="localhost")
        client.force_login(leader)
        caught = None
        for attempt in range(5):
            export = export_request(
                kind="cases",
                fmt="xlsx",
                params={
                    "period": "custom",
                    "start": str(timezone.localdate() - timezone.timedelta(days=1000)),
                    "end": str(timezone.localdate()),
                },
                actor=leader,
            )
            running = _wait(
                # Running and past its query: the rows are being written.
                lambda e=export: Export.objects.filter(
                    pk=e.pk, state=ExportState.RUNNING, total__gt=0
                ).exists(),
                60,
                0.005,
            )
            kill9(w2.pid)
            w2.wait()
            export.refresh_from_db()
            if running and export.state == ExportState.RUNNING:
                caught = export
                result["export_attempts"] = attempt + 1
                result["export_rows_when_killed"] = f"{export.done}/{export.total}"
                break
            w2 = stack.start_worker("drill-sweep")
        if caught is None:
            result["killed_mid_export"] = False
        else:
            result["killed_mid_export"] = True
            url = f"/analytics/exports/{caught.pk}/download/"
            result["download_while_half_written"] = client.get(url).status_code
            w3 = stack.start_worker("drill-sweep")
            _wait(
                lambda: Export.objects.filter(
                    pk=caught.pk, state__in=[ExportState.DONE, ExportState.FAILED]
                ).exists(),
                180,
                0.2,
            )
            caught.refresh_from_db()
            result["export_state_after_restart"] = caught.state
            resp = client.get(url)
            result["download_after_restart"] = resp.status_code
            rows = -1
            if resp.status_code == 200:
                from openpyxl import load_workbook

                data = b"".join(resp.streaming_content) if resp.streaming else resp.content
                if not data and resp.get("X-Accel-Redirect"):
                    data = (Path(os.environ["MEDIA_ROOT"]) / caught.file.name).read_bytes()
                wb = load_workbook(io.BytesIO(data), read_only=True)
                rows = sum(1 for _ in wb.active.iter_rows()) - 1
            result["export_rows_in_file"] = rows
            result["export_total"] = caught.total
            kill9(w3.pid)
    connection.close()
    ok = (
        result["killed_mid_sweep"]
        and result["supervised_after_restart"] == len(ids)
        and result["supervised_twice"] == 0
        and result.get("killed_mid_export")
        and result.get("download_while_half_written") == 404
        and result.get("export_state_after_restart") == ExportState.DONE
        and result.get("export_rows_in_file") == result.get("export_total") > 0
    )
    return _verdict("worker", result, bool(ok))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("drill", choices=["web", "postgres", "disk", "worker", "all"])
    ap.add_argument("--reports", type=int, default=15, help="reports per client")
    ap.add_argument("--kills", type=int, default=8, help="web drill: workers to kill")
    ap.add_argument("--overdue", type=int, default=400, help="worker drill: overdue cases")
    args = ap.parse_args()
    drills = ["web", "postgres", "disk", "worker"] if args.drill == "all" else [args.drill]
    with PrivateCluster() as cluster:
        say(f"private PostgreSQL on 127.0.0.1:{cluster.port}: migrating, loading the demo city")
        cluster.prepare(demo=True)
        os.environ["DATABASE_URL"] = cluster.url
        os.environ.setdefault("MEDIA_ROOT", str(cluster.dir / "media"))
        os.environ.setdefault("CACHE_URL", "db://civicgrid_cache")
        import django

        django.setup()
        results = {}
        for name in drills:
            say(f"drill: {name}")
            if name == "postgres":
                results[name] = drill_postgres(args, cluster)
            else:
                results[name] = globals()[f"drill_{name}"](args)
            from django.db import connections

            connections.close_all()
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
