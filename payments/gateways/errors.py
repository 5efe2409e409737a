"""Errors a gateway adapter raises, in the project's one `ApplicationError` hierarchy.

`retryable` tells the caller what it may do next:

- `GatewayTimeout` (retryable): the request may have reached the acquirer, the outcome is
  unknown. Mark the payment `unknown` and query later (or retry with the SAME reference:
  the acquirer is idempotent on it).
- `GatewayUnavailable` (retryable): the acquirer surely did not act (no connection, or it
  answered 5xx). Retry with the same reference.
- `GatewayRejected` (not retryable): the acquirer refused the request as it stands
  (`reason` names why, e.g. `refund_exceeds_captured`); retrying the same request fails the
  same way. `GatewayNotFound` is the rejection "no such payment or refund".
- `InvalidSignature` (not retryable): a response or notification that does not prove it
  comes from the acquirer. Trust nothing in it; for a pay or refund call treat the outcome
  as unknown and query.
- `GatewayMismatch` (not retryable): a genuine message that does not match what Paydesk
  holds (another reference, amount or currency). Change nothing and alert.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from config.errors import ApplicationError


# Names follow config/errors.py (no "Error" suffix), as STYLE.md asks.
class GatewayError(ApplicationError):
    """The acquirer could not be asked, or its answer cannot be used."""

    code = "gateway_error"
    status = 502
    retryable: bool = False
    default_message = _("The payment gateway could not complete the request.")

    def __init__(
        self,
        message: Any = None,
        *,
        retryable: bool | None = None,
        reason: str = "",
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        if retryable is not None:
            self.retryable = retryable
        # `reason` is the acquirer's own code (or ours for a local refusal): machine-readable,
        # kept apart from `code`, which stays stable for the API error shape.
        self.reason = reason
        details = dict(details or {})
        if reason:
            details.setdefault("reason", reason)
        super().__init__(message, code=code, details=details, status=status)


class GatewayTimeout(GatewayError):  # noqa: N818
    """No answer in time, or the connection broke after sending: the outcome is unknown."""

    code = "gateway_timeout"
    status = 504
    retryable = True
    default_message = _("The payment gateway did not answer in time.")


class GatewayUnavailable(GatewayError):  # noqa: N818
    """The acquirer was not reached or said it is unavailable: nothing was done."""

    code = "gateway_unavailable"
    status = 503
    retryable = True
    default_message = _("The payment gateway is unavailable. Try again later.")


class GatewayRejected(GatewayError):  # noqa: N818
    """The acquirer refused the request; `reason` says why."""

    code = "gateway_rejected"
    status = 422
    retryable = False
    default_message = _("The payment gateway refused the request.")


class GatewayNotFound(GatewayRejected):
    """The acquirer knows no payment or refund with this reference."""

    code = "gateway_not_found"
    status = 404
    default_message = _("The payment gateway knows no such transaction.")


class InvalidSignature(GatewayError):  # noqa: N818
    """A response or notification whose signature, timestamp or nonce does not hold."""

    code = "invalid_signature"
    status = 400
    retryable = False
    default_message = _("The message from the payment gateway could not be verified.")


class GatewayMismatch(GatewayError):  # noqa: N818
    """A verified message about another reference, amount or currency than expected."""

    code = "gateway_mismatch"
    status = 409
    retryable = False
    default_message = _("The payment gateway's message does not match the transaction.")
