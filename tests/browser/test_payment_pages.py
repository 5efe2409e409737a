"""The payments pages of the merchant portal and of staff, in a real Chromium (desktop)."""

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.roles import Role
from merchants.models import ApiMode, Merchant
from merchants.services.webhooks import webhook_endpoint_create
from payments.domain.models import Payment
from payments.services import (
    Actor,
    payment_cancel,
    payment_confirm,
    payment_mark_failed,
    payment_mark_succeeded,
)
from tests.merchants.platform import member, merchant, user
from tests.payments.payment_support import payment_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_submission(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queue no gateway submission: the session's Celery worker (started by other browser
    tests) would otherwise submit the "processing" demo payment and change its status."""
    from payments import tasks

    monkeypatch.setattr(tasks.payment_submit_to_gateway, "delay", lambda payment_id: None)


ACQUIRER = Actor.for_acquirer("sandbox")
# (amount in fen, channel, payer email, description, outcome)
DEMO_PAYMENTS = [
    (12_800, "alipay", "li.lei@example.com", "Longjing tea, 250 g", "succeeded"),
    (4_590, "wechat_pay", "han.meimei@example.com", "Jasmine tea sampler", "succeeded"),
    (268_000, "bank_card", "wang.fang@example.com", "Yixing teapot", "failed"),
    (1_990, "wechat_pay", "zhang.wei@example.com", "Gift card", "processing"),
    (35_600, "alipay", "chen.jing@example.com", "Pu'er cake 357 g", "succeeded"),
    (7_800, "alipay", "", "Oolong tea, 100 g", "canceled"),
    (15_000, "other", "liu.yang@example.com", "Tea workshop ticket", "requires_confirmation"),
]


def _shop_with_payments() -> tuple[Merchant, list[Payment]]:
    shop = merchant(name="Hangzhou Tea House")
    webhook_endpoint_create(
        merchant=shop,
        mode=ApiMode.LIVE,
        url="https://tea.example.com/paydesk/webhooks",
        events=["payment.succeeded", "payment.failed"],
    )
    payments = []
    start = timezone.now() - timedelta(hours=len(DEMO_PAYMENTS))
    for index, (amount, channel, email, description, outcome) in enumerate(DEMO_PAYMENTS):
        payment = payment_of(
            shop, amount=amount, channel=channel, payer_email=email, description=description
        )
        Payment.objects.filter(pk=payment.pk).update(created_at=start + timedelta(hours=index))
        payment.refresh_from_db()
        if outcome == "canceled":
            payment_cancel(payment=payment, actor=Actor("merchant"))
        elif outcome != "requires_confirmation":
            payment_confirm(payment=payment, payer=None, method="session")
        if outcome == "succeeded":
            payment_mark_succeeded(payment=payment, actor=ACQUIRER, reason="gateway_response")
        elif outcome == "failed":
            payment_mark_failed(
                payment=payment,
                actor=ACQUIRER,
                reason="gateway_rejected",
                failure_code="insufficient_funds",
                failure_message="Insufficient funds",
            )
        payments.append(payment)
    return shop, payments


def test_merchant_searches_filters_and_opens_a_payment(
    page: Page, live_server: Any, login_as: Callable[..., None], screenshot: Callable[..., Path]
) -> None:
    shop, payments = _shop_with_payments()
    payment_of(merchant(name="Someone Else"), amount=99_999)
    login_as(member(of=shop).user)

    page.goto(live_server.url + reverse("payment_list"))
    rows = page.locator("[data-testid=payment-table] tbody tr")
    expect(rows).to_have_count(len(DEMO_PAYMENTS))
    expect(page.get_by_test_id("payment-table")).not_to_contain_text("¥999.99")
    screenshot(page, "payments-list-desktop")

    # the status filter swaps the results in place (htmx) and keeps the URL in step
    page.get_by_test_id("more-filters").click()
    page.select_option("#id_status", "succeeded")
    expect(rows).to_have_count(3)
    assert "status=succeeded" in page.url
    screenshot(page, "payments-list-filtered-desktop")

    # the search box finds a payer by email
    page.goto(live_server.url + reverse("payment_list"))
    page.fill("#id_q", "wang.fang@example.com")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("¥2,680.00")

    # and the payment page shows its timeline, postings and webhook deliveries
    rows.first.get_by_role("link", name="¥2,680.00").click()
    expect(page.get_by_test_id("payment-status")).to_have_text("Failed")
    expect(page.get_by_test_id("payment-timeline").locator("li")).to_have_count(3)

    succeeded = payments[0]
    page.goto(live_server.url + reverse("payment_detail", args=[succeeded.public_id]))
    expect(page.get_by_test_id("payment-amount")).to_contain_text("¥128.00")
    expect(page.get_by_test_id("payment-postings")).to_contain_text("Merchant pending balance")
    expect(page.get_by_test_id("payment-webhooks")).to_contain_text("payment.succeeded")
    screenshot(page, "payment-detail-desktop")


def test_staff_see_every_merchant(
    page: Page, live_server: Any, login_as: Callable[..., None], screenshot: Callable[..., Path]
) -> None:
    _shop_with_payments()
    other = payment_of(merchant(name="Suzhou Silk Co."), amount=88_800, channel="bank_card")
    login_as(user(roles=[Role.FINANCE_OPERATOR]))

    page.goto(live_server.url + reverse("staff_payment_list"))

    rows = page.locator("[data-testid=payment-table] tbody tr")
    expect(rows).to_have_count(len(DEMO_PAYMENTS) + 1)
    expect(rows.first).to_contain_text("Suzhou Silk Co.")
    screenshot(page, "staff-payments-desktop")
    rows.first.get_by_role("link", name="¥888.00").click()
    expect(page).to_have_url(
        live_server.url + reverse("staff_payment_detail", args=[other.public_id])
    )
    expect(page.locator("h1")).to_contain_text("¥888.00")
