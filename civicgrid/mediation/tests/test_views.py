"""The console workspace: persona × scope matrix (out of scope = 404), forms from the table."""

import datetime as dt

import pytest

from civicgrid.mediation import registers
from civicgrid.mediation.models import Dispute

from .conftest import S, act, register, to_state

PERSONAS = [
    "operator_a",
    "worker_a1",
    "chief_a",
    "leader_a",
    "mediator_user",
    "outsider_b",
    "handler_a",
    "citizen",
    "other_mediator_user",
]
# Who sees which dispute: d_a1 (grid A1, district A center, mediator 王调解), d_a2 (grid A2,
# community center), d_b (district B).
SEES = {
    "d_a1": {"operator_a", "worker_a1", "chief_a", "leader_a", "mediator_user"},
    "d_a2": {"operator_a", "chief_a", "leader_a"},
    "d_b": {"outsider_b"},
}


@pytest.fixture
def three(med):
    w = med
    w.d_a1 = to_state(w, S.TRIAGED)
    w.d_a2 = register(w, grid=w.grid_a2, center=w.center_comm_a, title="甲二网格纠纷")
    w.d_b = register(w, actor=w.outsider_b, grid=w.grid_b1, center=w.center_b, title="乙区纠纷")
    return w


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("which", list(SEES))
def test_dispute_page_matrix(client, three, persona, which):
    w = three
    client.force_login(getattr(w, persona))
    d = getattr(w, which)
    r = client.get(f"/mediation/disputes/{d.pk}/")
    assert r.status_code == (200 if persona in SEES[which] else 404)
    r = client.post(
        f"/mediation/disputes/{d.pk}/act/withdraw/", {"reason": "x", "version": d.version}
    )
    if persona not in SEES[which]:
        assert r.status_code == 404
    assert (
        Dispute.objects.get(pk=d.pk).state == d.state
        or persona == "operator_a"
        or persona == "outsider_b"
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_workspace_lists_only_visible_disputes(client, three, persona):
    w = three
    client.force_login(getattr(w, persona))
    r = client.get("/mediation/?state=")
    assert r.status_code == 200
    html = r.content.decode()
    for which, who in SEES.items():
        assert (getattr(w, which).number in html) == (persona in who), which


@pytest.mark.parametrize("persona", PERSONAS)
def test_register_export_is_scoped(client, three, persona):
    import io

    from openpyxl import load_workbook

    w = three
    client.force_login(getattr(w, persona))
    r = client.get("/mediation/registers/mediation/export.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    numbers = {row[1] for row in wb.active.iter_rows(min_row=3, values_only=True)}
    expected = {getattr(w, k).number for k, who in SEES.items() if persona in who}
    assert numbers == expected


def test_only_allowed_actions_are_offered(client, three):
    w = three
    client.force_login(w.operator_a)
    html = client.get(f"/mediation/disputes/{w.d_a1.pk}/").content.decode()
    offered = set(__import__("re").findall(r'data-action="(\w+)"', html))
    assert offered == {"choose_mediator", "start", "withdraw", "escalate", "flag_violence"}
    client.force_login(w.worker_a1)
    html = client.get(f"/mediation/disputes/{w.d_a1.pk}/").content.decode()
    assert set(__import__("re").findall(r'data-action="(\w+)"', html)) == {"flag_violence"}


def test_action_form_error_names_the_field(client, three):
    w = three
    d = w.d_a1
    act(d, "start", w.operator_a)
    client.force_login(w.mediator_user)
    r = client.post(
        f"/mediation/disputes/{d.pk}/act/agree/",
        {"terms": "赔偿", "fulfil_by": "", "version": d.version},
    )
    assert r.status_code == 400
    assert 'data-field="fulfil_by"' in r.content.decode() and "field-error" in r.content.decode()
    r = client.post(
        f"/mediation/disputes/{d.pk}/act/agree/",
        {"terms": "赔偿", "fulfil_by": "2099-01-01", "version": d.version},
    )
    assert r.status_code == 302
    assert Dispute.objects.get(pk=d.pk).state == S.AGREED


def test_register_form_creates_a_dispute_with_parties(client, med):
    w = med
    client.force_login(w.operator_a)
    r = client.post(
        "/mediation/new/",
        {
            "center": w.center_a.pk,
            "source": "letter",
            "kind": "labour",
            "risk": "2",
            "title": "拖欠工资",
            "facts": "工地拖欠工资三个月",
            "grid": w.grid_a1.code,
            "party0_role": "applicant",
            "party0_name": "工人甲",
            "party1_role": "respondent",
            "party1_name": "某建筑公司",
        },
    )
    assert r.status_code == 302, r.content.decode()[:500]
    d = Dispute.objects.get()
    assert d.source == "letter" and d.parties.count() == 2 and d.registered_by == w.operator_a
    r = client.post(
        "/mediation/new/",
        {
            "center": w.center_a.pk,
            "source": "letter",
            "kind": "labour",
            "title": "",
            "facts": "x",
            "party0_name": "a",
        },
    )
    assert r.status_code == 400 and 'data-error-field="title"' in r.content.decode()


@pytest.mark.parametrize("code", list(registers.REGISTERS))
def test_register_page_print_and_export_have_the_register_columns(client, three, code):
    import io
    import re

    from openpyxl import load_workbook

    w = three
    d = w.d_a1
    act(d, "start", w.operator_a)
    act(d, "agree", w.operator_a, terms="赔偿", fulfil_by="2099-01-01", amount="100")
    from civicgrid.mediation import services

    services.meeting_record(
        actor=w.operator_a,
        center=w.center_a,
        held_at="2025-06-01T10:00",
        host="主任",
        attendees="甲、乙",
        topic="月度研判",
        opinions="意见",
        decisions="决定",
        disputes=[d.pk],
        tasks=[{"task": "回访", "owner": "王调解", "due_date": "2025-06-10"}],
    )
    reg = registers.REGISTERS[code]
    client.force_login(w.operator_a)
    q = "?from=2000-01-01&to=2099-12-31"

    def ths(html):
        table = re.search(rf'<table[^>]*data-register="{code}".*?</thead>', html, re.S).group(0)
        return [re.sub(r"<.*?>", "", h).strip() for h in re.findall(r"<th>(.*?)</th>", table, re.S)]

    page = client.get(f"/mediation/registers/{code}/{q}").content.decode()
    assert ths(page) == reg.headers()
    printed = client.get(f"/mediation/registers/{code}/print/{q}").content.decode()
    assert ths(printed) == reg.headers()
    r = client.get(f"/mediation/registers/{code}/export.xlsx{q}")
    rows = list(
        load_workbook(io.BytesIO(b"".join(r.streaming_content))).active.iter_rows(values_only=True)
    )
    assert list(rows[1]) == reg.headers()
    assert len(rows) >= 3 and rows[2][0] == 1


def test_agreement_prints_on_a4(client, med):
    w = med
    d = to_state(w, S.AGREED)
    client.force_login(w.operator_a)
    html = client.get(f"/mediation/disputes/{d.pk}/agreement/").content.decode()
    assert d.agreements.get().number in html and "print.css" in html
    client.force_login(w.outsider_b)
    assert client.get(f"/mediation/disputes/{d.pk}/agreement/").status_code == 404


def test_roster_shows_the_mediators_above_and_within_scope(client, med):
    w = med
    client.force_login(w.worker_a1)
    html = client.get("/mediation/roster/").content.decode()
    assert "王调解" in html and "李老" in html and "赵调解" not in html


def test_meeting_form_records_tasks(client, med):
    from civicgrid.mediation.models import Meeting

    w = med
    d = register(w)
    client.force_login(w.operator_a)
    r = client.post(
        "/mediation/meetings/",
        {
            "center": w.center_a.pk,
            "held_at": "2025-06-01T10:00",
            "host": "主任",
            "attendees": "a",
            "topic": "研判",
            "opinions": "o",
            "decisions": "x",
            "disputes": d.number,
            "task0": "回访当事人",
            "task0_owner": "王调解",
            "task0_due": "2025-06-08",
        },
    )
    assert r.status_code == 302
    m = Meeting.objects.get()
    assert list(m.disputes.all()) == [d] and m.tasks.get().owner == "王调解"
    t = m.tasks.get()
    assert client.post(f"/mediation/meetings/{m.pk}/tasks/{t.pk}/done/").status_code == 302
    t.refresh_from_db()
    assert t.done_at is not None
    client.force_login(w.outsider_b)
    assert client.get(f"/mediation/meetings/{m.pk}/").status_code == 404
    assert client.post(f"/mediation/meetings/{m.pk}/tasks/{t.pk}/done/").status_code == 404


@pytest.mark.parametrize("code", list(registers.REGISTERS))
def test_register_export_reads_a_fixed_number_of_queries_however_many_rows(three, code):
    """Parties, agreements, visits and meeting items come by chunk, never one query per row."""
    import tempfile

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from civicgrid.mediation import services
    from civicgrid.people.access import Principal

    w = three
    reg = registers.REGISTERS[code]

    def export() -> tuple[int, int]:
        with tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:
            with CaptureQueriesContext(connection) as ctx:
                n = registers.write_xlsx(
                    reg, Principal.of(w.operator_a), dt.date(2000, 1, 1), dt.date(2099, 12, 31),
                    tmp.name,
                )  # fmt: skip
        return n, len(ctx.captured_queries)

    def more(k: int) -> None:
        for _ in range(k):
            d = to_state(w, S.AGREED)
            services.meeting_record(
                actor=w.operator_a, center=w.center_a, held_at="2025-06-01T10:00", host="主任",
                attendees="甲、乙", topic="研判", opinions="意见", decisions="决定",
                disputes=[d.pk], tasks=[{"task": "回访", "owner": "王调解", "due_date": "2025-06-10"}],
            )  # fmt: skip

    more(1)
    rows_small, small = export()
    more(3)
    rows_large, large = export()
    assert rows_large > rows_small and large == small, (rows_small, rows_large, small, large)
