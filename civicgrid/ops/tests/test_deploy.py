"""The deployment files in deploy/ render, pass `nginx -t` and `systemd-analyze verify`, and the
nginx site really serves static files, protected media by X-Accel-Redirect and proxies the rest."""

from __future__ import annotations

import http.server
import importlib.util
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import override_settings

from civicgrid.core import conf

ROOT = Path(__file__).resolve().parents[3]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _render_module():
    spec = importlib.util.spec_from_file_location(
        "render_deploy", ROOT / "scripts/render_deploy.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream(http.server.BaseHTTPRequestHandler):
    """Stands in for gunicorn: /file answers with X-Accel-Redirect like the protected views."""

    seen: list[dict] = []

    def do_GET(self):
        Upstream.seen.append(dict(self.headers))
        self.send_response(200)
        if self.path == "/file":
            self.send_header("X-Accel-Redirect", "/_protected/photos/a.jpg")
            self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path):
    if not NGINX:
        pytest.skip("nginx is not installed (scripts/ensure-nginx.sh installs it)")
    media, static = tmp_path / "media", tmp_path / "static"
    (media / "photos").mkdir(parents=True)
    (media / "photos" / "a.jpg").write_bytes(b"\xff\xd8photo")
    (static / "css").mkdir(parents=True)
    (static / "css" / "app.0123456789ab.css").write_text("body{}")
    (static / "css" / "plain.css").write_text("p{}")
    up_port, port = _free_port(), _free_port()
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", up_port), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    with override_settings(
        MEDIA_ROOT=media, STATIC_ROOT=static, FILES_ACCEL_REDIRECT_PREFIX="/_protected/"
    ):
        confpath = _render_module().render_nginx(
            tmp_path / "nginx", f"127.0.0.1:{port}", f"127.0.0.1:{up_port}", "_"
        )
    check = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path / "nginx"), "-c", str(confpath)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [NGINX, "-p", str(tmp_path / "nginx"), "-c", str(confpath), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/static/css/plain.css", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    upstream.shutdown()


def _get(url):
    try:
        r = urllib.request.urlopen(url, timeout=5)
        return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_nginx_serves_protected_media_only_through_x_accel_redirect(site):
    status, headers, body = _get(site + "/file")
    assert status == 200 and body == b"\xff\xd8photo"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert _get(site + "/_protected/photos/a.jpg")[0] == 404  # internal: never by URL


def test_nginx_serves_static_files_hashed_ones_for_good(site):
    status, headers, body = _get(site + "/static/css/app.0123456789ab.css")
    assert status == 200 and body == b"body{}"
    assert "immutable" in headers["Cache-Control"]
    status, headers, _body = _get(site + "/static/css/plain.css")
    assert status == 200 and "immutable" not in headers.get("Cache-Control", "")


def test_nginx_passes_the_client_address_and_a_request_id(site):
    Upstream.seen.clear()
    assert _get(site + "/api/cases/")[0] == 200
    headers = Upstream.seen[-1]
    assert headers["X-Real-IP"] == "127.0.0.1"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])
    assert _get(site + "/metrics")[0] == 200  # allowed from this host


def test_systemd_units_render_and_verify(tmp_path):
    units = _render_module().render_systemd(
        tmp_path, user="root", env_file=str(ROOT / "deploy/civicgrid.env.example")
    )
    text = {u.name: u.read_text() for u in units}
    assert set(text) == {"civicgrid-web.service", "civicgrid-worker@.service", "civicgrid.target"}
    assert "@@" not in "".join(text.values())
    assert "gunicorn --config" in text["civicgrid-web.service"]
    assert "manage.py worker" in text["civicgrid-worker@.service"]
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not available")
    (tmp_path / "civicgrid-worker@1.service").write_text(text["civicgrid-worker@.service"])
    (tmp_path / "civicgrid-worker@2.service").write_text(text["civicgrid-worker@.service"])
    names = ["civicgrid-web.service", "civicgrid-worker@1.service", "civicgrid.target"]
    run = subprocess.run(
        ["systemd-analyze", "verify", *[str(tmp_path / n) for n in names]],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "Unknown key" not in run.stderr and "bad unit" not in run.stderr, run.stderr


def test_environment_template_lists_every_setting():
    template = (ROOT / "deploy/civicgrid.env.example").read_text()
    listed = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", template, re.M))
    base = (ROOT / "config/settings/base.py").read_text()
    read = set(re.findall(r"(?:environ\.get|env_bool|env_list)\(\s*\"([A-Z0-9_]+)\"", base))
    gunicorn = set(
        re.findall(
            r"environ\.get\(\"([A-Z0-9_]+)\"", (ROOT / "deploy/gunicorn.conf.py").read_text()
        )
    )
    missing = (read | gunicorn | set(conf.FIELDS)) - listed
    assert not missing, f"add to deploy/civicgrid.env.example: {sorted(missing)}"
