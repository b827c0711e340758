"""Re-encrypt personal data under the active key, in resumable batches.

Each batch locks its rows, re-encrypts and commits on its own, so a stopped rotation resumes
where it left off (rows already under the active key are skipped) and writers are never blocked
for long. Look-ups keep working throughout: every ciphertext names its key and the blind index
has its own key, which a rotation does not touch.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import Q

from . import crypto
from .models import Person


def pending_q(active: str) -> Q:
    prefix = active + crypto.SEP
    return ~Q(id_number_enc__startswith=prefix) | (
        ~Q(phone_enc="") & ~Q(phone_enc__startswith=prefix)
    )


def rotate(
    *, batch: int = 1000, limit: int | None = None, progress: Callable[[int], None] | None = None
) -> int:
    """Re-encrypt up to ``limit`` persons not yet under the active key; return how many."""
    active = crypto.keyring().active
    table = Person._meta.db_table
    done, last = 0, 0
    while limit is None or done < limit:
        size = batch if limit is None else min(batch, limit - done)
        with transaction.atomic():
            rows = list(
                Person.objects.select_for_update()
                .filter(pending_q(active), pk__gt=last)
                .order_by("pk")
                .only("pk", "id_number_enc", "phone_enc")[:size]
            )
            if not rows:
                break
            for p in rows:
                p.id_number_enc = crypto.reencrypt(p.id_number_enc, context=Person.ID_CONTEXT)
                if p.phone_enc:
                    p.phone_enc = crypto.reencrypt(p.phone_enc, context=Person.PHONE_CONTEXT)
            # One prepared UPDATE per row (psycopg pipelines executemany); bulk_update's CASE over
            # thousands of ids is quadratic on PostgreSQL.
            with connection.cursor() as cur:
                cur.executemany(
                    f'UPDATE "{table}" SET id_number_enc = %s, phone_enc = %s WHERE id = %s',
                    [(p.id_number_enc, p.phone_enc, p.pk) for p in rows],
                )
        done += len(rows)
        last = rows[-1].pk
        if progress:
            progress(done)
    return done


def remaining() -> int:
    return Person.objects.filter(pending_q(crypto.keyring().active)).count()
