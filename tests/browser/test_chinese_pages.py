"""Pages in Simplified Chinese in a real Chromium: translated, and the layout still fits.

Screenshots land in test-artifacts/screenshots/zh-*.png for a human look at the wording.
"""

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.roles import Role
from tests.factories import UserFactory
from tests.helpers.twofactor import verified_session_cookie
from tests.merchants.platform import member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_fits_the_viewport(page: Page) -> None:
    """No text pushes the page wider than the window (CJK lines do not break at spaces)."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0


def test_the_login_page_in_chinese(page, phone_page, live_server, screenshot) -> None:
    for current, name in ((page, "zh-login-desktop"), (phone_page, "zh-login-phone")):
        current.goto(f"{live_server.url}/zh-hans/accounts/login/")

        expect(current.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(current.get_by_role("heading", level=1)).to_have_text("登录 Paydesk")
        expect(current.get_by_label("密码")).to_be_visible()
        expect(current.get_by_text("记住我")).to_be_visible()  # allauth's own catalogue
        expect(current.get_by_role("link", name="忘记密码？")).to_be_visible()  # noqa: RUF001
        assert_fits_the_viewport(current)
        screenshot(current, name)


def test_a_payers_dashboard_in_chinese(
    page, phone_page, phone_context, live_server, login_as, screenshot
) -> None:
    payer = UserFactory.create(roles=[Role.PAYER], email="li.wei@example.com", full_name="Li Wei")
    login_as(payer)
    login_as(payer, phone_context)

    page.goto(f"{live_server.url}/zh-hans/")

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("欢迎，Li")  # noqa: RUF001
    expect(page.get_by_role("navigation", name="主导航")).to_contain_text("概览")
    assert_fits_the_viewport(page)
    screenshot(page, "zh-payer-dashboard-desktop")
    phone_page.goto(f"{live_server.url}/zh-hans/")
    assert_fits_the_viewport(phone_page)
    screenshot(phone_page, "zh-payer-dashboard-phone")


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/zh-hans/", None),
        ("/zh-hans/payments/", "支付订单"),
        ("/zh-hans/merchants/settlement/", "结算条款"),
        ("/zh-hans/merchants/team/", "团队"),
    ],
)
def test_merchant_owner_pages_in_chinese(
    page, context, live_server, screenshot, path, heading
) -> None:
    owner = member(full_name="Zhang Min")
    context.add_cookies([verified_session_cookie(Client(), owner.user, url=live_server.url)])

    page.goto(f"{live_server.url}{path}")

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    navigation = page.get_by_role("navigation", name="主导航")
    for item in ("概览", "商户入驻", "支付订单", "结算", "开发者", "团队"):
        expect(navigation).to_contain_text(item)
    if heading:
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert_fits_the_viewport(page)
    slug = path.strip("/").replace("zh-hans", "").strip("/").replace("/", "-") or "dashboard"
    screenshot(page, f"zh-merchant-{slug}")
