"""Send webhook deliveries: one HTTP attempt at a time, retried on a schedule over 3 days.

An attempt is three steps, so that no database transaction stays open during the HTTP
call: (1) lock the delivery, check that it is due and take a short lease; (2) POST the
signed body; (3) lock it again and record the attempt and what happens next. The lease
makes a duplicate task (acks_late, the sweep, a manual redelivery) a no-op while one
worker is sending; if that worker dies, the lease runs out and the sweep queues it again.

Retry schedule after a failed attempt (Standard Webhooks / Svix style): 5 s, 5 min,
30 min, 2 h, 5 h, then every 10 h, as long as the next attempt falls within 3 days of the
event; then the delivery is abandoned. That is 12 attempts, the last about 67.5 h in.

A live endpoint's host name is resolved at send time and every address it gives must be
public (`merchants.validators.webhook_address_is_public`, the check registration uses):
otherwise nothing is sent and the attempt fails with `destination_not_allowed`. The
request then goes to the checked address itself (Host header and TLS name stay the
host's), so a second DNS answer cannot point it elsewhere (DNS rebinding).
"""

import datetime
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from merchants.models import ApiMode
from merchants.selectors.webhooks import webhook_endpoint_signing_secrets
from merchants.validators import webhook_address_is_public
from payments.webhooks.health import webhook_endpoint_health_check
from payments.webhooks.models import (
    ERROR_MAX_CHARS,
    OPEN_STATUSES,
    RESPONSE_EXCERPT_MAX_CHARS,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
)
from payments.webhooks.services import webhook_event_body
from payments.webhooks.signing import webhook_headers

logger = logging.getLogger(__name__)

RETRY_DELAYS: tuple[datetime.timedelta, ...] = (
    datetime.timedelta(seconds=5),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=5),
    *(datetime.timedelta(hours=10),) * 6,
)
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
# Longer than a whole attempt (connect + read timeouts, plus writing the result).
LEASE = datetime.timedelta(seconds=60)
# Retries due sooner than this get their own delayed task; later ones wait for the sweep.
DIRECT_RETRY_MAX = datetime.timedelta(minutes=10)
# The sweep queues a due delivery again only if its last task is older than this.
REQUEUE_AFTER = datetime.timedelta(minutes=5)
SWEEP_BATCH = 1000
# The attempt's error when a live endpoint's host resolves to a non-public address.
DESTINATION_NOT_ALLOWED = "destination_not_allowed"


def webhook_retry_at(
    *, created_at: datetime.datetime, attempts_made: int, now: datetime.datetime
) -> datetime.datetime | None:
    """Return when to try again after `attempts_made` attempts, or None to give up."""
    if attempts_made < 1 or attempts_made > len(RETRY_DELAYS):
        return None
    retry_at = now + RETRY_DELAYS[attempts_made - 1]
    window = datetime.timedelta(days=settings.WEBHOOK_RETRY_WINDOW_DAYS)
    if retry_at > created_at + window:
        return None
    return retry_at


def _abandon(delivery: WebhookDelivery, now: datetime.datetime) -> None:
    delivery.status = DeliveryStatus.ABANDONED
    delivery.next_attempt_at = None
    delivery.leased_until = None
    delivery.redelivery_requested_at = None
    delivery.completed_at = now
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "leased_until",
            "redelivery_requested_at",
            "completed_at",
        ]
    )


def _claim(delivery_id: int, now: datetime.datetime) -> tuple[WebhookDelivery, list[str]] | None:
    """Lease the delivery if it is due and sendable; None when there is nothing to do."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        # None: gone, or another worker holds the row right now and will do the work.
        if delivery is None or delivery.status not in OPEN_STATUSES:
            return None
        if delivery.next_attempt_at is None or delivery.next_attempt_at > now:
            return None
        if delivery.leased_until is not None and delivery.leased_until > now:
            return None
        endpoint = delivery.endpoint
        # A deleted, disabled or unsubscribed endpoint gets nothing more.
        if endpoint is None or not endpoint.wants(delivery.event.type):
            _abandon(delivery, now)
            return None
        secrets = webhook_endpoint_signing_secrets(endpoint, at=now)
        if not secrets:
            logger.error("webhook endpoint %s has no valid signing secret", endpoint.pk)
            _abandon(delivery, now)
            return None
        delivery.leased_until = now + LEASE
        delivery.save(update_fields=["leased_until"])
    return delivery, secrets


class DestinationNotAllowed(Exception):  # noqa: N818  (not an error of ours: a refusal)
    """The endpoint's host resolves to an address a live webhook must not reach."""


@dataclass(frozen=True)
class Destination:
    """Where one attempt connects: the URL, and the headers and extensions that go with it."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


def _resolve(host: str, port: int) -> list[str]:
    """Return the addresses `host` resolves to now, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_public(address: str) -> bool:
    try:
        return webhook_address_is_public(ipaddress.ip_address(address))
    except ValueError:
        return False


def webhook_destination(url: str, *, mode: str) -> Destination:
    """Return where an attempt for an endpoint of `mode` at `url` connects.

    Test mode connects to the URL as it is (localhost included, for local development).
    Live mode resolves the host now and raises DestinationNotAllowed unless every address
    is public; the connection is pinned to the first one. Raise OSError when the name
    does not resolve.
    """
    if mode != ApiMode.LIVE:
        return Destination(url=url)
    parsed = httpx.URL(url)
    host = parsed.raw_host.decode("ascii")  # IDNA-encoded, as DNS and TLS want it
    addresses = _resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    # Every address, not just the first: a resolver may hand out a private one next time.
    if not addresses or not all(_is_public(address) for address in addresses):
        raise DestinationNotAllowed(host)
    return Destination(
        url=str(parsed.copy_with(host=addresses[0])),
        headers={"Host": parsed.netloc.decode("ascii")},
        # The certificate is checked against the host name, not the pinned address.
        extensions={"sni_hostname": host} if parsed.scheme == "https" else {},
    )


def _post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    extensions: dict[str, Any] | None = None,
) -> tuple[int | None, str, str]:
    """POST once; return (status or None, response excerpt, error text)."""
    timeout = httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream(
                "POST", url, content=body, headers=headers, extensions=extensions
            ) as response,
        ):
            excerpt = b""
            # Read at most the excerpt's size: a receiver may answer with megabytes.
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= RESPONSE_EXCERPT_MAX_CHARS:
                    break
            # At most 1 KB of bytes; a character cut in two becomes U+FFFD.
            text = excerpt[:RESPONSE_EXCERPT_MAX_CHARS].decode(
                response.encoding or "utf-8", errors="replace"
            )
            return response.status_code, text, ""
    except httpx.HTTPError as exc:
        return None, "", f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]


def webhook_delivery_attempt(
    *, delivery_id: int, now: datetime.datetime | None = None
) -> WebhookAttempt | None:
    """Make one attempt of delivery `delivery_id` if it is due; return the attempt or None.

    Safe to call twice and from several workers: only the caller that takes the lease
    sends. Never call inside an atomic block (the HTTP call must not hold a transaction).
    """
    now = now or timezone.now()
    claimed = _claim(delivery_id, now)
    if claimed is None:
        return None
    delivery, secrets = claimed
    event = delivery.event
    body = webhook_event_body(event)
    # The timestamp is the real time of sending: receivers reject stale ones (replay guard).
    headers = webhook_headers(
        secrets=secrets, message_id=event.public_id, timestamp=int(time.time()), body=body
    )
    started = time.monotonic()
    status, excerpt, error = _send(delivery, body, headers)
    duration_ms = round((time.monotonic() - started) * 1000)
    is_success = status is not None and 200 <= status < 300
    if status is not None and not is_success:
        error = f"HTTP {status}"
    return _record(delivery_id, now, status, excerpt, error, duration_ms, is_success)


def _send(
    delivery: WebhookDelivery, body: bytes, headers: dict[str, str]
) -> tuple[int | None, str, str]:
    """Check the destination, then POST; return (status or None, excerpt, error text)."""
    assert delivery.endpoint is not None  # _claim abandons deliveries without one
    try:
        destination = webhook_destination(delivery.url, mode=delivery.endpoint.mode)
    except DestinationNotAllowed as refused:
        # The host only: a URL may carry the receiver's own token in its query.
        logger.warning(
            "webhook delivery %s not sent: %s resolves to a non-public address",
            delivery.pk,
            refused.args[0],
        )
        return None, "", DESTINATION_NOT_ALLOWED
    except OSError as exc:  # socket.gaierror: the name does not resolve (now)
        return None, "", f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]
    return _post(destination.url, body, {**headers, **destination.headers}, destination.extensions)


def _record(
    delivery_id: int,
    now: datetime.datetime,
    status: int | None,
    excerpt: str,
    error: str,
    duration_ms: int,
    is_success: bool,
) -> WebhookAttempt:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .get(pk=delivery_id)
        )
        number = delivery.attempt_count + 1
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            endpoint=delivery.endpoint,
            number=number,
            is_manual=delivery.redelivery_requested_at is not None,
            started_at=now,
            duration_ms=duration_ms,
            is_success=is_success,
            response_status=status,
            response_excerpt=excerpt,
            error=error,
        )
        delivery.attempt_count = number
        delivery.last_attempt_at = now
        delivery.leased_until = None
        delivery.redelivery_requested_at = None
        if is_success:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.next_attempt_at = None
            delivery.completed_at = now
        else:
            retry_at = webhook_retry_at(
                created_at=delivery.created_at, attempts_made=number, now=now
            )
            delivery.status = DeliveryStatus.FAILED if retry_at else DeliveryStatus.ABANDONED
            delivery.next_attempt_at = retry_at
            delivery.completed_at = None if retry_at else now
            if retry_at is not None and retry_at - now <= DIRECT_RETRY_MAX:
                delivery.queued_at = now
                _queue_on_commit(delivery.pk, countdown=(retry_at - now).total_seconds())
        delivery.save(
            update_fields=[
                "attempt_count",
                "last_attempt_at",
                "leased_until",
                "redelivery_requested_at",
                "status",
                "next_attempt_at",
                "completed_at",
                "queued_at",
            ]
        )
    # In its own transaction, after the attempt is safely recorded: disabling locks the
    # endpoint, and a deadlock there must never cost the record of a request already sent.
    if not is_success and delivery.endpoint is not None:
        webhook_endpoint_health_check(endpoint=delivery.endpoint, now=now)
    return attempt


def _queue_on_commit(delivery_id: int, *, countdown: float = 0) -> None:
    from payments.webhooks.tasks import webhook_delivery_attempt as task

    def queue() -> None:
        task.apply_async((delivery_id,), countdown=max(0.0, countdown))

    # robust: if the broker is down, the sweep queues the delivery later.
    transaction.on_commit(queue, robust=True)


def webhook_delivery_sweep(*, now: datetime.datetime | None = None) -> int:
    """Queue a task for each due delivery not queued recently; return how many.

    Runs every minute from beat: it starts the retries that are hours away, and recovers
    deliveries whose task was lost (broker outage, a worker killed mid-send).
    """
    now = now or timezone.now()
    with transaction.atomic():
        due_ids = list(
            WebhookDelivery.objects.filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - REQUEUE_AFTER))
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        WebhookDelivery.objects.filter(pk__in=due_ids).update(queued_at=now)
        for delivery_id in due_ids:
            _queue_on_commit(delivery_id)
    return len(due_ids)
