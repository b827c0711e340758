"""The pieces the production benches and drills share: the `make prod` stack (nginx -> gunicorn,
optionally task workers) on free loopback ports, a private PostgreSQL cluster (initdb on a private
port in a temporary folder, never the machine's own), and the one report-posting client with its
retry loop (same client_id after a failed attempt). Used by bench/prod.py, bench/cases.py,
scripts/fault_drill.py and scripts/load_drill.py.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv/bin/python") if (ROOT / ".venv/bin/python").exists() else sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- reports -----------------------------------------------------------------------------------


def post_report(
    port: int,
    rep: dict,
    client_id: str,
    *,
    description: str = "楼道堆放杂物，影响通行",
    timeout: float = 30,
) -> tuple[int, bytes]:
    """POST /api/cases/ as grid worker ``rep`` ({token, lat, lng}) with ``client_id``."""
    body = json.dumps(
        {
            "category": "0101",
            "description": description,
            "lat": rep["lat"],
            "lng": rep["lng"],
            "source": "grid_worker",
            "client_id": client_id,
        }
    ).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
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
        return resp.status, resp.read()
    finally:
        conn.close()


def report_until_done(
    port: int, rep: dict, client_id: str, *, attempts: int = 60, pause: float = 0.25, **kw
) -> tuple[bool, int]:
    """Send one report, retrying with the same client_id after a failed attempt (connection
    refused or reset, 5xx, timeout) as a field client does. Returns (succeeded, failed attempts)."""
    failed = 0
    for _ in range(attempts):
        try:
            status, _body = post_report(port, rep, client_id, **kw)
        except OSError:
            status = 0
        if status in (200, 201):
            return True, failed
        failed += 1
        time.sleep(pause)
    return False, failed


# --- the production stack ------------------------------------------------------------------------


class Stack:
    """nginx -> gunicorn (deploy/gunicorn.conf.py) [+ ``workers`` task workers] against the
    environment's DATABASE_URL, on free loopback ports; ``with Stack(env) as s: s.port``."""

    def __init__(self, env: dict | None = None, *, workers: int = 0, quiet: bool = True):
        self.tmp = Path(tempfile.mkdtemp(prefix="civicgrid-stack-"))
        self.port, self.upstream = free_port(), free_port()
        self.env = {
            **os.environ,
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "CACHE_URL": os.environ.get("CACHE_URL", "db://civicgrid_cache"),
            "GUNICORN_BIND": f"127.0.0.1:{self.upstream}",
            "PROMETHEUS_MULTIPROC_DIR": str(self.tmp / "metrics"),
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            **(env or {}),
        }
        self.workers = workers
        self.quiet = quiet
        self.gunicorn: subprocess.Popen | None = None
        self.task_workers: list[subprocess.Popen] = []
        self.procs: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _popen(self, args: list[str], log: str) -> subprocess.Popen:
        """Start a process; its output goes to ``<tmp>/<log>.log`` (``log_tail``) when quiet."""
        out = open(self.tmp / f"{log}.log", "ab") if self.quiet else None  # noqa: SIM115
        p = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        if out is not None:
            out.close()
        self.procs.append(p)
        return p

    def log_tail(self, log: str, lines: int = 80) -> str:
        path = self.tmp / f"{log}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def start_worker(self, worker_id: str) -> subprocess.Popen:
        p = self._popen(
            [PY, "manage.py", "worker", "--interval", "0.2", "--worker-id", worker_id],
            f"worker-{worker_id}",
        )
        self.task_workers.append(p)
        return p

    def web_workers(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.gunicorn.pid)], capture_output=True, text=True
        ).stdout
        return [int(x) for x in out.split()]

    def __enter__(self) -> Stack:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            subprocess.run(["bash", "scripts/ensure-nginx.sh"], cwd=ROOT, check=True)
        conf = subprocess.run(
            [
                PY,
                "scripts/render_deploy.py",
                "nginx",
                "--prefix",
                str(self.tmp / "nginx"),
                "--listen",
                f"127.0.0.1:{self.port}",
                "--upstream",
                f"127.0.0.1:{self.upstream}",
            ],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        try:
            self.gunicorn = self._popen(
                [str(ROOT / ".venv/bin/gunicorn"), "--config", "deploy/gunicorn.conf.py"],
                "gunicorn",
            )
            self._popen(
                [nginx, "-p", str(self.tmp / "nginx"), "-c", conf, "-g", "daemon off;"], "nginx"
            )
            for i in range(self.workers):
                self.start_worker(f"stack-{self.port}-{i + 1}")
            for _ in range(240):
                try:
                    urllib.request.urlopen(f"{self.url}/healthz", timeout=2)
                    break
                except OSError:
                    time.sleep(0.25)
            else:
                raise RuntimeError("the production stack did not come up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- a private PostgreSQL cluster ------------------------------------------------------------------


def _pg_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    for v in ("17", "16", "15"):
        p = Path(f"/usr/lib/postgresql/{v}/bin")
        if (p / "pg_ctl").exists():
            return p
    raise RuntimeError("PostgreSQL server binaries (pg_ctl, initdb) not found")


class PrivateCluster:
    """A PostgreSQL cluster of the drill's own: initdb in a temporary folder, a private port, the
    postgres account when we are root (PostgreSQL refuses root). ``restart()`` restarts it."""

    def __init__(self, name: str = "civicgrid"):
        self.bin = _pg_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="civicgrid-pg-"))
        self.data = self.dir / "data"
        self.name = name
        os.chmod(self.dir, 0o755)
        self.root = os.geteuid() == 0
        if self.root:
            shutil.chown(self.dir, "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.name}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def pg_ctl(self, action: str, *extra: str) -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", action, *extra
        )

    def __enter__(self) -> PrivateCluster:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8",
        )  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.dir}'\nfsync = off\nmax_connections = 100\n"
            )
        self.pg_ctl("start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.name)
        return self

    def restart(self, mode: str = "fast") -> None:
        self.pg_ctl("restart", "-m", mode)

    def __exit__(self, *exc) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def prepare(self, *, demo: bool = True) -> None:
        """Migrate, create the cache table and (``demo``) load the demo city, as make prod does."""
        env = {**os.environ, "DATABASE_URL": self.url, "LOG_LEVEL": "WARNING"}
        for args in (["migrate", "--noinput", "-v0"], ["createcachetable"]) + (
            (["seed_demo", "--if-empty", "-v0"],) if demo else ()
        ):
            subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip


def kill9(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


try:
    from django.core.files.storage import FileSystemStorage
except ImportError:  # pragma: no cover - Django is installed with the project
    FileSystemStorage = object  # type: ignore[assignment,misc]


class FullDiskStorage(FileSystemStorage):
    """A storage that fails like a full disk (ENOSPC) while ``MEDIA_ROOT/.full`` exists: the disk
    drill's stand-in when it may not mount a small filesystem."""

    def _save(self, name, content):
        import errno

        if os.path.exists(os.path.join(self.location, ".full")):
            raise OSError(errno.ENOSPC, "No space left on device (drill)")
        return super()._save(name, content)
