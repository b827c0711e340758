"""The background worker: catch up missed SLA deadlines, then process tasks (django-tasks db_worker).

Every worker start runs the catch-up sweep, so deadlines survive restarts however the worker is
launched (make run, make prod, systemd, several workers in production); the sweep is idempotent.
While it runs the worker keeps a heartbeat row fresh (civicgrid.ops), which /readyz checks; at start
it re-queues tasks a killed worker left running (civicgrid.ops.reclaim).
"""

import os
import socket

from django.core.management import call_command
from django.utils.translation import gettext_lazy

from civicgrid.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy("Run the SLA catch-up sweep, then the django-tasks database worker.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help=gettext_lazy("Seconds between polls of the task queue (default %(default)s)."),
        )
        parser.add_argument(
            "--queue-name",
            default="default",
            help=gettext_lazy("Task queue to process (default %(default)s)."),
        )
        parser.add_argument(
            "--batch", action="store_true", help=gettext_lazy("Exit when the queue is empty.")
        )
        parser.add_argument(
            "--worker-id",
            default="",
            help=gettext_lazy("Unique id of this worker (default: host-pid)."),
        )

    def handle(self, *args, **opts):
        from civicgrid.ops.heartbeat import Heartbeat
        from civicgrid.ops.reclaim import reclaim_orphans

        worker_id = (opts["worker_id"] or f"{socket.gethostname()}-{os.getpid()}")[:64]
        heartbeat = Heartbeat(worker_id).start()
        try:
            reclaim_orphans(worker_id)  # tasks a killed worker left running run again
            call_command("sla_sweep", stdout=self.stdout)
            call_command("visit_sweep", stdout=self.stdout)  # overdue base-data visits
            call_command("liaison_remind", stdout=self.stdout)  # 包联 month-end reminders
            worker_args = [
                "--interval",
                str(opts["interval"]),
                "--queue-name",
                opts["queue_name"],
                "--worker-id",
                worker_id,
                "--no-reload",
            ]
            if opts["batch"]:
                worker_args.append("--batch")
            call_command("db_worker", *worker_args)
        finally:
            heartbeat.stop()
