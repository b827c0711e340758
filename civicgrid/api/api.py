"""The one NinjaAPI object. Each domain app contributes a ``router`` in its own ``api.py``."""

import logging
from importlib import import_module

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from civicgrid.core.errors import DomainError

from .auth import session_or_token

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="civicgrid API",
    version="1",
    description="网格化服务管理 REST API. Errors are always JSON {code, message, details}; "
    "objects outside the caller's area scope answer 404.",
    auth=session_or_token,
    urls_namespace="api",
    docs_url="/docs",
)

# (app, URL prefix, OpenAPI tag) — a missing module simply contributes nothing yet.
ROUTERS = [
    ("territory", "/territory", "territory"),
    ("people", "/people", "people"),
    ("cases", "/cases", "cases"),
    ("field", "/field", "field"),
    ("public", "/public", "public"),
    ("analytics", "/analytics", "analytics"),
    ("notifications", "/notifications", "notifications"),
    ("basedata", "/basedata", "basedata"),
    ("mediation", "/mediation", "mediation"),
]
for app, prefix, tag in ROUTERS:
    try:
        module = import_module(f"civicgrid.{app}.api")
    except ModuleNotFoundError as exc:
        if exc.name != f"civicgrid.{app}.api":
            raise
        continue
    api.add_router(prefix, module.router, tags=[tag])

from .open311 import router as open311_router  # noqa: E402  (needs the app routers' models)

api.add_router("/open311/v2", open311_router, tags=["open311"])

from civicgrid.cases.orgapi import router as org_router  # noqa: E402

api.add_router("/org", org_router, tags=["organisation"])


def _error(request, status: int, code: str, message: str, details=None):
    return api.create_response(
        request, {"code": code, "message": message, "details": details or {}}, status=status
    )


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    details = dict(exc.details)
    # Same shape as schema validation errors, so clients read field errors from one place.
    if exc.field and "errors" not in details:
        details["errors"] = [{"field": exc.field, "message": exc.message}]
    return _error(request, exc.status, exc.code, exc.message, details)


@api.exception_handler(Http404)
def not_found(request, exc):
    return _error(request, 404, "not_found", str(exc) or "not found")


def _open311(request) -> bool:
    return request.path.startswith("/api/open311/")


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    if _open311(request):
        from .open311 import error_response

        return error_response(request, 400, _first_error(exc))
    errors = []
    for e in exc.errors:
        loc = [str(x) for x in e.get("loc", []) if x not in ("body", "query", "path", "payload")]
        errors.append({"field": ".".join(loc), "message": e.get("msg", "invalid")})
    first = errors[0] if errors else {"field": "", "message": "invalid"}
    msg = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return _error(request, 422, "validation_error", msg, {"errors": errors})


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return _error(request, 401, "unauthenticated", "authentication required")


HTTP_ERROR_CODES = {403: "forbidden", 405: "method_not_allowed", 429: "throttled"}


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    code = "csrf_failed" if "CSRF" in exc.message else HTTP_ERROR_CODES.get(exc.status_code)
    return _error(request, exc.status_code, code or "http_error", exc.message)


def _first_error(exc: ValidationError) -> str:
    for e in exc.errors:
        loc = [str(x) for x in e.get("loc", []) if x not in ("body", "query", "path", "payload")]
        return f"{'.'.join(loc)}: {e.get('msg', 'invalid')}" if loc else e.get("msg", "invalid")
    return "invalid request"


# Malformed bodies fail inside Django's parser, before any endpoint code: one guard for all.
@api.exception_handler(MultiPartParserError)
def bad_multipart(request, exc):
    message = f"malformed multipart/form-data body: {exc}"
    if _open311(request):
        from .open311 import error_response

        return error_response(request, 400, message)
    return _error(request, 400, "invalid_multipart", message)


@api.exception_handler(TooManyFieldsSent)
@api.exception_handler(TooManyFilesSent)
def too_many_parts(request, exc):
    return _error(request, 400, "too_many_parts", str(exc))


@api.exception_handler(RequestDataTooBig)
def too_big(request, exc):
    return _error(request, 413, "request_too_large", str(exc))


@api.exception_handler(Exception)
def server_error(request, exc: Exception):
    from civicgrid.ops.middleware import storage_full_response

    full = storage_full_response(request, exc)  # a full media disk: 507 storage_full
    if full is not None:
        return full
    # Clients get the uniform shape even for a bug; the traceback goes to the log.
    logger.exception("unhandled API error on %s %s", request.method, request.path)
    return _error(request, 500, "server_error", "internal error")
