"""The payer's email when a refund succeeded: the money is on its way back.

Queued after the commit that recorded the success (live refunds of payments with a payer
email). Paydesk does not know the payer's language: the email is written in
REFUND_PAYER_EMAIL_LANGUAGE.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation

from refunds import policies
from refunds.models import Refund, RefundStatus

logger = logging.getLogger("refunds")

TEMPLATE = "emails/refunds/refund_on_its_way"


def refund_payer_notify(*, refund_id: int) -> bool:
    """Email the payer of succeeded refund `refund_id`; return whether an email was sent.

    Safe to run twice: the refund's `payer_notified_at` is claimed before sending (and
    released if sending fails, for the task to retry), so the payer gets one email.
    """
    now = timezone.now()
    claimed = Refund.objects.filter(
        pk=refund_id, status=RefundStatus.SUCCEEDED, payer_notified_at__isnull=True
    ).update(payer_notified_at=now)
    if not claimed:
        return False
    refund = Refund.objects.select_related("payment", "merchant").get(pk=refund_id)
    payment = refund.payment
    if not payment.payer_email:
        return False
    try:
        with translation.override(policies.payer_email_language()):
            context = {"refund": refund, "payment": payment, "merchant_name": refund.merchant.name}
            subject = render_to_string(f"{TEMPLATE}_subject.txt", context)
            body = render_to_string(f"{TEMPLATE}.txt", context)
        EmailMessage(
            subject=" ".join(subject.split()),
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[payment.payer_email],
        ).send()
    except BaseException:
        Refund.objects.filter(pk=refund_id, payer_notified_at=now).update(payer_notified_at=None)
        raise
    logger.info("refund %s: payer emailed", refund.public_id)
    return True
