"""SSRF guard: a live endpoint's host is resolved at send time and must be public.

No test here connects anywhere but 127.0.0.1: the resolver and, for public addresses,
the HTTP call are replaced.
"""

import ipaddress
import socket
from typing import Any

import pytest

from config.errors import ValidationFailed
from merchants.models import ApiMode
from merchants.services.webhooks import webhook_url_validate
from merchants.validators import webhook_address_is_public
from payments.webhooks import delivery as delivery_module
from payments.webhooks.delivery import (
    DESTINATION_NOT_ALLOWED,
    DestinationNotAllowed,
    webhook_delivery_attempt,
    webhook_destination,
)
from payments.webhooks.models import DeliveryStatus, WebhookAttempt
from payments.webhooks.services import webhook_event_publish
from tests.payments.webhooks.conftest import Shop, shop_with_endpoint
from tests.payments.webhooks.support import only_delivery, publish

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.216.34"
NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "10.1.2.3",  # private
    "172.16.0.9",
    "192.168.1.20",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # shared (carrier-grade NAT)
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "::1",
    "fe80::1",
    "fd00::1",
    "::ffff:10.0.0.1",  # IPv4-mapped private
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
]


class Resolver:
    """Stands in for the name lookup (`delivery._resolve`): answers `addresses`, records asks."""

    def __init__(self, *addresses: str, error: BaseException | None = None) -> None:
        self.addresses, self.error = addresses, error
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if self.error is not None:
            raise self.error
        return list(self.addresses)


class Sender:
    """Stands in for the HTTP call: records what would have been sent, answers 200."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self, url: str, body: bytes, headers: dict[str, str], extensions: Any = None
    ) -> tuple[int | None, str, str]:
        self.calls.append({"url": url, "headers": headers, "extensions": extensions})
        return 200, "ok", ""


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    fake = Resolver(PUBLIC)
    monkeypatch.setattr(delivery_module, "_resolve", fake)
    return fake


@pytest.fixture
def sender(monkeypatch: pytest.MonkeyPatch) -> Sender:
    fake = Sender()
    monkeypatch.setattr(delivery_module, "_post", fake)
    return fake


def _live_delivery(url: str = "https://shop.example.com/hooks") -> Any:
    shop = shop_with_endpoint(url, mode=ApiMode.LIVE)
    event = webhook_event_publish(
        merchant=shop.merchant,
        event_type="payment.succeeded",
        payload={"id": "pay_1", "amount": 1999, "currency": "CNY"},
        mode=ApiMode.LIVE,
    )
    return only_delivery(event)


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_a_live_endpoint_resolving_to_a_non_public_address_gets_nothing(
    resolver: Resolver, sender: Sender, queued: Any, address: str
) -> None:
    # given a live endpoint whose host name now resolves to a non-public address
    delivery = _live_delivery()
    resolver.addresses = (address,)

    # when the delivery is attempted
    attempt = webhook_delivery_attempt(delivery_id=delivery.pk)

    # then nothing is sent, and the attempt fails with destination_not_allowed
    assert sender.calls == []
    assert resolver.asked == [("shop.example.com", 443)]
    assert attempt is not None
    assert (attempt.is_success, attempt.response_status, attempt.error) == (
        False,
        None,
        DESTINATION_NOT_ALLOWED,
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempt_count == 1
    assert delivery.next_attempt_at is not None  # retried as any failure: DNS may change


def test_one_non_public_address_among_public_ones_is_enough_to_refuse(
    resolver: Resolver, sender: Sender, queued: Any
) -> None:
    delivery = _live_delivery()
    resolver.addresses = (PUBLIC, "10.0.0.8")

    attempt = webhook_delivery_attempt(delivery_id=delivery.pk)

    assert sender.calls == []
    assert attempt is not None
    assert attempt.error == DESTINATION_NOT_ALLOWED


def test_a_live_endpoint_on_a_public_address_is_sent_to_that_very_address(
    resolver: Resolver, sender: Sender, queued: Any
) -> None:
    # given a live endpoint whose host resolves to a public address
    delivery = _live_delivery("https://shop.example.com:8443/hooks?source=paydesk")

    # when the delivery is attempted
    attempt = webhook_delivery_attempt(delivery_id=delivery.pk)

    # then the request goes to the checked address, named as the host for HTTP and TLS
    (call,) = sender.calls
    assert call["url"] == f"https://{PUBLIC}:8443/hooks?source=paydesk"
    assert call["headers"]["Host"] == "shop.example.com:8443"
    assert call["headers"]["webhook-id"] == delivery.event.public_id
    assert call["extensions"] == {"sni_hostname": "shop.example.com"}
    assert resolver.asked == [("shop.example.com", 8443)]
    assert attempt is not None
    assert attempt.is_success is True
    assert WebhookAttempt.objects.get().error == ""


def test_an_ipv6_address_is_pinned_in_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    address = "2606:2800:220:1:248:1893:25c8:1946"
    monkeypatch.setattr(delivery_module, "_resolve", Resolver(address))

    destination = webhook_destination("https://shop.example.com/hooks", mode=ApiMode.LIVE)

    assert destination.url == f"https://[{address}]/hooks"
    assert destination.headers == {"Host": "shop.example.com"}
    assert destination.extensions == {"sni_hostname": "shop.example.com"}


def test_test_mode_connects_to_the_url_as_it_is() -> None:
    destination = webhook_destination("http://localhost:8001/hooks", mode=ApiMode.TEST)

    assert (destination.url, destination.headers, destination.extensions) == (
        "http://localhost:8001/hooks",
        {},
        {},
    )


def test_a_name_that_does_not_resolve_fails_the_attempt_and_is_retried(
    monkeypatch: pytest.MonkeyPatch, sender: Sender, queued: Any
) -> None:
    delivery = _live_delivery()
    monkeypatch.setattr(
        delivery_module,
        "_resolve",
        Resolver(error=socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
    )

    attempt = webhook_delivery_attempt(delivery_id=delivery.pk)

    assert sender.calls == []
    assert attempt is not None
    assert attempt.error == "gaierror: [Errno -2] Name or service not known"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is not None


def test_test_mode_endpoints_on_localhost_are_still_delivered(
    shop: Shop, receiver: Any, queued: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a test-mode endpoint at http://127.0.0.1 (the local receiver); test mode
    # never consults the resolver
    resolver = Resolver(error=AssertionError("test mode must not resolve"))
    monkeypatch.setattr(delivery_module, "_resolve", resolver)
    delivery = only_delivery(publish(shop))

    attempt = webhook_delivery_attempt(delivery_id=delivery.pk)

    assert attempt is not None
    assert attempt.is_success is True
    assert len(receiver.requests) == 1
    assert resolver.asked == []


# --- the one address check, shared with registration ---


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_the_shared_check_refuses_every_non_public_address(address: str) -> None:
    assert webhook_address_is_public(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_the_shared_check_accepts_public_addresses(address: str) -> None:
    assert webhook_address_is_public(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://224.0.0.1/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://[fd00::1]/hooks",
    ],
)
def test_registration_refuses_a_live_endpoint_at_a_non_public_address(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        webhook_url_validate(url, mode=ApiMode.LIVE)

    assert list(refused.value.details) == ["url"]


def test_registration_accepts_a_live_endpoint_at_a_public_address() -> None:
    assert webhook_url_validate(f"https://{PUBLIC}/hooks", mode=ApiMode.LIVE) == (
        f"https://{PUBLIC}/hooks"
    )


def test_the_destination_of_a_live_endpoint_is_refused_before_any_request(
    resolver: Resolver,
) -> None:
    resolver.addresses = ("127.0.0.1",)

    with pytest.raises(DestinationNotAllowed):
        webhook_destination("https://shop.example.com/hooks", mode=ApiMode.LIVE)


def test_the_real_lookup_of_a_literal_loopback_address_is_refused() -> None:
    # The resolver answers a literal address itself: no DNS query, no connection.
    assert delivery_module._resolve("127.0.0.1", 443) == ["127.0.0.1"]

    with pytest.raises(DestinationNotAllowed):
        webhook_destination("https://127.0.0.1:9/hooks", mode=ApiMode.LIVE)
