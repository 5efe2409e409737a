"""The refunds pages in a real Chromium: refunding from the payment page, the approval queue,
a refund's page and the delayed queue, on desktop and phone, in English and Chinese."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from merchants.models import ApiMode, Merchant, TeamRole
from merchants.services.webhooks import webhook_endpoint_create
from payments.domain.models import Payment
from payments.gateways.base import GatewayStatus, RefundResult
from refunds import tasks
from refunds.models import Refund, RefundEvent
from refunds.services import RefundActor, refund_gateway_result_apply, refund_reject
from refunds.services.janitor import refund_sla_sweep
from tests.merchants.platform import member, merchant
from tests.refunds.support import fund, refund_of, succeeded_payment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = (("en", ""), ("zh", "/zh-hans"))


@pytest.fixture(autouse=True)
def _no_refund_tasks(monkeypatch: pytest.MonkeyPatch, settings: LazySettings) -> Iterator[None]:
    """Keep refunds in `processing`: no worker sends them to an acquirer during these tests."""
    settings.REFUND_APPROVAL_THRESHOLD = 100_000
    settings.REFUND_SLA_HOURS = 24
    for name in ("refund_submit_to_gateway", "refund_requery", "refund_payer_notify"):
        monkeypatch.setattr(getattr(tasks, name), "delay", lambda *args, **kwargs: None)
    yield


def assert_fits_the_viewport(page: Page) -> None:
    """No content pushes the page wider than the window."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0


def _succeed(refund: Refund) -> Refund:
    result = RefundResult(
        refund_reference=refund.reference,
        payment_reference=refund.payment.reference,
        status=GatewayStatus.SUCCEEDED,
        amount=refund.amount,
        currency=refund.currency,
        acquirer_reference=f"SBX-RF-{refund.pk:06d}",
        completed_at=timezone.now(),
    )
    return refund_gateway_result_apply(
        refund=refund, result=result, actor=RefundActor.for_acquirer("sandbox"), reason="test"
    )


def _age(refund: Refund, by: timedelta) -> None:
    """Move a refund and its timeline `by` into the past (as if asked for that long ago)."""
    Refund.objects.filter(pk=refund.pk).update(
        created_at=F("created_at") - by,
        approved_at=F("approved_at") - by,
        processing_at=F("processing_at") - by,
        sla_due_at=F("sla_due_at") - by,
    )
    RefundEvent.objects.filter(refund=refund).update(occurred_at=F("occurred_at") - by)


def _tea_house() -> tuple[Merchant, dict[str, Any]]:
    """A merchant with refunds in every interesting state, and its team."""
    shop = merchant(name="Hangzhou Tea House")
    webhook_endpoint_create(
        merchant=shop,
        mode=ApiMode.LIVE,
        url="https://tea.example.com/paydesk/webhooks",
        events=["refund.created", "refund.succeeded"],
    )
    fund(shop, 5_000_000)
    team = {
        "owner": member(shop, TeamRole.OWNER, email="owner@tea.example.com").user,
        "finance": member(shop, TeamRole.FINANCE, email="zhou.min@tea.example.com").user,
        "admin": member(shop, TeamRole.ADMIN, email="chen.jie@tea.example.com").user,
        "support": member(shop, TeamRole.SUPPORT, email="service@tea.example.com").user,
    }

    def paid(amount: int, description: str, email: str) -> Payment:
        return succeeded_payment(shop, amount=amount, description=description, payer_email=email)

    teapot = paid(268_000, "Yixing teapot", "wang.fang@example.com")
    longjing = paid(12_800, "Longjing tea, 250 g", "li.lei@example.com")
    puer = paid(35_600, "Pu'er cake 357 g", "chen.jing@example.com")
    sampler = paid(4_590, "Jasmine tea sampler", "han.meimei@example.com")
    workshop = paid(150_000, "Tea workshop, 6 seats", "liu.yang@example.com")

    done = _succeed(refund_of(longjing, amount=2_800, by=team["finance"], reason="duplicate"))
    late = refund_of(puer, amount=35_600, by=team["owner"], reason="product_not_received")
    _age(late, timedelta(hours=52))
    refund_sla_sweep()
    rejected = refund_of(
        workshop, amount=150_000, by=team["support"], reason="requested_by_customer"
    )
    refund_reject(
        refund=rejected,
        actor=RefundActor.for_user(team["finance"]),
        reason="The workshop took place; offered a voucher instead.",
    )
    big = refund_of(
        teapot,
        amount=268_000,
        by=team["admin"],
        reason="other",
        reason_text="Lid arrived cracked; customer sent photos.",
    )
    proposed = refund_of(sampler, amount=4_590, by=team["support"], reason="fraudulent")
    _age(big, timedelta(hours=27))
    return shop, {
        **team,
        "teapot": teapot,
        "longjing": longjing,
        "done": done,
        "late": late,
        "big": big,
        "proposed": proposed,
    }


def test_an_owner_refunds_part_of_a_payment_and_sees_what_is_left(
    page: Page, live_server: Any, login_as: Callable[..., None], screenshot: Callable[..., Path]
) -> None:
    shop = merchant(name="Hangzhou Tea House")
    fund(shop, 1_000_000)
    payment = succeeded_payment(
        shop, amount=12_800, description="Longjing tea, 250 g", payer_email="li.lei@example.com"
    )
    owner = member(shop, TeamRole.OWNER).user
    assert owner.requires_two_factor
    login_as(owner)
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(live_server.url + reverse("payment_detail", args=[payment.public_id]))
    panel = page.get_by_test_id("refund-panel")
    expect(panel.get_by_test_id("refundable-amount")).to_have_text("¥128.00")
    expect(panel.get_by_test_id("refund-maximum")).to_have_text("Up to ¥128.00 can be refunded.")
    screenshot(page, "refund-panel-desktop")

    panel.get_by_label("Amount to refund").fill("28.00")
    panel.get_by_label("Reason").select_option("duplicate")
    panel.get_by_test_id("refund-submit").click()

    expect(page).to_have_url(live_server.url + reverse("payment_detail", args=[payment.public_id]))
    expect(page.locator(".messages")).to_contain_text("Refund of ¥28.00 sent to the acquirer.")
    expect(panel.get_by_test_id("refundable-amount")).to_have_text("¥100.00")
    expect(panel.get_by_test_id("in-progress-amount")).to_have_text("¥28.00")
    expect(panel.get_by_test_id("payment-refunds").locator("li")).to_have_count(1)
    expect(panel.get_by_test_id("payment-refunds")).to_contain_text("Processing")
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.requested_by_id, refund.reason) == (2_800, owner.pk, "duplicate")

    # asking for more than is left is refused on the form, and nothing is created
    panel.get_by_test_id("refund-open").click()
    screenshot(page, "refund-panel-open-desktop")
    panel.get_by_label("Amount to refund").fill("100.01")
    panel.get_by_test_id("refund-submit").click()
    expect(page.get_by_test_id("refund-form")).to_contain_text(
        "At most 100.00 CNY is left to refund."
    )
    expect(page.get_by_label("Amount to refund")).to_have_value("100.01")
    screenshot(page, "refund-request-refused-desktop")
    assert Refund.objects.filter(payment=payment).count() == 1


def test_a_finance_user_decides_in_the_approval_queue(
    page: Page, live_server: Any, login_as: Callable[..., None], screenshot: Callable[..., Path]
) -> None:
    _shop, data = _tea_house()
    login_as(data["finance"])
    page.on("dialog", lambda dialog: dialog.accept())
    url = live_server.url + reverse("refund_approvals")

    page.goto(url)
    items = page.get_by_test_id("approval-queue").locator("li.approval-item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("¥2,680.00")
    expect(items.first).to_contain_text("Lid arrived cracked")
    expect(page.locator("[data-tab=approvals] .refund-tab-count")).to_have_text("2")

    items.first.get_by_test_id("approve").click()

    expect(page.locator(".messages")).to_contain_text("Refund of ¥2,680.00 approved")
    expect(items).to_have_count(1)
    items.first.get_by_test_id("reject-toggle").click()
    items.first.get_by_test_id("reject-reason").fill("Chargeback already opened by the bank.")
    items.first.get_by_test_id("reject").click()
    expect(page.locator(".messages")).to_contain_text("rejected. No money moved.")
    expect(page.get_by_text("Nothing to approve")).to_be_visible()
    data["big"].refresh_from_db()
    data["proposed"].refresh_from_db()
    assert (data["big"].status, data["proposed"].status) == ("processing", "rejected")


def test_a_requester_is_told_someone_else_must_approve(
    page: Page, live_server: Any, login_as: Callable[..., None]
) -> None:
    shop, data = _tea_house()
    login_as(data["owner"])
    # The owner asks for a big refund: it waits, and they cannot approve it themselves.
    mine = refund_of(succeeded_payment(shop, amount=200_000), amount=150_000, by=data["owner"])

    page.goto(live_server.url + reverse("refund_approvals"))
    item = page.locator(f"li[data-refund-id={mine.public_id}]")
    expect(item).to_contain_text("You requested this refund")
    expect(item.get_by_test_id("approve")).to_have_count(0)


@pytest.mark.parametrize(("language", "prefix"), LANGUAGES)
def test_refund_pages_on_desktop_and_phone(
    page: Page,
    phone_page: Page,
    phone_context: BrowserContext,
    live_server: Any,
    login_as: Callable[..., None],
    screenshot: Callable[..., Path],
    language: str,
    prefix: str,
) -> None:
    _shop, data = _tea_house()
    login_as(data["finance"])
    login_as(data["finance"], phone_context)
    pages = {
        "refund-list": reverse("refund_list"),
        "refund-approvals": reverse("refund_approvals"),
        "refund-delayed": reverse("refund_delayed"),
        "refund-detail": reverse("refund_detail", args=[data["done"].public_id]),
        "refund-detail-delayed": reverse("refund_detail", args=[data["late"].public_id]),
        "payment-refund-panel": reverse("payment_detail", args=[data["longjing"].public_id]),
    }
    for name, path in pages.items():
        for current, device in ((page, "desktop"), (phone_page, "phone")):
            current.goto(live_server.url + prefix + path)
            expect(current.locator("h1")).to_be_visible()
            assert_fits_the_viewport(current)
            screenshot(current, f"{language}-{name}-{device}")

    page.goto(live_server.url + prefix + pages["refund-list"])
    rows = page.get_by_test_id("refund-table").locator("tbody tr")
    expect(rows).to_have_count(5)
    # a filter swaps the results in place (htmx) and keeps the URL in step
    page.select_option("#id_status", "requested")
    expect(rows).to_have_count(2)
    assert "status=requested" in page.url
    page.goto(live_server.url + prefix + pages["refund-delayed"])
    expect(page.get_by_test_id("delayed-table").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("delayed-table")).to_contain_text("¥356.00")
    page.goto(live_server.url + prefix + pages["refund-detail"])
    expect(page.get_by_test_id("refund-timeline").locator("li")).to_have_count(4)
    expect(page.get_by_test_id("refund-postings")).to_be_visible()
    expect(page.get_by_test_id("refund-webhooks")).to_contain_text("refund.succeeded")
