from django.utils import timezone
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth

from .models import ApiToken


def _user_for_token(token: str):
    row = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.hash(token), revoked=False, user__is_active=True)
        .first()
    )
    now = timezone.now()
    if row is None or row.expires_at is None or row.expires_at <= now:
        return None
    # Writing last_used on every call would turn each read into a write; once a minute is enough.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = _user_for_token(token)
        if user is not None:
            request.user = user
        return user


class HeaderToken(APIKeyHeader):
    param_name = "X-API-Token"

    def authenticate(self, request, key):
        if not key:
            return None  # no header: leave it to the session, without a query
        user = _user_for_token(key)
        if user is not None:
            request.user = user
        return user


class CookieSession(SessionAuth):
    """Django's session, with the CSRF check only when a session cookie is actually sent.

    Ninja's SessionAuth checks CSRF before looking for the cookie, so a cookie-less token
    client would be refused with "CSRF check Failed" before its token is even read.
    """

    def _get_key(self, request):
        if not request.COOKIES.get(self.param_name):
            return None
        return super()._get_key(request)


# Tokens first: they are not ambient credentials, so a request carrying one needs no CSRF token.
session_or_token = [BearerToken(), HeaderToken(), CookieSession()]
