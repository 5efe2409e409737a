"""Register, change, delete webhook endpoints and rotate their signing secrets."""

import base64
import datetime
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import Conflict, ValidationFailed
from merchants.crypto import secret_encrypt
from merchants.models import (
    ApiKey,
    ApiMode,
    Merchant,
    WebhookEndpoint,
    WebhookEventType,
    WebhookSecret,
)
from merchants.validators import webhook_address_is_public

SECRET_PREFIX = "whsec_"
# Standard Webhooks: the secret is base64 of 24 to 64 random bytes.
SECRET_RANDOM_BYTES = 32
DEFAULT_ROTATION_OVERLAP_HOURS = 24
MAX_ROTATION_OVERLAP_HOURS = 7 * 24
MAX_ENDPOINTS_PER_MODE = 16
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

_UNSET: Any = object()


@dataclass(frozen=True)
class RotatedSecret:
    """A rotation's result: the new secret in clear (show it once) and the old ones' end."""

    secret: str
    previous_secrets_expire_at: datetime.datetime


def webhook_secret_generate() -> str:
    """Return a new Standard Webhooks signing secret ("whsec_" + base64 of 32 bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_RANDOM_BYTES)).decode()


def _url_error(message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"url": [message]})


def webhook_url_validate(url: str, *, mode: str) -> str:
    """Return the cleaned URL or raise ValidationFailed.

    HTTPS only; plain HTTP is accepted for localhost in test mode (local development).
    Live endpoints must not point at loopback or private addresses.
    """
    url = (url or "").strip()
    if not url:
        raise _url_error(_("Enter the endpoint's URL."))
    if len(url) > 2048:
        raise _url_error(_("The URL is too long (at most 2048 characters)."))
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise _url_error(_("Enter a valid URL, such as https://example.com/webhooks.")) from None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        raise _url_error(_("The URL must not contain a user name or password."))
    is_local = host in LOCAL_HOSTS
    if parts.scheme == "http" and not (is_local and mode == ApiMode.TEST):
        raise _url_error(
            _("Use an https:// URL. Plain http:// is only allowed for localhost in test mode.")
        )
    if mode == ApiMode.LIVE:
        if is_local:
            raise _url_error(_("A live endpoint cannot point at localhost."))
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and not webhook_address_is_public(address):
            raise _url_error(_("A live endpoint cannot point at a private or reserved address."))
    return url


def webhook_events_validate(events: Any) -> list[str]:
    """Return the event types, deduplicated and sorted, or raise ValidationFailed."""
    if isinstance(events, str) or not isinstance(events, list | tuple | set):
        message = _("Give a list of event types.")
        raise ValidationFailed(message, details={"events": [message]})
    cleaned = sorted({str(event) for event in events})
    if not cleaned:
        message = _("Choose at least one event type.")
        raise ValidationFailed(message, details={"events": [message]})
    unknown = [event for event in cleaned if event not in WebhookEventType.values]
    if unknown:
        message = _("Unknown event types: %(events)s.") % {"events": ", ".join(unknown)}
        raise ValidationFailed(message, details={"events": [message], "unknown": unknown})
    return cleaned


def _description_validate(description: Any) -> str:
    description = str(description or "").strip()
    if len(description) > 200:
        message = _("Use at most 200 characters.")
        raise ValidationFailed(message, details={"description": [message]})
    return description


def _audit_state(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "events": list(endpoint.events),
        "enabled": endpoint.is_enabled,
        "mode": endpoint.mode,
        "description": endpoint.description,
    }


def _via(api_key: ApiKey | None) -> dict[str, str]:
    # API calls have no user: the audit row names the key instead.
    return {"api_key": api_key.masked} if api_key is not None else {}


def webhook_endpoint_create(
    *,
    merchant: Merchant,
    mode: str,
    url: str,
    events: Any,
    description: str = "",
    is_enabled: bool = True,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    request: HttpRequest | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint and return it with its signing secret, shown only this once."""
    if mode not in ApiMode.values:
        message = _("Choose test or live mode.")
        raise ValidationFailed(message, details={"mode": [message]})
    url = webhook_url_validate(url, mode=mode)
    cleaned_events = webhook_events_validate(events)
    description = _description_validate(description)
    secret = webhook_secret_generate()
    with transaction.atomic():
        locked = Merchant.objects.select_for_update().get(pk=merchant.pk)
        count = WebhookEndpoint.objects.filter(merchant=locked, mode=mode).count()
        if count >= MAX_ENDPOINTS_PER_MODE:
            raise Conflict(
                _("A merchant can have at most %(count)d endpoints per mode.")
                % {"count": MAX_ENDPOINTS_PER_MODE},
                code="too_many_webhook_endpoints",
            )
        endpoint = WebhookEndpoint.objects.create(
            merchant=locked,
            mode=mode,
            url=url,
            events=cleaned_events,
            description=description,
            is_enabled=bool(is_enabled),
            created_by=actor,
        )
        WebhookSecret.objects.create(endpoint=endpoint, secret_encrypted=secret_encrypt(secret))
        audit_event_record(
            action="webhook_endpoint.create",
            actor=actor,
            target=endpoint,
            after={**_audit_state(endpoint), **_via(api_key)},
            request=request,
        )
    return endpoint, secret


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: Any = _UNSET,
    events: Any = _UNSET,
    description: Any = _UNSET,
    is_enabled: Any = _UNSET,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    request: HttpRequest | None = None,
) -> WebhookEndpoint:
    """Change the given fields of an endpoint (the others stay as they are)."""
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = _audit_state(locked)
        if url is not _UNSET:
            locked.url = webhook_url_validate(url, mode=locked.mode)
        if events is not _UNSET:
            locked.events = webhook_events_validate(events)
        if description is not _UNSET:
            locked.description = _description_validate(description)
        if is_enabled is not _UNSET:
            if not isinstance(is_enabled, bool):
                message = _("Must be true or false.")
                raise ValidationFailed(message, details={"enabled": [message]})
            locked.is_enabled = is_enabled
        after = _audit_state(locked)
        if after != before:
            locked.save(update_fields=["url", "events", "description", "is_enabled", "updated_at"])
            audit_event_record(
                action="webhook_endpoint.update",
                actor=actor,
                target=locked,
                before=before,
                after={**after, **_via(api_key)},
                request=request,
            )
    return locked


def webhook_endpoint_delete(
    *,
    endpoint: WebhookEndpoint,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Delete an endpoint and its secrets; nothing more is sent to it."""
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        audit_event_record(
            action="webhook_endpoint.delete",
            actor=actor,
            target=locked,
            before=_audit_state(locked),
            after=_via(api_key) or None,
            request=request,
        )
        locked.delete()


def webhook_secret_rotate(
    *,
    endpoint: WebhookEndpoint,
    overlap_hours: int = DEFAULT_ROTATION_OVERLAP_HOURS,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    request: HttpRequest | None = None,
) -> RotatedSecret:
    """Add a new signing secret and return it (shown once); the old ones expire later.

    The current secrets stay valid for `overlap_hours` (0 ends them now), and deliveries are
    signed with every valid secret meanwhile, so the receiver can switch without a gap.
    Secrets that have already expired are deleted.
    """
    if (
        isinstance(overlap_hours, bool)
        or not isinstance(overlap_hours, int)
        or not 0 <= overlap_hours <= MAX_ROTATION_OVERLAP_HOURS
    ):
        message = _("Give a whole number of hours from 0 to %(max)d.") % {
            "max": MAX_ROTATION_OVERLAP_HOURS
        }
        raise ValidationFailed(message, details={"overlap_hours": [message]})
    secret = webhook_secret_generate()
    now = timezone.now()
    old_expiry = now + datetime.timedelta(hours=overlap_hours)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        WebhookSecret.objects.filter(endpoint=locked, expires_at__lte=now).delete()
        # A secret already on its way out keeps its earlier end: rotation never extends it.
        WebhookSecret.objects.filter(endpoint=locked, expires_at__isnull=True).update(
            expires_at=old_expiry
        )
        WebhookSecret.objects.filter(endpoint=locked, expires_at__gt=old_expiry).update(
            expires_at=old_expiry
        )
        WebhookSecret.objects.create(
            endpoint=locked, secret_encrypted=secret_encrypt(secret), created_at=now
        )
        audit_event_record(
            action="webhook_endpoint.rotate_secret",
            actor=actor,
            target=locked,
            after={
                "old_secrets_expire_at": old_expiry.isoformat(),
                "overlap_hours": overlap_hours,
                **_via(api_key),
            },
            request=request,
        )
    return RotatedSecret(secret=secret, previous_secrets_expire_at=old_expiry)
