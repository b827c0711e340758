"""Writing the simulated cases in bulk: PostgreSQL ``COPY`` or ``executemany`` on SQLite."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction

from ..models import (
    Case,
    CaseAction,
    ExtensionRequest,
    Supervision,
    SuspensionRequest,
)
from .data import CHUNK, DAYS_BACK, HELD_STATES
from .simulate import _Generator

# --- writing -----------------------------------------------------------------------------------


def _columns(model, skip=()):
    return [f.column for f in model._meta.concrete_fields if f.column not in skip]


class _Writer:
    """Bulk rows as tuples: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, model, columns):
        self.table = model._meta.db_table
        self.columns = columns
        self.pg = connection.vendor == "postgresql"
        fields = {f.column: f for f in model._meta.concrete_fields}
        self.dt_cols = [
            i for i, col in enumerate(columns) if fields[col].get_internal_type() == "DateTimeField"
        ]
        self.date_cols = [
            i for i, col in enumerate(columns) if fields[col].get_internal_type() == "DateField"
        ]

    def write(self, rows) -> None:
        if not rows:
            return
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        with connection.cursor() as cur:
            if self.pg:
                raw = cur.cursor if hasattr(cur, "cursor") else cur
                with raw.copy(f"COPY {self.table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                ops = connection.ops
                conv = []
                for row in rows:
                    r = list(row)
                    for i in self.dt_cols:
                        r[i] = ops.adapt_datetimefield_value(r[i])
                    for i in self.date_cols:
                        r[i] = ops.adapt_datefield_value(r[i])
                    conv.append(r)
                marks = ", ".join(["%s"] * len(self.columns))
                cur.executemany(f"INSERT INTO {self.table} ({cols}) VALUES ({marks})", conv)


def _next_id(model) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


def _fix_sequence(model) -> None:
    if connection.vendor != "postgresql":
        return
    table = model._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
        )


def generate_cases(ctx, n: int) -> int:
    with _bulk_load():
        return _generate_cases(ctx, n)


@contextmanager
def _bulk_load():
    """On PostgreSQL, skip the per-row foreign-key triggers while loading generated rows.

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so a million cases and their
    action logs queue some 20 million row checks that all run at COMMIT (longer than the load
    itself). The rows are built from ids just read from the same transaction, so the checks
    cannot fail; ``session_replication_role = replica`` (what pg_restore-style bulk loads use)
    turns them off for this transaction only. Without the privilege the checks simply run.
    """
    if connection.vendor != "postgresql":
        yield
        return
    switched = False
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
        switched = True
    except DatabaseError:
        pass
    try:
        yield
    finally:
        if switched:
            with connection.cursor() as cur:
                cur.execute("SET LOCAL session_replication_role = DEFAULT")


def _generate_cases(ctx, n: int) -> int:
    gen = _Generator(ctx, n)
    case_cols = _columns(Case)
    act_cols = _columns(CaseAction)
    sup_cols = _columns(Supervision)
    ext_cols = _columns(ExtensionRequest)
    sus_cols = _columns(SuspensionRequest)
    writers = {
        "case": _Writer(Case, case_cols),
        "act": _Writer(CaseAction, act_cols),
        "sup": _Writer(Supervision, sup_cols),
        "ext": _Writer(ExtensionRequest, ext_cols),
        "sus": _Writer(SuspensionRequest, sus_cols),
    }
    ids = {
        m: _next_id(m) for m in (Case, CaseAction, Supervision, ExtensionRequest, SuspensionRequest)
    }
    order_act = _reorder(act_cols, ACT_ORDER)
    order_sup = _reorder(sup_cols, SUP_ORDER)
    order_ext = _reorder(ext_cols, EXT_ORDER)
    order_sus = _reorder(sus_cols, SUS_ORDER)
    # ~1 % of the cases reported 3–10 days ago (at least 3 per state) are held in an open or
    # rejected state: a backlog, so every state shows even in a small demo.
    held = min(n, max(3 * len(HELD_STATES), n // 100))
    lo, hi = int(n * (1 - 10 / DAYS_BACK)), int(n * (1 - 3 / DAYS_BACK))
    step = max((hi - lo) / held, 1)
    halts = {min(n - 1, lo + int(i * step)): HELD_STATES[i % len(HELD_STATES)] for i in range(held)}
    made = 0
    while made < n:
        size = min(CHUNK, n - made)
        times = gen.chunk_times(made, size, n)
        sims = [gen.make(ids[Case] + made + i, times[i], halts.get(made + i)) for i in range(size)]
        # merged cases point at earlier ones; write in id order within the chunk
        rows = [tuple(s.c[col] for col in case_cols) for s in sims]
        writers["case"].write(rows)
        acts, sups, exts, suss = [], [], [], []
        for s in sims:
            for a in s.actions:
                acts.append((ids[CaseAction], *a))
                ids[CaseAction] += 1
            for sup in s.supervisions:
                sups.append((ids[Supervision], *sup))
                ids[Supervision] += 1
            for e in s.extensions:
                exts.append((ids[ExtensionRequest], *e))
                ids[ExtensionRequest] += 1
            for su in s.suspensions:
                suss.append((ids[SuspensionRequest], *su))
                ids[SuspensionRequest] += 1
        writers["act"].write([order_act(a) for a in acts])
        writers["sup"].write([order_sup(r) for r in sups])
        writers["ext"].write([order_ext(r) for r in exts])
        writers["sus"].write([order_sus(r) for r in suss])
        made += size
        if n >= 100_000:
            ctx.log(f"    {made:,} / {n:,} cases")
    for m in (Case, CaseAction, Supervision, ExtensionRequest, SuspensionRequest):
        _fix_sequence(m)
    return made


ACT_ORDER = ["id", "case_id", "action", "actor_id", "role", "from_state", "to_state", "note",
             "data", "created_at"]  # fmt: skip
SUP_ORDER = ["id", "case_id", "kind", "by_id", "department_id", "note", "created_at",
             "answered_at"]  # fmt: skip
EXT_ORDER = ["id", "case_id", "requested_by_id", "previous_due", "requested_due", "reason",
             "state", "decided_by_id", "decided_at", "decision_note", "created_at"]  # fmt: skip
SUS_ORDER = ["id", "case_id", "requested_by_id", "reason", "review_date", "state",
             "decided_by_id", "decided_at", "decision_note", "created_at"]  # fmt: skip


def _reorder(columns: list[str], order: list[str]):
    """A function putting a tuple in ``order`` into the table's column order; a column the
    simulation does not fill (e.g. a supervision's whistle call) is written as NULL."""
    positions = [order.index(col) if col in order else None for col in columns]
    return lambda row: tuple(None if i is None else row[i] for i in positions)
