"""Emails telling a merchant's owners about a decision on their merchant."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from merchants.models import MerchantEvent, MerchantMembership, MerchantStatus, TeamRole

logger = logging.getLogger(__name__)

# Which email template tells the merchant about each kind of decision.
TEMPLATE_FOR_STATUS: dict[str, str] = {
    MerchantStatus.APPROVED: "approved",
    MerchantStatus.REJECTED: "rejected",
    MerchantStatus.NEEDS_INFORMATION: "needs_information",
    MerchantStatus.SUSPENDED: "suspended",
}
SENT_MARKER_TTL = 7 * 24 * 3600


def _template_for(event: MerchantEvent) -> str | None:
    if event.from_status == MerchantStatus.SUSPENDED and event.to_status == MerchantStatus.APPROVED:
        return "reinstated"
    return TEMPLATE_FOR_STATUS.get(event.to_status)


def merchant_notify_decision(*, event: MerchantEvent) -> int:
    """Email every active owner of the event's merchant, each in their own language.

    Returns the number of emails sent. Safe to run twice: a cache marker per event keeps a
    retried task from mailing the owners again.
    """
    template = _template_for(event)
    if template is None:
        return 0
    marker = f"merchants:decision-mail:{event.pk}"
    if cache.get(marker):
        logger.info("decision email for merchant event %s already sent", event.pk)
        return 0
    owners = [
        m.user
        for m in MerchantMembership.objects.filter(
            merchant_id=event.merchant_id, role=TeamRole.OWNER, user__is_active=True
        ).select_related("user", "merchant")
    ]
    sent = 0
    for owner in owners:
        language = owner.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language):
            context = {
                "merchant": event.merchant,
                "event": event,
                "owner": owner,
                "portal_url": settings.PORTAL_BASE_URL + reverse("merchant_onboarding"),
            }
            subject = render_to_string(f"emails/merchants/{template}_subject.txt", context)
            body = render_to_string(f"emails/merchants/{template}.txt", context)
        EmailMessage(
            subject=" ".join(subject.split()),
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[owner.email],
        ).send()
        sent += 1
    cache.set(marker, 1, SENT_MARKER_TTL)
    return sent
