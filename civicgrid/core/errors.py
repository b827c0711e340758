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


class Conflict(DomainError):
    status = 409
