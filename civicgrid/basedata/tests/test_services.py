import datetime as dt
import uuid

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings

from civicgrid.basedata import crypto, rotation, services
from civicgrid.basedata.models import ChangeLog, Person, PersonTag, RevealLog, TagKind
from civicgrid.core.errors import DomainError

from .conftest import A1, A2, OUTSIDE, grant_reveal, pid
from .test_crypto import RING2


def err(fn, **kw) -> DomainError:
    with pytest.raises(DomainError) as exc:
        fn(**kw)
    return exc.value


def test_every_builtin_tag_kind_is_seeded_with_its_visit_rules(db):
    codes = set(TagKind.objects.values_list("code", flat=True))
    assert {
        "lonely_elderly",
        "released",
        "community_correction",
        "mental_disorder",
        "drug_user",
        "aids_risk",
        "idle_youth",
        "left_behind_child",
        "disabled",
        "low_income",
        "veteran",
    } <= codes
    md = TagKind.objects.get(code="mental_disorder")
    assert md.sensitive and md.rules.get().min_value == 3


def test_person_created_encrypted_masked_derived_and_logged(bd):
    p = Person.objects.get(pk=bd.person_a1.pk)
    assert p.id_number_mask == pid(11)[:6] + "********" + pid(11)[-4:]
    assert p.phone_mask == "139****0012"
    assert pid(11) not in p.id_number_enc and "13900000012" not in p.phone_enc
    assert p.birth_date == dt.date(1980, 5, 17) and p.gender == "M"
    assert p.scope_code == bd.grid_a1.code and p.grid_id == bd.grid_a1.pk
    log = ChangeLog.objects.get(entity="person", object_id=p.pk)
    assert log.actor == bd.operator_a and log.changes["id_number_mask"] == p.id_number_mask
    assert pid(11) not in str(log.changes)


def test_person_found_by_id_and_never_duplicated(bd):
    assert services.person_find(pid(11)).pk == bd.person_a1.pk
    assert services.person_find(pid(11).lower()).pk == bd.person_a1.pk
    e = err(
        services.person_create,
        actor=bd.operator_a,
        data={"name": "张三", "id_number": pid(11), "house": bd.house_a1},
    )
    assert e.code == "duplicate" and e.field == "id_number"
    p, created = services.person_upsert(
        actor=bd.operator_a, data={"name": "张三丰", "id_number": pid(11), "phone": "13900000099"}
    )
    assert not created and p.pk == bd.person_a1.pk and p.name == "张三丰"
    assert Person.objects.count() == 2
    upd = ChangeLog.objects.filter(entity="person", object_id=p.pk, action="update").get()
    assert upd.changes["name"] == ["张三", "张三丰"]
    assert upd.changes["phone_mask"] == ["139****0012", "139****0099"]


@pytest.mark.parametrize(
    "data,code,field",
    [
        (
            {"id_number": pid(33)[:-1] + ("1" if pid(33)[-1] != "1" else "2")},
            "bad_checksum",
            "id_number",
        ),
        ({"id_number": "1402131980023" + "1001"}, "invalid", "id_number"),
        ({"id_number": pid(33), "hukou_region": "990000"}, "unknown_region", "hukou_region"),
        ({"id_number": pid(33), "hukou_region": "14021"}, "invalid", "hukou_region"),
        ({"id_number": pid(33), "phone": "12345"}, "invalid", "phone"),
        ({"id_number": pid(33), "category": "alien"}, "invalid_choice", "category"),
        ({"id_number": pid(33), "name": ""}, "required", "name"),
    ],
)
def test_bad_person_input_names_the_field_and_changes_nothing(bd, data, code, field):
    before = Person.objects.count()
    payload = {"name": "王五", "house": bd.house_a1, **data}
    e = err(services.person_create, actor=bd.operator_a, data=payload)
    assert (e.code, e.field) == (code, field)
    assert field in e.message
    assert Person.objects.count() == before


def test_impossible_birth_date_is_refused(bd):
    from civicgrid.basedata.validators import id_check_char

    first = "14021319800230001"
    e = err(
        services.person_create,
        actor=bd.operator_a,
        data={"name": "王五", "id_number": first + id_check_char(first), "house": bd.house_a1},
    )
    assert (e.code, e.field) == ("impossible_birth_date", "id_number")


def test_house_outside_every_grid_is_an_error(bd):
    e = err(
        services.house_create,
        actor=bd.admin,
        lat=OUTSIDE[0],
        lng=OUTSIDE[1],
        address="远方",
        building="1",
        room="1",
    )
    assert e.code == "outside_grids" and e.field == "location" and bd.grid_b1.code in e.message


def test_writes_outside_the_actors_scope_are_refused(bd):
    e = err(
        services.house_create,
        actor=bd.worker_a1,
        lat=A2[0],
        lng=A2[1],
        address="甲街2号",
        building="1",
        room="1",
    )
    assert e.code == "out_of_scope"
    e = err(services.person_update, person=bd.person_b1, actor=bd.operator_a, data={"name": "x"})
    assert e.code == "out_of_scope"


def test_tag_fields_validated_and_visit_rules_applied(bd):
    k = bd.kinds
    e = err(
        services.tag_add,
        person=bd.person_a1,
        kind=k["mental_disorder"],
        data={},
        actor=bd.worker_a1,
    )
    assert e.field == "data.risk_level"
    e = err(
        services.tag_add,
        person=bd.person_a1,
        kind=k["mental_disorder"],
        data={"risk_level": 7},
        actor=bd.worker_a1,
    )
    assert e.code == "out_of_range"
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC), tick=False):
        t = services.tag_add(
            person=bd.person_a1,
            kind=k["mental_disorder"],
            data={"risk_level": 3},
            actor=bd.worker_a1,
        )
        assert t.next_visit_due == dt.date(2026, 3, 8) and t.sensitive
        t = services.tag_add(
            person=bd.person_a1,
            kind=k["mental_disorder"],
            data={"risk_level": 1},
            actor=bd.worker_a1,
        )
        assert t.next_visit_due == dt.date(2026, 5, 30)
        r = services.tag_add(
            person=bd.person_a1,
            kind=k["released"],
            data={"release_date": "2025-12-01"},
            actor=bd.worker_a1,
        )
        assert r.next_visit_due == dt.date(2026, 3, 31)  # monthly in the first year
        r = services.tag_add(
            person=bd.person_a1,
            kind=k["released"],
            data={"release_date": "2024-01-01"},
            actor=bd.worker_a1,
        )
        assert r.next_visit_due == dt.date(2026, 5, 30)  # quarterly after it
    assert PersonTag.objects.filter(person=bd.person_a1).count() == 2


def test_admin_x_tag_with_fields(bd):
    x = TagKind.objects.create(
        code="x_pet",
        name="养犬户",
        fields=[{"name": "dogs", "label": "犬只数", "type": "int", "required": True, "min": 1}],
        visit_days=180,
    )
    e = err(services.tag_add, person=bd.person_a1, kind=x, data={"dogs": "two"}, actor=bd.worker_a1)
    assert e.field == "data.dogs"
    e = err(
        services.tag_add,
        person=bd.person_a1,
        kind=x,
        data={"dogs": 2, "cats": 1},
        actor=bd.worker_a1,
    )
    assert e.field == "data.cats"
    assert services.tag_add(
        person=bd.person_a1, kind=x, data={"dogs": "2"}, actor=bd.worker_a1
    ).data == {"dogs": 2}


def test_visit_once_per_client_id_and_reschedules(bd):
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC), tick=False):
        t = services.tag_add(
            person=bd.person_a1, kind=bd.kinds["lonely_elderly"], actor=bd.worker_a1
        )
    cid = uuid.uuid4()
    with time_machine.travel(dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC), tick=False):
        v, created = services.visit_record(
            actor=bd.worker_a1, client_id=cid, person=bd.person_a1, note="ok"
        )
        again, created2 = services.visit_record(
            actor=bd.worker_a1, client_id=cid, person=bd.person_a1
        )
    assert created and not created2 and again.pk == v.pk and v.was_overdue
    t.refresh_from_db()
    assert t.next_visit_due == dt.date(2026, 3, 17)


def test_reveal_needs_permission_and_reason_and_is_logged(bd):
    e = err(
        services.person_reveal,
        person=bd.person_a1,
        actor=bd.worker_a1,
        reason="回访核实",
        ip="10.0.0.1",
    )
    assert e.status == 403
    grant_reveal(bd.worker_a1)
    e = err(services.person_reveal, person=bd.person_a1, actor=bd.worker_a1, reason="", ip=None)
    assert e.field == "reason"
    assert not RevealLog.objects.exists()
    out = services.person_reveal(
        person=bd.person_a1, actor=bd.worker_a1, reason="回访核实", ip="10.0.0.1"
    )
    assert out == {"id_number": pid(11), "phone": "13900000012"}
    log = RevealLog.objects.get()
    assert (log.user, log.person, log.reason, log.ip) == (
        bd.worker_a1,
        bd.person_a1,
        "回访核实",
        "10.0.0.1",
    )


def test_organisation_uscc_checksum_and_duplicate(bd):
    from civicgrid.basedata.validators import make_uscc

    code = make_uscc("140213", 7)
    e = err(
        services.organisation_create,
        actor=bd.operator_a,
        name="甲公司",
        uscc=code[:-1] + ("0" if code[-1] != "0" else "1"),
        lat=A1[0],
        lng=A1[1],
    )
    assert (e.code, e.field) == ("bad_checksum", "uscc")
    org = services.organisation_create(
        actor=bd.operator_a,
        name="甲公司",
        uscc=code,
        lat=A1[0],
        lng=A1[1],
        legal_rep=bd.person_a1,
        has_party_org=True,
    )
    assert org.scope_code == bd.grid_a1.code
    e = err(
        services.organisation_create,
        actor=bd.operator_a,
        name="乙",
        uscc=code,
        lat=A1[0],
        lng=A1[1],
    )
    assert e.code == "duplicate"


def test_rotation_resumes_in_batches_and_lookup_works_midway(bd):
    for i in range(5):
        services.person_create(
            actor=bd.operator_a,
            data={
                "name": f"人{i}",
                "id_number": pid(100 + i),
                "phone": f"1380000000{i}",
                "house": bd.house_a1,
            },
        )
    with override_settings(PII_KEYRING=RING2):
        assert rotation.remaining() == 7
        assert rotation.rotate(batch=2, limit=3) == 3
        assert rotation.remaining() == 4
        # mid-rotation: old and new ciphertexts both open, the index still finds everyone
        for i in range(5):
            p = services.person_find(pid(100 + i))
            assert p.reveal_id_number() == pid(100 + i)
        call_command("pii_rotate", "--batch", "2", stdout=open("/dev/null", "w"))
        assert rotation.remaining() == 0
        assert all(
            p.id_number_enc.startswith("t2$") and p.phone_enc[:3] in ("", "t2$")
            for p in Person.objects.all()
        )
        assert services.person_find(pid(11)).reveal_phone() == "13900000012"
    assert crypto.keyring().active == "t1"


def test_worker_assessment_counts_base_data_touched(bd):
    from civicgrid.analytics import fieldstats

    with time_machine.travel(dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC), tick=False):
        services.person_update(person=bd.person_a1, actor=bd.worker_a1, data={"name": "张三丰"})
        services.visit_record(actor=bd.worker_a1, client_id=uuid.uuid4(), person=bd.person_a1)
    start, end = dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    out = fieldstats.worker_month_stats(
        user_ids=[bd.worker_a1.pk, bd.chief_a.pk], start=start, end=end
    )
    assert out[bd.worker_a1.pk]["base_data_touched"] == 2
    assert out[bd.chief_a.pk]["base_data_touched"] == 0
