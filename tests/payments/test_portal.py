"""Merchant portal and staff pages of payments: list, filters, keyset pages, payment page."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from merchants.models import ApiMode, Merchant, TeamRole
from merchants.services.webhooks import webhook_endpoint_create
from payments.domain.models import Payment, PaymentStatus
from payments.portal_selectors import (
    PAGE_SIZE,
    payment_cursor_decode,
    payment_cursor_encode,
    payment_page,
)
from payments.services import Actor, payment_cancel, payment_confirm, payment_mark_succeeded
from tests.merchants.platform import member, merchant, portal_client, user
from tests.payments.payment_support import payment_of

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr data-payment-id="(pay_[0-9a-z]{24})">')


def _rows(response: Any) -> list[str]:
    assert response.status_code == 200
    return ROW.findall(response.content.decode())


def _owner_client(shop: Merchant, role: str = TeamRole.OWNER) -> Client:
    return portal_client(member(of=shop, role=role).user)


def _staff_client() -> Client:
    return portal_client(user(roles=[Role.SUPPORT_AGENT]))


def _succeeded(payment: Payment) -> Payment:
    payment_confirm(payment=payment, payer=None, method="session")
    return payment_mark_succeeded(
        payment=payment, actor=Actor.for_acquirer("sandbox"), reason="gateway_response"
    )


# --- the list ---


def test_member_sees_own_live_payments_newest_first_and_not_others() -> None:
    shop, other = merchant(), merchant()
    first = payment_of(shop)
    second = payment_of(shop)
    payment_of(shop, mode=ApiMode.TEST)
    payment_of(other)

    rows = _rows(_owner_client(shop).get(reverse("payment_list")))

    assert rows == [second.public_id, first.public_id]


def test_list_opens_in_test_mode_until_the_merchant_has_a_live_payment() -> None:
    shop = merchant()
    test_payment = payment_of(shop, mode=ApiMode.TEST)
    client = _owner_client(shop, TeamRole.READ_ONLY)

    assert _rows(client.get(reverse("payment_list"))) == [test_payment.public_id]
    live = payment_of(shop)
    assert _rows(client.get(reverse("payment_list"))) == [live.public_id]
    assert _rows(client.get(reverse("payment_list"), {"mode": "test"})) == [test_payment.public_id]


def test_filters_select_by_status_channel_order_id_and_amount() -> None:
    shop = merchant()
    cheap = payment_of(shop, amount=500, channel="alipay")
    dear = payment_of(shop, amount=250_000, channel="bank_card", currency="CNY")
    canceled = payment_cancel(payment=payment_of(shop, amount=9_900), actor=Actor("merchant"))
    yen = payment_of(shop, amount=5_000, currency="JPY", channel="alipay")
    client = _owner_client(shop)
    url = reverse("payment_list")

    assert _rows(client.get(url, {"status": "canceled"})) == [canceled.public_id]
    assert _rows(client.get(url, {"channel": "bank_card"})) == [dear.public_id]
    assert _rows(client.get(url, {"merchant_order_id": cheap.merchant_order_id})) == [
        cheap.public_id
    ]
    # Amounts are major units of the chosen currency (CNY by default): ¥5 to ¥99.
    assert _rows(client.get(url, {"amount_min": "5", "amount_max": "99"})) == [
        canceled.public_id,
        cheap.public_id,
    ]
    assert _rows(client.get(url, {"currency": "JPY", "amount_min": "5000"})) == [yen.public_id]


def test_created_range_is_whole_local_days() -> None:
    shop = merchant()
    old = payment_of(shop)
    Payment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    today = payment_of(shop)
    client = _owner_client(shop)
    local_today = timezone.localdate().isoformat()

    rows_today = _rows(client.get(reverse("payment_list"), {"created_from": local_today}))
    rows_before = _rows(
        client.get(
            reverse("payment_list"),
            {"created_to": (timezone.localdate() - timedelta(days=1)).isoformat()},
        )
    )

    assert (rows_today, rows_before) == ([today.public_id], [old.public_id])


def test_search_box_finds_public_id_order_id_and_payer_email() -> None:
    shop = merchant()
    target = payment_of(shop, payer_email="Li.Lei@example.com", merchant_order_id="ORD-777")
    payment_of(shop, payer_email="someone@example.com")
    client = _owner_client(shop)
    url = reverse("payment_list")

    assert _rows(client.get(url, {"q": target.public_id})) == [target.public_id]
    assert _rows(client.get(url, {"q": "ORD-777"})) == [target.public_id]
    assert _rows(client.get(url, {"q": "li.lei@EXAMPLE.com"})) == [target.public_id]
    assert _rows(client.get(url, {"q": "nothing-like-it"})) == []


def test_invalid_filters_are_shown_and_list_nothing() -> None:
    shop = merchant()
    payment_of(shop)

    response = _owner_client(shop).get(
        reverse("payment_list"), {"created_from": "2025-05-02", "created_to": "2025-05-01"}
    )

    assert _rows(response) == []
    assert "The end date is before the start date." in response.content.decode()


def test_keyset_pages_walk_every_row_once_without_counting() -> None:
    shop = merchant()
    payments = [payment_of(shop) for _ in range(PAGE_SIZE + 3)]
    # Same instant for all: the id must break the tie.
    Payment.objects.filter(merchant=shop).update(created_at=timezone.now())
    expected = [p.public_id for p in sorted(payments, key=lambda p: p.pk, reverse=True)]
    client = _owner_client(shop)

    with CaptureQueriesContext(connection) as queries:
        first = client.get(reverse("payment_list"))
    next_link = re.search(r'rel="next" href="\?([^"]+)"', first.content.decode())
    assert next_link is not None
    second = client.get(reverse("payment_list") + "?" + next_link.group(1).replace("&amp;", "&"))
    previous_link = re.search(r'rel="prev" href="\?([^"]+)"', second.content.decode())
    assert previous_link is not None
    back = client.get(reverse("payment_list") + "?" + previous_link.group(1).replace("&amp;", "&"))

    assert _rows(first) + _rows(second) == expected
    assert _rows(back) == expected[:PAGE_SIZE]
    assert 'rel="next"' not in second.content.decode()
    assert 'rel="prev"' not in back.content.decode()
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_malformed_cursor_gives_the_first_page() -> None:
    shop = merchant()
    payment = payment_of(shop)

    rows = _rows(_owner_client(shop).get(reverse("payment_list"), {"after": "!!not-a-cursor"}))

    assert rows == [payment.public_id]


def test_cursor_round_trip_and_rejects_garbage() -> None:
    shop = merchant()
    payment = payment_of(shop)

    assert payment_cursor_decode(payment_cursor_encode(payment)) == (payment.created_at, payment.pk)
    assert payment_cursor_decode("bm90IGEgY3Vyc29y") is None
    page = payment_page(
        Payment.objects.filter(merchant=shop), before=payment_cursor_encode(payment)
    )
    assert [row.pk for row in page.rows] == [payment.pk]


def test_list_needs_a_merchant_membership() -> None:
    payer = user(roles=[Role.PAYER])
    client = Client()
    client.force_login(payer)

    response = client.get(reverse("payment_list"))
    assert (response.status_code, response["Location"]) == (302, reverse("dashboard"))
    assert Client().get(reverse("payment_list"))["Location"].startswith("/accounts/login/")


# --- the payment page ---


def test_payment_page_shows_timeline_postings_and_webhook_deliveries() -> None:
    shop = merchant(name="Timeline Shop")
    webhook_endpoint_create(
        merchant=shop,
        mode=ApiMode.LIVE,
        url="https://shop.example.com/hooks",
        events=["payment.succeeded"],
    )
    payment = _succeeded(payment_of(shop, amount=10_000))

    response = _owner_client(shop).get(reverse("payment_detail", args=[payment.public_id]))

    html = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'data-to-status="(\w+)"', html) == [
        "requires_confirmation",
        "processing",
        "succeeded",
    ]
    assert 'data-testid="payment-postings"' in html
    postings = html[html.index('data-testid="payment-postings"') : html.index("</table>")]
    assert "Payment capture" in postings
    assert "Acquirer receivable" in postings
    assert "Merchant pending balance" in postings
    assert '<td class="num">¥100.00</td>' in postings
    assert 'data-testid="payment-webhooks"' in html
    assert "https://shop.example.com/hooks" in html
    assert 'data-delivery-status="pending"' in html


def test_test_payment_page_explains_there_is_no_posting() -> None:
    shop = merchant()
    payment = payment_of(shop, mode=ApiMode.TEST)

    html = _owner_client(shop).get(reverse("payment_detail", args=[payment.public_id])).content
    assert "Test payments move no money" in html.decode()


def test_another_merchants_payment_page_is_404() -> None:
    shop, other = merchant(), merchant()
    theirs = payment_of(other)
    client = _owner_client(shop)

    assert client.get(reverse("payment_detail", args=[theirs.public_id])).status_code == 404
    assert client.get(reverse("payment_detail", args=["pay_nonsense"])).status_code == 404


# --- staff ---


def test_staff_see_every_merchants_payments_and_can_filter_by_merchant() -> None:
    shop, other = merchant(name="Shop A"), merchant(name="Shop B")
    a = payment_of(shop)
    b = payment_of(other, mode=ApiMode.TEST)
    client = _staff_client()
    url = reverse("staff_payment_list")

    everything = client.get(url)
    assert _rows(everything)[:2] == [b.public_id, a.public_id]
    assert "Shop A" in everything.content.decode()
    assert _rows(client.get(url, {"merchant": str(other.public_id)})) == [b.public_id]
    assert _rows(client.get(url, {"merchant": str(shop.public_id), "mode": "test"})) == []


def test_staff_open_any_payment_page() -> None:
    payment = payment_of(merchant(name="Far Away Shop"))

    response = _staff_client().get(reverse("staff_payment_detail", args=[payment.public_id]))

    assert response.status_code == 200
    assert "Far Away Shop" in response.content.decode()


def test_merchant_members_cannot_open_staff_pages() -> None:
    shop = merchant()
    payment = payment_of(shop)
    client = _owner_client(shop)

    assert client.get(reverse("staff_payment_list")).status_code == 403
    assert client.get(reverse("staff_payment_detail", args=[payment.public_id])).status_code == 403


def test_navigation_lights_up_payments_for_members_and_staff() -> None:
    shop = merchant()

    merchant_page = _owner_client(shop).get(reverse("payment_list")).content.decode()
    staff_page = _staff_client().get(reverse("staff_payment_list")).content.decode()

    assert f'href="{reverse("payment_list")}"' in merchant_page
    assert f'href="{reverse("staff_payment_list")}"' in staff_page
    assert f'href="{reverse("staff_payment_list")}"' not in merchant_page


def test_htmx_filter_returns_only_the_results_card() -> None:
    shop = merchant()
    payment = payment_of(shop)

    response = _owner_client(shop).get(
        reverse("payment_list"),
        {"status": PaymentStatus.REQUIRES_CONFIRMATION},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="payment-results",
    )

    assert response.content.decode().startswith('<section id="payment-results"')
    assert _rows(response) == [payment.public_id]
