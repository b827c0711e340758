"""The background worker: catch up missed SLA deadlines, then process tasks (django-tasks db_worker).

Every worker start runs the catch-up sweep, so deadlines survive restarts however the worker is
launched (make run, make prod, systemd, several workers in production); the sweep is idempotent.
While it runs the worker keeps a heartbeat row fresh (civicgrid.ops), which /readyz checks; at start
it re-queues tasks a killed worker left running (civicgrid.ops.reclaim), and a database outage
makes it wait and go on rather than exit (civicgrid.ops.worker).
"""

import os
import socket

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
        from civicgrid.ops.worker import serve

        worker_id = (opts["worker_id"] or f"{socket.gethostname()}-{os.getpid()}")[:64]
        heartbeat = Heartbeat(worker_id).start()
        try:
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
            # Re-queue, sweep, db_worker; rides out a database restart (civicgrid.ops.worker).
            serve(worker_id, worker_args, stdout=self.stdout)
        finally:
            heartbeat.stop()
