"""Regenerate docs/screenshots/*.png: the console's main pages in headless Chromium.

By default the pages are taken from a fresh demo city in a temporary SQLite database (so the
pictures are the same on every machine and the configured database is not touched): the command
migrates and seeds it (``seed_demo``) in a child process, serves it with ``runserver --insecure``
on a free loopback port, signs in as the demo accounts and takes one PNG per page with
Playwright driving Debian's ``/usr/bin/chromium``. ``--current-db`` uses the configured database
instead (it must hold the demo city).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy

from civicgrid.core.conf import options
from civicgrid.core.management.base import TranslatedCommand

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Shot:
    name: str
    user: str
    path: str
    note: str  # what the picture shows (printed, and the alt text in docs/console.md)
    steps: list = field(default_factory=list)  # ("click", selector) / ("wait", selector) / …
    full_page: bool = False
    language: str = "zh-hans"


SHOTS = [
    Shot("login", "", "/login/", "Sign-in page"),
    Shot("workbench-operator", "operator", "/", "District operator's workbench: live queues"),
    Shot(
        "workbench-operator-overdue",
        "operator",
        "/?kind=operator&scope=all&queue=overdue",
        "The overdue queue, most urgent first",
    ),
    Shot("workbench-handler", "street_handler", "/", "A department handler's queues"),
    Shot("workbench-leader", "district_leader", "/", "A district leader's overview"),
    Shot("case-list", "operator", "/console/cases/?state=open&sort=deadline", "Case list"),
    Shot(
        "case-detail",
        "operator",
        "/console/cases/?state=handled&sort=deadline",
        "Case detail: map, photos, SLA clock, timeline and the actions allowed now",
        steps=[("follow", "a.code-link")],
        full_page=True,
    ),
    Shot(
        "case-accept",
        "operator",
        "/console/cases/?state=reported&sort=deadline",
        "Accepting a new report (duplicates are suggested here)",
        steps=[("follow", "a.code-link")],
    ),
    Shot(
        "case-handler",
        "street_handler",
        "/console/cases/?sort=updated",
        "A case as its department handler sees it",
        steps=[("follow", "a.code-link")],
    ),
    Shot(
        "intake",
        "operator",
        "/console/intake/",
        "Hotline intake: the grid is located as soon as the map is clicked",
        steps=[("intake", "")],
    ),
    Shot("map", "operator", "/console/map/", "Case map: clusters coloured by SLA", steps=[]),
    Shot("supervision", "operator", "/console/supervision/?status=open", "Supervision list"),
    Shot(
        "grid-detail",
        "operator",
        "/console/grids/",
        "A grid and its team",
        steps=[("follow", "table.data a[href*='/console/grids/']")],
    ),
    Shot("workers", "operator", "/console/workers/", "Worker directory (phones masked)"),
    Shot("workbench-worker", "worker", "/", "A grid worker's workbench"),
    Shot(
        "case-list-en",
        "operator",
        "/console/cases/?state=open",
        "The same console in English",
        language="en",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Regenerate the console screenshots in docs/screenshots (headless Chromium)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            default=str(Path(settings.BASE_DIR) / "docs" / "screenshots"),
            help=gettext_lazy("Directory the PNG files are written to."),
        )
        parser.add_argument(
            "--current-db",
            action="store_true",
            help=gettext_lazy("Photograph the configured database (it must hold the demo city)."),
        )
        parser.add_argument(
            "--grids",
            type=int,
            default=1500,
            help=gettext_lazy("Grids of the throw-away demo city (default %(default)s)."),
        )
        parser.add_argument(
            "--cases",
            type=int,
            default=3000,
            help=gettext_lazy("Cases of the throw-away demo city (default %(default)s)."),
        )
        parser.add_argument("--only", default="", help=gettext_lazy("Comma-separated shot names."))
        parser.add_argument(
            "--width",
            type=int,
            default=1440,
            help=gettext_lazy("Viewport width in pixels."),
        )
        parser.add_argument(
            "--height",
            type=int,
            default=900,
            help=gettext_lazy("Viewport height in pixels."),
        )

    def handle(self, *args, **opts):
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:  # pragma: no cover
            raise CommandError("Playwright is not installed: pip install -e '.[dev]'") from exc
        if not Path(CHROMIUM).exists():
            raise CommandError(f"{CHROMIUM} not found: run `make chromium`")
        out = Path(opts["output"])
        out.mkdir(parents=True, exist_ok=True)
        only = {x for x in opts["only"].split(",") if x}
        shots = [s for s in SHOTS if not only or s.name in only]
        with tempfile.TemporaryDirectory(prefix="civicgrid-shots-") as tmp:
            # DEBUG serves the static files straight from the finders (no collectstatic needed);
            # the server only listens on loopback for the length of the run.
            env = {**os.environ, "DEBUG": "1", "MEDIA_ROOT": str(Path(tmp) / "media")}
            env["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
            if not opts["current_db"]:
                env["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'demo.sqlite3'}"
                self._manage(env, "migrate", "--noinput", "-v0")
                self.stdout.write(
                    f"Seeding a demo city ({opts['grids']} grids, {opts['cases']} cases)…"
                )
                self._manage(
                    env, "seed_demo", "--grids", str(opts["grids"]), "--cases", str(opts["cases"])
                )
            port = free_port()
            server = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "runserver",
                    "--noreload",
                    "--insecure",
                    f"127.0.0.1:{port}",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                self._wait(base, server)
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                    try:
                        self._take(browser, base, shots, out, opts["width"], opts["height"])
                    finally:
                        browser.close()
            finally:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()

    def _manage(self, env, *argv) -> None:
        proc = subprocess.run(
            [sys.executable, "manage.py", *argv],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise CommandError(f"manage.py {' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")

    def _wait(self, base: str, server) -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            if server.poll() is not None:
                raise CommandError("the server stopped:\n" + server.stderr.read().decode())
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        raise CommandError("the server did not start within 60 s")

    def _take(self, browser, base, shots, out: Path, width: int, height: int) -> None:
        password = options().DEMO_PASSWORD
        contexts: dict[tuple[str, str], object] = {}
        failures = []
        for shot in shots:
            key = (shot.user, shot.language)
            if key not in contexts:
                ctx = browser.new_context(
                    viewport={"width": width, "height": height},
                    locale="zh-CN" if shot.language == "zh-hans" else "en-US",
                    device_scale_factor=1,
                )
                ctx.add_cookies([{"name": "django_language", "value": shot.language, "url": base}])
                if shot.user:
                    page = ctx.new_page()
                    response = page.goto(base + "/login/")
                    if response is None or response.status != 200:
                        raise CommandError(
                            f"login page answered {response and response.status}: "
                            f"{page.content()[:800]}"
                        )
                    page.fill("input[name=username]", shot.user)
                    page.fill("input[name=password]", password)
                    page.click("button[type=submit]")
                    page.wait_for_url(base + "/")
                    page.close()
                contexts[key] = ctx
            page = contexts[key].new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.on(
                "console",
                lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None,
            )
            try:
                page.goto(base + shot.path)
                page.wait_for_load_state("networkidle")
                for step, arg in shot.steps:
                    self._step(page, step, arg)
                page.wait_for_timeout(700)  # map tiles of vectors, fonts
                target = out / f"{shot.name}.png"
                page.screenshot(path=str(target), full_page=shot.full_page)
                status = "ok" if not errors else f"ok, with console errors: {errors}"
                self.stdout.write(f"  {target.name:32} {shot.note} ({status})")
                if errors:
                    failures.append(shot.name)
            except Exception as exc:  # keep going: one broken page should not hide the others
                failures.append(shot.name)
                self.stderr.write(f"  {shot.name}: {exc}")
            finally:
                page.close()
        for ctx in contexts.values():
            ctx.close()
        if failures:
            raise CommandError(f"screenshots with problems: {', '.join(failures)}")

    def _step(self, page, step: str, arg: str) -> None:
        if step == "follow":
            page.locator(arg).first.click()
            page.wait_for_load_state("networkidle")
        elif step == "open":
            item = page.locator(f"details[data-action={arg}]")
            if item.get_attribute("open") is None:
                item.locator("summary").click()
        elif step == "intake":
            page.fill("input[name=reporter_name]", "张女士")
            page.fill("input[name=reporter_phone]", "13903521234")
            options = page.locator("select[name=category] option[value]").all()
            page.select_option("select[name=category]", options[1].get_attribute("value"))
            page.fill(
                "textarea[name=description]", "小区南门人行道有商贩摆摊，影响老人和孩子通行。"
            )
            page.fill("input[name=address]", "北河苑社区南门")
            # Click the middle of the map: the grid there is located at once.
            box = page.locator("#intake-map").bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.locator("#locate-result .locate-card").wait_for()
            page.wait_for_load_state("networkidle")
        elif step == "wait":
            page.locator(arg).first.wait_for()
