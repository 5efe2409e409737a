"""CSV export of refunds: exactly the filtered rows, streamed, scoped, audited."""

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
from refunds.models import Refund
from refunds.views.export import COLUMNS, STAFF_COLUMNS
from tests.merchants.platform import merchant, portal_client, user
from tests.refunds.support import fund, person, refund_of, succeeded_payment

pytestmark = pytest.mark.django_db


def _client(shop: Merchant) -> Client:
    return portal_client(person(shop, TeamRole.READ_ONLY))


def _table(response: Any) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = response.getvalue().decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_the_export_streams_exactly_the_filtered_rows(shop: Merchant, queued: Any) -> None:
    fund(shop, 1_000_000)
    payment = succeeded_payment(shop, amount=200_000)
    requester = person(shop, TeamRole.FINANCE)
    wanted = refund_of(
        payment, amount=123_456, by=requester, reason="other", reason_text="退货 (return)"
    )
    refund_of(payment, amount=500, reason="duplicate")
    refund_of(
        succeeded_payment(shop, mode=ApiMode.TEST), amount=700, reason="other", reason_text="x"
    )
    refund_of(succeeded_payment(merchant()), amount=900, reason="other", reason_text="y")

    response = _client(shop).get(reverse("refund_export"), {"reason": "other"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="refunds-live-{today}.csv"'
    header, *rows = _table(response)
    assert header == list(COLUMNS)
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row == {
        "refund_id": wanted.public_id,
        "created_at": timezone.localtime(wanted.created_at).isoformat(),
        "mode": "live",
        "status": "requested",
        "currency": "CNY",
        "amount": "1234.56",
        "amount_minor": "123456",
        "payment_id": payment.public_id,
        "payment_amount_minor": "200000",
        "reason": "other",
        "reason_text": "退货 (return)",
        "requested_via": "portal",
        "requested_by": requester.email,
        "approval_reason": "above_threshold",
        "decided_by": "",
        "decision_reason": "",
        "approved_at": "",
        "succeeded_at": "",
        "sla_due_at": "",
        "is_delayed": "false",
        "failure_code": "",
    }


def test_the_export_has_the_lists_rows_for_every_filter(shop: Merchant, queued: Any) -> None:
    payment = succeeded_payment(shop, amount=10_000)
    first = refund_of(payment, amount=1_000)
    second = refund_of(payment, amount=2_000)
    Refund.objects.filter(pk=first.pk).update(is_delayed=True)
    client = _client(shop)

    def exported(**params: str) -> list[str]:
        return [row[0] for row in _table(client.get(reverse("refund_export"), params))[1:]]

    assert exported() == [second.public_id, first.public_id]
    assert exported(delayed="on") == [first.public_id]
    assert exported(amount_min="15") == [second.public_id]
    assert exported(q=payment.public_id) == [second.public_id, first.public_id]
    assert exported(q=first.public_id) == [first.public_id]
    assert exported(mode="test") == []


def test_formulas_in_free_text_stay_text(shop: Merchant, queued: Any) -> None:
    refund_of(succeeded_payment(shop), amount=100, reason="other", reason_text='=HYPERLINK("x")')

    header, row = _table(_client(shop).get(reverse("refund_export")))

    assert dict(zip(header, row, strict=True))["reason_text"] == '\'=HYPERLINK("x")'


def test_an_invalid_filter_exports_nothing_and_shows_the_list(shop: Merchant, queued: Any) -> None:
    refund_of(succeeded_payment(shop), amount=100)
    client = _client(shop)
    before = AuditEvent.objects.filter(action="refund.export").count()

    response = client.get(reverse("refund_export"), {"amount_min": "5", "amount_max": "1"})

    assert response.status_code == 302
    assert response["Location"] == reverse("refund_list") + "?amount_min=5&amount_max=1"
    assert AuditEvent.objects.filter(action="refund.export").count() == before


def test_every_export_is_audited_with_its_filters(shop: Merchant, queued: Any) -> None:
    refund_of(succeeded_payment(shop), amount=100)
    member = person(shop, TeamRole.READ_ONLY)

    _table(portal_client(member).get(reverse("refund_export"), {"status": "processing"}))

    event = AuditEvent.objects.get(action="refund.export")
    assert event.actor == member
    assert event.after == {"scope": "merchant", "filters": {"status": "processing", "mode": "live"}}


def test_staff_export_every_merchant_with_merchant_columns(shop: Merchant, queued: Any) -> None:
    other = merchant(name="=cmd|' /C calc'!A0")
    mine = refund_of(succeeded_payment(shop), amount=100)
    theirs = refund_of(succeeded_payment(other), amount=200)
    staff = portal_client(user(roles=[Role.FINANCE_OPERATOR]))

    header, *rows = _table(staff.get(reverse("staff_refund_export")))
    one = _table(staff.get(reverse("staff_refund_export"), {"merchant": str(other.public_id)}))

    assert header == list(STAFF_COLUMNS)
    assert [row[2] for row in rows] == [theirs.public_id, mine.public_id]
    assert rows[0][:2] == [str(other.public_id), "'=cmd|' /C calc'!A0"]
    assert [row[2] for row in one[1:]] == [theirs.public_id]


def test_merchant_users_cannot_use_the_staff_export(shop: Merchant) -> None:
    assert _client(shop).get(reverse("staff_refund_export")).status_code == 403
