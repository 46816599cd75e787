"""Domain errors: a Japanese message for the user and a code for the API."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the request; views show `message` and never answer 500."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class ValidationError(DomainError):
    """Input that does not satisfy a rule; `field` names the form field when there is one. `errors` maps form
    fields to messages (one or several), which is what a view shows on its form ("_form": above it)."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 errors: dict[str, str] | None = None) -> None:
        super().__init__(message, code=code, field=field)
        self.errors = dict(errors) if errors else {field or "_form": message}


class NotFoundError(DomainError):
    """The record does not exist in this clinic."""

    code = "not_found"


class PermissionDeniedError(DomainError):
    """The acting user's role may not do this."""

    code = "forbidden"
