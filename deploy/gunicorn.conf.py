"""gunicorn settings for civicgrid (make prod and deploy/systemd/civicgrid-web.service).

Sync workers behind nginx: nginx buffers slow clients and uploads, so a worker is busy only for
the time Django needs. ``2 × cores + 1`` workers (gunicorn's own advice) unless WEB_CONCURRENCY
says otherwise. Prometheus counters of every worker are merged through PROMETHEUS_MULTIPROC_DIR.
"""

import os
import shutil

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8081")
workers = int(os.environ.get("WEB_CONCURRENCY", "0")) or (2 * (os.cpu_count() or 1) + 1)
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound; the jitter keeps them
# from restarting all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
accesslog = None  # nginx writes the access log (with the same request id)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "civicgrid-web"
wsgi_app = "config.wsgi:application"
forwarded_allow_ips = "127.0.0.1,::1"
# systemd (or make prod) manages the process; no control socket under the user's home.
control_socket_disable = True


def on_starting(server):
    # Files of a previous run would be summed into this run's counters.
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
