"""The hosted checkout: what the payer sees, signs in for, and confirms."""

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from merchants.models import ApiMode
from payments.domain.models import Payment, PaymentStatus
from payments.services import Actor, payment_cancel, payment_confirm, payment_mark_succeeded
from payments.templatetags.money import money, money_format
from payments.views import checkout as checkout_views
from payments.views.checkout import safe_return_url
from payments.views.confirmation import (
    ConfirmationMethod,
    confirmation_method_register,
    confirmation_method_unregister,
)
from tests.factories import DEFAULT_PASSWORD
from tests.merchants.platform import merchant, user
from tests.payments.payment_support import payment_of

pytestmark = pytest.mark.django_db

CONFIRM_BUTTON = 'data-testid="payment-confirm"'


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Start with empty rate-limit windows: they live in the cache, not the database."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the payment ids sent to the submission task instead of sending them."""
    calls: list[int] = []
    from payments import tasks

    monkeypatch.setattr(tasks.payment_submit_to_gateway, "delay", calls.append)
    return calls


def _payment(**fields: Any) -> Payment:
    shop = merchant(name="Hangzhou Tea House")
    values: dict[str, Any] = {
        "amount": 123_456,
        "channel": "wechat_pay",
        "description": "Longjing tea, 500 g",
        "return_url": "https://shop.example.com/orders/42",
    }
    values.update(fields)
    return payment_of(shop, **values)


def _url(payment: Payment, name: str = "checkout") -> str:
    return reverse(name, kwargs={"token": payment.checkout_token})


def _payer_client() -> tuple[Client, Any]:
    payer = user(roles=[Role.PAYER])
    client = Client()
    client.force_login(payer)
    return client, payer


def _succeeded(payment: Payment) -> Payment:
    payment.status = PaymentStatus.PROCESSING
    payment.confirmed_at = timezone.now()
    payment.save(update_fields=["status", "confirmed_at"])
    return payment_mark_succeeded(
        payment=payment, actor=Actor.for_acquirer("sandbox"), reason="test"
    )


# --- what anyone with the link sees ---


def test_anonymous_visitor_sees_merchant_amount_description_and_channel() -> None:
    payment = _payment()

    response = Client().get(_url(payment))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Hangzhou Tea House" in html
    assert (
        '<span class="checkout-amount-currency">¥</span><span class="checkout-amount-value">1,234.56</span>'
        in html
    )
    assert "Longjing tea, 500 g" in html
    assert "WeChat Pay" in html
    assert response["Cache-Control"].startswith("max-age=0")
    assert "no-store" in response["Cache-Control"]


def test_anonymous_visitor_gets_sign_in_and_sign_up_links_back_to_the_checkout() -> None:
    payment = _payment()
    path = _url(payment)

    html = Client().get(path).content.decode()

    next_query = f"?next=%2Fpay%2F{payment.checkout_token}%2F"
    assert f'href="/passkeys/sign-in/{next_query}" data-testid="checkout-sign-in"' in html
    assert f'href="/passkeys/sign-up/{next_query}" data-testid="checkout-sign-up"' in html
    assert f'href="/accounts/login/{next_query}" data-testid="checkout-password-sign-in"' in html
    assert CONFIRM_BUTTON not in html


def test_signing_up_by_email_code_from_the_checkout_leads_to_a_passkey_then_back(
    django_capture_on_commit_callbacks: Any,
) -> None:
    payment = _payment()
    path = _url(payment)
    client = Client()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{reverse('payer_signup')}?next={path}", {"email": "fang@example.com"})
    code = re.search(r"^\s+(\d{6})$", str(mail.outbox[-1].body), re.MULTILINE)
    assert code is not None
    signed_up = client.post(reverse("payer_signup_code"), {"code": code.group(1)})

    assert signed_up.status_code == 302
    assert (
        signed_up["Location"]
        == f"{reverse('passkey_setup')}?next=%2Fpay%2F{payment.checkout_token}%2F"
    )
    html = client.get(path).content.decode()
    assert 'data-testid="passkey-register"' in html
    assert 'data-has-passkey="false"' in html


def test_signing_in_from_the_checkout_comes_back_to_it() -> None:
    payment = _payment()
    payer = user(roles=[Role.PAYER])
    EmailAddress.objects.create(user=payer, email=payer.email, verified=True, primary=True)
    client = Client()

    response = client.post(
        reverse("account_login") + f"?next={_url(payment)}",
        {"login": payer.email, "password": DEFAULT_PASSWORD, "next": _url(payment)},
    )

    assert response.status_code == 302
    assert response["Location"] == _url(payment)
    assert CONFIRM_BUTTON in client.get(_url(payment)).content.decode()


def test_signing_up_from_the_checkout_comes_back_after_confirming_the_email() -> None:
    payment = _payment()
    path = _url(payment)
    client = Client()

    signup = client.post(
        f"{reverse('account_signup')}?next={path}",
        {
            "email": "new.payer@example.com",
            "password1": "a-Long-passw0rd-9",
            "password2": "a-Long-passw0rd-9",
            "account_type": "payer",
            "next": path,
        },
    )
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", str(mail.outbox[-1].body))
    assert link is not None
    confirmed = client.post(link.group(1))

    assert signup.status_code == 302
    assert (confirmed.status_code, confirmed["Location"]) == (302, path)
    assert CONFIRM_BUTTON in client.get(path).content.decode()


def test_unknown_or_malformed_token_is_404() -> None:
    _payment()

    assert Client().get("/pay/" + "x" * 43 + "/").status_code == 404
    assert Client().get("/pay/short/").status_code == 404
    assert Client().get("/pay/" + "x" * 43 + "/status/", HTTP_HX_REQUEST="true").status_code == 404


def test_page_shows_only_this_payment_and_its_merchant() -> None:
    mine = _payment()
    other = payment_of(merchant(name="Other Shop Ltd"), amount=999, description="Secret order")

    html = Client().get(_url(mine)).content.decode()

    assert "Other Shop Ltd" not in html
    assert "Secret order" not in html
    assert other.public_id not in html


def test_test_mode_payment_is_labelled() -> None:
    payment = _payment(mode=ApiMode.TEST)

    assert "Test mode: no real money moves." in Client().get(_url(payment)).content.decode()


def test_chinese_checkout_renders() -> None:
    payment = _payment()

    response = Client().get("/zh-hans" + _url(payment))

    assert response.status_code == 200
    assert '<html lang="zh-hans"' in response.content.decode()


# --- confirming ---


def test_a_signed_in_payer_is_offered_a_passkey_and_the_email_code_but_no_plain_pay_button(
    queued: list[int],
) -> None:
    # Being signed in is not strong customer authentication: the old "session" Pay button
    # and its endpoint are gone.
    payment = _payment(amount=12_800)
    client, _payer = _payer_client()

    html = client.get(_url(payment)).content.decode()
    old_endpoint = client.post(f"/pay/{payment.checkout_token}/confirm/", {"method": "session"})

    assert html.index('data-method="passkey"') < html.index('data-method="email_code"')
    assert 'data-testid="passkey-register"' in html
    assert CONFIRM_BUTTON in html  # shown by the script once the passkey exists
    assert 'data-testid="email-code-send"' in html
    assert 'data-method="session"' not in html
    assert old_endpoint.status_code == 404
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CONFIRMATION
    assert queued == []


def test_after_confirming_the_page_polls_the_status_without_a_confirm_button(
    queued: list[int],
) -> None:
    payment = _payment()
    client, payer = _payer_client()
    payment_confirm(payment=payment, payer=payer, method="passkey")

    html = client.get(_url(payment)).content.decode()

    assert CONFIRM_BUTTON not in html
    assert f'hx-get="{_url(payment, "checkout_status")}" hx-trigger="every 1s"' in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert f'href="{_url(payment)}">Refresh</a>' in html


def test_anonymous_confirm_is_refused_and_changes_nothing(
    queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    payment = _payment()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        passkey = Client().post(
            _url(payment, "checkout_passkey_options"), {}, content_type="application/json"
        )
        code = Client().post(_url(payment, "checkout_email_code_send"))

    assert (passkey.status_code, passkey.json()["error"]["code"]) == (401, "not_authenticated")
    assert code.status_code == 302
    assert code["Location"] == f"/passkeys/sign-in/?next=%2Fpay%2F{payment.checkout_token}%2F"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CONFIRMATION
    assert (callbacks, queued, mail.outbox) == ([], [], [])


def test_confirm_without_csrf_token_is_refused(queued: list[int]) -> None:
    payment = _payment()
    payer = user(roles=[Role.PAYER])
    client = Client(enforce_csrf_checks=True)
    client.force_login(payer)

    passkey = client.post(
        _url(payment, "checkout_passkey_options"), {}, content_type="application/json"
    )
    code = client.post(_url(payment, "checkout_email_code_send"))

    assert (passkey.status_code, code.status_code) == (403, 403)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CONFIRMATION
    assert (queued, mail.outbox) == ([], [])


def test_a_confirmed_payment_cannot_be_confirmed_again(queued: list[int]) -> None:
    payment = _payment()
    client, payer = _payer_client()
    payment_confirm(payment=payment, payer=payer, method="passkey")

    response = client.post(
        _url(payment, "checkout_passkey_options"), {}, content_type="application/json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["message"] == "This payment can no longer be confirmed."
    assert payment.events.filter(to_status=PaymentStatus.PROCESSING).count() == 1


def test_confirm_attempts_are_rate_limited(
    queued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkout_views, "CONFIRM_RATE_LIMITS", {"user": 2, "ip": 50, "payment": 50})
    payment = _payment()
    payment_cancel(payment=payment, actor=Actor("merchant"))
    client, payer = _payer_client()

    statuses = [
        client.post(
            _url(payment, "checkout_passkey_options"), {}, content_type="application/json"
        ).status_code
        for _ in range(3)
    ]

    assert statuses == [409, 409, 429]
    assert (
        AuditEvent.objects.filter(
            action="checkout.confirm_rate_limited", actor=payer, object_id=str(payment.pk)
        ).count()
        == 1
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELED
    assert queued == []


# --- final and dead payments ---


def test_succeeded_payment_shows_result_and_return_link_but_no_confirm_button() -> None:
    payment = _succeeded(_payment())
    client, _payer = _payer_client()

    html = client.get(_url(payment)).content.decode()

    assert CONFIRM_BUTTON not in html
    assert "Payment successful" in html
    assert (
        'data-testid="payment-status">Payment successful<span class="visually-hidden" aria-hidden="true"> succeeded</span>'
        in html
    )
    assert (
        'href="https://shop.example.com/orders/42" rel="noreferrer" data-testid="checkout-return" data-auto-return="5"'
        in html
    )
    assert "hx-trigger" not in html


@pytest.mark.parametrize("status", [PaymentStatus.CANCELED, PaymentStatus.EXPIRED])
def test_canceled_or_expired_payment_has_no_confirm_button(status: str) -> None:
    payment = _payment()
    if status == PaymentStatus.CANCELED:
        payment_cancel(payment=payment, actor=Actor("merchant"))
    else:
        Payment.objects.filter(pk=payment.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    client, _payer = _payer_client()

    html = client.get(_url(payment)).content.decode()

    assert CONFIRM_BUTTON not in html
    assert f'<span class="visually-hidden" aria-hidden="true"> {status}</span>' in html


def test_confirming_a_payment_past_its_window_is_refused_and_queues_nothing(
    queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    payment = _payment()
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client, _payer = _payer_client()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url(payment, "checkout_passkey_options"), {}, content_type="application/json"
        )

    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "payment_not_confirmable",
    )
    assert queued == []
    assert CONFIRM_BUTTON not in client.get(_url(payment)).content.decode()


# --- the status fragment ---


def test_status_fragment_polls_while_processing_and_stops_when_final(queued: list[int]) -> None:
    payment = _payment()
    client, payer = _payer_client()
    payment_confirm(payment=payment, payer=payer, method="passkey")
    status_url = _url(payment, "checkout_status")

    processing = client.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    _succeeded_from_processing(payment)
    final = client.get(status_url, HTTP_HX_REQUEST="true").content.decode()

    assert processing.startswith('<div id="checkout-status"')
    assert 'hx-trigger="every 1s"' in processing
    assert 'data-testid="payment-status">Processing your payment' in processing
    assert "hx-trigger" not in final
    assert 'data-status="succeeded"' in final


def _succeeded_from_processing(payment: Payment) -> None:
    payment_mark_succeeded(payment=payment, actor=Actor.for_acquirer("sandbox"), reason="test")


def test_status_without_htmx_redirects_to_the_page() -> None:
    payment = _payment()

    response = Client().get(_url(payment, "checkout_status"))

    assert response.status_code == 302
    assert response["Location"] == _url(payment)


# --- return URL and extension point ---


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example.com/r?x=1", "https://shop.example.com/r?x=1"),
        ("http://localhost:8000/done", "http://localhost:8000/done"),
        ("javascript:alert(1)", ""),
        ("JAVASCRIPT:alert(1)", ""),
        ("data:text/html,hi", ""),
        ("//evil.example.com/", ""),
        ("/relative/path", ""),
        ("https:///no-host", ""),
        ("https://shop.example.com/\r\nSet-Cookie:x", ""),
        ("", ""),
    ],
)
def test_only_absolute_http_return_urls_are_used(url: str, expected: str) -> None:
    assert safe_return_url(url) == expected


def test_a_registered_confirmation_method_is_offered_first() -> None:
    payment = _payment()
    client, _payer = _payer_client()
    confirmation_method_register(
        ConfirmationMethod(
            key="stub",
            template_name="payments/checkout/methods/_passkey.html",
            order=1,
            is_available=lambda request, payment: True,
        )
    )
    try:
        html = client.get(_url(payment)).content.decode()
    finally:
        confirmation_method_unregister("stub")

    assert html.index('data-method="stub"') < html.index('data-method="passkey"')


# --- the shared money filter ---


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (123_456, "CNY", "¥1,234.56"),
        (0, "CNY", "¥0.00"),
        (5, "CNY", "¥0.05"),
        (1_234, "JPY", "JP¥1,234"),
        (1_234_567, "KWD", "1,234.567 KWD"),
        (250, "USD", "$2.50"),
        (-250, "EUR", "-€2.50"),
        (100_000_000_000, "CNY", "¥1,000,000,000.00"),
    ],
)
def test_money_formats_minor_units_as_major(amount: int, currency: str, expected: str) -> None:
    assert money_format(amount, currency) == expected
    assert money(amount, currency) == expected


def test_money_shows_a_dash_for_no_amount() -> None:
    assert (money(None, "CNY"), money("", "CNY"), money("abc", "CNY")) == ("—", "—", "—")


def test_the_unprefixed_link_follows_the_payers_browser_language() -> None:
    path = _url(payment := _payment())
    assert path == f"/pay/{payment.checkout_token}/"

    chinese = Client().get(path, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    english = Client().get(path, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert '<html lang="zh-hans"' in chinese.content.decode()
    assert '<html lang="en"' in english.content.decode()
