"""Endpoint health: disable an endpoint that has only failed for days, and tell its owners.

An endpoint is "failing since" the first failed attempt after its last successful one.
When that is WEBHOOK_DISABLE_AFTER_DAYS (default 3) ago or more, the next failure disables
it through the merchants' endpoint service (audited), abandons its open deliveries, and
emails the merchant's owners once the transaction commits.
"""

import datetime
import logging

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Max, Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.services.audit import audit_event_record
from merchants.models import MerchantMembership, TeamRole, WebhookEndpoint
from merchants.services.webhooks import webhook_endpoint_update
from payments.webhooks.models import (
    OPEN_STATUSES,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
)

logger = logging.getLogger(__name__)

SENT_MARKER_TTL = 7 * 24 * 3600


def _disable_after() -> datetime.timedelta:
    return datetime.timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS)


def webhook_endpoint_failing_since(endpoint: WebhookEndpoint) -> datetime.datetime | None:
    """Return the first failed attempt after the endpoint's last success, or None."""
    last_success = WebhookAttempt.objects.filter(endpoint=endpoint, is_success=True).aggregate(
        at=Max("started_at")
    )["at"]
    failures = WebhookAttempt.objects.filter(endpoint=endpoint, is_success=False)
    if last_success is not None:
        failures = failures.filter(started_at__gt=last_success)
    return failures.aggregate(at=Min("started_at"))["at"]


def webhook_endpoint_health_check(
    *, endpoint: WebhookEndpoint, now: datetime.datetime | None = None
) -> bool:
    """Disable `endpoint` if it has only failed for the configured days; return whether it did.

    Call after a failed attempt has been recorded (committed, or in the caller's atomic block).
    """
    now = now or timezone.now()
    failing_since = webhook_endpoint_failing_since(endpoint)
    if failing_since is None or failing_since > now - _disable_after():
        return False
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if not locked.is_enabled:
            return False
        # The merchants' service changes the flag and writes the "update" audit row.
        webhook_endpoint_update(endpoint=locked, is_enabled=False)
        audit_event_record(
            action="webhook_endpoint.disable_failing",
            target=locked,
            after={
                "failing_since": failing_since.isoformat(),
                "disable_after_days": _disable_after().days,
            },
        )
        WebhookDelivery.objects.filter(endpoint=locked, status__in=OPEN_STATUSES).update(
            status=DeliveryStatus.ABANDONED,
            next_attempt_at=None,
            leased_until=None,
            redelivery_requested_at=None,
            completed_at=now,
        )
        endpoint_id, since = locked.pk, failing_since.isoformat()
        transaction.on_commit(lambda: _notify_queue(endpoint_id, since), robust=True)
    logger.warning(
        "webhook endpoint %s disabled: only failures since %s", endpoint.pk, failing_since
    )
    return True


def _notify_queue(endpoint_id: int, failing_since: str) -> None:
    from payments.webhooks.tasks import webhook_endpoint_disabled_notify

    webhook_endpoint_disabled_notify.delay(endpoint_id, failing_since)


def webhook_endpoint_disabled_notify(*, endpoint_id: int, failing_since: str) -> int:
    """Email every active owner of the endpoint's merchant that it was disabled.

    Returns the number of emails sent. Safe to run twice: a cache marker per endpoint and
    failure streak keeps a retried task from mailing the owners again.
    """
    endpoint = WebhookEndpoint.objects.select_related("merchant").filter(pk=endpoint_id).first()
    if endpoint is None:
        return 0
    marker = f"payments:webhook-disabled-mail:{endpoint_id}:{failing_since}"
    if cache.get(marker):
        return 0
    owners = [
        membership.user
        for membership in MerchantMembership.objects.filter(
            merchant_id=endpoint.merchant_id, role=TeamRole.OWNER, user__is_active=True
        ).select_related("user")
    ]
    sent = 0
    for owner in owners:
        language = owner.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language):
            context = {
                "merchant": endpoint.merchant,
                "endpoint": endpoint,
                "owner": owner,
                "failing_since": datetime.datetime.fromisoformat(failing_since),
                "days": _disable_after().days,
                "endpoint_url": settings.PORTAL_BASE_URL
                + reverse("webhook_endpoint_edit", args=[endpoint.public_id]),
                "events_url": settings.PORTAL_BASE_URL + reverse("webhook_events"),
            }
            subject = render_to_string("emails/payments/webhook_disabled_subject.txt", context)
            body = render_to_string("emails/payments/webhook_disabled.txt", context)
        EmailMessage(
            subject=" ".join(subject.split()),
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[owner.email],
        ).send()
        sent += 1
    cache.set(marker, 1, SENT_MARKER_TTL)
    return sent
