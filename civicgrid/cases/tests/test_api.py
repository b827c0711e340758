"""The cases REST API end to end: every call goes through HTTP, auth and the error mapping."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from civicgrid.api.models import ApiToken
from civicgrid.cases import services
from civicgrid.cases.models import Attachment, Case, CaseAction, State
from civicgrid.people.tests.factories import UserFactory

from .conftest import A1, A2, B1, drive, jpeg_bytes, report

pytestmark = pytest.mark.usefixtures("frozen_clock")

API = "/api/cases"
PERSONAS = [
    "operator_a",
    "handler_a",
    "worker_a1",
    "chief_a",
    "leader_a",
    "admin",
    "outsider_b",
    "citizen",
]


def post(client, url, data=None, **extra):
    return client.post(url, json.dumps(data or {}), content_type="application/json", **extra)


def as_user(client, user):
    client.force_login(user)
    return client


def upload(client, case_key) -> int:
    response = client.post(
        f"{API}/{case_key}/attachments",
        {"file": SimpleUploadedFile("scene.jpg", jpeg_bytes(), content_type="image/jpeg")},
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _upload_unattached(client) -> int:
    photo = SimpleUploadedFile("scene.jpg", jpeg_bytes(), content_type="image/jpeg")
    response = client.post(f"{API}/attachments", {"file": photo})
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def act(client, case_key, path, payload, *, version):
    return post(client, f"{API}/{case_key}/{path}", {"version": version, **payload})


# --- OpenAPI -----------------------------------------------------------------------------------------


def test_openapi_document_is_valid_and_lists_every_endpoint(client, db):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in ("/api/cases/", "/api/cases/{key}", "/api/cases/categories"):
        assert path in paths
    actions = [
        "accept", "reject", "merge", "self-close", "dispatch", "return", "sign", "submit",
        "verify", "rework", "escalate", "reopen", "extension-request", "extension-approve",
        "extension-deny", "suspend-request", "suspend-approve", "suspend-deny", "resume",
        "supervise", "comment", "rate",
    ]  # fmt: skip
    for action in actions:
        op = paths[f"/api/cases/{{key}}/{action}"]["post"]
        schema_ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
        assert "version" in schema["properties"], action
    operation_ids = [op["operationId"] for p in paths.values() for op in p.values()]
    assert len(operation_ids) == len(set(operation_ids))
    # Every $ref resolves.
    for ref in _refs(doc):
        assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"]


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_docs_page_renders(client, db):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "openapi.json" in html
    # Intranet deployments have no Internet: Swagger UI must come from our static files. (Look at
    # the addresses only: the page's random CSRF token may contain any letters, "cdn" too.)
    import re

    urls = re.findall(r'(?:src|href)="([^"]*)"', html) + re.findall(r"https?://[^\s\"'<>]+", html)
    assert urls and not [u for u in urls if "//" in u and "cdn" in u.lower()], urls
    assert not [u for u in urls if u.startswith(("http://", "https://", "//"))], urls
    assert "/static/ninja/swagger-ui-bundle" in html


def test_anonymous_calls_answer_401_in_the_error_shape(client, db):
    for response in (client.get(f"{API}/"), post(client, f"{API}/", {})):
        assert response.status_code == 401
        assert set(response.json()) == {"code", "message", "details"}


# --- the full loop ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reporter, source", [("citizen", "citizen"), ("worker_a1", "grid_worker")])
def test_full_loop_through_the_api_as_each_role(client, world, cats, reporter, source):
    w = world
    as_user(client, getattr(w, reporter))
    created = post(
        client,
        f"{API}/",
        {
            "category": "0401",
            "description": "楼道堆放杂物，影响通行",
            "lat": A1[0],
            "lng": A1[1],
            "source": source,
            "client_id": f"loop-{reporter}-0001",
        },
    )
    assert created.status_code == 201, created.json()
    case = created.json()
    code, version = case["tracking_code"], case["version"]
    assert case["state"] == "reported" and case["grid_code"] == w.grid_a1.code

    def step(persona, path, payload, state):
        nonlocal version
        response = act(as_user(client, getattr(w, persona)), code, path, payload, version=version)
        assert response.status_code == 200, (path, response.json())
        body = response.json()
        assert body["case"]["state"] == state and body["action"]["action"] == path
        assert body["case"]["version"] > version
        version = body["case"]["version"]
        return body

    step("operator_a", "accept", {"category": "0401", "priority": 3}, "filed")
    step("operator_a", "dispatch", {"department": w.dept_a.code}, "assigned")
    step("handler_a", "sign", {}, "in_progress")
    photo = upload(as_user(client, w.handler_a), code)
    step("handler_a", "submit", {"result": "已清理", "attachments": [photo]}, "handled")
    step("operator_a", "rework", {"reason": "仍有杂物"}, "in_progress")
    photo = upload(as_user(client, w.handler_a), code)
    step("handler_a", "submit", {"result": "已彻底清理", "attachments": [photo]}, "handled")
    body = step("operator_a", "verify", {"note": "核查属实"}, "closed")
    assert body["case"]["counters"]["reworks"] == 1

    if reporter == "citizen":
        rated = act(as_user(client, w.citizen), code, "rate", {"score": 5}, version=version)
        assert rated.status_code == 200, rated.json()
        assert rated.json()["case"]["satisfaction"] == 5
    else:
        # A report filed by staff carries no citizen rating, not even by its reporter.
        for persona in ("worker_a1", "operator_a"):
            rated = act(
                as_user(client, getattr(w, persona)), code, "rate", {"score": 5}, version=version
            )
            assert rated.status_code == 403, rated.json()

    detail = as_user(client, w.operator_a).get(f"{API}/{code}").json()
    # Each upload is an ``attach`` action of the handler, logged like any other.
    assert [e["action"] for e in detail["timeline"]] == [
        "report", "accept", "dispatch", "sign", "attach", "submit", "rework", "attach", "submit",
        "verify",
    ] + (["rate"] if reporter == "citizen" else [])  # fmt: skip
    assert detail["allowed_actions"] == ["reopen", "comment"]


def test_citizen_sees_the_public_view_of_their_own_case(client, world, cats):
    case = drive(world, cats, State.ASSIGNED, actor=world.citizen, source="citizen")
    services.case_comment(case=case, actor=world.operator_a, text="内部备注：联系街道")
    services.case_dispatch(case=case, actor=world.operator_a, worker=world.worker_a1)
    body = as_user(client, world.citizen).get(f"{API}/{case.tracking_code}").json()
    assert body["worker"] is None and body["reporter"] == ""
    assert all(e["actor"] is None for e in body["timeline"])
    assert "comment" not in [e["action"] for e in body["timeline"]]
    staff = as_user(client, world.operator_a).get(f"{API}/{case.tracking_code}").json()
    assert staff["worker"]["id"] == world.worker_a1.pk
    assert "comment" in [e["action"] for e in staff["timeline"]]


def test_reporter_phone_is_masked_for_all_staff(client, world, cats):
    """The full number only through the logged reveal (civicgrid/api/tests/test_personal_data)."""
    case = services.case_report(
        actor=None,
        category=cats.small,
        description="路灯不亮",
        lat=A1[0],
        lng=A1[1],
        source="citizen",
        reporter_phone="13912345678",
    )
    assert as_user(client, world.operator_a).get(f"{API}/{case.pk}").json()["reporter_phone"] == (
        "139****5678"
    )
    assert as_user(client, world.leader_a).get(f"{API}/{case.pk}").json()["reporter_phone"] == (
        "139****5678"
    )


# --- role × scope matrices ------------------------------------------------------------------------


@pytest.fixture
def spread(world, cats):
    """A reported case in A1, one in A2 dispatched to district A's department (reported by
    another citizen, so no persona sees it as its reporter), one reported in B1."""
    a_citizen = UserFactory(username="citizen_a")
    b_citizen = UserFactory(username="citizen_b")
    return {
        "a1": report(world, cats),
        "a2_assigned": drive(world, cats, State.ASSIGNED, at=A2, actor=a_citizen, source="citizen"),
        "b1": report(world, cats, at=B1, actor=b_citizen, source="citizen"),
    }


VISIBLE = {
    "operator_a": {"a1", "a2_assigned"},
    "handler_a": {"a2_assigned"},
    "worker_a1": {"a1"},
    "chief_a": {"a1", "a2_assigned"},
    "leader_a": {"a1", "a2_assigned"},
    "admin": {"a1", "a2_assigned", "b1"},
    "outsider_b": {"b1"},
    "citizen": set(),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_shows_exactly_the_cases_in_scope(client, world, spread, persona):
    body = as_user(client, getattr(world, persona)).get(f"{API}/").json()
    ids = {item["id"] for item in body["items"]}
    assert ids == {spread[k].pk for k in VISIBLE[persona]}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("which", ["a1", "a2_assigned", "b1"])
def test_detail_is_200_in_scope_and_404_outside(client, world, spread, persona, which):
    case = spread[which]
    as_user(client, getattr(world, persona))
    for key in (case.pk, case.tracking_code):
        response = client.get(f"{API}/{key}")
        expected = 200 if which in VISIBLE[persona] else 404
        assert response.status_code == expected
        if expected == 404:
            assert response.json()["code"] == "not_found"


ACTION_MATRIX = [
    # (case, path, payload, {persona: status}); unlisted personas → 404
    (
        "a1",
        "accept",
        {"category": "0401", "priority": 2},
        {"operator_a": 200, "worker_a1": 403, "chief_a": 403, "leader_a": 403, "admin": 403},
    ),
    (
        "a2_assigned",
        "sign",
        {},
        {"handler_a": 200, "operator_a": 403, "chief_a": 403, "leader_a": 403, "admin": 403},
    ),
    (
        "a2_assigned",
        "supervise",
        {"note": "请加快办理"},
        {"operator_a": 200, "leader_a": 200, "handler_a": 403, "chief_a": 403, "admin": 403},
    ),
    (
        "b1",
        "reject",
        {"reason": "不属于受理范围"},
        {"outsider_b": 200, "admin": 403},
    ),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("which, path, payload, expected", ACTION_MATRIX)
def test_actions_answer_404_out_of_scope_403_without_capacity_200_when_allowed(
    client, world, spread, persona, which, path, payload, expected
):
    case = spread[which]
    before = (case.state, case.version)
    response = act(
        as_user(client, getattr(world, persona)), case.pk, path, payload, version=case.version
    )
    status = expected.get(persona, 404)
    assert response.status_code == status, response.json()
    case.refresh_from_db()
    if status == 200:
        assert case.version == before[1] + 1
    else:
        assert (case.state, case.version) == before
        assert response.json()["code"] in ("not_found", "permission_denied")


# --- every action endpoint is wired to its service --------------------------------------------------


ENDPOINTS = [
    # (start state, persona, path, payload, resulting state)
    ("reported", "operator_a", "reject", {"reason": "重复上报"}, "rejected"),
    ("reported", "operator_a", "escalate", {"reason": "需区级协调"}, "reported"),
    ("filed", "operator_a", "dispatch", {"worker": "worker_a1"}, "assigned"),
    ("assigned", "handler_a", "return", {"reason": "不属本部门职责"}, "filed"),
    ("closed", "operator_a", "reopen", {"reason": "群众反映问题复发"}, "filed"),
    ("in_progress", "handler_a", "extension-request", {"due": "+5d", "reason": "需采购"}, "same"),
    ("in_progress", "handler_a", "suspend-request", {"review_date": "+30d", "reason": "缺资金"},
     "same"),
    ("suspended", "operator_a", "resume", {"note": "资金到位"}, "in_progress"),
    ("handled", "operator_a", "comment", {"text": "已电话回访", "internal": False}, "same"),
]  # fmt: skip


def _resolve(world, value):
    if value == "worker_a1":
        return world.worker_a1.pk
    if isinstance(value, str) and value.startswith("+") and value.endswith("d"):
        days = int(value[1:-1])
        if days == 30:
            return (timezone.localdate() + dt.timedelta(days=days)).isoformat()
        return (timezone.now() + dt.timedelta(days=days)).isoformat()
    return value


@pytest.mark.parametrize("state, persona, path, payload, result", ENDPOINTS)
def test_each_action_endpoint_runs_its_transition(
    client, world, cats, state, persona, path, payload, result
):
    case = drive(world, cats, state)
    payload = {k: _resolve(world, v) for k, v in payload.items()}
    response = act(as_user(client, getattr(world, persona)), case.pk, path, payload,
                   version=case.version)  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["case"]["state"] == (state if result == "same" else result)
    assert CaseAction.objects.filter(case=case).latest("id").action == body["action"]["action"]


def test_merge_endpoint_merges_into_an_open_case(client, world, cats):
    target = report(world, cats)
    dup = report(world, cats)
    response = act(as_user(client, world.operator_a), dup.pk, "merge",
                   {"target": target.tracking_code}, version=dup.version)  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["case"]["state"] == "merged"
    assert response.json()["case"]["merged_into"] == target.tracking_code


def test_extension_and_suspension_decisions(client, world, cats):
    case = drive(world, cats, State.IN_PROGRESS)
    due = (timezone.now() + dt.timedelta(days=10)).isoformat()
    services.case_extension_request(case=case, actor=world.handler_a, due=due, reason="需采购")
    as_user(client, world.operator_a)
    r = act(client, case.pk, "extension-approve", {}, version=case.version)
    assert r.status_code == 200, r.json()
    assert r.json()["case"]["counters"]["extensions"] == 1
    version = r.json()["case"]["version"]
    services.case_extension_request(
        case=Case.objects.get(pk=case.pk),
        actor=world.handler_a,
        due=(timezone.now() + dt.timedelta(days=20)).isoformat(),
        reason="再延",
    )
    version = Case.objects.get(pk=case.pk).version
    r = act(client, case.pk, "extension-deny", {"reason": "理由不足"}, version=version)
    assert r.status_code == 200, r.json()
    case = Case.objects.get(pk=case.pk)
    services.case_suspend_request(
        case=case,
        actor=world.handler_a,
        reason="等待法院判决",
        review_date=timezone.localdate() + dt.timedelta(days=60),
    )
    case.refresh_from_db()
    r = act(client, case.pk, "suspend-deny", {"reason": "可先行处置"}, version=case.version)
    assert r.status_code == 200 and r.json()["case"]["state"] == "in_progress"
    case.refresh_from_db()
    services.case_suspend_request(
        case=case,
        actor=world.handler_a,
        reason="等待法院判决",
        review_date=timezone.localdate() + dt.timedelta(days=60),
    )
    case.refresh_from_db()
    r = act(client, case.pk, "suspend-approve", {}, version=case.version)
    assert r.status_code == 200 and r.json()["case"]["state"] == "suspended"


def test_self_close_with_an_uploaded_photo(client, world, cats):
    case = report(world, cats)
    as_user(client, world.worker_a1)
    upload = client.post(
        f"{API}/{case.tracking_code}/attachments",
        {"file": SimpleUploadedFile("scene.png", jpeg_bytes(), content_type="image/png")},
    )
    assert upload.status_code == 201, upload.json()
    att = upload.json()
    assert att["kind"] == "image" and att["content_type"] == "image/jpeg"
    r = act(client, case.pk, "self-close", {"result": "已当场劝导清理", "attachments": [att["id"]]},
            version=case.version)  # fmt: skip
    assert r.status_code == 200, r.json()
    assert r.json()["case"]["state"] == "closed"
    assert r.json()["case"]["attachments"][0]["action_id"] == r.json()["action"]["id"]


def test_self_close_without_photo_names_the_field(client, world, cats):
    case = report(world, cats)
    r = act(as_user(client, world.worker_a1), case.pk, "self-close", {"result": "已处理"},
            version=case.version)  # fmt: skip
    assert r.status_code == 400
    assert r.json()["details"]["field"] == "attachments"


def test_report_with_a_photo_uploaded_beforehand(client, world, cats):
    as_user(client, world.worker_a1)
    upload = client.post(
        f"{API}/attachments",
        {"file": SimpleUploadedFile("x.jpg", jpeg_bytes(), content_type="image/jpeg")},
    )
    assert upload.status_code == 201
    r = post(client, f"{API}/", {"category": "0402", "description": "违章搭建", "lat": A1[0],
                                 "lng": A1[1], "source": "grid_worker",
                                 "attachments": [upload.json()["id"]]})  # fmt: skip
    assert r.status_code == 201, r.json()
    assert [a["id"] for a in r.json()["attachments"]] == [upload.json()["id"]]


def test_upload_that_is_not_an_image_or_clip_is_refused_naming_the_field(client, world, cats):
    case = report(world, cats)
    r = as_user(client, world.worker_a1).post(
        f"{API}/{case.pk}/attachments",
        {"file": SimpleUploadedFile("evil.jpg", b"<?php echo 1; ?>", content_type="image/jpeg")},
    )
    assert r.status_code == 400
    assert r.json()["details"]["field"] == "file"
    assert not Attachment.objects.exists()


def test_upload_to_an_out_of_scope_case_answers_404(client, world, cats):
    case = report(world, cats, at=B1, actor=world.citizen, source="citizen")
    r = as_user(client, world.worker_a1).post(
        f"{API}/{case.pk}/attachments",
        {"file": SimpleUploadedFile("x.jpg", jpeg_bytes(), content_type="image/jpeg")},
    )
    assert r.status_code == 404


# --- validation, conflicts, idempotency --------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"description": "x", "lat": A1[0], "lng": A1[1]}, "category"),
        ({"category": "0401", "lat": A1[0], "lng": A1[1]}, "description"),
        ({"category": "0401", "description": "x", "lat": 91, "lng": A1[1]}, "lat"),
        ({"category": "0401", "description": "x", "lat": A1[0], "lng": A1[1], "crs": "x"}, "crs"),
        ({"category": "0401", "description": "x", "lat": A1[0], "lng": A1[1], "source": "fax"},
         "source"),
    ],
)  # fmt: skip
def test_report_validation_errors_name_the_field(client, world, cats, payload, field):
    r = post(as_user(client, world.citizen), f"{API}/", payload)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error"
    assert field in [e["field"] for e in body["details"]["errors"]]
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "payload, status, field",
    [
        ({"category": "9999", "priority": 2}, 400, "category"),
        ({"category": "0401", "priority": 9}, 422, "priority"),
        ({"priority": 2}, 422, "category"),
        ({"category": "0401", "priority": 2, "version": "x"}, 422, "version"),
    ],
)
def test_action_validation_errors_name_the_field_and_change_nothing(
    client, world, cats, payload, status, field
):
    case = report(world, cats)
    body = {"version": case.version, **payload}
    r = post(as_user(client, world.operator_a), f"{API}/{case.pk}/accept", body)
    assert r.status_code == status, r.json()
    assert field in [e["field"] for e in r.json()["details"]["errors"]]
    case.refresh_from_db()
    assert case.state == "reported" and case.version == 1


def test_report_from_a_grid_worker_source_by_a_citizen_is_forbidden(client, world, cats):
    r = post(as_user(client, world.citizen), f"{API}/", {"category": "0401", "description": "x",
             "lat": A1[0], "lng": A1[1], "source": "grid_worker"})  # fmt: skip
    assert r.status_code == 403
    assert r.json()["details"]["field"] == "source"


def test_report_retry_with_the_same_client_id_returns_the_first_case(client, world, cats):
    payload = {"category": "0401", "description": "井盖缺失", "lat": A1[0], "lng": A1[1],
               "client_id": "phone-7f3a-0001"}  # fmt: skip
    as_user(client, world.citizen)
    first = post(client, f"{API}/", payload)
    again = post(client, f"{API}/", payload)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Case.objects.count() == 1
    other = post(as_user(client, world.worker_a1), f"{API}/", {**payload, "source": "grid_worker"})
    assert other.status_code == 409
    assert other.json()["code"] == "client_id_conflict"


def test_stale_version_answers_409_and_changes_nothing(client, world, cats):
    case = report(world, cats)
    as_user(client, world.operator_a)
    ok = act(client, case.pk, "accept", {"category": "0401", "priority": 2}, version=1)
    assert ok.status_code == 200
    stale = act(client, case.pk, "dispatch", {"department": world.dept_a.code}, version=1)
    assert stale.status_code == 409
    assert stale.json()["code"] == "version_conflict"
    assert stale.json()["details"]["version"] == 2
    case.refresh_from_db()
    assert case.state == "filed" and case.version == 2


def test_action_not_allowed_in_state_answers_409_with_the_allowed_actions(client, world, cats):
    case = report(world, cats)
    r = act(as_user(client, world.operator_a), case.pk, "verify", {"note": "x"}, version=1)
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "action_not_allowed"
    assert body["details"]["state"] == "reported"
    assert "accept" in body["details"]["allowed_actions"]


def test_comment_needs_no_version(client, world, cats):
    case = report(world, cats)
    r = post(as_user(client, world.operator_a), f"{API}/{case.pk}/comment", {"text": "已联系"})
    assert r.status_code == 200, r.json()


# --- token auth --------------------------------------------------------------------------------------


def test_token_auth_reports_and_acts_without_a_session_or_csrf(client, world, cats):
    from django.test import Client

    _row, token = ApiToken.issue(user=world.worker_a1, name="app")
    strict = Client(enforce_csrf_checks=True)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    r = post(strict, f"{API}/", {"category": "0401", "description": "x", "lat": A1[0],
             "lng": A1[1], "source": "grid_worker"}, **auth)  # fmt: skip
    assert r.status_code == 201, r.json()
    case = Case.objects.get()
    assert case.reporter == world.worker_a1
    _row, op_token = ApiToken.issue(user=world.operator_a, name="hotline")
    r = post(strict, f"{API}/{case.pk}/accept", {"version": 1, "category": "0401", "priority": 2},
             HTTP_X_API_TOKEN=op_token)  # fmt: skip
    assert r.status_code == 200
    assert CaseAction.objects.filter(case=case, action="accept").get().actor == world.operator_a


def test_revoked_token_cannot_act(client, world, cats):
    case = report(world, cats)
    row, token = ApiToken.issue(user=world.operator_a, name="old")
    row.revoked = True
    row.save()
    r = post(client, f"{API}/{case.pk}/accept", {"version": 1, "category": "0401", "priority": 2},
             HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert r.status_code == 401


# --- list: pagination, filters, query count ----------------------------------------------------------


def _make(world, cats, n, **kw):
    return [report(world, cats, **kw) for _ in range(n)]


def test_cursor_pagination_walks_every_case_once_newest_first(client, world, cats):
    cases = _make(world, cats, 7)
    as_user(client, world.operator_a)
    seen, cursor, pages = [], None, 0
    while True:
        url = f"{API}/?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).json()
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    expected = [c.pk for c in sorted(cases, key=lambda c: (c.reported_at, c.pk), reverse=True)]
    assert seen == expected


def test_bad_cursor_names_the_field(client, world, cats):
    r = as_user(client, world.operator_a).get(f"{API}/?cursor=garbage!")
    assert r.status_code == 400
    assert r.json()["details"]["field"] == "cursor"


def test_list_query_count_does_not_grow_with_the_page(client, world, cats):
    as_user(client, world.operator_a)
    _make(world, cats, 2)
    drive(world, cats, State.ASSIGNED)
    client.get(f"{API}/")  # warm the session
    with CaptureQueriesContext(connection) as small:
        assert len(client.get(f"{API}/").json()["items"]) == 3
    _make(world, cats, 12)
    drive(world, cats, State.ASSIGNED, at=A2)
    drive(world, cats, State.ASSIGNED, at=A2)
    with CaptureQueriesContext(connection) as big:
        assert len(client.get(f"{API}/").json()["items"]) == 17
    assert len(big.captured_queries) == len(small.captured_queries)
    assert len(small.captured_queries) <= 8


def test_list_filters(client, world, cats):
    w = world
    a1 = report(w, cats)
    a2 = report(w, cats, at=A2, category=cats.big, attachments=[jpeg_bytes()])
    filed = drive(w, cats, State.FILED)
    hotline = report(w, cats, actor=w.operator_a, source="hotline")
    Case.objects.filter(pk=a1.pk).update(
        sla_due_at=timezone.now() - dt.timedelta(hours=1),
        reported_at=timezone.now() - dt.timedelta(days=3),
    )
    as_user(client, w.operator_a)

    def ids(query):
        r = client.get(f"{API}/?{query}")
        assert r.status_code == 200, r.json()
        return {i["id"] for i in r.json()["items"]}

    everything = {a1.pk, a2.pk, filed.pk, hotline.pk}
    assert ids("") == everything
    assert ids("state=filed") == {filed.pk}
    assert ids("state=reported,filed") == everything
    assert ids("category=0402") == {a2.pk}
    assert ids("category=04") == everything
    assert ids(f"grid={w.grid_a2.code}") == {a2.pk}
    assert ids(f"area={w.comm_a.code}") == everything
    assert ids(f"area={w.comm_b.code}") == set()
    assert ids("source=hotline") == {hotline.pk}
    assert ids("overdue=true") == {a1.pk}
    today = timezone.localdate()
    assert ids(f"date_to={(today - dt.timedelta(days=2)).isoformat()}") == {a1.pk}
    assert ids(f"date_from={today.isoformat()}") == everything - {a1.pk}
    assert ids(f"q={a2.tracking_code}") == {a2.pk}


@pytest.mark.parametrize(
    "query, field",
    [("state=open", "state"), ("area=12", "area"), ("limit=0", "limit"), ("overdue=maybe",
     "overdue"), ("date_from=yesterday", "date_from")],
)  # fmt: skip
def test_list_filter_errors_name_the_field(client, world, cats, query, field):
    r = as_user(client, world.operator_a).get(f"{API}/?{query}")
    assert r.status_code in (400, 422)
    assert field in [e["field"] for e in r.json()["details"]["errors"]]


# --- categories and duplicates ----------------------------------------------------------------------


def test_categories_list_active_ones_with_their_rules(client, world, cats):
    cats.parent.children.create(code="0499", name="停用", is_active=False)
    body = as_user(client, world.worker_a1).get(f"{API}/categories").json()
    assert [c["code"] for c in body] == ["04", "0401", "0402"]
    small = body[1]
    assert small["parent_code"] == "04" and small["self_closable"] is True
    assert small["default_department"] == world.dept_a.code
    assert body[2]["photo_required"] is True


def test_duplicates_suggests_nearby_open_cases_of_the_same_category(client, world, cats):
    first = report(world, cats)
    near = report(world, cats)
    report(world, cats, at=A2)  # same category but ~850 m away
    body = as_user(client, world.operator_a).get(f"{API}/{near.tracking_code}/duplicates").json()
    assert [d["case"]["id"] for d in body] == [first.pk]
    assert body[0]["distance_m"] == 0.0


def test_duplicates_of_an_out_of_scope_case_answers_404(client, world, cats):
    case = report(world, cats, at=B1, actor=world.citizen, source="citizen")
    assert as_user(client, world.leader_a).get(f"{API}/{case.pk}/duplicates").status_code == 404


# --- report intake cost ------------------------------------------------------------------------------

REPORT = {"category": "0401", "description": "井盖缺失", "lat": A1[0], "lng": A1[1],
          "source": "grid_worker", "client_id": "intake-cost-0001"}  # fmt: skip


def test_report_runs_a_bounded_number_of_queries_and_reads_no_boundaries(client, world, cats):
    """Was 25 statements, then 16: a client_id look-up before the insert (the unique constraint
    answers a repeat), the new case's log and attachments read back for the answer."""
    as_user(client, world.worker_a1)
    post(client, f"{API}/", {**REPORT, "client_id": "intake-warm-0001"})  # session, caches
    with CaptureQueriesContext(connection) as ctx:
        r = post(client, f"{API}/", REPORT)
    assert r.status_code == 201, r.json()
    sqls = [q["sql"] for q in ctx.captured_queries]
    # session, user, roles, grid teams, category, territory version, grid+community, centers,
    # savepoint, 2 inserts, release (the operators' notice runs on commit, which tests never see)
    assert len(sqls) <= 12, "\n".join(sqls)
    assert not [s for s in sqls if '"cases_case"."client_id" =' in s]
    assert not [s for s in sqls if s.startswith("SELECT") and ("cases_caseaction" in s
                or "cases_attachment" in s)]  # fmt: skip
    boundaries = ('"territory_area"."boundary"', '"territory_grid"."boundary"')
    assert not [s for s in sqls if any(b in s for b in boundaries)]
    again = post(client, f"{API}/", REPORT)
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]


def test_report_answer_is_the_case_as_read_back(client, world, cats):
    as_user(client, world.worker_a1)
    created = post(client, f"{API}/", REPORT)
    assert created.status_code == 201
    body = created.json()
    assert client.get(f"{API}/{body['id']}").json() == body
    again = post(client, f"{API}/", REPORT)
    assert again.status_code == 200 and again.json() == body


def test_report_answer_with_attachments_is_the_case_as_read_back(client, world, cats):
    """The answer's log row and attachments come from memory only when nothing was attached."""
    as_user(client, world.worker_a1)
    att = _upload_unattached(client)
    created = post(client, f"{API}/", {**REPORT, "client_id": "intake-att-0001",
                                       "attachments": [att]})  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert [a["id"] for a in body["attachments"]] == [att]
    assert body["timeline"][0]["data"]["attachments"] == 1
    assert client.get(f"{API}/{body['id']}").json() == body


def test_list_rows_equal_the_summaries_built_from_the_cases(client, world, cats):
    """The list renders rows read as values; each must equal ``_summary`` of its case, JSON-wise,
    for a case with a department and worker, a bare one and one overdue."""
    from ninja.renderers import JSONRenderer

    from civicgrid.cases.api import _summary

    assigned = drive(world, cats, State.IN_PROGRESS)
    bare = report(world, cats, at=A2)
    Case.objects.filter(pk=bare.pk).update(sla_due_at=timezone.now() - dt.timedelta(hours=1))
    body = as_user(client, world.admin).get(f"{API}/").json()
    by_id = {item["id"]: item for item in body["items"]}
    now = timezone.now()
    for case in (assigned, bare):
        case = Case.objects.select_related("category", "grid", "area", "department", "worker").get(
            pk=case.pk
        )
        expected = json.loads(
            JSONRenderer().render(None, _summary(case, now=now), response_status=200)
        )
        assert by_id[case.pk] == expected
    assert by_id[bare.pk]["overdue"] is True and by_id[assigned.pk]["department"] is not None
