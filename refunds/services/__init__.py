"""Every write to a refund: import the services from here.

- `refunds.services.requests`: refund_create, refund_approve, refund_reject,
  refund_cancel, refund_policy_set (what people and API keys ask for).
- `refunds.services.processing`: the send to the acquirer and what its answers do;
  refund_submit_to_gateway, refund_gateway_result_apply.
- `refunds.services.acquirer_answers`: refund_requery (the janitor's query) and
  refund_notification_apply (registered with payments' notify endpoint).
- `refunds.services.review`: manual review; refund_retry, refund_close.
- `refunds.services.janitor`: refund_query_sweep, refund_sla_sweep.
- `refunds.services.ledger`: the refund's postings (used by the services above).
- `refunds.services.notifications`: the payer's email.
- `refunds.services.common`: RefundActor, locks, the transition with event and audit.
"""

from refunds.services.acquirer_answers import refund_notification_apply, refund_requery
from refunds.services.common import JANITOR, SYSTEM, RefundActor
from refunds.services.processing import refund_gateway_result_apply, refund_submit_to_gateway
from refunds.services.requests import (
    refund_approve,
    refund_cancel,
    refund_create,
    refund_policy_set,
    refund_reject,
    refund_totals,
)
from refunds.services.review import refund_close, refund_retry

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
