"""Publish webhook events (the outbox) and manage their deliveries.

`webhook_event_publish` is the one entry point for the rest of Paydesk: call it inside
the transaction that changes the state the event reports, so that the event exists if and
only if the change was committed.
"""

import json
import logging
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import Conflict, NotFound
from merchants.models import ApiKey, ApiMode, Merchant, WebhookEndpoint, WebhookEventType
from merchants.selectors.webhooks import webhook_endpoint_list_for_event
from payments.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    event_public_id_new,
)

logger = logging.getLogger(__name__)


def _event_mode(mode: str | None, payload: dict[str, Any]) -> str:
    # Test-mode events must never reach live endpoints (and the other way round), so an
    # event without a mode is a programming error, not something to guess.
    if mode is None:
        if isinstance(payload.get("mode"), str):
            mode = payload["mode"]
        elif isinstance(payload.get("livemode"), bool):
            mode = ApiMode.LIVE if payload["livemode"] else ApiMode.TEST
    if mode not in ApiMode.values:
        raise ValueError(
            "webhook_event_publish needs mode='test' or 'live' (or a 'mode' / 'livemode' "
            f"key in the payload); got {mode!r}"
        )
    return str(mode)


def _as_json(payload: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON now: UUIDs, datetimes and Decimals become the strings the
    # receiver will see, and the stored payload is exactly what every attempt sends.
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def webhook_event_body(event: WebhookEvent) -> bytes:
    """Return the exact bytes sent for `event`: the same for every delivery and retry."""
    return json.dumps(
        event.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode()


def _deliveries_queue(delivery_ids: list[int]) -> None:
    from payments.webhooks.tasks import webhook_delivery_attempt

    for delivery_id in delivery_ids:
        webhook_delivery_attempt.delay(delivery_id)


def webhook_event_publish(
    *,
    merchant: Merchant,
    event_type: str,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
    mode: str | None = None,
) -> WebhookEvent:
    """Record an event for `merchant` and queue its delivery to the subscribed endpoints.

    Call it inside the caller's atomic block, next to the state change it reports: the
    event and one delivery per enabled endpoint (of the event's mode) subscribed to
    `event_type` are written in that transaction, and the delivery tasks are queued only
    after it commits. A rollback leaves no event, no delivery and no task.

    `payload` is the event's `data` object (e.g. the payment as the API shows it); the
    body sent is {"id": "evt_...", "type", "created", "mode", "data": payload}.
    `mode` is "test" or "live"; when omitted it is taken from payload["mode"] or
    payload["livemode"], and a missing mode raises ValueError.
    With an `idempotency_key`, publishing the same key again for the merchant returns the
    first event and creates nothing.
    """
    if event_type not in WebhookEventType.values:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    event_mode = _event_mode(mode, payload)
    now = timezone.now()
    public_id = event_public_id_new()
    body = {
        "id": public_id,
        "type": event_type,
        "created": now.isoformat().replace("+00:00", "Z"),
        "mode": event_mode,
        "data": _as_json(payload),
    }
    try:
        # A savepoint: a duplicate key must not break the caller's transaction.
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                public_id=public_id,
                merchant=merchant,
                mode=event_mode,
                type=event_type,
                payload=body,
                idempotency_key=idempotency_key or "",
                created_at=now,
            )
    except IntegrityError:
        if not idempotency_key:
            raise
        return WebhookEvent.objects.get(merchant=merchant, idempotency_key=idempotency_key)
    endpoints = webhook_endpoint_list_for_event(merchant, mode=event_mode, event_type=event_type)
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                event=event,
                endpoint=endpoint,
                url=endpoint.url,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                # Queued below: the sweep leaves it alone for a few minutes.
                queued_at=now,
                created_at=now,
            )
            for endpoint in endpoints
        ]
    )
    delivery_ids = [delivery.pk for delivery in deliveries]
    if delivery_ids:
        # robust: a broker outage must not fail the caller's committed request; the
        # minute sweep (webhook_delivery_sweep) queues whatever was not queued here.
        transaction.on_commit(lambda: _deliveries_queue(delivery_ids), robust=True)
    return event


def webhook_event_redeliver(
    *,
    event: WebhookEvent,
    endpoint: WebhookEndpoint | None = None,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    request: HttpRequest | None = None,
) -> list[WebhookDelivery]:
    """Queue an immediate attempt of `event` to `endpoint` (or to all its endpoints).

    Any delivery may be redelivered, succeeded and abandoned ones too. A failing attempt
    counts in the retry schedule: inside the event's three days the retries go on, after
    them the delivery is abandoned again. Refused (Conflict) for an endpoint that is
    disabled or no longer subscribed, and for a delivery being sent right now. Audited.
    """
    now = timezone.now()
    with transaction.atomic():
        deliveries = list(
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(event=event)
            .order_by("id")
        )
        if endpoint is not None:
            deliveries = [d for d in deliveries if d.endpoint_id == endpoint.pk]
            if not deliveries:
                raise NotFound(
                    _("This event was not sent to that endpoint."),
                    code="webhook_delivery_not_found",
                )
        sendable = [d for d in deliveries if d.endpoint and d.endpoint.wants(event.type)]
        if not sendable:
            raise Conflict(
                _(
                    "The endpoint is disabled or no longer subscribed to this event type: "
                    "enable it, or subscribe it again, before redelivering."
                ),
                code="webhook_endpoint_disabled",
            )
        if any(d.leased_until is not None and d.leased_until > now for d in sendable):
            raise Conflict(
                _("This event is being delivered right now. Try again in a minute."),
                code="webhook_delivery_in_progress",
            )
        for delivery in sendable:
            delivery.status = DeliveryStatus.PENDING
            delivery.next_attempt_at = now
            delivery.redelivery_requested_at = now
            delivery.queued_at = now
            delivery.completed_at = None
            delivery.save(
                update_fields=[
                    "status",
                    "next_attempt_at",
                    "redelivery_requested_at",
                    "queued_at",
                    "completed_at",
                ]
            )
        audit_event_record(
            action="webhook_event.redeliver",
            actor=actor,
            target=event,
            after={
                "event": event.public_id,
                "endpoints": [str(d.endpoint.public_id) for d in sendable if d.endpoint],
                **({"api_key": api_key.masked} if api_key is not None else {}),
            },
            request=request,
        )
        delivery_ids = [delivery.pk for delivery in sendable]
        transaction.on_commit(lambda: _deliveries_queue(delivery_ids), robust=True)
    return sendable
