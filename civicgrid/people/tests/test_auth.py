import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.test import override_settings
from django.urls import reverse

from config.settings import base


def test_production_hasher_is_argon2():
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


@override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS)
def test_argon2_hash_round_trip():
    encoded = make_password("Grid-Worker-2026")
    assert encoded.startswith("argon2$argon2id$")
    assert check_password("Grid-Worker-2026", encoded)
    assert not check_password("wrong", encoded)


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_succeeds_with_right_password(client, world):
    resp = _login(client, "operator_a", "pass-Word-123")
    assert resp.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_login_failure_shows_form_error(client, world):
    resp = _login(client, "operator_a", "nope")
    assert resp.status_code == 200
    assert resp.context["form"].errors


def test_login_locked_after_repeated_failures(client, world, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit):
        _login(client, "operator_a", "wrong-password")
    # Now even the right password is refused until the cool-off ends.
    resp = _login(client, "operator_a", "pass-Word-123")
    assert resp.status_code == 429
    assert "operator_a" not in str(client.session.get("_auth_user_id", ""))
    # Another account from the same address is not affected (lockout is per username + IP).
    assert _login(client, "leader_a", "pass-Word-123").status_code == 302


@pytest.mark.parametrize("lang,expected", [("zh-hans", "登录"), ("en", "Log in")])
def test_login_page_language(client, db, lang, expected):
    resp = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=lang)
    assert expected in resp.content.decode()
