"""Every write to a payment: import the services from here.

- `payments.services.payments`: payment_create, payment_cancel, payment_confirm,
  payment_expire, payment_submit_to_gateway.
- `payments.services.transitions`: the state machine; payment_mark_succeeded,
  payment_mark_failed, payment_mark_unknown, payment_gateway_result_apply.
- `payments.services.notifications`: acquirer notifications.
- `payments.services.janitor`: expiry, re-queries of unknown payments, idempotency purge.
"""

from payments.services.payments import (
    CardNumberNotAllowed,
    PaymentExpired,
    PaymentInput,
    payment_cancel,
    payment_confirm,
    payment_create,
    payment_expire,
    payment_submit_to_gateway,
)
from payments.services.transitions import (
    Actor,
    payment_gateway_result_apply,
    payment_mark_failed,
    payment_mark_succeeded,
    payment_mark_unknown,
)

__all__ = [
    "Actor",
    "CardNumberNotAllowed",
    "PaymentExpired",
    "PaymentInput",
    "payment_cancel",
    "payment_confirm",
    "payment_create",
    "payment_expire",
    "payment_gateway_result_apply",
    "payment_mark_failed",
    "payment_mark_succeeded",
    "payment_mark_unknown",
    "payment_submit_to_gateway",
]
