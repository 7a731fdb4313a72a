"""The base of every domain's error type: a message, the field at fault and an HTTP status.

Domains raise their own subclass (`BatchError`, `ScheduleError`, ...); one exception handler in
app.main turns any of them into the API's error shape `{"detail", "errors": [{field, message}]}`.
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 422
    headers: dict[str, str] | None = None  # sent with the answer (Retry-After on a 429)

    def __init__(self, field: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        # Extra response headers (a 429's Retry-After).
        self.headers: dict[str, str] = {}
        if status_code is not None:
            self.status_code = status_code

    @classmethod
    def invalid(cls, field: str, message: str) -> DomainError:
        """Bad input: 422, nothing stored."""
        return cls(field, message, status_code=422)

    @classmethod
    def not_found(cls, field: str, message: str) -> DomainError:
        return cls(field, message, status_code=404)

    @classmethod
    def conflict(cls, field: str, message: str) -> DomainError:
        """The request contradicts the current state: 409."""
        return cls(field, message, status_code=409)

    @classmethod
    def unavailable(cls, field: str, message: str) -> DomainError:
        return cls(field, message, status_code=503)

    def as_body(self) -> dict[str, object]:
        return {"detail": str(self), "errors": [{"field": self.field, "message": self.message}]}
