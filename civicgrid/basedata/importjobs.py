"""Large base-data Excel imports on the task worker, with a progress bar (``ImportJob``).

A file with more data rows than ``IMPORT_INLINE_ROWS`` is not imported (or checked) in the
request: ``import_job_create`` stores the upload (default storage, never served) and queues
``tasks.import_run_task``; the job page polls ``status`` for its progress bar and shows the same
report as the inline import when the job is done.

All or nothing still holds. The run claims the job (queued → running, ``attempt`` + 1), then
imports inside one transaction that also writes the job's ``done`` state and report: the rows
and the state are committed together, so a worker killed mid-import leaves neither (ops.reclaim
puts the job back to ``queued`` and the task runs again from the start), and a second run of a
finished job, or a run whose claim was taken over, imports nothing.

Progress is written outside that transaction, where the job page can read it while the import
is still open: on PostgreSQL through a side connection in autocommit (a second session of the
same database settings); on SQLite, which has one writer and whose write lock the import holds,
to a small JSON file ``<VAR_DIR>/imports/<job id>.json`` (docs/decisions.md).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from civicgrid.core import xlsx
from civicgrid.core.conf import options
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.people.access import Principal, principal_scope
from civicgrid.people.models import Role

from . import services
from .models import ImportEntity, ImportJob, ImportState

if TYPE_CHECKING:
    from .excel import ImportReport

logger = logging.getLogger(__name__)
RECENT = 5


# openpyxl is imported by the functions that read a file, not when the views load.


def _import(entity: str, upload, *, actor, commit: bool, progress=None) -> ImportReport:
    from . import excel, excel_records

    if entity == ImportEntity.PERSON:
        return excel.import_persons(upload, actor=actor, commit=commit, progress=progress)
    return excel_records.import_records(
        entity, upload, actor=actor, commit=commit, progress=progress
    )


def count_rows(entity: str, upload, limit: int | None = None) -> int:
    """The file's non-empty data rows (counting stops past ``limit``); 0 for a bad file."""
    from . import excel, excel_records

    try:
        if entity == ImportEntity.PERSON:
            return excel.count_rows(upload, limit)
        return excel.count_rows(upload, limit, cols=excel_records.SPECS[entity][1])
    except DomainError:
        return 0  # a missing column: the import reports it
    except xlsx.XlsxError:
        return 0  # not a readable file: the import reports it
    finally:
        if hasattr(upload, "seek"):
            upload.seek(0)


def is_large(entity: str, upload) -> bool:
    """True when the file has more data rows than ``IMPORT_INLINE_ROWS`` (goes to a job)."""
    limit = options().IMPORT_INLINE_ROWS
    return count_rows(entity, upload, limit) > limit


# --- writes ------------------------------------------------------------------------------------


def import_job_create(*, entity: str, upload, commit: bool, actor) -> ImportJob:
    """Store the upload and queue its import (``commit``) or check, run as ``actor``.

    Precondition: the actor may import base data (the views check the roles). The scope the
    import will check is the actor's at run time; the one recorded here decides which admins
    may follow the job.
    """
    if entity not in ImportEntity.values:
        raise DomainError(
            "invalid",
            _("entity must be one of %(v)s.") % {"v": ", ".join(ImportEntity.values)},
            field="entity",
        )
    job = ImportJob(
        user=actor,
        entity=entity,
        filename=os.path.basename(getattr(upload, "name", "") or "")[:200],
        commit=bool(commit),
        scope=Principal.of(actor).prefixes(services.WRITE_ROLES),
        lang=translation.get_language() or "",
    )
    if hasattr(upload, "seek"):
        upload.seek(0)
    job.file.save("upload.xlsx", upload, save=False)
    with transaction.atomic():
        job.save()
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from .tasks import import_run_task

    import_run_task.enqueue(job_id)


class _Lost(Exception):
    """The job was claimed again by another run: this run's writes are rolled back."""


def run(job_id: int) -> ImportJob | None:
    """Run one queued job (called by the task worker); a job not queued is left alone."""
    claimed = ImportJob.objects.filter(pk=job_id, state=ImportState.QUEUED).update(
        state=ImportState.RUNNING,
        started_at=timezone.now(),
        done=0,
        attempt=F("attempt") + 1,
    )
    job = ImportJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None or not claimed:  # finished, running elsewhere, or gone
        return job
    progress = _Progress(job.pk)
    path = ""
    try:
        with translation.override(job.lang or settings.LANGUAGE_CODE), principal_scope():
            path = _local_copy(job)
            with open(path, "rb") as f:
                total = count_rows(job.entity, f)
                ImportJob.objects.filter(pk=job.pk).update(total=total)
                with transaction.atomic():
                    if not job.user.is_active:
                        from .excel import ImportReport

                        report = ImportReport()
                        report.add(0, "file", _("the account that queued this import is inactive"))
                    else:
                        report = _import(
                            job.entity, f, actor=job.user, commit=job.commit, progress=progress
                        )
                    done = max(total, report.rows)
                    finished = ImportJob.objects.filter(
                        pk=job.pk, state=ImportState.RUNNING, attempt=job.attempt
                    ).update(
                        state=ImportState.DONE,
                        report=report.as_dict(),
                        total=done,
                        done=done,
                        finished_at=timezone.now(),
                    )
                    if not finished:
                        raise _Lost
    except _Lost:
        logger.warning("import job %s was claimed again; this run wrote nothing", job_id)
        return _refreshed(job)
    except Exception as exc:  # recorded on the job; the import's transaction was rolled back
        logger.exception("import job %s failed", job_id)
        ImportJob.objects.filter(pk=job.pk, state=ImportState.RUNNING, attempt=job.attempt).update(
            state=ImportState.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:500],
            finished_at=timezone.now(),
        )
    finally:
        progress.close()
        if path:
            os.unlink(path)
    job = _refreshed(job)
    if job.is_finished:
        _drop_upload(job)
    return job


def requeue(job_id: int) -> bool:
    """Put back a job whose worker died mid-run (ops.reclaim): nothing of it was committed."""
    moved = ImportJob.objects.filter(pk=job_id, state=ImportState.RUNNING).update(
        state=ImportState.QUEUED, done=0, started_at=None
    )
    _progress_file(job_id).unlink(missing_ok=True)
    return bool(moved)


def _refreshed(job: ImportJob) -> ImportJob:
    job.refresh_from_db()
    return job


def _local_copy(job: ImportJob) -> str:
    """The upload copied to a local temporary file (a zip is read by seeking; remote storages may not)."""
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="civicgrid-import-")
    with os.fdopen(fd, "wb") as out, job.file.open("rb") as src:
        shutil.copyfileobj(src, out)
    return path


def _drop_upload(job: ImportJob) -> None:
    """The upload holds plain ID numbers and phones: delete it once the job has finished."""
    if not job.file:
        return
    try:
        job.file.delete(save=False)
    except OSError:
        logger.warning("could not delete the upload of import job %s", job.pk, exc_info=True)
        return
    ImportJob.objects.filter(pk=job.pk).update(file="")


# --- progress ----------------------------------------------------------------------------------


def _on_sqlite() -> bool:
    return connections[DEFAULT_DB_ALIAS].vendor == "sqlite"


def _progress_file(job_id: int) -> Path:
    return Path(settings.VAR_DIR) / "imports" / f"{int(job_id)}.json"


class _Progress:
    """Record a running job's rows done outside the import's transaction (never fails it)."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last = 0
        self.sqlite = _on_sqlite()
        self._conn = None

    def __call__(self, rows: int) -> None:
        if rows <= self.last:
            return
        self.last = rows
        try:
            if self.sqlite:
                self._write_file(rows)
            else:
                self._write_row(rows)
        except Exception:  # a progress bar that lags is better than an import that fails
            logger.warning("could not record the progress of import job %s", self.job_id,
                           exc_info=True)  # fmt: skip

    def _write_file(self, rows: int) -> None:
        path = _progress_file(self.job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": rows, "at": timezone.now().isoformat()}))
        os.replace(tmp, path)  # a reader sees the old file or the new one, never half of one

    def _write_row(self, rows: int) -> None:
        if self._conn is None:
            base = connections[DEFAULT_DB_ALIAS]
            # Its own session in autocommit: committed at once, seen by the job page while
            # the import's transaction on the default connection is still open.
            self._conn = base.__class__(dict(base.settings_dict), base.alias)
            with self._conn.cursor() as cur:
                cur.execute("SET lock_timeout = '2s'")
        table = self._conn.ops.quote_name(ImportJob._meta.db_table)
        with self._conn.cursor() as cur:
            cur.execute(
                f"UPDATE {table} SET done = %s WHERE id = %s AND done < %s",  # noqa: S608
                [rows, self.job_id, rows],
            )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        _progress_file(self.job_id).unlink(missing_ok=True)


def rows_done(job: ImportJob) -> int:
    """Rows done of a job: the row's count, or on SQLite the running job's progress file."""
    done = job.done
    if job.state == ImportState.RUNNING and _on_sqlite():
        try:
            done = max(done, int(json.loads(_progress_file(job.pk).read_text())["done"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return done


def status(job: ImportJob) -> dict[str, Any]:
    """The job page's progress (the JSON it polls)."""
    done, total = rows_done(job), job.total
    if job.state == ImportState.DONE:
        percent = 100
    else:
        percent = min(99, done * 100 // total) if total else 0
    text = _("%(state)s · %(done)s / %(total)s rows · %(percent)s%%") % {
        "state": job.get_state_display(),
        "done": done,
        "total": total or "?",
        "percent": percent,
    }
    return {
        "id": job.pk,
        "state": job.state,
        "done": done,
        "total": total,
        "percent": percent,
        "finished": job.is_finished,
        "text": text,
    }


# --- reads -------------------------------------------------------------------------------------


def can_view(user, job: ImportJob) -> bool:
    """The job's creator, superusers, and admins whose area holds the job's whole scope."""
    p = Principal.of(user)
    if not p.is_authenticated:
        return False
    if job.user_id == p.pk or p.is_superuser:
        return True
    if Role.ADMIN not in p.roles or job.scope is None:
        return False
    mine = p.prefixes([Role.ADMIN]) or []
    return all(any(code.startswith(a) for a in mine) for code in job.scope)


def import_job_get_for(user, pk: int) -> ImportJob:
    """The job, or NotFound when it does not exist or ``user`` may not see it."""
    job = ImportJob.objects.filter(pk=pk).first()
    if job is None or not can_view(user, job):
        raise NotFound("import job")
    return job


def import_jobs_recent_for(user, n: int = RECENT) -> list[ImportJob]:
    """The user's own latest jobs (the import pages list them)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(ImportJob.objects.filter(user=user).order_by("-created_at", "-id")[:n])


def report_of(job: ImportJob) -> ImportReport | None:
    from .excel import ImportReport

    return ImportReport.from_dict(job.report) if job.state == ImportState.DONE else None
