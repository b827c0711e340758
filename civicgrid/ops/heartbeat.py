"""A task worker's heartbeat: a thread that refreshes this process's row every few seconds."""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.db import close_old_connections, connection
from django.utils import timezone

logger = logging.getLogger(__name__)
INTERVAL = 10.0


class Heartbeat:
    def __init__(self, worker_id: str, interval: float = INTERVAL):
        self.worker_id = worker_id
        self.interval = interval
        self.started_at = timezone.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def beat(self) -> None:
        from .models import WorkerHeartbeat

        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": self.started_at,
                "seen_at": timezone.now(),
            },
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                close_old_connections()
                self.beat()
            except Exception:  # the database may be restarting: try again next time
                logger.warning("worker heartbeat failed", exc_info=True)
            self._stop.wait(self.interval)
        connection.close()

    def start(self) -> Heartbeat:
        try:
            self.beat()
        except Exception:  # the database is not there yet: the thread keeps trying
            logger.warning("first worker heartbeat failed", exc_info=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        from .models import WorkerHeartbeat

        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        try:
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        except Exception:
            logger.warning("could not remove the heartbeat of %s", self.worker_id, exc_info=True)
