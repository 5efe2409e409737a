"""The one application error hierarchy.

Services raise these; `config.api.errors` maps them once to the API error shape
`{"error": {"code", "message", "details"}}`, and portal views show `message` as a form
error. `code` is stable and machine-readable; `message` is translated for people.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _


# Names follow the domain (InvalidTransition, NotFound), not an "Error" suffix: STYLE.md.
class ApplicationError(Exception):
    """A refused request the caller can understand and fix; never a bug."""

    code: str = "application_error"
    status: int = 400
    default_message: Any = _("The request could not be completed.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        self.message = str(message if message is not None else self.default_message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details: dict[str, Any] = details or {}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        """Return the API error body for this error."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(ApplicationError):  # noqa: N818
    code = "validation_error"
    status = 400
    default_message = _("Some of the data is not valid.")


class NotFound(ApplicationError):  # noqa: N818
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class PermissionDenied(ApplicationError):  # noqa: N818
    code = "permission_denied"
    status = 403
    default_message = _("You do not have permission to do this.")


class Conflict(ApplicationError):  # noqa: N818
    code = "conflict"
    status = 409
    default_message = _("The request conflicts with the current state.")


class RateLimited(ApplicationError):  # noqa: N818
    """Too many requests; `retry_after_seconds` (also in `details`) says when to retry."""

    code = "rate_limited"
    status = 429
    default_message = _("Too many requests. Wait a moment, then try again.")

    def __init__(self, message: Any = None, *, retry_after_seconds: int) -> None:
        super().__init__(message, details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = _("This change of status is not allowed.")
