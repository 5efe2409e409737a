"""Reads of webhook endpoints, scoped to a merchant (and mode), and their signing secrets."""

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import NotFound
from merchants.crypto import secret_decrypt
from merchants.models import Merchant, WebhookEndpoint, WebhookSecret


def webhook_endpoint_list_for_merchant(
    merchant: Merchant, *, mode: str | None = None
) -> QuerySet[WebhookEndpoint]:
    """Return the merchant's endpoints (of one mode when given), newest first."""
    endpoints = WebhookEndpoint.objects.filter(merchant=merchant)
    if mode is not None:
        endpoints = endpoints.filter(mode=mode)
    return endpoints.order_by("-created_at", "-id")


def webhook_endpoint_get_for_merchant(
    merchant: Merchant, public_id: str, *, mode: str | None = None
) -> WebhookEndpoint:
    """Return one endpoint of `merchant`, or raise NotFound (another merchant's too)."""
    endpoint = (
        webhook_endpoint_list_for_merchant(merchant, mode=mode).filter(public_id=public_id).first()
    )
    if endpoint is None:
        raise NotFound(_("No such webhook endpoint."))
    return endpoint


def webhook_endpoint_list_for_event(
    merchant: Merchant, *, mode: str, event_type: str
) -> list[WebhookEndpoint]:
    """Return the enabled endpoints of `merchant` in `mode` that subscribe to `event_type`."""
    endpoints = WebhookEndpoint.objects.filter(merchant=merchant, mode=mode, is_enabled=True)
    return [endpoint for endpoint in endpoints if event_type in endpoint.events]


def webhook_secrets_valid(
    endpoint: WebhookEndpoint, at: datetime.datetime | None = None
) -> QuerySet[WebhookSecret]:
    """Return the endpoint's secrets still valid at `at` (default now), newest first."""
    moment = at or timezone.now()
    return WebhookSecret.objects.filter(endpoint=endpoint).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=moment)
    )


def webhook_endpoint_signing_secrets(
    endpoint: WebhookEndpoint, at: datetime.datetime | None = None
) -> list[str]:
    """Return the endpoint's valid secrets in clear, newest first, for signing a delivery.

    During a rotation's overlap there are two (or more): sign with each, as Standard
    Webhooks allows several signatures in one header. Never show these to anyone.
    """
    return [
        secret_decrypt(secret.secret_encrypted) for secret in webhook_secrets_valid(endpoint, at)
    ]
