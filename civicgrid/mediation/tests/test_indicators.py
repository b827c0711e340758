"""Mediation indicators: definitions on a known set, scope, 环比/同比, API and dashboard."""

import datetime as dt

from civicgrid.analytics.periods import period_from
from civicgrid.mediation import indicators

from .conftest import S, act, register, to_state


def test_values_on_a_known_set(med):
    w = med
    to_state(w, S.ARCHIVED)  # settled at district level, visited satisfied
    to_state(w, S.REFERRED)
    to_state(w, S.WITHDRAWN)
    d = register(w, center=w.center_comm_a, violence_flag=True)
    act(d, "triage", w.operator_a, body=w.body_comm.pk, reason="村调委会")
    act(d, "choose_mediator", w.operator_a, mediator=w.elder.pk)
    act(d, "start", w.operator_a)
    act(d, "agree", w.operator_a, terms="道歉", fulfil_by=dt.date.today())
    register(w, actor=w.outsider_b, grid=w.grid_b1, center=w.center_b)  # out of scope
    v = indicators.values(w.operator_a, period_from("month"))
    assert v["received"] == 4 and v["concluded"] == 4 and v["resolved"] == 2
    assert v["resolution_rate"] == 0.5 and v["success_rate"] == 2 / 3
    assert v["village_share"] == 0.5 and v["township_share"] == 0
    assert v["satisfaction_rate"] == 1.0
    assert v["violence_flags"] == 1 and v["violence_resolved"] == 1 and v["violence_open"] == 0
    assert indicators.values(w.outsider_b, period_from("month"))["received"] == 1


def test_repeat_visit_rate(med):
    from .conftest import pid

    w = med
    p = [{"role": "applicant", "name": "张三", "id_number": pid(41)}]
    register(w, parties=p)
    register(w, parties=p)
    assert indicators.values(w.operator_a, period_from("month"))["repeat_rate"] == 0.5


def test_report_has_mom_and_yoy(med):
    register(med)
    rep = indicators.report(med.operator_a, period_from("month"))
    assert rep["values"]["received"] == 1 and rep["previous"]["received"] == 0
    assert rep["change_previous"]["received"] is None  # from zero: no relative change
    assert set(rep["change_year_ago"]) == {i.key for i in indicators.INDICATORS}


def test_analytics_api_and_dashboard_show_them(client, med):
    register(med)
    client.force_login(med.leader_a)
    r = client.get("/api/analytics/mediation?period=month")
    assert r.status_code == 200 and r.json()["values"]["received"] == 1
    html = client.get("/analytics/").content.decode()
    assert 'id="mediation-indicators"' in html and 'data-indicator="resolution_rate"' in html
