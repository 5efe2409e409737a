"""The daily bill: every final payment and refund of the day, for reconciliation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.gateways import (
    BillRow,
    GatewayNotFound,
    GatewayStatus,
    NotificationKind,
    RefundRequest,
)
from payments.gateways.sandbox import SandboxGateway
from tests.helpers.sandbox_acquirer import SandboxAcquirer, unique_reference
from tests.payments.gateways.support import pay_request


def test_the_bill_lists_the_days_final_payments_and_refunds(
    gateway: SandboxGateway, sandbox_acquirer: SandboxAcquirer
) -> None:
    # given today's approved payment, its refund, a declined payment and one still processing
    approved = gateway.pay(pay_request(3000, channel="wechat_pay"))
    refund = gateway.refund(
        RefundRequest(
            refund_reference=unique_reference("rf"),
            payment_reference=approved.reference,
            amount=1000,
            currency="CNY",
        )
    )
    declined = gateway.pay(pay_request(40001))
    with sandbox_acquirer.configured(async_delay_ms=600_000):
        pending = gateway.pay(pay_request(20200))

    # when Paydesk fetches today's bill (the acquirer's day: Asia/Shanghai, as Paydesk's)
    today = timezone.localdate()
    bill = gateway.bill(today)

    # then the final ones are there, exactly, and the processing one is not
    rows = {row.reference: row for row in bill.rows}
    assert bill.day == today
    assert approved.completed_at is not None
    assert rows[approved.reference] == BillRow(
        record_type=NotificationKind.PAYMENT,
        reference=approved.reference,
        payment_reference=approved.reference,
        acquirer_reference=approved.acquirer_reference,
        merchant_ref="M-1001",
        channel="wechat_pay",
        amount=3000,
        currency="CNY",
        status=GatewayStatus.SUCCEEDED,
        decline_code="",
        created_at=rows[approved.reference].created_at,
        completed_at=approved.completed_at,
    )
    refund_row = rows[refund.refund_reference]
    assert (refund_row.record_type, refund_row.payment_reference, refund_row.amount) == (
        NotificationKind.REFUND,
        approved.reference,
        1000,
    )
    assert (rows[declined.reference].status, rows[declined.reference].decline_code) == (
        GatewayStatus.FAILED,
        "insufficient_funds",
    )
    assert pending.reference not in rows
    assert all(row.completed_at.date() == today for row in bill.rows)
    # and the same file is kept under the state directory
    saved = sandbox_acquirer.state_dir / "bills" / f"{today.isoformat()}.csv"
    assert saved.read_text() == bill.raw


def test_there_is_no_bill_for_a_day_not_begun(gateway: SandboxGateway) -> None:
    with pytest.raises(GatewayNotFound) as raised:
        gateway.bill(timezone.localdate() + timedelta(days=1))
    assert raised.value.reason == "bill_not_ready"
