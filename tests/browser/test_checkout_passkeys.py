"""Confirming at the hosted checkout with a passkey, in Debian's Chromium on a phone.

A virtual authenticator from the Chrome DevTools Protocol plays the phone's fingerprint
reader (ctap2, transport "internal", resident keys, user verification). The payment goes
through a real Celery worker to the real sandbox acquirer. WebAuthn refuses IP addresses
and live_server listens on localhost:<port>: the RP ID is "localhost" and the allowed
origin the live server's URL.

Screenshots of every step, in English and Chinese: test-artifacts/screenshots/checkout-passkey-*.png
"""

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import BrowserContext, CDPSession, Page, expect

from accounts.models import PasskeyCredential, User
from accounts.roles import Role
from payments.confirmation.models import PaymentConfirmationEvidence, VerificationAttempt
from payments.domain.models import Payment, PaymentStatus
from tests.accounts.passkeys.support import code_from_last_email
from tests.helpers.celery_worker import CeleryWorker
from tests.merchants.platform import merchant, user
from tests.payments.payment_support import payment_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Chromium reports no platform authenticator where none is attached; the fallback tests
# say so explicitly, so that they do not depend on the machine.
NO_PLATFORM_AUTHENTICATOR = (
    "PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable = "
    "() => Promise.resolve(false);"
)
LANGUAGES = {"en": "", "zh": "/zh-hans"}


@pytest.fixture(autouse=True)
def _relying_party(settings: Any, live_server: Any) -> None:
    cache.clear()  # confirmation steps are rate-limited per user, address and payment
    settings.WEBAUTHN_RP_ID = "localhost"
    settings.WEBAUTHN_ORIGINS = [live_server.url]
    settings.PAYMENT_EMAIL_CODE_FALLBACK_MAX_AMOUNT = 200_000
    assert live_server.url.startswith("http://localhost:")


def _authenticator(context: BrowserContext, page: Page) -> tuple[CDPSession, str]:
    """Attach a user-verifying platform authenticator (a phone's fingerprint reader)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    result = cdp.send(
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
    return cdp, result["authenticatorId"]


def _payer(email: str = "") -> User:
    payer = user(roles=[Role.PAYER], email=email or f"li.na.{uuid.uuid4().hex[:6]}@example.com")
    assert isinstance(payer, User)
    return payer


def _payment(**fields: Any) -> Payment:
    values: dict[str, Any] = {
        "amount": 12_800,
        "channel": "alipay",
        "description": "West Lake Longjing tea, 250 g gift tin",
        "merchant_order_id": f"HZ-{timezone.now().strftime('%H%M%S%f')}",
        "return_url": "",
    }
    values.update(fields)
    return payment_of(merchant(name="Hangzhou Tea House"), **values)


def _checkout_url(live_server: Any, payment: Payment, language: str = "en") -> str:
    path = reverse("checkout", kwargs={"token": payment.checkout_token})
    return f"{live_server.url}{LANGUAGES[language]}{path}"


def _console_problems(page: Page) -> list[str]:
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    return problems


def _attempts(payment: Payment) -> list[tuple[str, str, str]]:
    return list(
        VerificationAttempt.objects.filter(payment=payment)
        .order_by("started_at", "id")
        .values_list("method", "stage", "failure_code")
    )


def _wait_succeeded(page: Page, worker: CeleryWorker) -> None:
    status = page.get_by_test_id("payment-status")
    try:
        expect(status).to_contain_text("succeeded", timeout=20_000)
    except AssertionError as error:
        raise AssertionError(f"{error}\nworker log:\n{worker.log()[-3000:]}") from None


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_payer_creates_a_passkey_and_confirms_and_the_payment_succeeds(
    language: str,
    phone_page: Page,
    phone_context: BrowserContext,
    live_server: Any,
    login_as: Callable[..., None],
    screenshot: Callable[..., Path],
    celery_worker_process: CeleryWorker,
) -> None:
    # given a signed-in payer without a passkey, on a phone with a fingerprint reader
    cdp, authenticator_id = _authenticator(phone_context, phone_page)
    payer = _payer()
    login_as(payer, phone_context)
    payment = _payment()
    problems = _console_problems(phone_page)
    shot = f"checkout-passkey-phone-{language}"

    # when the payer opens the checkout link
    phone_page.goto(_checkout_url(live_server, payment, language))
    expect(phone_page.get_by_test_id("payment-status")).to_contain_text("requires_confirmation")
    register = phone_page.get_by_test_id("passkey-register")
    expect(register).to_be_visible()
    expect(phone_page.get_by_test_id("payment-confirm")).to_be_hidden()
    expect(phone_page.locator("[data-checkout-email-code]")).to_be_hidden()
    screenshot(phone_page, f"{shot}-1-create")

    # and creates a passkey (step 1 of 2) without leaving the page
    register.click()
    confirm = phone_page.get_by_test_id("payment-confirm")
    expect(confirm).to_be_visible()
    expect(register).to_be_hidden()
    expect(phone_page.locator("[data-step-text]")).to_contain_text(
        "Step 2 of 2" if language == "en" else "2"
    )
    assert phone_page.url == _checkout_url(live_server, payment, language)
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(held["credentials"]) == 1
    screenshot(phone_page, f"{shot}-2-confirm")

    # and confirms with one touch (step 2 of 2)
    confirm.click()

    # then the real worker submits it to the sandbox acquirer and the page shows success
    _wait_succeeded(phone_page, celery_worker_process)
    expect(phone_page.get_by_test_id("payment-confirm")).to_have_count(0)
    screenshot(phone_page, f"{shot}-3-succeeded")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert (payment.confirmation_method, payment.confirmed_by) == ("passkey", payer)
    evidence = PaymentConfirmationEvidence.objects.get(payment=payment)
    assert (evidence.is_strong_authentication, evidence.user_verified) == (True, True)
    assert evidence.details["flags"]["uv"] is True
    assert PasskeyCredential.objects.get(user=payer).transports == ["internal"]
    assert _attempts(payment) == [
        ("passkey_registration", "succeeded", ""),
        ("passkey", "succeeded", ""),
    ]
    assert problems == []


@pytest.mark.parametrize("language", ["en", "zh"])
def test_without_user_verification_the_confirmation_is_refused_and_can_be_retried(
    language: str,
    phone_page: Page,
    phone_context: BrowserContext,
    live_server: Any,
    login_as: Callable[..., None],
    screenshot: Callable[..., Path],
    celery_worker_process: CeleryWorker,
) -> None:
    # given a payer who created a passkey at the checkout
    cdp, authenticator_id = _authenticator(phone_context, phone_page)
    payer = _payer()
    login_as(payer, phone_context)
    payment = _payment()
    phone_page.goto(_checkout_url(live_server, payment, language))
    phone_page.get_by_test_id("passkey-register").click()
    confirm = phone_page.get_by_test_id("payment-confirm")
    expect(confirm).to_be_visible()

    # when the authenticator can no longer verify the payer (the finger is not recognised)
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator_id, "isUserVerified": False}
    )
    confirm.click()

    # then the confirmation is refused, says so, and the payment still awaits confirmation
    error = phone_page.get_by_test_id("passkey-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(phone_page.get_by_test_id("payment-status")).to_contain_text("requires_confirmation")
    expect(confirm).to_be_enabled()
    screenshot(phone_page, f"checkout-passkey-phone-{language}-4-refused")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CONFIRMATION
    assert payment.confirmed_at is None
    assert not PaymentConfirmationEvidence.objects.filter(payment=payment).exists()
    assert _attempts(payment) == [
        ("passkey_registration", "succeeded", ""),
        ("passkey", "failed", "ceremony_not_allowed"),
    ]

    # and once the payer is verified again, the same button confirms the payment
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator_id, "isUserVerified": True}
    )
    confirm.click()
    _wait_succeeded(phone_page, celery_worker_process)
    payment.refresh_from_db()
    assert (payment.status, payment.confirmation_method) == (PaymentStatus.SUCCEEDED, "passkey")


def test_a_payer_with_a_passkey_confirms_with_one_touch(
    phone_page: Page,
    phone_context: BrowserContext,
    live_server: Any,
    login_as: Callable[..., None],
    screenshot: Callable[..., Path],
    celery_worker_process: CeleryWorker,
) -> None:
    # given a payer whose passkey was created on an earlier payment
    _authenticator(phone_context, phone_page)
    payer = _payer()
    login_as(payer, phone_context)
    first = _payment()
    phone_page.goto(_checkout_url(live_server, first))
    phone_page.get_by_test_id("passkey-register").click()
    expect(phone_page.get_by_test_id("payment-confirm")).to_be_visible()

    # when they open another payment
    second = _payment(amount=5_600, description="Jasmine pearls, 100 g")
    phone_page.goto(_checkout_url(live_server, second))

    # then one touch confirms it
    confirm = phone_page.get_by_test_id("payment-confirm")
    expect(confirm).to_be_visible()
    expect(phone_page.get_by_test_id("passkey-register")).to_be_hidden()
    screenshot(phone_page, "checkout-passkey-phone-en-one-touch")
    confirm.click()
    _wait_succeeded(phone_page, celery_worker_process)
    assert _attempts(second) == [("passkey", "succeeded", "")]

    # and the payer area lists the payment they confirmed (not the first), with its receipt
    phone_page.goto(f"{live_server.url}/payer/")
    expect(phone_page.locator("[data-testid=payer-payment-list] [data-payment-id]")).to_have_count(
        1
    )
    screenshot(phone_page, "payer-payments-phone-en")
    phone_page.locator(
        f"[data-payment-id={second.public_id}] [data-testid=payer-receipt-link]"
    ).click()
    expect(phone_page.get_by_test_id("payer-receipt")).to_contain_text("¥56.00")
    screenshot(phone_page, "payer-receipt-phone-en")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_without_a_platform_authenticator_an_email_code_confirms_a_small_payment(
    language: str,
    phone_page: Page,
    phone_context: BrowserContext,
    live_server: Any,
    login_as: Callable[..., None],
    screenshot: Callable[..., Path],
    celery_worker_process: CeleryWorker,
) -> None:
    phone_page.add_init_script(NO_PLATFORM_AUTHENTICATOR)
    payer = _payer()
    login_as(payer, phone_context)
    payment = _payment(amount=19_900)
    shot = f"checkout-email-code-phone-{language}"

    phone_page.goto(_checkout_url(live_server, payment, language))
    send = phone_page.get_by_test_id("email-code-send")
    expect(send).to_be_visible()
    screenshot(phone_page, f"{shot}-1-offered")
    send.click()
    code_input = phone_page.get_by_test_id("email-code-input")
    expect(code_input).to_be_visible()
    screenshot(phone_page, f"{shot}-2-code")
    code_input.fill(code_from_last_email())
    phone_page.get_by_test_id("email-code-confirm").click()

    _wait_succeeded(phone_page, celery_worker_process)
    screenshot(phone_page, f"{shot}-3-succeeded")
    payment.refresh_from_db()
    assert (payment.status, payment.confirmation_method) == (PaymentStatus.SUCCEEDED, "email_code")
    evidence = PaymentConfirmationEvidence.objects.get(payment=payment)
    assert evidence.is_strong_authentication is False
    assert _attempts(payment) == [("email_code", "succeeded", "")]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_above_the_limit_the_email_code_is_refused_with_a_clear_message(
    language: str,
    phone_page: Page,
    phone_context: BrowserContext,
    live_server: Any,
    login_as: Callable[..., None],
    screenshot: Callable[..., Path],
) -> None:
    phone_page.add_init_script(NO_PLATFORM_AUTHENTICATOR)
    login_as(_payer(), phone_context)
    payment = _payment(amount=350_000)

    phone_page.goto(_checkout_url(live_server, payment, language))

    refused = phone_page.get_by_test_id("email-code-refused")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("¥2,000.00")
    expect(phone_page.get_by_test_id("email-code-send")).to_have_count(0)
    expect(phone_page.get_by_test_id("passkey-register")).to_be_visible()
    screenshot(phone_page, f"checkout-email-code-phone-{language}-refused-above-limit")
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REQUIRES_CONFIRMATION


def test_an_anonymous_payer_signs_up_by_email_code_creates_a_passkey_and_pays(
    phone_page: Page,
    phone_context: BrowserContext,
    live_server: Any,
    screenshot: Callable[..., Path],
    celery_worker_process: CeleryWorker,
) -> None:
    _authenticator(phone_context, phone_page)
    payment = _payment()
    checkout_url = _checkout_url(live_server, payment)
    email = f"new.payer.{uuid.uuid4().hex[:6]}@example.com"

    phone_page.goto(_checkout_url(live_server, payment, "zh"))
    expect(phone_page.get_by_test_id("checkout-sign-up")).to_be_visible()
    screenshot(phone_page, "checkout-passkey-phone-zh-0-signed-out")
    phone_page.goto(checkout_url)
    screenshot(phone_page, "checkout-passkey-phone-en-0-signed-out")
    phone_page.get_by_test_id("checkout-sign-up").click()
    phone_page.fill("input[name=email]", email)
    phone_page.click("[data-testid=payer-signup-submit]")
    phone_page.fill("input[name=code]", code_from_last_email())
    phone_page.click("[data-testid=payer-code-submit]")
    # the passkey welcome page, which comes back to the checkout once the passkey exists
    phone_page.get_by_test_id("passkey-register").click()
    phone_page.wait_for_url(checkout_url)
    confirm = phone_page.get_by_test_id("payment-confirm")
    expect(confirm).to_be_visible()
    confirm.click()

    _wait_succeeded(phone_page, celery_worker_process)
    payment.refresh_from_db()
    assert payment.confirmed_by == User.objects.get(email=email)
    assert (payment.status, payment.confirmation_method) == (PaymentStatus.SUCCEEDED, "passkey")
