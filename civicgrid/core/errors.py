"""One domain error type: a machine code, a human message naming the field, and details."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused operation. Nothing was changed when this is raised."""

    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.field = field
        self.details = dict(details or {})
        if field is not None:
            self.details.setdefault("field", field)
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFound(DomainError):
    """Missing or out of scope: both answer 404 so existence is not disclosed."""

    status = 404

    def __init__(self, what: str = "object") -> None:
        super().__init__("not_found", f"{what} not found")


class Forbidden(DomainError):
    """Known but not allowed for this user: 403 (the API's JSON, the UI's 403 page)."""

    status = 403

    def __init__(self, message: str, *, code: str = "permission_denied", **kw) -> None:
        super().__init__(code, message, **kw)


class Conflict(DomainError):
    status = 409


class DomainErrorMiddleware:
    """The one HTML mapping of domain errors a view lets through: NotFound answers the 404
    page (missing and out of scope look the same), Forbidden or any 403 error the 403 page.

    The API maps every DomainError to JSON itself (``civicgrid.api``) before this runs; other
    errors a page expects (a form's field error) are caught by the view that renders them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.core.exceptions import PermissionDenied
        from django.http import Http404
        from django.views import defaults

        if isinstance(exception, NotFound):
            return defaults.page_not_found(request, Http404(exception.message))
        if isinstance(exception, DomainError) and exception.status == 403:
            return defaults.permission_denied(request, PermissionDenied(exception.message))
        return None
