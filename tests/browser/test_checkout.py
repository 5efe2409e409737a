"""The hosted checkout in a real Chromium on a phone, with the real worker and acquirer.

The payer opens the checkout link, signs in, creates a passkey and confirms with it (a
virtual authenticator from the DevTools protocol plays the fingerprint reader); a real
Celery worker submits the payment to the real sandbox acquirer and the page follows it to
"succeeded", then sends the payer back to the merchant. More passkey cases, and the
email-code fallback: test_checkout_passkeys.py.
"""

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from accounts.roles import Role
from payments.domain.models import Payment, PaymentStatus
from payments.services import Actor, payment_confirm, payment_mark_failed, payment_mark_succeeded
from tests.factories import DEFAULT_PASSWORD
from tests.helpers.celery_worker import CeleryWorker
from tests.merchants.platform import merchant, user
from tests.payments.payment_support import payment_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


@pytest.fixture
def no_submission(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record submissions instead of queueing them: the session worker must not race a
    test that sets the payment's outcome itself."""
    from payments import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.payment_submit_to_gateway, "delay", queued.append)
    return queued


def _payer() -> Any:
    payer = user(roles=[Role.PAYER], email=f"fang.wang.{uuid.uuid4().hex[:4]}@example.com")
    EmailAddress.objects.create(user=payer, email=payer.email, verified=True, primary=True)
    return payer


def _payment(return_url: str = "https://shop.example.com/orders/8812", **fields: Any) -> Payment:
    values: dict[str, Any] = {
        "amount": 12_800,
        "channel": "alipay",
        "description": "West Lake Longjing tea, 250 g gift tin",
        "merchant_order_id": f"HZ-{timezone.now().strftime('%H%M%S%f')}",
        "return_url": return_url,
    }
    values.update(fields)
    return payment_of(merchant(name="Hangzhou Tea House"), **values)


def _no_csp_violations(page: Page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def test_payer_signs_in_pays_on_a_phone_and_returns_to_the_merchant(
    phone_page: Page,
    phone_context: BrowserContext,
    live_server: Any,
    settings: Any,
    screenshot: Callable[..., Path],
    celery_worker_process: CeleryWorker,
) -> None:
    # given a phone with a fingerprint reader, WebAuthn for the live server's origin...
    settings.WEBAUTHN_RP_ID = "localhost"
    settings.WEBAUTHN_ORIGINS = [live_server.url]
    cdp = phone_context.new_cdp_session(phone_page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    # ...a payment whose return URL is a page of the live server, and a payer account
    payment = _payment(return_url=f"{live_server.url}/healthz?returned=1")
    payer = _payer()
    violations = _no_csp_violations(phone_page)
    checkout_url = live_server.url + reverse("checkout", kwargs={"token": payment.checkout_token})

    # when the payer opens the link, not yet signed in
    phone_page.goto(checkout_url)
    expect(phone_page.get_by_test_id("checkout-merchant")).to_have_text("Hangzhou Tea House")
    expect(phone_page.get_by_test_id("checkout-amount")).to_have_text("¥128.00")
    expect(phone_page.get_by_test_id("checkout-channel")).to_have_text("Alipay")
    expect(phone_page.get_by_test_id("payment-status")).to_contain_text("requires_confirmation")
    expect(phone_page.get_by_test_id("payment-confirm")).to_have_count(0)
    screenshot(phone_page, "checkout-phone-en-signed-out")

    # and signs in from the checkout with their password
    phone_page.get_by_test_id("checkout-password-sign-in").click()
    phone_page.fill("#id_login", payer.email)
    phone_page.fill("#id_password", DEFAULT_PASSWORD)
    phone_page.locator("form[data-login-form] button[type=submit]").click()
    phone_page.wait_for_url(checkout_url)
    screenshot(phone_page, "checkout-phone-en")

    # and, having no passkey yet, creates one there and confirms with it
    phone_page.get_by_test_id("passkey-register").click()
    confirm = phone_page.get_by_test_id("payment-confirm")
    expect(confirm).to_have_text("Confirm ¥128.00")
    confirm.click()

    # then the page follows the payment through the real worker and acquirer to success
    status = phone_page.get_by_test_id("payment-status")
    try:
        expect(status).to_contain_text("succeeded", timeout=20_000)
    except AssertionError as error:
        raise AssertionError(
            f"{error}\nworker log:\n{celery_worker_process.log()[-3000:]}"
        ) from None
    expect(status).to_contain_text("Payment successful")
    expect(phone_page.get_by_test_id("payment-confirm")).to_have_count(0)
    screenshot(phone_page, "checkout-phone-en-succeeded")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert (payment.confirmed_by, payment.confirmation_method) == (payer, "passkey")

    # and sends the payer back to the merchant after the countdown
    phone_page.wait_for_url(f"{live_server.url}/healthz?returned=1", timeout=10_000)
    assert violations == []


def test_checkout_in_chinese_on_a_phone(
    phone_page: Page,
    phone_context: BrowserContext,
    live_server: Any,
    login_as: Callable[..., None],
    screenshot: Callable[..., Path],
    no_submission: list[int],
) -> None:
    payment = _payment(description="西湖龙井 250 克礼盒", channel="wechat_pay")
    login_as(_payer(), phone_context)
    path = reverse("checkout", kwargs={"token": payment.checkout_token})

    phone_page.goto(f"{live_server.url}/zh-hans{path}")

    expect(phone_page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(phone_page.get_by_test_id("checkout-amount")).to_have_text("¥128.00")
    expect(phone_page.get_by_test_id("passkey-register")).to_be_visible()
    screenshot(phone_page, "checkout-phone-zh")

    payment_confirm(payment=payment, payer=None, method="passkey")
    payment_mark_succeeded(payment=payment, actor=Actor.for_acquirer("sandbox"), reason="test")
    phone_page.goto(f"{live_server.url}/zh-hans{path}")
    expect(phone_page.get_by_test_id("payment-status")).to_contain_text("succeeded")
    # Stay: the countdown would leave for the merchant's (unreachable) shop.
    phone_page.locator("[data-countdown-cancel]").click()
    screenshot(phone_page, "checkout-phone-zh-succeeded")


def test_failed_and_expired_payments_show_their_state_without_a_pay_button(
    phone_page: Page,
    phone_context: BrowserContext,
    live_server: Any,
    login_as: Callable[..., None],
    screenshot: Callable[..., Path],
    no_submission: list[int],
) -> None:
    login_as(_payer(), phone_context)
    failed = _payment()
    payment_confirm(payment=failed, payer=None, method="passkey")
    payment_mark_failed(
        payment=failed,
        actor=Actor.for_acquirer("sandbox"),
        reason="gateway_rejected",
        failure_code="insufficient_funds",
        failure_message="Insufficient funds",
    )
    expired = _payment()
    Payment.objects.filter(pk=expired.pk).update(expires_at=timezone.now())

    phone_page.goto(live_server.url + reverse("checkout", kwargs={"token": failed.checkout_token}))
    expect(phone_page.get_by_test_id("payment-status")).to_contain_text("failed")
    expect(phone_page.get_by_test_id("payment-confirm")).to_have_count(0)
    expect(phone_page.get_by_test_id("checkout-return")).to_be_visible()
    screenshot(phone_page, "checkout-phone-en-failed")

    phone_page.goto(live_server.url + reverse("checkout", kwargs={"token": expired.checkout_token}))
    expect(phone_page.get_by_test_id("payment-status")).to_contain_text("expired")
    expect(phone_page.get_by_test_id("payment-confirm")).to_have_count(0)
    screenshot(phone_page, "checkout-phone-en-expired")


def test_a_processing_payment_polls_until_the_result_arrives(
    phone_page: Page,
    live_server: Any,
    screenshot: Callable[..., Path],
    no_submission: list[int],
) -> None:
    # given a confirmed payment whose result is not known yet (no worker submits it here)
    payment = _payment(return_url="")
    payment_confirm(payment=payment, payer=None, method="passkey")
    phone_page.goto(live_server.url + reverse("checkout", kwargs={"token": payment.checkout_token}))
    status = phone_page.get_by_test_id("payment-status")
    expect(status).to_contain_text("processing")
    expect(phone_page.locator(".checkout-refresh")).to_be_hidden()  # JS on: htmx polls
    screenshot(phone_page, "checkout-phone-en-processing")

    # when the acquirer's answer is recorded
    payment_mark_succeeded(payment=payment, actor=Actor.for_acquirer("sandbox"), reason="test")

    # then the page shows it without a reload, and has no return button to offer
    expect(status).to_contain_text("succeeded", timeout=5_000)
    expect(phone_page.get_by_test_id("checkout-return")).to_have_count(0)
