"""The field app's mediation pages and the offline visit endpoint (client UUID: once only)."""

from civicgrid.mediation.models import FollowUp

from .conftest import S, register, to_state


def test_worker_sees_own_grid_disputes_and_visits_due(client, med):
    w = med
    d = to_state(w, S.AGREED)
    other = register(w, grid=w.grid_a2, title="别的网格")
    client.force_login(w.worker_a1)
    html = client.get("/field/mediation/").content.decode()
    assert d.number in html and other.number not in html
    html = client.get(f"/field/mediation/{d.pk}/").content.decode()
    assert 'data-submit="visit"' in html and 'data-submit="fulfil"' in html
    assert client.get(f"/field/mediation/{other.pk}/").status_code == 404
    assert "field-mediation.js" in client.get("/field/mediation/new/").content.decode()
    assert "/field/mediation/" in client.get("/field/").content.decode()


def test_offline_visit_is_recorded_once_and_relapse_reopens(client, med):
    w = med
    d = to_state(w, S.FULFILLED)
    client.force_login(w.worker_a1)
    body = {
        "client_id": "5f0c7d7e-2a0e-4c50-9d2b-6c7d1c0e9a11",
        "note": "双方满意",
        "fulfilled": True,
        "satisfied": True,
    }
    r1 = client.post(f"/api/mediation/{d.pk}/field-visit", body, content_type="application/json")
    r2 = client.post(f"/api/mediation/{d.pk}/field-visit", body, content_type="application/json")
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert FollowUp.objects.filter(dispute=d, done_at__isnull=False).count() == 1
    body = {
        "client_id": "5f0c7d7e-2a0e-4c50-9d2b-6c7d1c0e9a12",
        "note": "又闹起来",
        "relapse": True,
    }
    r = client.post(f"/api/mediation/{d.pk}/field-visit", body, content_type="application/json")
    assert r.status_code == 201 and r.json()["state"] == "mediating"


def test_outsider_cannot_visit(client, med):
    d = to_state(med, S.AGREED)
    client.force_login(med.outsider_b)
    r = client.post(
        f"/api/mediation/{d.pk}/field-visit",
        {"client_id": "5f0c7d7e-2a0e-4c50-9d2b-6c7d1c0e9a13", "note": "x"},
        content_type="application/json",
    )
    assert r.status_code == 404
