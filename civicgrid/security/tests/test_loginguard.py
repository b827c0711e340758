"""Sign-in limits: per account whatever the address, per address across accounts."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from civicgrid.audit.models import AuditEvent
from civicgrid.security import loginguard

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse 42"


@pytest.fixture
def accounts(world):
    for u in (world.operator_a, world.handler_a, world.leader_a, world.chief_a, world.outsider_b):
        u.set_password(PASSWORD)
        u.save()
    return world


def attempt(client, username, password, ip="192.0.2.10", **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **extra
    )


def signed_in(response) -> bool:
    return response.status_code == 302


def test_one_address_cannot_spray_passwords_over_every_account(client, accounts, settings):
    """axes alone allowed AXES_FAILURE_LIMIT - 1 guesses on every account from one address."""
    settings.LOGIN_IP_FAILURES = 6
    names = ["operator_a", "handler_a", "leader_a", "chief_a", "outsider_b"]
    for name in names:  # two guesses per account stay under axes' (user, IP) limit of 3
        attempt(client, name, "guess-1")
        attempt(client, name, "guess-2")
    # 10 failures > 6: the address is out of budget, even with the right password ...
    response = attempt(client, "operator_a", PASSWORD)
    assert not signed_in(response)
    errors = str(response.context["form"].errors)
    assert "network" in errors or "网络" in errors
    # ... while the account itself signs in from elsewhere.
    assert signed_in(attempt(client, "operator_a", PASSWORD, ip="198.51.100.1"))


def test_many_addresses_cannot_guess_one_account_fast(client, accounts, settings):
    settings.LOGIN_ACCOUNT_FREE_FAILURES = 3
    settings.LOGIN_ACCOUNT_BASE_DELAY = 30
    with time_machine.travel("2026-06-01 10:00:00 +08:00", tick=False) as clock:
        for i in range(3):  # three free failures, each from a new address
            attempt(client, "leader_a", f"guess-{i}", ip=f"203.0.113.{i}")
        # now 30 s must pass; inside the delay even the right password is refused unchecked
        response = attempt(client, "leader_a", PASSWORD, ip="203.0.113.99")
        assert not signed_in(response)
        assert response.context["form"].errors["__all__"][0].startswith(("Too many", "该账号"))
        clock.shift(31)
        attempt(client, "leader_a", "guess-4", ip="203.0.113.50")  # 4th failure: 60 s now
        clock.shift(31)
        assert not signed_in(attempt(client, "leader_a", PASSWORD, ip="203.0.113.51"))
        clock.shift(30)
        assert signed_in(attempt(client, "leader_a", PASSWORD, ip="203.0.113.52"))


def test_refusals_inside_the_delay_do_not_lengthen_it(client, accounts, settings):
    settings.LOGIN_ACCOUNT_BASE_DELAY = 10
    with time_machine.travel("2026-06-01 10:00:00 +08:00", tick=False) as clock:
        for i in range(3):
            attempt(client, "chief_a", "bad", ip=f"203.0.113.{i}")
        for _ in range(20):  # hammering inside the delay
            attempt(client, "chief_a", "bad", ip="203.0.113.77")
        clock.shift(11)
        assert signed_in(attempt(client, "chief_a", PASSWORD, ip="203.0.113.78"))


def test_the_delay_doubles_and_is_capped(settings):
    settings.LOGIN_ACCOUNT_FREE_FAILURES = 3
    settings.LOGIN_ACCOUNT_BASE_DELAY = 2
    settings.LOGIN_ACCOUNT_MAX_DELAY = 900
    assert [loginguard.account_delay(n) for n in (0, 2, 3, 4, 5, 6)] == [0, 0, 2, 4, 8, 16]
    assert loginguard.account_delay(40) == 900


def test_success_resets_the_account_count(client, accounts, settings):
    settings.LOGIN_ACCOUNT_BASE_DELAY = 600
    attempt(client, "handler_a", "bad", ip="203.0.113.1")
    attempt(client, "handler_a", "bad", ip="203.0.113.2")
    assert signed_in(attempt(client, "handler_a", PASSWORD, ip="203.0.113.3"))
    client.logout()
    attempt(client, "handler_a", "bad", ip="203.0.113.4")  # one failure again, not the third
    assert signed_in(attempt(client, "handler_a", PASSWORD, ip="203.0.113.5"))


def test_a_forged_forwarded_header_does_not_buy_a_new_budget(client, accounts, settings):
    """Without a configured proxy header the address is REMOTE_ADDR, whatever the client sends."""
    settings.LOGIN_IP_FAILURES = 4
    for i in range(5):
        attempt(client, "outsider_b", "bad", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
        attempt(client, "operator_a", "bad", HTTP_X_FORWARDED_FOR=f"10.0.1.{i}")
    assert not signed_in(attempt(client, "leader_a", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9"))


def test_the_trusted_proxy_header_is_the_address_when_configured(client, accounts, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    settings.LOGIN_IP_FAILURES = 2
    for _ in range(3):
        attempt(client, "operator_a", "bad", ip="10.0.0.1", HTTP_X_REAL_IP="192.0.2.200")
    # the proxy's own address is shared by everyone: other clients are not blocked
    assert signed_in(attempt(client, "leader_a", PASSWORD, ip="10.0.0.1", HTTP_X_REAL_IP="1.2.3.4"))
    e = AuditEvent.objects.filter(action="login_failed").order_by("-seq").first()
    assert e.ip == "192.0.2.200"


def test_axes_still_locks_a_user_and_address_pair(client, accounts):
    for _ in range(3):  # AXES_FAILURE_LIMIT in test settings
        attempt(client, "operator_a", "bad", ip="192.0.2.55")
    response = attempt(client, "operator_a", PASSWORD, ip="192.0.2.55")
    assert response.status_code in (403, 429) or not signed_in(response)
    assert AuditEvent.objects.filter(action="lockout").exists()


def test_refusals_are_audited_with_their_reason(client, accounts, settings):
    settings.LOGIN_ACCOUNT_BASE_DELAY = 60
    for i in range(4):
        attempt(client, "leader_a", "bad", ip=f"203.0.113.{i}")
    last = AuditEvent.objects.filter(action="login_failed").order_by("-seq").first()
    assert last.details == {"username": "leader_a", "refused_by": "account"}


def test_admin_sign_in_is_guarded_too(client, accounts, settings):
    settings.LOGIN_ACCOUNT_BASE_DELAY = 600
    accounts.operator_a.is_staff = True
    accounts.operator_a.save()
    for i in range(3):
        attempt(client, "operator_a", "bad", ip=f"203.0.113.{i}")
    response = client.post(
        reverse("admin:login"),
        {"username": "operator_a", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 200  # the form again, not a redirect into the admin
    errors = str(response.context["form"].errors)
    assert "account" in errors or "该账号" in errors
