"""The task worker's life: re-queue what a killed worker left running, catch up the SLA sweep,
then run django-tasks' db_worker, and ride out a database outage (PostgreSQL restarted, a
failover): db_worker gives up on an OperationalError, so this loop waits (1 s, doubling up to
15 s), re-queues the task the outage interrupted and starts again, in the same process. Called by
``manage.py worker``.
"""

from __future__ import annotations

import logging
import time

from django.core.management import call_command
from django.db import InterfaceError, OperationalError, connections

from . import reclaim

logger = logging.getLogger(__name__)
MAX_PAUSE = 15.0
sleep = time.sleep  # tests replace it


def serve(worker_id: str, worker_args: list[str], stdout=None) -> None:
    pause = 1.0
    started = False
    while True:
        try:
            reclaim.reclaim_orphans(worker_id)  # tasks a killed (or cut-off) worker left running
            if not started:
                call_command("sla_sweep", stdout=stdout)
                call_command("visit_sweep", stdout=stdout)  # overdue base-data visits
                call_command("liaison_remind", stdout=stdout)  # 包联 month-end reminders
                started = True
            pause = 1.0
            call_command("db_worker", *worker_args)
            return  # stopped (a signal, --batch)
        except (OperationalError, InterfaceError) as exc:
            logger.warning(
                "database unavailable, worker %s retries in %.0f s: %s", worker_id, pause, exc
            )
            connections.close_all()
            sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)
