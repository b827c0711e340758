"""Large Excel imports on the task worker: queued, imported all or nothing by the task, progress
seen from outside the import's transaction, the job page scoped to its creator (and admins),
no double import on a second run, and a dead worker's job re-queued."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, connections
from django.test import override_settings
from django.urls import reverse

from civicgrid.basedata import excel, importjobs
from civicgrid.basedata.models import ChangeLog, House, ImportJob, ImportState, Person
from civicgrid.basedata.tagkinds import ensure_builtin_data
from civicgrid.ops.heartbeat import Heartbeat
from civicgrid.ops.reclaim import IMPORT_TASK, reclaim_orphans

from .conftest import A1
from .test_excel import row, xlsx
from .test_excel_records import house
from .test_excel_records import xlsx as records_xlsx

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
LIMIT = 3


@pytest.fixture(autouse=True)
def small_limit(settings, tmp_path):
    """Files of more than three rows go to a job; progress files go to a fresh VAR_DIR."""
    settings.CIVICGRID = {**settings.CIVICGRID, "IMPORT_INLINE_ROWS": LIMIT}
    settings.VAR_DIR = tmp_path
    return tmp_path


def upload(buf, name="persons.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, buf.getvalue())


def persons_file(n: int, start: int = 100):
    return xlsx([row(start + i, name=f"人员{i}") for i in range(n)])


def post(client, user, url, buf, commit="1", capture=None, name="persons.xlsx"):
    client.force_login(user)
    if capture is None:
        return client.post(url, {"file": upload(buf, name), "commit": commit})
    with capture(execute=True):
        return client.post(url, {"file": upload(buf, name), "commit": commit})


def queue(bd, n=6, commit=True, buf=None) -> ImportJob:
    return importjobs.import_job_create(
        entity="person",
        upload=upload(buf or persons_file(n)),
        commit=commit,
        actor=bd.worker_a1,
    )


@override_settings(TASKS=DB_TASKS)
def test_a_large_file_is_queued_and_the_task_imports_every_row(
    client, bd, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    before = Person.objects.count()
    resp = post(
        client,
        bd.worker_a1,
        reverse("basedata:person_import"),
        persons_file(6),
        capture=django_capture_on_commit_callbacks,
    )
    job = ImportJob.objects.get()
    assert resp.status_code == 302 and resp.url == reverse("basedata:import_job", args=[job.pk])
    assert job.state == ImportState.QUEUED and job.commit and job.filename == "persons.xlsx"
    assert job.file.name.startswith("imports/") and "persons" not in job.file.name
    assert job.scope == [bd.grid_a1.code] and job.user == bd.worker_a1
    task = DBTaskResult.objects.get()
    assert task.task_path == IMPORT_TASK and task.args_kwargs["args"] == [job.pk]
    assert Person.objects.count() == before  # nothing imported in the request

    page = client.get(resp.url).content.decode()
    assert 'role="progressbar"' in page and 'aria-valuenow="0"' in page
    assert "basedata/js/import-job.js" in page and "<script>" not in page

    job = importjobs.run(job.pk)
    assert job.state == ImportState.DONE and (job.done, job.total) == (6, 6)
    assert job.report["created"] == 6 and job.report["committed"] and job.report["ok"]
    assert Person.objects.count() == before + 6
    assert ChangeLog.objects.filter(action="import").count() == 6
    assert not job.file  # the upload (plain ID numbers) is gone once the job has finished

    page = client.get(resp.url).content.decode()
    assert "6 行 · 新增 6 · 更新 0 · 错误 0" in page and 'aria-valuenow="100"' in page
    assert "import-job.js" not in page  # nothing left to poll
    status = client.get(reverse("basedata:import_job_status", args=[job.pk])).json()
    assert status["state"] == "done" and status["percent"] == 100 and status["finished"]
    assert status["done"] == status["total"] == 6
    # The import page lists the user's recent jobs with a link to this one.
    listing = client.get(reverse("basedata:person_import")).content.decode()
    assert reverse("basedata:import_job", args=[job.pk]) in listing


def test_a_small_file_is_still_imported_in_the_request(client, bd):
    resp = post(client, bd.worker_a1, reverse("basedata:person_import"), persons_file(LIMIT))
    assert resp.status_code == 200 and "新增 3" in resp.content.decode()
    assert not ImportJob.objects.exists()
    assert Person.objects.filter(name__startswith="人员").count() == LIMIT


def test_a_large_records_file_goes_to_a_job_too(client, bd):
    buf = records_xlsx("house", [house(str(100 + i)) for i in range(5)])
    url = reverse("basedata:records_import", args=["house"])
    resp = post(client, bd.worker_a1, url, buf, name="houses.xlsx")
    job = ImportJob.objects.get()
    assert resp.status_code == 302 and job.entity == "house"
    job = importjobs.run(job.pk)
    assert job.state == ImportState.DONE and job.report["created"] == 5
    assert House.objects.filter(address="丁街7号").count() == 5


def test_a_bad_large_file_reports_row_column_and_reason_and_writes_nothing(client, bd):
    before = (Person.objects.count(), ChangeLog.objects.count())
    buf = xlsx([row(201), row(202), row(203, phone="123"), row(204), row(205, room="999")])
    job = importjobs.run(queue(bd, buf=buf).pk)
    assert job.state == ImportState.DONE and not job.report["ok"]
    assert not job.report["committed"] and job.report["created"] == 0
    got = {(e["row"], e["column"]) for e in job.report["errors"]}
    assert got == {(4, "联系电话"), (6, "户室")}
    assert all(e["reason"] for e in job.report["errors"])
    assert (Person.objects.count(), ChangeLog.objects.count()) == before
    client.force_login(bd.worker_a1)
    page = client.get(reverse("basedata:import_job", args=[job.pk])).content.decode()
    assert "未导入任何数据" in page
    assert "联系电话" in page and "户室" in page


def test_a_large_dry_run_checks_every_row_and_writes_nothing(bd):
    before = Person.objects.count()
    job = importjobs.run(queue(bd, commit=False).pk)
    assert job.state == ImportState.DONE and job.report["ok"] and not job.report["committed"]
    assert job.report["rows"] == 6 and Person.objects.count() == before


def test_a_database_failure_fails_the_job_and_leaves_no_rows(bd, monkeypatch):
    before = Person.objects.count()
    real = excel._write

    def write_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise DatabaseError("disk full")

    monkeypatch.setattr(excel, "_write", write_then_fail)
    job = importjobs.run(queue(bd).pk)
    assert job.state == ImportState.FAILED and "disk full" in job.error
    assert Person.objects.count() == before and not job.file


def test_an_unreadable_file_gets_a_report_not_an_error_page(client, bd):
    resp = post(client, bd.worker_a1, reverse("basedata:person_import"), _Bytes(b"not xlsx"))
    assert resp.status_code == 200 and not ImportJob.objects.exists()
    job = importjobs.run(queue(bd, buf=_Bytes(b"PK\x03\x04 broken")).pk)
    assert job.state == ImportState.DONE and job.report["errors"][0]["column"] == "file"


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def getvalue(self) -> bytes:
        return self.data


def test_only_the_creator_and_admins_see_the_job(client, bd):
    job = queue(bd)
    page = reverse("basedata:import_job", args=[job.pk])
    status = reverse("basedata:import_job_status", args=[job.pk])
    for other in (bd.outsider_b, bd.operator_a, bd.chief_a):
        client.force_login(other)
        assert client.get(page).status_code == 404
        assert client.get(status).status_code == 404
    client.force_login(bd.admin)  # the city's administrator: the job's scope lies in their area
    assert client.get(page).status_code == 200 and client.get(status).status_code == 200
    client.force_login(bd.worker_a1)
    assert client.get(status).json()["state"] == "queued"
    assert client.get(reverse("basedata:import_job", args=[job.pk + 999])).status_code == 404
    # Someone else's recent jobs are not listed on their import page.
    client.force_login(bd.operator_a)
    assert page not in client.get(reverse("basedata:person_import")).content.decode()
    client.logout()
    assert client.get(status).status_code == 302  # to the sign-in page


def test_a_second_run_or_a_retry_imports_nothing_twice(bd):
    job = queue(bd)
    first = importjobs.run(job.pk)
    count = Person.objects.count()
    logs = ChangeLog.objects.count()
    again = importjobs.run(job.pk)  # a retry of the finished task
    assert again.state == ImportState.DONE and again.report == first.report
    assert (Person.objects.count(), ChangeLog.objects.count()) == (count, logs)
    running = queue(bd, n=5)
    ImportJob.objects.filter(pk=running.pk).update(state=ImportState.RUNNING, attempt=1)
    assert importjobs.run(running.pk).state == ImportState.RUNNING  # taken by another worker
    assert Person.objects.count() == count


def test_a_run_whose_claim_was_taken_over_rolls_back(bd, monkeypatch):
    """The worker was thought dead, its job re-queued and claimed again: the old run writes
    nothing even if it gets to the end."""
    monkeypatch.setattr(excel, "PROGRESS_EVERY", 1)
    job = queue(bd)
    before = Person.objects.count()
    real = importjobs._Progress.__call__

    def taken_over(self, rows):
        real(self, rows)
        if rows == 2:
            ImportJob.objects.filter(pk=self.job_id).update(attempt=99)

    monkeypatch.setattr(importjobs._Progress, "__call__", taken_over)
    out = importjobs.run(job.pk)
    assert out.state == ImportState.RUNNING and out.report == {}
    assert Person.objects.count() == before


def _outside(sql: str, params: list):
    """Run one query on a connection of its own (PostgreSQL): what another process sees."""
    base = connections["default"]
    side = base.__class__(dict(base.settings_dict), base.alias)
    try:
        with side.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]
    finally:
        side.close()


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DB_TASKS)  # queued, not run on commit: the test runs it
def test_progress_rises_monotonically_to_the_total_while_the_import_is_open(
    world, monkeypatch, small_limit
):
    ensure_builtin_data()
    from civicgrid.basedata import services

    services.house_create(
        actor=world.worker_a1, lat=A1[0], lng=A1[1], address="甲街1号", building="1",
        unit="2", room="301",
    )  # fmt: skip
    monkeypatch.setattr(excel, "PROGRESS_EVERY", 1)
    job = importjobs.import_job_create(
        entity="person", upload=upload(persons_file(8)), commit=True, actor=world.worker_a1
    )
    seen: list[int] = []
    outside_persons: list[int] = []
    real = importjobs._Progress.__call__

    def watched(self, rows):
        real(self, rows)
        if connection.vendor == "sqlite":
            # The job page's read: the row says 0, the progress file says how far it is.
            path = small_limit / "imports" / f"{job.pk}.json"
            assert json.loads(path.read_text())["done"] == rows
            seen.append(importjobs.rows_done(ImportJob.objects.get(pk=job.pk)))
        else:
            table = ImportJob._meta.db_table
            seen.append(_outside(f"SELECT done FROM {table} WHERE id = %s", [job.pk]))
            outside_persons.append(
                _outside(f"SELECT count(*) FROM {Person._meta.db_table}", [])  # noqa: S608
            )

    monkeypatch.setattr(importjobs._Progress, "__call__", watched)
    out = importjobs.run(job.pk)
    assert out.state == ImportState.DONE and out.report["created"] == 8
    assert seen == sorted(seen) and seen[0] >= 1 and seen[-1] == 8
    assert (out.done, out.total) == (8, 8)
    assert not (small_limit / "imports" / f"{job.pk}.json").exists()
    if outside_persons:  # the rows stayed invisible to others until the end: one transaction
        assert set(outside_persons) == {0}
    assert Person.objects.count() == 8


@override_settings(TASKS=DB_TASKS)
def test_reclaim_requeues_the_import_job_of_a_dead_worker(bd, small_limit):
    from django_tasks_db.models import DBTaskResult

    from civicgrid.basedata.tasks import import_run_task

    job = queue(bd)  # on_commit never fires inside the test transaction: enqueue by hand
    with time_machine.travel(NOW, tick=False):
        Heartbeat("dead").beat()
        result = import_run_task.enqueue(job.pk)
        task = DBTaskResult.objects.get(pk=result.id)
        task.claim("dead")
        ImportJob.objects.filter(pk=job.pk).update(state=ImportState.RUNNING, done=4, attempt=1)
        progress = small_limit / "imports" / f"{job.pk}.json"
        progress.parent.mkdir(parents=True)
        progress.write_text('{"done": 4}')
    with time_machine.travel(NOW + dt.timedelta(seconds=200), tick=False):
        assert reclaim_orphans("new-worker") == 1
    task.refresh_from_db()
    job.refresh_from_db()
    assert task.status == "READY"
    assert job.state == ImportState.QUEUED and job.done == 0 and job.started_at is None
    assert not progress.exists()
    before = Person.objects.count()
    job = importjobs.run(job.pk)  # the re-queued task runs it from the start
    assert job.state == ImportState.DONE and job.attempt == 2
    assert Person.objects.count() == before + 6
