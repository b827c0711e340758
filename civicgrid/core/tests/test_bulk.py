"""core.bulk.insert_rows: the ids, the values, the defaults, and the sequence left right."""

import pytest
from django.db import connection
from django.utils import timezone

from civicgrid.basedata.models import ChangeLog, ImportJob
from civicgrid.core import bulk
from civicgrid.people.models import User

pytestmark = pytest.mark.django_db


def test_rows_get_their_ids_values_and_json():
    before = timezone.now()
    ids = bulk.insert_rows(ChangeLog, [
        {"entity": "person", "object_id": i, "action": "import", "scope_code": "140213001",
         "changes": {"name": f"张{i}", "n": [i, None]}, "actor_id": None}
        for i in range(5)
    ])  # fmt: skip
    assert len(ids) == 5 and len(set(ids)) == 5
    rows = {r.pk: r for r in ChangeLog.objects.filter(pk__in=ids)}
    for i, pk in enumerate(ids):
        r = rows[pk]
        assert (r.object_id, r.changes, r.actor_id) == (i, {"name": f"张{i}", "n": [i, None]}, None)
        assert r.at >= before  # auto_now_add
    # The sequence moved past the reserved ids: an ordinary save does not collide.
    later = ChangeLog.objects.create(entity="x", object_id=1, action="y", scope_code="1")
    assert later.pk > max(ids)


def test_missing_keys_take_the_fields_defaults_and_json_none_is_null():
    user = User.objects.create(username="bulk_u")
    (pk,) = bulk.insert_rows(ImportJob, [{"user_id": user.pk, "entity": "person"}])
    job = ImportJob.objects.get(pk=pk)
    assert (job.total, job.done, job.report, job.scope, job.commit, job.filename) == (
        0, 0, {}, None, False, "")  # fmt: skip
    assert job.created_at is not None
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT scope IS NULL FROM basedata_importjob WHERE id = %s", [pk])
            assert cur.fetchone() == (True,)  # SQL NULL, not the JSON text null


def test_nothing_to_insert():
    assert bulk.insert_rows(ChangeLog, []) == []


def test_rows_may_leave_out_different_keys():
    ids = bulk.insert_rows(ChangeLog, [
        {"entity": "person", "object_id": 1, "action": "import", "scope_code": "1",
         "changes": {"a": 1}},
        {"entity": "person", "object_id": 2, "action": "import", "scope_code": "1"},
    ])  # fmt: skip
    got = dict(ChangeLog.objects.filter(pk__in=ids).values_list("object_id", "changes"))
    assert got == {1: {"a": 1}, 2: {}}
