"""Reads of webhook events and their deliveries, always scoped to one merchant (and mode)."""

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from config.errors import NotFound
from merchants.models import Merchant
from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent


def _with_deliveries(events: QuerySet[WebhookEvent]) -> QuerySet[WebhookEvent]:
    deliveries = WebhookDelivery.objects.select_related("endpoint").order_by("id")
    attempts = WebhookAttempt.objects.order_by("number", "id")
    return events.prefetch_related(
        Prefetch("deliveries", queryset=deliveries),
        Prefetch("deliveries__attempts", queryset=attempts),
    )


def webhook_event_list_for_merchant(
    merchant: Merchant,
    *,
    mode: str | None = None,
    event_type: str | None = None,
    delivery_status: str | None = None,
) -> QuerySet[WebhookEvent]:
    """Return the merchant's events, newest first, with deliveries and attempts prefetched.

    Filter by `mode`, `event_type`, and `delivery_status` (events with at least one
    delivery in that status) when given.
    """
    events = WebhookEvent.objects.filter(merchant=merchant)
    if mode is not None:
        events = events.filter(mode=mode)
    if event_type:
        events = events.filter(type=event_type)
    if delivery_status:
        events = events.filter(
            pk__in=WebhookDelivery.objects.filter(
                event__merchant=merchant, status=delivery_status
            ).values("event_id")
        )
    return _with_deliveries(events).order_by("-created_at", "-id")


def webhook_event_get_for_merchant(
    merchant: Merchant, public_id: str, *, mode: str | None = None
) -> WebhookEvent:
    """Return one event of `merchant` with its deliveries, or raise NotFound.

    Another merchant's event (or one of the other mode) is "not found" too.
    """
    event = webhook_event_list_for_merchant(merchant, mode=mode).filter(public_id=public_id).first()
    if event is None:
        raise NotFound(_("No such event."))
    return event
