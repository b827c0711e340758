"""Every public surface shows the same things: notes, merged cases and private categories.

Surfaces: the tracking page, /api/public/track, /api/cases/{id} for the citizen reporter,
Open311 by id (JSON and XML) and by id list, Open311's public search and the square map.
"""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from civicgrid.cases import services as cs
from civicgrid.cases.models import Category, State
from civicgrid.field.tests.conftest import A1, jpeg_bytes
from civicgrid.public import selectors

O311 = "/api/open311/v2"
NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
PUBLIC_NOTE_KINDS = {"reject", "self_close", "rate", "comment_public"}


def report(world, cat, actor=None, **kw):
    return cs.case_report(
        actor=actor or world.citizen,
        category=cat,
        description=kw.pop("description", "楼道里堆满杂物"),
        lat=A1[0],
        lng=A1[1],
        source=kw.pop("source", "citizen"),
        **kw,
    )


def _fresh(case):
    case.refresh_from_db()
    return case


@pytest.fixture
def noted(world, cats):
    """Cases whose log holds one marked note of every kind; returns {kind: marker}, cases."""
    w = world
    marks = {}

    def m(kind):
        marks[kind] = f"NOTE-{kind.upper()}-X"
        return marks[kind]

    with time_machine.travel(NOW, tick=False):
        a = report(w, cats.small)
        cs.case_accept(
            case=a, actor=w.operator_a, category=cats.small, priority=2, note=m("accept")
        )
        cs.case_comment(case=_fresh(a), actor=w.operator_a, text=m("comment_internal"))
        cs.case_comment(
            case=_fresh(a), actor=w.operator_a, text=m("comment_public"), internal=False
        )
        cs.case_supervise(case=_fresh(a), actor=w.leader_a, note=m("supervise"))
        cs.case_dispatch(
            case=_fresh(a), actor=w.operator_a, department=w.dept_a, note=m("dispatch")
        )
        cs.case_sign(case=_fresh(a), actor=w.handler_a, note=m("sign"))
        due = timezone.now() + dt.timedelta(days=20)
        cs.case_extension_request(
            case=_fresh(a), actor=w.handler_a, due=due, reason=m("extend_request")
        )
        cs.case_extension_deny(case=_fresh(a), actor=w.operator_a, reason=m("extend_deny"))
        cs.case_submit(
            case=_fresh(a), actor=w.handler_a, result=m("submit"), attachments=[jpeg_bytes()]
        )
        cs.case_rework(case=_fresh(a), actor=w.operator_a, reason=m("rework"))
        cs.case_submit(
            case=_fresh(a), actor=w.handler_a, result="最终处理结果", attachments=[jpeg_bytes()]
        )
        cs.case_verify(case=_fresh(a), actor=w.operator_a, note=m("verify"))
        cs.case_rate_public(tracking_code=a.tracking_code, score=5, text=m("rate"), actor=w.citizen)
        b = report(w, cats.small)
        cs.case_reject(case=b, actor=w.operator_a, reason=m("reject"))
        c = report(w, cats.small)
        cs.case_escalate(case=c, actor=w.operator_a, reason=m("escalate"))
        d = report(w, cats.small, actor=w.worker_a1, source="grid_worker")
        cs.case_self_close(
            case=d, actor=w.worker_a1, result=m("self_close"), attachments=[jpeg_bytes()]
        )
    return marks, [_fresh(x) for x in (a, b, c, d)]


def surfaces(client, world, case):
    """(name, text) of every public surface for ``case``."""
    code = case.tracking_code
    out = [
        ("tracking page", client.get(f"/track/{code}/").content.decode()),
        ("public API", client.get(f"/api/public/track/{code}").content.decode()),
        ("open311 json", client.get(f"{O311}/requests/{code}.json").content.decode()),
        ("open311 xml", client.get(f"{O311}/requests/{code}.xml").content.decode()),
        (
            "open311 list",
            client.get(f"{O311}/requests.json?service_request_id={code}").content.decode(),
        ),
        ("open311 search", client.get(f"{O311}/requests.xml").content.decode()),
    ]
    if case.reporter_id:
        client.force_login(case.reporter)
        out.append(("citizen API", client.get(f"/api/cases/{case.pk}").content.decode()))
        client.logout()
    return out


def test_every_note_kind_on_every_public_surface(client, world, cats, noted):
    marks, cases = noted
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        seen = {kind: set() for kind in marks}
        for case in cases:
            for name, text in surfaces(client, world, case):
                for kind, mark in marks.items():
                    if mark in text:
                        seen[kind].add(name)
    leaked = {k: v for k, v in seen.items() if v and k not in PUBLIC_NOTE_KINDS}
    assert leaked == {}
    # Public notes reach the tracking page and every surface that shows a case's notes.
    for kind in PUBLIC_NOTE_KINDS:
        assert "tracking page" in seen[kind], kind
        assert "public API" in seen[kind], kind
    assert "citizen API" in seen["rate"]


def test_merged_report_shows_the_matters_progress_not_the_other_case(client, world, cats):
    w = world
    mine = report(w, cats.small, description="我家楼下垃圾", reporter_phone="")
    theirs = report(
        w, cats.small, actor=None, description="另一位居民的描述 幸福路8号", reporter_phone="13912345678",
        address="幸福路8号",
    )  # fmt: skip
    cs.case_accept(case=theirs, actor=w.operator_a, category=cats.small, priority=2)
    cs.case_merge(case=mine, actor=w.operator_a, target=_fresh(theirs).tracking_code)
    theirs = _fresh(theirs)
    mine = _fresh(mine)
    assert mine.state == State.MERGED
    for name, text in surfaces(client, world, mine):
        if name == "open311 search":
            continue
        assert theirs.tracking_code not in text, name
        assert "另一位居民" not in text and "幸福路8号" not in text, name
    body = client.get(f"/api/public/track/{mine.tracking_code}").json()
    assert body["matter"]["state"] == State.FILED
    assert [r["action"] for r in body["matter"]["timeline"]] == ["accept"]
    page = client.get(f"/track/{mine.tracking_code}/").content.decode()
    assert 'id="matter-timeline"' in page


@pytest.fixture
def flagged(world, cats):
    """One case in each privacy situation: public item, private item, item of a private class."""
    private_cls = Category.objects.create(code="01", name="矛盾纠纷", is_private=True)
    in_private_cls = Category.objects.create(code="0101", name="邻里纠纷", parent=private_cls)
    private_item = Category.objects.create(
        code="0403", name="可疑人员", parent=cats.parent, is_private=True
    )
    with time_machine.travel(NOW, tick=False):
        cases = {
            "public": report(world, cats.small, description="公开事项"),
            "private item": report(world, private_item, description="私密事项"),
            "private class": report(world, in_private_cls, description="纠纷事项"),
            "one-key": report(world, cats.small, actor=None, source="one_key",
                              reporter_phone="13912345678"),
        }  # fmt: skip
    return cases


def test_private_categories_never_reach_a_public_map_surface(client, world, flagged):
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        listed = {i.public_id for i in selectors.square_map_list()}
        search = client.get(f"{O311}/requests.json").json()
        search_xml = client.get(f"{O311}/requests.xml").content.decode()
        page = client.get("/square/").content.decode()
        data = client.get("/api/public/square").json()
        for label, case in flagged.items():
            pid = selectors.square_public_id(case.pk)
            shown = label == "public"
            assert (pid in listed) is shown, label
            assert (pid in {r["service_request_id"] for r in search}) is shown, label
            assert (f"<service_request_id>{pid}</service_request_id>" in search_xml) is shown
            assert (pid in {f["properties"]["id"] for f in data["features"]}) is shown, label
            one = client.get(f"{O311}/requests/{pid}.json")
            assert one.status_code == (200 if shown else 404), label
        assert "私密事项" not in page and "纠纷事项" not in page


def test_square_map_projection_is_coarse_and_carries_no_personal_data(client, world, flagged):
    case = flagged["public"]
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        (item,) = selectors.square_map_list()
        (row,) = client.get(f"{O311}/requests.json").json()
    assert abs(item.lat - case.lat) < 0.001 and abs(item.lng - case.lng) < 0.001
    assert (item.lat, item.lng) == (selectors.coarsen(case.lat), selectors.coarsen(case.lng))
    assert row["description"] is None and row["address"] == case.area.name
    assert case.tracking_code not in str(row)
    assert row["lat"] == item.lat


def test_square_map_defaults_to_the_last_90_days(world, flagged):
    with time_machine.travel(NOW + dt.timedelta(days=91), tick=False):
        assert selectors.square_map_list() == []
    with time_machine.travel(NOW + dt.timedelta(days=89), tick=False):
        assert len(selectors.square_map_list()) == 1
