"""Two-factor setup in a real browser: the demo merchant owner signs in and enrols a phone."""

import time

import pyotp
import pytest
from django.test import Client
from playwright.sync_api import ConsoleMessage, Page, expect

from accounts.demo import DEMO_PASSWORD, DemoContext, seed
from accounts.roles import Role
from tests.factories import UserFactory
from tests.helpers.twofactor import verified_session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _collect_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", keep)
    return errors


def test_demo_merchant_owner_signs_in_sets_up_totp_and_reaches_the_dashboard(
    page: Page, live_server, screenshot
) -> None:
    context = DemoContext()
    seed(context)
    owner = context.users[Role.MERCHANT_OWNER]
    errors = _collect_errors(page)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", owner.email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form[data-login-form] button[type=submit]")

    page.wait_for_url(f"{live_server.url}/account/2fa/setup/?next=%2F")
    qr = page.locator("[data-testid=totp-qr]")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0") is True
    screenshot(page, "twofactor-setup-desktop-en")
    page.locator("details.twofactor-manual summary").click()
    secret = page.locator("[data-testid=totp-secret]").inner_text().replace(" ", "")
    nearby = {pyotp.TOTP(secret).at(time.time() + 30 * step) for step in range(-2, 3)}
    page.fill("input[name=code]", next(c for c in ("000000", "111111") if c not in nearby))
    page.click("form.form button[type=submit]")
    assert "That code is not valid" in page.locator(".field.has-error .errors").inner_text()
    page.wait_for_timeout(1100)  # django-otp's back-off after one failure is one second

    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("form.form button[type=submit]")

    codes = page.locator("[data-testid=recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    expect(page.locator("[data-recovery-tools]")).to_be_visible()  # twofactor.js ran
    screenshot(page, "twofactor-recovery-codes-desktop-en")
    page.click("[data-testid=recovery-codes-continue]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").first.is_visible()
    assert errors == []


def test_verify_page_in_chinese(page: Page, live_server, screenshot) -> None:
    owner = UserFactory(email="owner@example.com", roles=[Role.MERCHANT_OWNER])
    client = Client()
    cookie = verified_session_cookie(client, owner, url=live_server.url)
    # A second session of the same user: signed in, not yet verified.
    unverified = Client()
    unverified.force_login(owner)
    cookie["value"] = unverified.cookies[cookie["name"]].value
    page.context.add_cookies([cookie])

    page.goto(f"{live_server.url}/zh-hans/")

    assert page.url == f"{live_server.url}/zh-hans/account/2fa/verify/?next=%2Fzh-hans%2F"
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot(page, "twofactor-verify-desktop-zh")


def test_manage_page_for_a_verified_owner(page: Page, live_server, screenshot) -> None:
    owner = UserFactory(email="owner@example.com", roles=[Role.MERCHANT_OWNER])
    page.context.add_cookies([verified_session_cookie(Client(), owner, url=live_server.url)])

    page.goto(f"{live_server.url}/account/2fa/")

    assert page.locator("[data-testid=twofactor-devices] tbody tr").count() == 1
    screenshot(page, "twofactor-manage-desktop-en")
