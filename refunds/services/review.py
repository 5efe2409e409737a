"""Manual review: a person retries a refund the acquirer did not make, or closes it.

A refund reaches manual review with its ledger posting reversed and the acquirer's
reason kept (refunds.services.processing). Who may resolve it:
`policies.user_can_resolve_manual_review`.
"""

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import InvalidTransition, ValidationFailed
from refunds import policies
from refunds.errors import RefundNotAllowed
from refunds.models import Refund, RefundStatus
from refunds.services.common import (
    RefundActor,
    on_commit_queue,
    payment_lock,
    refund_lock,
    transition,
)
from refunds.services.ledger import refund_initiate_post
from refunds.services.processing import SUBMISSION_SAFETY_NET, to_failed


def _check_resolver(refund: Refund, user: User) -> None:
    if not policies.user_can_resolve_manual_review(user, refund):
        raise RefundNotAllowed(
            _("Only an owner or a finance user (or Paydesk finance) can resolve manual review.")
        )


def refund_retry(*, refund: Refund, actor: User, request: HttpRequest | None = None) -> Refund:
    """Send a refund in manual review to the acquirer again (same reference).

    The money goes into transit again under a new ledger key (`...:initiate:<attempt>`),
    checked against the balance policy; the submission is queued after commit. Raise
    RefundNotAllowed, InvalidTransition unless in manual review, RefundExceedsBalance.
    """
    _check_resolver(refund, actor)
    with transaction.atomic():
        payment_lock(refund.payment_id)
        locked = refund_lock(refund)
        if locked.status != RefundStatus.MANUAL_REVIEW:
            raise InvalidTransition(
                _("Only a refund in manual review can be retried."),
                details={"refund_id": locked.public_id, "from": locked.status},
            )
        now = timezone.now()
        attempt = locked.attempt + 1
        transition(
            locked,
            RefundStatus.PROCESSING,
            actor=RefundActor.for_user(actor),
            reason="retried_after_review",
            details={"attempt": attempt},
            now=now,
            request=request,
            attempt=attempt,
            processing_at=now,
            next_query_at=now + SUBMISSION_SAFETY_NET,
            query_attempts=0,
            failure_code="",
            failure_message="",
        )
        refund_initiate_post(locked)
        on_commit_queue("refund_submit_to_gateway", locked.pk)
    return locked


def refund_close(
    *, refund: Refund, actor: User, reason: str, request: HttpRequest | None = None
) -> Refund:
    """Close a refund in manual review as failed, saying why (required).

    Its ledger posting was already reversed; publishes `refund.failed`. The acquirer's
    reason stays on the refund. Raise RefundNotAllowed, InvalidTransition.
    """
    text = (reason or "").strip()
    if not text or len(text) > 255:
        raise ValidationFailed(details={"reason": [_("Say why, in at most 255 characters.")]})
    _check_resolver(refund, actor)
    with transaction.atomic():
        locked = refund_lock(refund)
        if locked.status != RefundStatus.MANUAL_REVIEW:
            raise InvalidTransition(
                _("Only a refund in manual review can be closed."),
                details={"refund_id": locked.public_id, "from": locked.status},
            )
        return to_failed(
            locked,
            actor=RefundActor.for_user(actor),
            reason="closed_after_review",
            failure_code=locked.failure_code or "closed_after_review",
            failure_message=locked.failure_message,
            details={"reason": text},
            request=request,
        )
