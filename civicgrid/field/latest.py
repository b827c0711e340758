"""Keep ``LatestPatrol`` (each worker's most recently started patrol) up to date.

Written once per patrol, when it is created, by an upsert that keeps the later start: a patrol
uploaded late from a phone that was offline (started before the one already known) changes
nothing. Bulk loaders that bypass ``save`` (benchmarks) call :func:`rebuild`.
"""

from __future__ import annotations

from django.db import connection
from django.db.models.signals import post_save

from .models import LatestPatrol, Patrol


def note_started(patrol: Patrol) -> None:
    """Make ``patrol`` its worker's latest unless a later-started one is known."""
    table = connection.ops.quote_name(LatestPatrol._meta.db_table)
    when = connection.ops.adapt_datetimefield_value(patrol.started_at)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (worker_id, patrol_id, started_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (worker_id) DO UPDATE SET patrol_id = excluded.patrol_id, "
            "started_at = excluded.started_at "
            f"WHERE {table}.started_at <= excluded.started_at",
            [patrol.worker_id, patrol.pk, when],
        )


def rebuild(worker_ids: list[int] | None = None) -> int:
    """Recompute the rows of ``worker_ids`` (default: every worker) from their patrols."""
    qs = Patrol.objects.all()
    if worker_ids is not None:
        qs = qs.filter(worker_id__in=worker_ids)
        LatestPatrol.objects.filter(worker_id__in=worker_ids).delete()
    else:
        LatestPatrol.objects.all().delete()
    seen: set[int] = set()
    rows = []
    for pk, worker_id, started_at in (
        qs.order_by("worker_id", "-started_at", "-id")
        .values_list("pk", "worker_id", "started_at")
        .iterator(chunk_size=5000)
    ):
        if worker_id not in seen:
            seen.add(worker_id)
            rows.append(LatestPatrol(worker_id=worker_id, patrol_id=pk, started_at=started_at))
    LatestPatrol.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _on_patrol_saved(sender, instance: Patrol, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        note_started(instance)


def connect() -> None:
    post_save.connect(_on_patrol_saved, sender=Patrol, dispatch_uid="field_latest_patrol")
