"""One HTML mapping of domain errors: NotFound → the 404 page, Forbidden → the 403 page."""

from __future__ import annotations

import pytest
from django.test import Client

from civicgrid.core.errors import DomainError, DomainErrorMiddleware, Forbidden, NotFound


def _raise(exc):
    def view(request):
        raise exc

    return view


@pytest.mark.parametrize(
    ("exc", "status", "text"),
    [
        (NotFound("case"), 404, "不在您可查看的范围内"),
        (Forbidden("只有坐席员可以这样做。"), 403, "只有坐席员可以这样做。"),
    ],
)
def test_domain_errors_become_error_pages(db, rf, exc, status, text):
    request = rf.get("/x/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    mw = DomainErrorMiddleware(_raise(exc))
    response = mw.process_exception(request, exc)
    assert response.status_code == status
    assert text in response.content.decode()


def test_other_domain_errors_are_left_to_the_view(rf):
    exc = DomainError("invalid", "bad", field="x")
    assert DomainErrorMiddleware(_raise(exc)).process_exception(rf.get("/"), exc) is None


def test_an_out_of_scope_case_page_is_the_404_page(world):
    from civicgrid.cases.models import Case

    client = Client()
    client.force_login(world.outsider_b)
    missing = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    response = client.get(f"/console/cases/{missing}/")
    assert response.status_code == 404
    assert "不在您可查看的范围内" in response.content.decode()
