"""Models of the payments app: Django loads them from here, so every sub-package's models
are imported below. Add your own imports (or model classes) after the ledger's."""

from payments.domain.models import IdempotencyRecord, Payment, PaymentEvent
from payments.ledger.models import (
    LedgerAccount,
    LedgerBalanceCheckpoint,
    LedgerCheckRun,
    LedgerEntry,
    LedgerPosting,
)
from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

__all__ = [
    "LedgerAccount",
    "LedgerBalanceCheckpoint",
    "LedgerCheckRun",
    "LedgerEntry",
    "LedgerPosting",
]
__all__ += ["WebhookAttempt", "WebhookDelivery", "WebhookEvent"]
__all__ += ["IdempotencyRecord", "Payment", "PaymentEvent"]

from payments.confirmation.models import (  # noqa: E402
    PaymentConfirmationEvidence,
    VerificationAttempt,
)

__all__ += ["PaymentConfirmationEvidence", "VerificationAttempt"]
