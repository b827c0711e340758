from django.utils import timezone
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth

from .models import ApiToken


def _user_for_token(token: str):
    row = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.hash(token), revoked=False, user__is_active=True)
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
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
        user = _user_for_token(key or "")
        if user is not None:
            request.user = user
        return user


session_or_token = [SessionAuth(), BearerToken(), HeaderToken()]
