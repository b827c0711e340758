"""Inserting many new rows of a model at once: COPY on PostgreSQL, ``bulk_create`` elsewhere.

``bulk_create`` builds a model instance per row and prepares every value through its field
before ``INSERT … SELECT * FROM UNNEST(…)``: for a wide row (a person has 25 columns) that is
about 150 µs of Python per row here. :func:`insert_rows` takes plain ``{attname: value}`` dicts,
reserves the ids from the table's sequence in one ``nextval`` query and streams the rows through
COPY, at about a fifth of the cost (docs/benchmarks.md, "Excel import"). The values must already
be what the column stores (no field conversion runs, as with a raw COPY): text, numbers, dates,
aware datetimes, None; JSON fields take Python data and are serialised here.

Like ``bulk_create`` it sends no signals and runs no ``save()``. Missing keys take the field's
default; ``auto_now`` and ``auto_now_add`` fields take the time of the call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connections, models
from django.utils import timezone


def _defaults(model, now) -> dict[str, Any]:
    out = {}
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            out[f.attname] = now
        else:  # the field's default; "" for text without one, as an unsaved instance has
            out[f.attname] = f.get_default()
    return out


def insert_rows(model, rows: Sequence[dict[str, Any]], *, using: str = "default") -> list[int]:
    """Insert ``rows`` (dicts of attname → value; a key a row leaves out takes the field's
    default); their new ids."""
    if not rows:
        return []
    connection = connections[using]
    now = timezone.now()
    defaults = _defaults(model, now)
    if connection.vendor != "postgresql":
        objs = [model(**{**defaults, **row}) for row in rows]
        model.objects.using(using).bulk_create(objs)
        return [o.pk for o in objs]
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields]
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    encoders = {i: fields[i].encoder for i in json_at}
    quote = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cur.fetchall()]
        columns = ", ".join(quote(c) for c in [meta.pk.column] + [f.column for f in fields])
        with cur.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                merged = {**defaults, **row}
                values = [pk, *[merged[n] for n in names]]
                for i in json_at:
                    v = values[i + 1]
                    if v is not None:  # None is SQL NULL, as bulk_create stores it
                        values[i + 1] = json.dumps(v, cls=encoders[i], ensure_ascii=False)
                copy.write_row(values)
    return ids
