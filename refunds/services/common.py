"""The refund state machine's core: who acts, row locks, the transition with its event,
its audit entry and its webhook event.

Lock order, everywhere: the payment, then the refund, then (for a balance check) the
merchant. A service that needs only the refund locks only the refund. The payment's lock
is payments' own `payment_lock` (re-exported here): every refund of a payment is created
and approved under it, so the sum of its refunds is checked and changed by one
transaction at a time.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import InvalidTransition
from merchants.models import ApiKey, WebhookEventType
from payments.services.transitions import payment_lock as payment_lock
from payments.webhooks.services import webhook_event_publish
from refunds.models import (
    REFUND_TRANSITIONS,
    Refund,
    RefundActorType,
    RefundEvent,
    RefundStatus,
)

WEBHOOK_EVENT_TYPES: dict[str, str] = {
    RefundStatus.SUCCEEDED: WebhookEventType.REFUND_SUCCEEDED,
    RefundStatus.FAILED: WebhookEventType.REFUND_FAILED,
}


@dataclass(frozen=True)
class RefundActor:
    """Who acts on a refund: a person, a merchant's API key, the acquirer or Paydesk."""

    type: str
    user: User | None = None
    label: str = ""
    # The key's merchant and mode, for the checks an API key needs instead of a person's.
    api_key: ApiKey | None = None

    @classmethod
    def for_user(cls, user: User) -> "RefundActor":
        return cls(RefundActorType.USER, user=user, label=user.email)

    @classmethod
    def for_api_key(cls, api_key: ApiKey) -> "RefundActor":
        return cls(RefundActorType.MERCHANT, label=api_key.masked, api_key=api_key)

    @classmethod
    def for_acquirer(cls, gateway_name: str) -> "RefundActor":
        return cls(RefundActorType.ACQUIRER, label=gateway_name)

    @property
    def is_person(self) -> bool:
        return self.type == RefundActorType.USER and self.user is not None


SYSTEM = RefundActor(RefundActorType.SYSTEM, label="paydesk")
JANITOR = RefundActor(RefundActorType.SYSTEM, label="janitor")


def refund_lock(refund: Refund | int) -> Refund:
    """Return the refund's row, locked FOR UPDATE; call inside `transaction.atomic()`."""
    pk = refund if isinstance(refund, int) else refund.pk
    return Refund.objects.select_for_update().get(pk=pk)


def refund_event_append(
    refund: Refund,
    *,
    from_status: str,
    to_status: str,
    actor: RefundActor,
    reason: str = "",
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> RefundEvent:
    """Append one event to the refund's timeline (inside the change's transaction)."""
    return RefundEvent.objects.create(
        refund=refund,
        occurred_at=occurred_at or timezone.now(),
        from_status=from_status,
        to_status=to_status,
        reason=reason[:255],
        actor_type=actor.type,
        actor=actor.user,
        actor_label=actor.label[:100],
        details=details or {},
    )


def refund_audit(
    refund: Refund,
    *,
    action: str,
    actor: RefundActor,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    request: HttpRequest | None = None,
) -> None:
    """Record an audit entry about `refund` (inside the change's transaction)."""
    audit_event_record(
        action=action,
        actor=actor.user,
        target=refund,
        before=before,
        after={**after, "by": actor.label or actor.type},
        request=request,
    )


def webhook_publish(refund: Refund, event_type: str) -> None:
    """Publish `event_type` about `refund` in the caller's transaction, at most once."""
    # Imported here: the serializers import the selectors, which must not import services.
    from refunds.serializers import refund_data

    webhook_event_publish(
        merchant=refund.merchant,
        event_type=event_type,
        payload=refund_data(refund),
        mode=refund.mode,
        idempotency_key=f"refund:{refund.public_id}:{event_type}",
    )


def transition(
    refund: Refund,
    to_status: str,
    *,
    actor: RefundActor,
    reason: str = "",
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
    request: HttpRequest | None = None,
    **changes: Any,
) -> Refund:
    """Move the locked `refund` to `to_status`, save `changes` with it, append the event.

    Call inside the atomic block that locked the refund (`refund_lock`). Raise
    InvalidTransition, changing nothing, when REFUND_TRANSITIONS does not allow the move.
    Writes the audit entry `refund.<to_status>` and, for succeeded and failed, the
    merchant's webhook event, in the same transaction.
    """
    from_status = refund.status
    if to_status not in REFUND_TRANSITIONS.get(from_status, frozenset()):
        raise InvalidTransition(
            _("A refund that is %(from)s cannot become %(to)s.")
            % {"from": from_status, "to": to_status},
            details={"refund_id": refund.public_id, "from": from_status, "to": to_status},
        )
    refund.status = to_status
    for name, value in changes.items():
        setattr(refund, name, value)
    refund.save(update_fields=["status", "updated_at", *changes])
    refund_event_append(
        refund,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        details=details,
        occurred_at=now,
    )
    refund_audit(
        refund,
        action=f"refund.{to_status}",
        actor=actor,
        before={"status": from_status},
        after={"status": to_status, "reason": reason[:255]},
        request=request,
    )
    if to_status in WEBHOOK_EVENT_TYPES:
        webhook_publish(refund, WEBHOOK_EVENT_TYPES[to_status])
    return refund


def on_commit_queue(task_name: str, refund_id: int) -> None:
    """Queue `refunds.tasks.<task_name>(refund_id)` once the caller's transaction commits."""

    def queue() -> None:
        from refunds import tasks

        getattr(tasks, task_name).delay(refund_id)

    transaction.on_commit(queue)
