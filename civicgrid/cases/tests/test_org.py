"""Department tasks (下派任务) and the admission list's life cycle: the firewall through every
surface (service, API, console form, demo), the progress board, reminders, persona × scope."""

from __future__ import annotations

import datetime as dt
import io
import json
from types import SimpleNamespace

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from civicgrid.cases import admission, taskboard
from civicgrid.cases.gridtasks import department_task_compose, grid_task_complete
from civicgrid.cases.models import (
    AdmissionItem,
    AdmissionItemAction,
    AdmissionState,
    Attachment,
    DepartmentTask,
    GridTask,
    GridTaskAction,
    GridTaskState,
)
from civicgrid.core.errors import DomainError, NotFound
from civicgrid.field.tests.conftest import jpeg_bytes
from civicgrid.notifications.models import Notification
from civicgrid.people.tests.factories import Role, UserFactory, add_member, assign

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(world):
    """An admitted item, a proposed one and a retired one of 甲区城管局; a second worker."""
    worker_a2 = UserFactory(username="worker_a2", full_name="甲二网格员")
    assign(worker_a2, Role.GRID_WORKER, world.comm_a)
    add_member(worker_a2, world.grid_a2, is_leader=True)
    handler_b = UserFactory(username="handler_b", full_name="乙区城管")
    assign(handler_b, Role.HANDLER, world.dist_b, department=world.dept_b)
    admitted = AdmissionItem.objects.create(
        department=world.dept_a, code="CG-01", name="门前三包检查", legal_basis="市容条例"
    )
    proposed = admission.admission_propose(
        actor=world.handler_a,
        department=world.dept_a,
        name="人口普查入户",
        legal_basis="统计法",
        why_grid="入户",
        workload="每户10分钟",
    )
    retired = AdmissionItem.objects.create(department=world.dept_a, code="CG-09", name="旧事项")
    admission.admission_act(item=retired, action="retire", actor=world.operator_a, reason="调整")
    other = AdmissionItem.objects.create(department=world.dept_b, code="CG-01", name="乙区事项")
    return SimpleNamespace(
        worker_a2=worker_a2,
        handler_b=handler_b,
        admitted=admitted,
        proposed=proposed,
        retired=retired,
        other=other,
    )


def soon(days=3):
    return timezone.now() + dt.timedelta(days=days)


def compose(world, org, **kw):
    args = dict(
        actor=world.handler_a,
        department=world.dept_a,
        item="CG-01",
        grids=[world.grid_a1.code, world.grid_a2.code],
        title="门前三包检查",
        deadline=soon(),
        instructions="逐户检查并拍照",
    )
    args.update(kw)
    return department_task_compose(**args)


# --- admission life cycle -----------------------------------------------------------------------


def test_a_proposal_is_admitted_by_the_district_center_and_every_step_is_logged(world, org):
    item = org.proposed
    assert item.state == AdmissionState.PROPOSED and item.code == "A-CG-02"
    # the street-level center does not keep the list; another district's center cannot see it
    street_op = UserFactory(username="street_op")
    assign(street_op, Role.OPERATOR, world.street_a, center=world.center_street_a)
    with pytest.raises(NotFound):
        admission.admission_act(item=item, action="approve", actor=street_op)
    with pytest.raises(NotFound):
        admission.admission_act(item=item, action="approve", actor=world.outsider_b)
    # the department cannot admit its own proposal
    with pytest.raises(DomainError) as exc:
        admission.admission_act(item=item, action="approve", actor=world.handler_a)
    assert exc.value.status == 403
    admission.admission_act(item=item, action="approve", actor=world.operator_a, reason="同意")
    item.refresh_from_db()
    assert item.state == AdmissionState.ADMITTED and item.decided_at is not None
    admission.admission_act(item=item, action="retire", actor=world.handler_a, reason="不再需要")
    log = list(AdmissionItemAction.objects.filter(item=item).values_list("action", "actor_id"))
    assert log == [
        ("propose", world.handler_a.pk),
        ("approve", world.operator_a.pk),
        ("retire", world.handler_a.pk),
    ]


def test_refusing_needs_a_reason_and_is_final(world, org):
    with pytest.raises(DomainError) as exc:
        admission.admission_act(item=org.proposed, action="refuse", actor=world.operator_a)
    assert exc.value.field == "reason"
    admission.admission_act(
        item=org.proposed, action="refuse", actor=world.operator_a, reason="属部门职责"
    )
    with pytest.raises(DomainError) as exc:
        admission.admission_act(item=org.proposed, action="approve", actor=world.operator_a)
    assert exc.value.code == "action_not_allowed"
    row = AdmissionItemAction.objects.get(item=org.proposed, action="refuse")
    assert row.note == "属部门职责"


def test_a_proposal_names_its_missing_field_and_only_staff_of_the_department_propose(world, org):
    with pytest.raises(DomainError) as exc:
        admission.admission_propose(
            actor=world.handler_a,
            department=world.dept_a,
            name="x",
            legal_basis="y",
            why_grid="",
            workload="z",
        )
    assert exc.value.field == "why_grid"
    with pytest.raises(DomainError) as exc:
        admission.admission_propose(
            actor=world.operator_a,
            department=world.dept_a,
            name="x",
            legal_basis="y",
            why_grid="w",
            workload="z",
        )
    assert exc.value.status == 403
    with pytest.raises(DomainError) as exc:
        admission.admission_propose(
            actor=world.handler_a,
            department=world.dept_a,
            code="CG-01",
            name="x",
            legal_basis="y",
            why_grid="w",
            workload="z",
        )
    assert exc.value.code == "duplicate" and exc.value.field == "code"


def test_the_public_list_shows_only_admitted_items_without_login_and_exports(client, world, org):
    page = client.get(reverse("public:admission"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "门前三包检查" in text and "乙区事项" in text
    assert "人口普查入户" not in text and "旧事项" not in text
    export = client.get(reverse("public:admission_export"))
    assert export.status_code == 200
    ws = load_workbook(io.BytesIO(export.content)).active
    names = [r[3] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["乙区事项", "门前三包检查"]
    api = client.get("/api/org/admission/public").json()
    assert sorted(i["name"] for i in api) == ["乙区事项", "门前三包检查"]


def test_the_export_writes_hostile_text_as_text(client, world):
    AdmissionItem.objects.create(department=world.dept_a, code="X", name="=HYPERLINK(1)")
    ws = load_workbook(io.BytesIO(client.get(reverse("public:admission_export")).content)).active
    cell = ws.cell(row=2, column=4)
    assert cell.value == "=HYPERLINK(1)" and cell.data_type == "s"


# --- the firewall through every surface -------------------------------------------------------


@pytest.mark.parametrize(
    "which", ["proposed", "retired", "other", "unknown"], ids=lambda w: f"item-{w}"
)
def test_the_service_refuses_what_is_not_admitted_naming_the_item_and_the_list(world, org, which):
    item = {
        "proposed": org.proposed,
        "retired": org.retired,
        "other": org.other,
        "unknown": "NO-SUCH",
    }[which]
    with pytest.raises(DomainError) as exc:
        compose(world, org, item=item)
    err = exc.value
    assert err.code == "not_admitted" and err.field == "item"
    assert world.dept_a.name in err.message
    name = item if isinstance(item, str) else item.name
    assert name in err.message
    assert err.details["list"] and world.dept_a.name in err.details["list"]
    assert not DepartmentTask.objects.exists() and not GridTask.objects.exists()


def test_the_api_refuses_what_is_not_admitted(client, world, org):
    client.force_login(world.handler_a)
    r = client.post(
        "/api/org/tasks",
        data=json.dumps(
            {
                "department": world.dept_a.pk,
                "item": org.proposed.code,
                "grids": [world.grid_a1.code],
                "title": "普查",
                "deadline": soon().isoformat(),
            }
        ),
        content_type="application/json",
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "not_admitted" and "人口普查入户" in body["message"]
    assert body["details"]["errors"][0]["field"] == "item"
    assert not GridTask.objects.exists()


def test_the_console_form_refuses_what_is_not_admitted(client, world, org):
    client.force_login(world.handler_a)
    r = client.post(
        reverse("console:task_compose"),
        {
            "department": world.dept_a.pk,
            "item": org.retired.code,
            "grids": [world.grid_a1.code],
            "title": "旧事项",
            "deadline": soon().strftime("%Y-%m-%dT%H:%M"),
            "client_id": "c-1",
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.status_code == 400
    text = r.content.decode()
    assert 'data-field="item"' in text and "旧事项" in text and world.dept_a.name in text
    assert not GridTask.objects.exists()


def test_the_demo_goes_through_the_firewall(world, org, monkeypatch):
    from civicgrid.cases.demo.catalog import seed_grid_tasks

    ctx = SimpleNamespace(
        grids=[world.grid_a1, world.grid_a2],
        grid_workers={world.grid_a1.code: world.worker_a1, world.grid_a2.code: org.worker_a2},
        now=timezone.now(),
        seed=1,
        rng_for=lambda name: __import__("random").Random(1),
        log=lambda *a: None,
    )
    seed_grid_tasks(ctx, [org.admitted])
    order = DepartmentTask.objects.get()
    assert order.grid_tasks.count() == 2
    assert GridTaskAction.objects.filter(action="create", data__order=order.pk).count() == 2
    # an item the demo believed admitted is still refused by the service's firewall
    monkeypatch.setattr(AdmissionItem, "is_active", property(lambda self: True))
    with pytest.raises(DomainError) as exc:
        seed_grid_tasks(ctx, [org.proposed])
    assert exc.value.code == "not_admitted"
    assert DepartmentTask.objects.count() == 1


# --- composing ---------------------------------------------------------------------------------


def test_a_task_goes_to_each_chosen_grid_with_a_notice_and_a_retry_creates_nothing_twice(
    world, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = compose(world, org, client_id="retry-1")
    again = compose(world, org, client_id="retry-1")
    assert again.pk == order.pk and DepartmentTask.objects.count() == 1
    tasks = {t.grid_id: t for t in order.grid_tasks.all()}
    assert tasks[world.grid_a1.pk].worker == world.worker_a1
    assert tasks[world.grid_a2.pk].worker == org.worker_a2
    assert all(
        t.description == "逐户检查并拍照" and t.state == GridTaskState.OPEN for t in tasks.values()
    )
    assert Notification.objects.filter(recipient=world.worker_a1, kind="grid_task").count() == 1


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"grids": []}, "grids"),
        ({"grids": ["140214001001001"]}, "grids"),  # 乙区's grid: out of the handler's scope
        ({"grids": ["999"]}, "grids"),
        ({"deadline": "yesterday"}, "deadline"),
        ({"title": " "}, "title"),
    ],
)
def test_bad_input_is_refused_naming_the_field(world, org, kw, field):
    if kw.get("deadline") == "yesterday":
        kw = {"deadline": timezone.now() - dt.timedelta(hours=1)}
    with pytest.raises(DomainError) as exc:
        compose(world, org, **kw)
    assert exc.value.field == field
    assert not GridTask.objects.exists()


def test_out_of_scope_and_unknown_grids_get_the_same_answer(world, org):
    with pytest.raises(DomainError) as a:
        compose(world, org, grids=[world.grid_b1.code])
    with pytest.raises(DomainError) as b:
        compose(world, org, grids=["140214001001999"])
    assert a.value.code == b.value.code == "unknown_grid"


def test_a_grid_without_a_worker_is_named(world, org):
    from civicgrid.territory.tests.factories import GridFactory

    empty = GridFactory(area=world.comm_a, code="140213001001009", name="空网格")
    with pytest.raises(DomainError) as exc:
        compose(world, org, grids=[world.grid_a1.code, empty.code])
    assert exc.value.code == "no_worker" and "空网格" in exc.value.message


def test_only_handlers_of_the_department_compose(world, org):
    for actor in (world.operator_a, world.worker_a1, org.handler_b, world.leader_a):
        with pytest.raises(DomainError) as exc:
            compose(world, org, actor=actor)
        assert exc.value.status == 403


def test_attachments_go_with_the_task_and_only_its_people_get_them(client, world, org):
    photo = SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg")
    order = compose(world, org, attachments=[photo])
    att = Attachment.objects.get(order=order)
    url = reverse("files:attachment", args=[att.pk])
    expected = {
        world.worker_a1: 200,
        world.handler_a: 200,
        world.operator_a: 200,
        world.outsider_b: 404,
        org.handler_b: 404,
        world.citizen: 404,
    }
    for user, status in expected.items():
        client.force_login(user)
        assert client.get(url).status_code == status, user.username


# --- progress board and reminders --------------------------------------------------------------


def test_the_board_counts_pending_done_and_overdue_per_grid(world, org):
    order = compose(world, org, deadline=soon(1))
    t1 = order.grid_tasks.get(grid=world.grid_a1)
    grid_task_complete(task=t1, actor=world.worker_a1, result="已检查")
    board = taskboard.board_for(taskboard.Principal.of(world.handler_a), order)
    assert board.counts == {"pending": 1, "done": 1, "overdue": 0, "cancelled": 0}
    assert board.done_pct == 50
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        board = taskboard.board_for(taskboard.Principal.of(world.handler_a), order)
        assert {r["grid"].code: r["status"] for r in board.rows} == {
            world.grid_a1.code: "done",
            world.grid_a2.code: "overdue",
        }
        summary = taskboard.order_summaries([order], taskboard.Principal.of(world.operator_a))
        assert summary[order.pk] == {"pending": 0, "done": 1, "overdue": 1, "cancelled": 0}


def test_reminders_go_once_before_the_deadline_from_the_sweep(world, org):
    from civicgrid.cases.tasks import sla_sweep

    order = compose(world, org, deadline=soon(2))
    assert taskboard.grid_task_remind() == 0  # not yet within 24 h
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, hours=2)):
        counts = sla_sweep()
        assert counts["task_reminders"] == 2
        assert sla_sweep()["task_reminders"] == 0
    assert (
        Notification.objects.filter(recipient=world.worker_a1, title__contains="门前三包").count()
        == 1  # one reminder (the new-task notice is sent on commit, not in this test)
    )
    assert order.grid_tasks.filter(reminded_at__isnull=False).count() == 2


PERSONAS = {
    # persona: (console board status, grids on the board)
    "handler_a": (200, 2),
    "operator_a": (200, 2),
    "leader_a": (200, 2),
    "chief_a": (200, 2),
    "admin": (200, 2),
    "worker_a1": (404, 0),
    "outsider_b": (404, 0),
    "handler_b": (404, 0),
    "citizen": (404, 0),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_board_and_list_by_persona(client, world, org, persona):
    order = compose(world, org)
    user = getattr(world, persona, None) or getattr(org, persona)
    status, grids = PERSONAS[persona]
    client.force_login(user)
    r = client.get(reverse("console:task_board", args=[order.pk]))
    assert r.status_code == status
    api = client.get(f"/api/org/tasks/{order.pk}")
    assert api.status_code == status
    if status == 200:
        assert len(api.json()["grids"]) == grids
    listed = client.get("/api/org/tasks").json()
    assert [o["id"] for o in listed] == ([order.pk] if status == 200 else [])


def test_a_street_operator_sees_only_the_grids_of_their_street(world, org):
    from civicgrid.territory.tests.factories import AreaFactory, GridFactory

    other_street = AreaFactory(code="140213002000", name="丙街道", parent=world.dist_a)
    other_comm = AreaFactory(code="140213002001", name="丙社区", parent=other_street)
    far = GridFactory(area=other_comm, code="140213002001001", name="丙一网格")
    w = UserFactory(username="w3")
    assign(w, Role.GRID_WORKER, other_comm)
    add_member(w, far)
    order = compose(world, org, grids=[world.grid_a1.code, far.code])
    street_op = UserFactory(username="street_op")
    assign(street_op, Role.OPERATOR, world.street_a, center=world.center_street_a)
    board = taskboard.board_for(taskboard.Principal.of(street_op), order)
    assert [r["grid"].code for r in board.rows] == [world.grid_a1.code]


def test_compose_page_by_persona(client, world, org):
    expected = {"handler_a": 200, "operator_a": 404, "worker_a1": 404, "citizen": 404}
    for name, status in expected.items():
        client.force_login(getattr(world, name))
        assert client.get(reverse("console:task_compose")).status_code == status, name
    client.logout()
    assert client.get(reverse("console:task_compose")).status_code == 302


def test_the_console_form_composes_and_redirects_to_the_board(client, world, org):
    client.force_login(world.handler_a)
    page = client.get(reverse("console:task_compose")).content.decode()
    assert "CG-01 门前三包检查" in page and "人口普查入户" not in page
    assert world.grid_a1.code in page and world.grid_b1.code not in page
    r = client.post(
        reverse("console:task_compose"),
        {
            "department": world.dept_a.pk,
            "item": "CG-01",
            "grids": [world.grid_a1.code, world.grid_a2.code],
            "title": "门前三包检查",
            "deadline": soon().strftime("%Y-%m-%dT%H:%M"),
            "instructions": "逐户",
            "client_id": "form-1",
            "attachments": [SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg")],
        },
    )
    order = DepartmentTask.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("console:task_board", args=[order.pk])
    assert order.grid_tasks.count() == 2 and order.attachments.count() == 1


def test_the_api_composes_once_per_client_id(client, world, org):
    client.force_login(world.handler_a)
    payload = {
        "department": world.dept_a.pk,
        "item": "CG-01",
        "grids": [world.grid_a1.code],
        "title": "检查",
        "deadline": soon().isoformat(),
        "client_id": "api-1",
    }
    first = client.post("/api/org/tasks", json.dumps(payload), content_type="application/json")
    again = client.post("/api/org/tasks", json.dumps(payload), content_type="application/json")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"] and GridTask.objects.count() == 1


def test_the_admission_console_and_api_by_persona(client, world, org):
    client.force_login(world.handler_a)
    r = client.post(
        reverse("console:admission"),
        {
            "department": world.dept_a.pk,
            "name": "文明城市创建入户宣传",
            "legal_basis": "创建方案",
            "why_grid": "入户",
            "workload": "每网格2小时",
        },
    )
    assert r.status_code == 302
    item = AdmissionItem.objects.get(name="文明城市创建入户宣传")
    assert item.state == AdmissionState.PROPOSED
    client.force_login(world.outsider_b)
    assert client.get(reverse("console:admission_detail", args=[item.pk])).status_code == 404
    assert (
        client.post(
            f"/api/org/admission/{item.pk}/approve", json.dumps({}), content_type="application/json"
        ).status_code
        == 404
    )
    client.force_login(world.operator_a)
    assert client.get(reverse("console:admission_detail", args=[item.pk])).status_code == 200
    r = client.post(
        f"/api/org/admission/{item.pk}/approve",
        json.dumps({"version": item.version}),
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["state"] == "admitted"
    stale = client.post(
        reverse("console:admission_act", args=[item.pk, "retire"]),
        {"reason": "x", "version": item.version},
    )
    assert stale.status_code == 302
    item.refresh_from_db()
    assert item.state == AdmissionState.ADMITTED  # the stale version was refused
