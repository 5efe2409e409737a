"""Every write to a refund: import the services from here.

- `refunds.services.requests`: refund_create, refund_approve, refund_reject,
  refund_cancel, refund_policy_set (what people and API keys ask for).
- `refunds.services.processing`: the acquirer side; refund_submit_to_gateway,
  refund_gateway_result_apply, refund_requery, refund_notification_apply, and the
  manual-review decisions refund_retry and refund_close.
- `refunds.services.janitor`: refund_query_sweep, refund_sla_sweep.
- `refunds.services.ledger`: the refund's postings (used by the services above).
- `refunds.services.notifications`: the payer's email.
- `refunds.services.common`: RefundActor, locks, the transition with event and audit.
"""

from refunds.services.common import JANITOR, SYSTEM, RefundActor
from refunds.services.processing import (
    refund_close,
    refund_gateway_result_apply,
    refund_notification_apply,
    refund_requery,
    refund_retry,
    refund_submit_to_gateway,
)
from refunds.services.requests import (
    refund_approve,
    refund_cancel,
    refund_create,
    refund_policy_set,
    refund_reject,
    refund_totals,
)

__all__ = [
    "JANITOR",
    "SYSTEM",
    "RefundActor",
    "refund_approve",
    "refund_cancel",
    "refund_close",
    "refund_create",
    "refund_gateway_result_apply",
    "refund_notification_apply",
    "refund_policy_set",
    "refund_reject",
    "refund_requery",
    "refund_retry",
    "refund_submit_to_gateway",
    "refund_totals",
]
