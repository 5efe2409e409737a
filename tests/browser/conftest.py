"""Playwright fixtures shared by every browser test.

Usage in a test module under tests/browser/:

    pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

    def test_something(page, live_server, login_as, screenshot):
        login_as(user)                              # session cookie, 2FA-verified if needed
        page.goto(f"{live_server.url}/dashboard/")
        screenshot(page, "dashboard-desktop")       # test-artifacts/screenshots/*.png

Phones: ``phone_page`` is a 390x844 touch viewport with the same helpers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.helpers.twofactor import verify_client

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to
# run inside one unless told that it is safe (it is: one test thread).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP_VIEWPORT = {"width": 1280, "height": 800}
PHONE_VIEWPORT = {"width": 390, "height": 844}


def take_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of the page as test-artifacts/screenshots/<name>.png and return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Start one headless Debian Chromium for the whole test session."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


def _new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = browser.new_context(locale="en-US", **options)
    # Fail fast instead of hanging a test for Playwright's 30 s default.
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """Give each test a fresh desktop browser context (no cookies, no storage)."""
    ctx = _new_context(browser, viewport=DESKTOP_VIEWPORT)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """Give each test a fresh desktop page (1280x800)."""
    return context.new_page()


@pytest.fixture
def phone_context(browser: Browser) -> Iterator[BrowserContext]:
    """Give a fresh phone-sized context (390x844, touch, mobile)."""
    ctx = _new_context(
        browser, viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    yield ctx
    ctx.close()


@pytest.fixture
def phone_page(phone_context: BrowserContext) -> Page:
    """Give a fresh phone-sized page."""
    return phone_context.new_page()


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """Return ``take_screenshot(page, name)``, saving to test-artifacts/screenshots/."""
    return take_screenshot


@pytest.fixture
def login_as(context: BrowserContext, live_server: Any) -> Callable[..., None]:
    """Return ``login_as(user, ctx=None)``: put a signed-in session cookie in a browser context.

    It uses Django's test client to create the session, so it skips the login form
    (test that form separately). Users whose role needs 2FA get a confirmed authenticator
    and a 2FA-verified session, so they are not sent to the 2FA wall. Pass ``ctx`` to
    sign in another context, e.g. ``login_as(user, phone_context)``.
    """

    def _login(user: Any, ctx: BrowserContext | None = None) -> None:
        client = Client()
        if user.requires_two_factor:
            verify_client(client, user)
        else:
            client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        (ctx or context).add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": cookie.value,
                    "url": live_server.url,
                    "httpOnly": True,
                    "sameSite": "Lax",
                }
            ]
        )

    return _login
