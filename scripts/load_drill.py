"""Load drill: a city peak in miniature with locust, on loopback, bounded, stopping by itself.

    .venv/bin/python scripts/load_drill.py [--seconds 60] [--max-requests 4000]

Builds a PostgreSQL cluster of its own (initdb on a private port, demo city loaded; never the
machine's PostgreSQL), starts the `make prod` stack (nginx -> gunicorn + two task workers,
bench/_stack.py) and runs locust in this process against it:

- seat operators (signed in): poll the console case list and the API case list, open cases;
- grid workers (API tokens): one patrol each, a batch of 30 GPS points every 30 s, sometimes a
  report (own client_id);
- citizens: reports through the public API (multipart, with a photo);
- a dashboard audience (signed-in leaders): the dashboard page, then its API every 10 s.

It stops after ``--seconds`` or ``--max-requests`` requests, whichever comes first, prints p50 /
p95 / errors per endpoint and one JSON summary line, and exits non-zero when any request failed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import sys
import time
import uuid
from pathlib import Path

# locust patches the standard library for gevent: it must come before anything opens a socket.
import gevent  # noqa: I001
import gevent.lock
from locust import HttpUser, between, constant_pacing, events, task
from locust.env import Environment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench._stack import PrivateCluster, Stack  # noqa: E402

PASSWORD = "Civic@2026"  # the demo accounts' (DEMO_PASSWORD default)
OPERATORS = ["operator", "city_operator", "street_operator", "county_operator"]
LEADERS = ["leader", "district_leader"]
QUEUE_P95_TARGET_MS = 100
DATA: dict = {}


def say(msg: str) -> None:
    print(f"[load] {msg}", file=sys.stderr, flush=True)


_SESSIONS: dict[str, dict] = {}
_SIGN_IN = gevent.lock.Semaphore()


def _login(client, username: str) -> None:
    """Sign in once per account (a password hash costs a core for a good part of a second);
    further users of that account share its session, like several tabs of one operator."""
    with _SIGN_IN:
        if username not in _SESSIONS:
            _sign_in(client, username)
            _SESSIONS[username] = dict(client.cookies)
    for k, v in _SESSIONS[username].items():
        client.cookies.set(k, v)


def _sign_in(client, username: str) -> None:
    client.get("/login/", name="GET /login/")
    token = client.cookies.get("csrftoken", "")
    with client.post(
        "/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{client.base_url}/login/"},
        name="POST /login/",
        allow_redirects=False,
        catch_response=True,
    ) as resp:
        if resp.status_code != 302:
            resp.failure(f"sign-in of {username} refused: {resp.status_code}")


class SeatOperator(HttpUser):
    weight = 8
    wait_time = between(2, 5)

    def on_start(self):
        _login(self.client, random.choice(OPERATORS))
        self.case_ids: list[int] = []

    @task(3)
    def console_case_list(self):
        self.client.get("/console/cases/", name="GET /console/cases/")

    @task(3)
    def api_queue(self):
        with self.client.get(
            "/api/cases/?limit=20", name="GET /api/cases/ (queue)", catch_response=True
        ) as resp:
            if resp.status_code == 200:
                items = resp.json().get("items", [])
                self.case_ids = [c["id"] for c in items if "id" in c] or self.case_ids

    @task(2)
    def open_case(self):
        if not self.case_ids:
            return self.api_queue()
        pk = random.choice(self.case_ids)
        self.client.get(f"/console/cases/{pk}/", name="GET /console/cases/<id>/")
        self.client.get(f"/api/cases/{pk}", name="GET /api/cases/<id>")


class GridWorker(HttpUser):
    weight = 30
    wait_time = constant_pacing(30)

    def on_start(self):
        rep = DATA["reporters"].pop()
        self.auth = {"Authorization": f"Bearer {rep['token']}"}
        self.lat, self.lng = rep["lat"], rep["lng"]
        self.patrol = str(uuid.uuid4())
        gevent.sleep(random.uniform(0, 30))  # phones do not start in step
        self.client.post(
            "/api/field/patrols",
            json={"uuid": self.patrol},
            headers=self.auth,
            name="POST /api/field/patrols",
        )
        self.t = int(time.time() * 1000) - 30_000

    @task
    def track_batch(self):
        points = []
        for _ in range(30):  # one point a second, walking
            self.t += 1000
            self.lat += random.uniform(-1, 1) * 1e-5
            self.lng += random.uniform(-1, 1) * 1e-5
            points.append({"t": self.t, "lat": self.lat, "lng": self.lng, "acc": 8})
        self.client.post(
            f"/api/field/patrols/{self.patrol}/points",
            json={"points": points},
            headers=self.auth,
            name="POST /api/field/patrols/<uuid>/points",
        )
        if random.random() < 0.3:
            self.client.post(
                "/api/cases/",
                json={
                    "category": "0101",
                    "description": "负载演练：路灯不亮",
                    "lat": self.lat,
                    "lng": self.lng,
                    "source": "grid_worker",
                    "client_id": str(uuid.uuid4()),
                },
                headers=self.auth,
                name="POST /api/cases/ (grid worker)",
            )


class Citizen(HttpUser):
    weight = 4
    wait_time = between(5, 15)

    @task
    def report(self):
        rep = random.choice(DATA["places"])
        self.client.post(
            "/api/public/reports",
            data={
                "client_id": str(uuid.uuid4()),
                "category": "0101",
                "description": "负载演练：小区门口垃圾未清运",
                "lat": rep["lat"],
                "lng": rep["lng"],
                "phone": f"139{random.randint(10_000_000, 99_999_999)}",
            },
            files={"photos": ("p.jpg", DATA["photo"], "image/jpeg")},
            name="POST /api/public/reports",
        )


class DashboardViewer(HttpUser):
    weight = 4
    wait_time = constant_pacing(10)  # the dashboard refreshes itself

    def on_start(self):
        _login(self.client, random.choice(LEADERS))
        self.client.get("/analytics/", name="GET /analytics/ (dashboard)")

    @task
    def refresh(self):
        self.client.get(
            "/api/analytics/dashboard?period=month", name="GET /api/analytics/dashboard"
        )
        self.client.get("/api/analytics/map?period=month", name="GET /api/analytics/map")


def _photo() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((320, 240), 48).convert("RGB").save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _idle_baseline(url: str, rounds: int = 12) -> float | None:
    """p95 of the case list and the queue for one signed-in operator on the idle stack, before the
    mix starts: the same pages, the same data, no concurrent load (the bench's baseline). Its
    requests report to events of their own (not the mix's statistics); the session is kept for
    the simulated operators of that account. Warm-up rounds first: three per gunicorn worker, as
    any worker may take a request and each one's first requests load templates and translations
    (with two rounds only, the baseline's p95 was a cold worker's first page)."""
    from locust.clients import HttpSession
    from locust.event import Events

    from bench._util import percentile

    client = HttpSession(base_url=url, request_event=Events().request, user=None)
    _login(client, OPERATORS[0])
    warm = 3 * (int(os.environ.get("WEB_CONCURRENCY", "0")) or 2 * (os.cpu_count() or 1) + 1)
    times = []
    for i in range(rounds + warm):
        for path in ("/console/cases/", "/api/cases/?limit=20"):
            t = time.perf_counter()
            ok = client.get(path, allow_redirects=False).status_code == 200  # not the login page
            if i >= warm and ok:
                times.append((time.perf_counter() - t) * 1000)
    return round(percentile(times, 95), 1) if times else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=45)
    ap.add_argument("--max-requests", type=int, default=4000)
    ap.add_argument("--users", type=int, default=46, help="8 operators : 30 workers : 4 : 4")
    args = ap.parse_args()
    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    with PrivateCluster() as cluster:
        say(f"private PostgreSQL on 127.0.0.1:{cluster.port}: migrating, loading the demo city")
        cluster.prepare(demo=True)
        os.environ["DATABASE_URL"] = cluster.url
        import django

        django.setup()
        from django.db import connection

        from bench import cases as cb

        n_workers = args.users * GridWorker.weight // 46 + 1
        DATA["reporters"] = cb._reporters(n_workers)
        DATA["places"] = list(DATA["reporters"])
        DATA["photo"] = _photo()
        connection.close()
        env_vars = {
            "MEDIA_ROOT": str(cluster.dir / "media"),
            # Every simulated citizen comes from 127.0.0.1: the per-IP limit would refuse them.
            "PUBLIC_IP_LIMITS": "[[600, 100000]]",
            "PUBLIC_PHONE_LIMITS": "[[600, 100000]]",
            # Plain HTTP on loopback: cookies without the Secure flag, or no sign-in sticks.
            "SECURE_COOKIES": "0",
        }
        with Stack(env_vars, workers=2) as stack:
            idle_p95 = _idle_baseline(stack.url)
            env = Environment(
                user_classes=[SeatOperator, GridWorker, Citizen, DashboardViewer],
                host=stack.url,
                events=events,
            )
            runner = env.create_local_runner()

            def bound(**_kw):
                if env.stats.total.num_requests >= args.max_requests:
                    runner.quit()

            events.request.add_listener(bound)
            say(
                f"{args.users} users for {args.seconds:.0f} s (at most {args.max_requests} requests)"
            )
            runner.start(args.users, spawn_rate=args.users)
            gevent.spawn_later(args.seconds, runner.quit)
            runner.greenlet.join()
    rows = []
    for (name, method), e in sorted(env.stats.entries.items()):
        rows.append(
            {
                "endpoint": name if name.startswith(method) else f"{method} {name}",
                "requests": e.num_requests,
                "errors": e.num_failures,
                "p50_ms": e.get_response_time_percentile(0.5),
                "p95_ms": e.get_response_time_percentile(0.95),
            }
        )
    total = env.stats.total
    print(f"{'endpoint':48} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7}")
    for r in rows:
        print(
            f"{r['endpoint'][:48]:48} {r['requests']:>8} {r['errors']:>6} "
            f"{r['p50_ms']:>7.0f} {r['p95_ms']:>7.0f}"
        )
    errors = {
        f"{v.method} {v.name}: {v.error}"[:200]: v.occurrences for v in env.stats.errors.values()
    }
    queue_p95 = max(
        (
            r["p95_ms"]
            for r in rows
            if re.search(r"cases/ \(queue\)|console/cases/$", r["endpoint"])
        ),
        default=None,
    )
    summary = {
        "requests": total.num_requests,
        "errors": total.num_failures,
        "rps": round(total.total_rps, 1),
        "p50_ms": total.get_response_time_percentile(0.5),
        "p95_ms": total.get_response_time_percentile(0.95),
        "case_list_and_queue_p95_ms": queue_p95,
        "queue_p95_target_ms": QUEUE_P95_TARGET_MS,
        "idle_case_list_and_queue_p95_ms": idle_p95,
        "users": args.users,
        "seconds": round(time.perf_counter() - started, 1),
        "loadavg_before": load_before,
        "loadavg_after": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
        "error_kinds": errors,
    }
    print(json.dumps(summary, ensure_ascii=False))
    ok = total.num_requests > 0 and total.num_failures == 0
    say("ok" if ok else "FAILED: requests failed")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
