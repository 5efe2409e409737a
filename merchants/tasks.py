"""Celery tasks of the merchants app: thin wrappers around services of the same name."""

from smtplib import SMTPException

from celery import shared_task

from merchants.models import MerchantEvent
from merchants.services import notifications


@shared_task(
    name="merchants.tasks.merchant_notify_decision",
    ignore_result=True,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=6,
)
def merchant_notify_decision(event_id: int) -> int:
    """Email the merchant's owners about the decision recorded as MerchantEvent `event_id`."""
    event = MerchantEvent.objects.select_related("merchant").filter(pk=event_id).first()
    if event is None:
        return 0
    return notifications.merchant_notify_decision(event=event)


# --- team ---


@shared_task(
    name="merchants.tasks.team_invitation_send",
    ignore_result=True,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=6,
)
def team_invitation_send(invitation_id: int, language: str) -> bool:
    """Email the invitation `invitation_id` (skipped once it is accepted, revoked or expired)."""
    from merchants.models import MerchantInvitation
    from merchants.services.team import team_invitation_send as send

    invitation = (
        MerchantInvitation.objects.select_related("merchant", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        return False
    return send(invitation=invitation, language=language)
