"""Passkeys in Debian's Chromium with a virtual authenticator (Chrome DevTools Protocol).

The virtual authenticator is a platform one (transport "internal") that holds
discoverable credentials and verifies the user, like a phone's fingerprint reader.
WebAuthn refuses IP addresses, and live_server listens on localhost:<port>, so the
relying party is "localhost" and the allowed origin is the live server's URL.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import BrowserContext, CDPSession, ConsoleMessage, Page, expect

from accounts.models import AuditEvent, PasskeyCredential, User
from accounts.roles import Role
from tests.accounts.passkeys.support import code_from_last_email
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _relying_party(settings: Any, live_server: Any) -> None:
    cache.clear()  # sign-in options are rate-limited per client address
    settings.WEBAUTHN_RP_ID = "localhost"
    settings.WEBAUTHN_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")


@pytest.fixture
def virtual_authenticator(context: BrowserContext, page: Page) -> tuple[CDPSession, str]:
    """Attach a user-verifying platform authenticator to the page; return (cdp, its id)."""
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


def _errors(page: Page) -> list[str]:
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", keep)
    return errors


def _sign_out(page: Page, live_server: Any) -> None:
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Sign Out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")


# Chrome's virtual authenticators answer an autofill (conditional mediation) request at
# once, as if the person had picked the passkey. To drive the button, the page is told
# that this browser has no passkey autofill, like browsers that lack it.
NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);"


def _sign_in_page(page: Page, live_server: Any) -> None:
    page.goto(f"{live_server.url}/passkeys/sign-in/")
    expect(page.locator("[data-testid=passkey-sign-in]")).to_be_visible()  # passkeys.js ran


def _register(page: Page, live_server: Any, name: str = "") -> None:
    page.goto(f"{live_server.url}/passkeys/")
    if name:
        page.fill("#passkey-name", name)
    page.click("[data-testid=passkey-register]")
    expect(page.locator("[data-testid=passkey-list] tbody tr")).to_have_count(1)


def test_a_payer_registers_a_passkey_signs_out_and_signs_in_with_it(
    page: Page,
    live_server: Any,
    login_as: Callable[..., None],
    screenshot: Callable[..., Any],
    virtual_authenticator: tuple[CDPSession, str],
) -> None:
    cdp, authenticator_id = virtual_authenticator
    payer = UserFactory(email="payer@example.com", roles=[Role.PAYER])
    errors = _errors(page)
    page.add_init_script(NO_AUTOFILL)
    login_as(payer)

    # Register.
    page.goto(f"{live_server.url}/passkeys/")
    expect(page.locator("[data-testid=passkey-empty]")).to_be_visible()
    screenshot(page, "passkeys-empty-desktop-en")
    page.fill("#passkey-name", "Test phone")
    page.click("[data-testid=passkey-register]")
    expect(page.locator("[data-testid=passkey-list] [data-passkey-name]")).to_have_text(
        "Test phone"
    )
    assert page.url == f"{live_server.url}/passkeys/"
    credential = PasskeyCredential.objects.get(user=payer)
    assert credential.name == "Test phone"
    assert credential.transports == ["internal"]
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(held["credentials"]) == 1
    assert held["credentials"][0]["isResidentCredential"] is True
    screenshot(page, "passkeys-list-desktop-en")

    # Sign out, then back in with the passkey.
    _sign_out(page, live_server)
    logins_before = AuditEvent.objects.filter(action="auth.login", actor=payer).count()
    _sign_in_page(page, live_server)
    screenshot(page, "passkeys-sign-in-desktop-en")
    page.click("[data-testid=passkey-sign-in]")
    page.wait_for_url(f"{live_server.url}/payer/")
    expect(page.locator("h1")).to_have_text("Your payments")
    expect(page.locator("[data-testid=payer-payments-empty]")).to_be_visible()
    credential.refresh_from_db()
    assert credential.last_used_at is not None
    assert AuditEvent.objects.filter(action="auth.login", actor=payer).count() == logins_before + 1
    assert AuditEvent.objects.filter(action="passkey.registered", actor=payer).count() == 1
    screenshot(page, "payer-home-desktop-en")
    assert errors == []


def test_a_passkey_without_user_verification_does_not_sign_in(
    page: Page,
    live_server: Any,
    login_as: Callable[..., None],
    screenshot: Callable[..., Any],
    virtual_authenticator: tuple[CDPSession, str],
) -> None:
    cdp, authenticator_id = virtual_authenticator
    payer = UserFactory(email="payer@example.com", roles=[Role.PAYER])
    page.add_init_script(NO_AUTOFILL)
    login_as(payer)
    _register(page, live_server)
    _sign_out(page, live_server)
    logins_before = AuditEvent.objects.filter(action="auth.login").count()

    # The fingerprint no longer matches: the authenticator cannot verify the user.
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator_id, "isUserVerified": False}
    )
    _sign_in_page(page, live_server)
    page.click("[data-testid=passkey-sign-in]")

    error = page.locator("[data-passkey-sign-in] [data-webauthn-error]")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    assert page.url == f"{live_server.url}/passkeys/sign-in/"
    expect(error).to_contain_text("your device could not verify you")
    expect(page.locator("[data-testid=passkey-sign-in]")).to_be_enabled()
    assert AuditEvent.objects.filter(action="auth.login").count() == logins_before
    assert PasskeyCredential.objects.get(user=payer).last_used_at is None
    screenshot(page, "passkeys-sign-in-refused-desktop-en")


def test_the_email_field_autofill_offers_the_passkey_and_signs_in(
    page: Page,
    live_server: Any,
    login_as: Callable[..., None],
    virtual_authenticator: tuple[CDPSession, str],
) -> None:
    payer = UserFactory(email="payer@example.com", roles=[Role.PAYER])
    login_as(payer)
    _register(page, live_server, "Laptop")
    _sign_out(page, live_server)
    errors = _errors(page)

    # No click: the page's conditional request is answered from the autofill.
    page.goto(f"{live_server.url}/passkeys/sign-in/?next=/passkeys/")

    page.wait_for_url(f"{live_server.url}/passkeys/")
    expect(page.locator("[data-testid=passkey-list] [data-passkey-last-used] time")).to_be_visible()
    assert errors == []


def test_a_new_payer_signs_up_with_an_email_code_and_creates_a_passkey(
    page: Page,
    live_server: Any,
    screenshot: Callable[..., Any],
    virtual_authenticator: tuple[CDPSession, str],
) -> None:
    errors = _errors(page)
    page.goto(f"{live_server.url}/passkeys/sign-in/")
    page.get_by_role("link", name="Sign up as a payer").click()
    page.fill("input[name=email]", "new.payer@example.com")
    page.click("[data-testid=payer-signup-submit]")
    page.wait_for_url(f"{live_server.url}/passkeys/sign-up/code/")
    code = code_from_last_email()
    screenshot(page, "payer-signup-code-desktop-en")
    page.fill("input[name=code]", code)
    page.click("[data-testid=payer-code-submit]")

    page.wait_for_url(f"{live_server.url}/passkeys/welcome/")
    screenshot(page, "passkeys-welcome-desktop-en")
    page.click("[data-testid=passkey-register]")

    page.wait_for_url(f"{live_server.url}/payer/")
    payer = User.objects.get(email="new.payer@example.com")
    assert payer.roles == frozenset({Role.PAYER})
    assert payer.has_usable_password() is False
    assert PasskeyCredential.objects.filter(user=payer).count() == 1
    assert errors == []
