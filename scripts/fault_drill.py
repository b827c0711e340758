"""Fault drill: kill -9 gunicorn workers while 8 clients report, retrying with their client_id.

    DATABASE_URL=postgres://…/bench_prod_0 .venv/bin/python scripts/fault_drill.py [--reports 40]

Runs nginx + gunicorn (the make prod configuration) on private ports against DATABASE_URL, which
must hold the demo city (e.g. bench/prod.py's database). Each client sends its reports one by one;
a failed attempt (connection reset, 502 from nginx, timeout) is retried with the same client_id
until it succeeds. Meanwhile a web worker is killed with SIGKILL every second. Asserts: every
report succeeded in the end, and each client_id made exactly one case. Deletes the cases it made.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=40, help="reports per client")
    ap.add_argument("--kills", type=int, default=8)
    args = ap.parse_args()
    import django

    django.setup()
    from bench import cases as cb
    from civicgrid.cases.models import Case

    reporters = cb._reporters(8)
    first_new = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    tmp = Path(tempfile.mkdtemp(prefix="civicgrid-fault-"))
    port, up = cb._free_port(), cb._free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_BIND": f"127.0.0.1:{up}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
    }
    conf = subprocess.run(
        [
            sys.executable,
            "scripts/render_deploy.py",
            "nginx",
            "--prefix",
            str(tmp / "nginx"),
            "--listen",
            f"127.0.0.1:{port}",
            "--upstream",
            f"127.0.0.1:{up}",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--config", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    web = subprocess.Popen(
        [nginx, "-p", str(tmp / "nginx"), "-c", conf, "-g", "daemon off;"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    run_id = uuid.uuid4().hex[:8]
    stats = {"attempts": 0, "failed_attempts": 0, "done": 0, "gave_up": 0, "killed": 0}
    lock = threading.Lock()
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.25)

        def post(rep, client_id):
            body = json.dumps(
                {
                    "category": "0101",
                    "description": "故障演练：楼道堆放杂物",
                    "lat": rep["lat"],
                    "lng": rep["lng"],
                    "source": "grid_worker",
                    "client_id": client_id,
                }
            ).encode()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(
                    "POST",
                    "/api/cases/",
                    body=body,
                    headers={
                        "Authorization": f"Bearer {rep['token']}",
                        "Content-Type": "application/json",
                        "Host": "localhost",
                    },
                )
                resp = conn.getresponse()
                resp.read()
                return resp.status
            finally:
                conn.close()

        def client(i, rep):
            for n in range(args.reports):
                cid = f"fault-{run_id}-{i}-{n}"
                for _attempt in range(30):
                    with lock:
                        stats["attempts"] += 1
                    try:
                        status = post(rep, cid)
                    except OSError:
                        status = 0
                    if status in (200, 201):
                        with lock:
                            stats["done"] += 1
                        break
                    with lock:
                        stats["failed_attempts"] += 1
                    time.sleep(0.2)
                else:
                    with lock:
                        stats["gave_up"] += 1

        threads = [threading.Thread(target=client, args=(i, r)) for i, r in enumerate(reporters)]
        for t in threads:
            t.start()
        for _ in range(args.kills):
            time.sleep(1.0)
            pids = subprocess.run(
                ["pgrep", "-P", str(gunicorn.pid)], capture_output=True, text=True
            ).stdout.split()
            if pids:
                os.kill(int(random.choice(pids)), signal.SIGKILL)
                stats["killed"] += 1
        for t in threads:
            t.join()
    finally:
        web.terminate()
        gunicorn.terminate()
        web.wait(timeout=30)
        gunicorn.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    made = Case.objects.filter(pk__gte=first_new, client_id__startswith=f"fault-{run_id}-")
    per_id = {}
    for cid in made.values_list("client_id", flat=True):
        per_id[cid] = per_id.get(cid, 0) + 1
    expected = 8 * args.reports
    doubles = {k: v for k, v in per_id.items() if v > 1}
    result = {
        **stats,
        "expected": expected,
        "cases": made.count(),
        "distinct_client_ids": len(per_id),
        "doubles": len(doubles),
    }
    cb._delete_cases_from(first_new)
    print(json.dumps(result))
    ok = stats["gave_up"] == 0 and len(per_id) == expected and not doubles and stats["killed"] > 0
    print("[fault] ok" if ok else "[fault] FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
