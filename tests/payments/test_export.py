"""CSV export of payments: exactly the filtered rows, streamed, scoped to the caller."""

import csv
import io
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from merchants.models import ApiMode, Merchant, TeamRole
from payments.domain.models import Payment
from payments.services import Actor, payment_cancel
from payments.views.export import COLUMNS, STAFF_COLUMNS
from tests.merchants.platform import member, merchant, portal_client, user
from tests.payments.payment_support import payment_of

pytestmark = pytest.mark.django_db


def _client(shop: Merchant) -> Client:
    return portal_client(member(of=shop, role=TeamRole.READ_ONLY).user)


def _staff_client() -> Client:
    return portal_client(user(roles=[Role.FINANCE_OPERATOR]))


def _body(response: Any) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return response.getvalue().decode("utf-8")


def _table(response: Any) -> list[list[str]]:
    body = _body(response)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_export_streams_exactly_the_filtered_rows_with_bom_and_header() -> None:
    shop = merchant()
    wanted = payment_of(
        shop,
        amount=123_456,
        channel="wechat_pay",
        description="龙井茶 500 g",
        payer_email="payer@example.com",
    )
    payment_of(shop, amount=500, channel="alipay")
    payment_of(shop, mode=ApiMode.TEST, channel="wechat_pay")
    client = _client(shop)

    response = client.get(reverse("payment_export"), {"channel": "wechat_pay"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="payments-live-{today}.csv"'
    header, *rows = _table(response)
    assert header == list(COLUMNS)
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row == {
        "payment_id": wanted.public_id,
        "created_at": timezone.localtime(wanted.created_at).isoformat(),
        "mode": "live",
        "status": "requires_confirmation",
        "channel": "wechat_pay",
        "currency": "CNY",
        "amount": "1234.56",
        "amount_minor": "123456",
        "fee": "",
        "fee_minor": "",
        "merchant_order_id": wanted.merchant_order_id,
        "description": "龙井茶 500 g",
        "payer_email": "payer@example.com",
        "region": "east",
        "confirmed_at": "",
        "succeeded_at": "",
        "failure_code": "",
    }


def test_export_matches_the_list_for_search_status_and_amount_filters() -> None:
    shop = merchant()
    canceled = payment_cancel(payment=payment_of(shop, amount=9_900), actor=Actor("merchant"))
    payment_of(shop, amount=9_900)
    payment_of(shop, amount=100)
    client = _client(shop)
    query = {"status": "canceled", "amount_min": "50", "amount_max": "99"}

    rows = _table(client.get(reverse("payment_export"), query))[1:]
    listed = client.get(reverse("payment_list"), query).content.decode()

    assert [row[0] for row in rows] == [canceled.public_id]
    assert listed.count('<tr data-payment-id="') == 1
    assert f'data-payment-id="{canceled.public_id}"' in listed


def test_export_link_on_the_list_carries_the_filters_but_not_the_cursor() -> None:
    shop = merchant()
    payment_of(shop)

    html = _client(shop).get(reverse("payment_list"), {"status": "failed", "after": "x"}).content

    assert f'href="{reverse("payment_export")}?status=failed"' in html.decode()


def test_zero_decimal_currency_is_exported_without_decimals() -> None:
    shop = merchant()
    payment_of(shop, amount=5_000, currency="JPY")

    header, row = _table(_client(shop).get(reverse("payment_export")))

    assert (row[header.index("amount")], row[header.index("amount_minor")]) == ("5000", "5000")


def test_cells_that_look_like_formulas_are_kept_as_text() -> None:
    shop = merchant()
    payment_of(shop, description='=HYPERLINK("http://evil.example")', merchant_order_id="+42")

    header, row = _table(_client(shop).get(reverse("payment_export")))

    assert row[header.index("description")] == '\'=HYPERLINK("http://evil.example")'
    assert row[header.index("merchant_order_id")] == "'+42"


def test_a_merchant_never_exports_another_merchants_rows() -> None:
    shop, other = merchant(), merchant()
    theirs = payment_of(other)
    mine = payment_of(shop)
    client = _client(shop)

    everything = _table(client.get(reverse("payment_export")))[1:]
    searched = _table(client.get(reverse("payment_export"), {"q": theirs.public_id}))[1:]
    by_order = _table(
        client.get(reverse("payment_export"), {"merchant_order_id": theirs.merchant_order_id})
    )[1:]

    assert [row[0] for row in everything] == [mine.public_id]
    assert (searched, by_order) == ([], [])


def test_export_is_audited_with_its_filters() -> None:
    shop = merchant()
    membership = member(of=shop, role=TeamRole.FINANCE)
    client = portal_client(membership.user)

    _body(client.get(reverse("payment_export"), {"status": "succeeded"}))

    event = AuditEvent.objects.get(action="payment.export")
    assert event.actor == membership.user
    assert event.object_id == str(shop.pk)
    assert event.after == {"scope": "merchant", "filters": {"status": "succeeded", "mode": "test"}}


def test_invalid_filters_export_nothing_and_go_back_to_the_list() -> None:
    shop = merchant()
    payment_of(shop)

    response = _client(shop).get(reverse("payment_export"), {"amount_min": "-5"})

    assert response.status_code == 302
    assert response["Location"] == reverse("payment_list") + "?amount_min=-5"
    assert not AuditEvent.objects.filter(action="payment.export").exists()


def test_staff_export_every_merchant_with_merchant_columns() -> None:
    shop, other = merchant(name="Shop, A"), merchant(name="Shop B")
    a = payment_of(shop)
    b = payment_of(other, mode=ApiMode.TEST)

    header, *rows = _table(_staff_client().get(reverse("staff_payment_export")))

    assert header == list(STAFF_COLUMNS)
    by_id = {row[2]: row for row in rows}
    assert by_id[a.public_id][:2] == [str(shop.public_id), "Shop, A"]
    assert by_id[b.public_id][:2] == [str(other.public_id), "Shop B"]
    assert set(by_id) == set(Payment.objects.values_list("public_id", flat=True))


def test_merchant_members_cannot_use_the_staff_export() -> None:
    shop = merchant()
    payment_of(shop)

    assert _client(shop).get(reverse("staff_payment_export")).status_code == 403
