"""The portal shell in a real browser: languages, phone menu, CSP, and screenshots.

Screenshots land in test-artifacts/screenshots/ (shell-*.png).
"""

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from accounts.roles import Role
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _collect_console(page: Page) -> list[str]:
    messages: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            messages.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda error: messages.append(str(error)))
    return messages


def test_login_page_renders_in_english(page: Page, live_server, screenshot) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Paydesk")
    expect(page.get_by_role("button", name="Sign In")).to_be_visible()
    screenshot(page, "shell-login-desktop-en")


def test_login_page_renders_in_chinese(page: Page, live_server, screenshot) -> None:
    page.goto(f"{live_server.url}/zh-hans/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    # allauth's catalogue translates the button; our own strings follow with the lead's .po.
    expect(page.locator("form[data-login-form] button[type=submit]")).to_have_text("登录")
    screenshot(page, "shell-login-desktop-zh")


def test_the_language_switcher_shows_the_same_page_in_chinese(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_url(f"{live_server.url}/zh-hans/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("button", name="简体中文")).to_have_attribute("aria-pressed", "true")
    # And back: the choice is remembered in the language cookie.
    page.get_by_role("button", name="English").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_login_page_has_no_csp_violations_or_script_errors(page: Page, live_server) -> None:
    problems = _collect_console(page)
    response = page.goto(f"{live_server.url}/accounts/login/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    # The vendored htmx and our enhancements ran (deferred scripts, no inline code).
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("document.documentElement.classList.contains('js')") is True
    assert problems == []


def test_on_a_phone_the_navigation_is_a_collapsed_menu(
    phone_page: Page, phone_context: BrowserContext, live_server, login_as, screenshot
) -> None:
    user = UserFactory.create(roles=[Role.PAYER], email="li.wei@example.com", full_name="Li Wei")
    login_as(user, phone_context)
    problems = _collect_console(phone_page)
    phone_page.goto(f"{live_server.url}/")
    toggle = phone_page.locator("[data-nav-toggle]")
    sidebar = phone_page.locator("#sidebar")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(sidebar).to_be_hidden()
    screenshot(phone_page, "shell-dashboard-phone-en")

    toggle.click()
    expect(sidebar).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sidebar.get_by_role("link", name="Dashboard")).to_be_visible()
    phone_page.wait_for_timeout(300)  # let the drawer finish sliding in
    screenshot(phone_page, "shell-dashboard-phone-menu-en", full_page=False)

    phone_page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    assert problems == []


def test_on_a_desktop_the_navigation_is_a_sidebar(page: Page, live_server, login_as) -> None:
    login_as(UserFactory.create(roles=[Role.PAYER]))
    page.goto(f"{live_server.url}/")
    expect(page.locator("#sidebar")).to_be_visible()
    expect(page.locator("[data-nav-toggle]")).to_be_hidden()
    expect(page.locator("#sidebar [aria-current=page]")).to_have_text("Dashboard")


def test_the_user_menu_shows_roles_and_signs_out_with_a_post(
    page: Page, live_server, login_as
) -> None:
    login_as(UserFactory.create(roles=[Role.PAYER], email="payer@example.com"))
    page.goto(f"{live_server.url}/")
    page.locator(".user-menu-trigger").click()
    menu = page.locator(".menu-panel")
    expect(menu).to_be_visible()
    expect(menu.locator("[data-role=payer]")).to_have_text("Payer")
    menu.get_by_role("button", name="Sign Out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    expect(page.locator(".alert-success")).to_be_visible()
    page.locator(".alert-success [data-dismiss]").click()
    expect(page.locator(".alert-success")).to_have_count(0)


def test_screenshots_of_login_and_dashboard(
    page: Page,
    phone_page: Page,
    phone_context: BrowserContext,
    live_server,
    login_as,
    screenshot,
) -> None:
    phone_page.goto(f"{live_server.url}/accounts/login/")
    screenshot(phone_page, "shell-login-phone-en")
    phone_page.goto(f"{live_server.url}/zh-hans/accounts/login/")
    screenshot(phone_page, "shell-login-phone-zh")

    user = UserFactory.create(roles=[Role.PAYER], email="li.wei@example.com", full_name="Li Wei")
    login_as(user)
    login_as(user, phone_context)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Li")
    screenshot(page, "shell-dashboard-desktop-en")
    page.goto(f"{live_server.url}/zh-hans/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    screenshot(page, "shell-dashboard-desktop-zh")
    phone_page.goto(f"{live_server.url}/zh-hans/")
    screenshot(phone_page, "shell-dashboard-phone-zh")


def test_screenshot_of_an_administrator_dashboard(
    page: Page, live_server, login_as, screenshot
) -> None:
    admin = UserFactory.create(roles=[Role.ADMINISTRATOR], email="ops.admin@example.com")
    login_as(admin)
    page.goto(f"{live_server.url}/")
    expect(page.locator("#sidebar [data-nav=audit_log]")).to_be_visible()
    screenshot(page, "shell-dashboard-admin-desktop-en")
    page.goto(f"{live_server.url}/no-such-page/")
    expect(page.locator(".error-code")).to_have_text("404")
    screenshot(page, "shell-404-desktop-en")


def test_signup_asks_for_a_business_name_only_from_merchants(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/signup/")
    business = page.locator("[data-show-when='account_type=merchant']")
    expect(business).to_be_hidden()
    page.get_by_label("A merchant: my business takes payments").check()
    expect(business).to_be_visible()
    page.get_by_label("A payer: I pay merchants").check()
    expect(business).to_be_hidden()
