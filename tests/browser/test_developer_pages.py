"""The Developers page and the API docs in a real Chromium, in English and Chinese."""

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from merchants.models import ApiKey
from tests.helpers.twofactor import verified_session_cookie
from tests.merchants.platform import member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def csp_violations(page):
    """Collect console messages that report a Content-Security-Policy violation."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


@pytest.mark.parametrize(("language", "prefix"), [("en", ""), ("zh-hans", "/zh-hans")])
def test_a_new_key_is_shown_once_and_copies(
    page, context, live_server, screenshot, language, prefix
):
    owner = member()
    context.add_cookies([verified_session_cookie(Client(), owner.user, url=live_server.url)])
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    violations = csp_violations(page)

    page.goto(f"{live_server.url}{prefix}/merchants/developers/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    form = page.get_by_test_id("key-form")
    form.locator("input[name=name]").fill("Shop backend")
    form.locator("input[name=mode][value=test]").check()
    form.locator("button[type=submit]").click()

    box = page.get_by_test_id("new-key-box")
    expect(box).to_be_visible()
    raw_key = page.locator("#new-key-value").inner_text().strip()
    assert re.fullmatch(r"sk_test_[A-Za-z0-9_-]{43}", raw_key)
    assert ApiKey.objects.get().prefix == raw_key[:12]
    screenshot(page, f"developers-new-key-{language}")

    copy = box.locator("button[data-copy-secret]")
    copy.click()
    expect(copy).to_have_attribute("data-copied", "true")
    assert page.evaluate("navigator.clipboard.readText()") == raw_key

    # "I have saved it" hides the secret; a reload never shows it again
    page.get_by_test_id("new-key").locator("button[data-dismiss]").click()
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    page.goto(f"{live_server.url}{prefix}/merchants/developers/")
    assert raw_key not in page.content()
    expect(page.get_by_test_id("api-keys")).to_contain_text(ApiKey.objects.get().masked)
    assert violations == []


def test_a_new_webhook_endpoint_shows_its_secret(page, context, live_server, screenshot):
    owner = member()
    context.add_cookies([verified_session_cookie(Client(), owner.user, url=live_server.url)])
    violations = csp_violations(page)
    page.goto(f"{live_server.url}/merchants/developers/")
    form = page.get_by_test_id("endpoint-form")
    form.locator("input[name=url]").fill("https://shop.example.com/hooks")
    form.locator("input[name=events][value='payment.succeeded']").check()
    form.locator("input[name=events][value='refund.succeeded']").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#new-secret-value")).to_contain_text("whsec_")
    expect(page.get_by_test_id("webhook-endpoints")).to_contain_text(
        "https://shop.example.com/hooks"
    )
    screenshot(page, "developers-new-webhook-secret-en")
    assert violations == []


def test_the_api_docs_work_under_the_csp(page, live_server, screenshot):
    violations = csp_violations(page)
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Paydesk API", timeout=15_000)
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(
        page.get_by_text("/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
    ).to_be_visible()
    screenshot(page, "api-docs")
    assert violations == []


@pytest.mark.parametrize(("language", "prefix"), [("en", ""), ("zh-hans", "/zh-hans")])
def test_the_team_page_invites_and_changes_roles(
    page, context, live_server, screenshot, language, prefix
):
    from merchants.models import MerchantInvitation, MerchantMembership, TeamRole

    owner = member()
    developer = member(owner.merchant, TeamRole.DEVELOPER)
    context.add_cookies([verified_session_cookie(Client(), owner.user, url=live_server.url)])
    violations = csp_violations(page)
    page.goto(f"{live_server.url}{prefix}/merchants/team/")
    form = page.get_by_test_id("invite-form")
    form.locator("input[name=email]").fill("new.colleague@example.com")
    form.locator("select[name=role]").select_option("finance")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("team-invitations")).to_contain_text("new.colleague@example.com")
    assert MerchantInvitation.objects.get().role == "finance"
    row = page.locator(f"tr[data-member-id='{developer.pk}']")
    row.locator("select").select_option("admin")
    row.locator("button", has_text=re.compile(".+")).first.click()
    expect(page.locator(f"tr[data-member-id='{developer.pk}'] select")).to_have_value("admin")
    assert MerchantMembership.objects.get(pk=developer.pk).role == "admin"
    screenshot(page, f"team-{language}")
    assert violations == []


@pytest.mark.parametrize(("language", "prefix"), [("en", ""), ("zh-hans", "/zh-hans")])
def test_the_settlement_page_requests_t0(page, context, live_server, screenshot, language, prefix):
    from merchants.models import SettlementCycleRequest

    owner = member()
    context.add_cookies([verified_session_cookie(Client(), owner.user, url=live_server.url)])
    violations = csp_violations(page)
    page.goto(f"{live_server.url}{prefix}/merchants/settlement/")
    expect(page.get_by_test_id("terms-current")).to_contain_text("0.60%")
    page.get_by_test_id("payout-form").locator("input[name=amount]").fill("250.00")
    page.get_by_test_id("payout-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("terms-upcoming")).to_contain_text("250.00")
    page.get_by_test_id("t0-form").locator("textarea[name=note]").fill("Daily cash flow")
    page.get_by_test_id("t0-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("cycle-card").locator(".alert-info")).to_be_visible()
    assert SettlementCycleRequest.objects.get().note == "Daily cash flow"
    screenshot(page, f"settlement-terms-{language}")
    assert violations == []


def test_an_invited_person_signs_up_through_the_link(page, live_server, screenshot):
    from merchants.models import MerchantMembership, TeamRole
    from merchants.services.team import team_invitation_create, team_invitation_token

    owner = member()
    invitation = team_invitation_create(actor=owner, email="new@example.com", role=TeamRole.SUPPORT)
    violations = csp_violations(page)
    page.goto(f"{live_server.url}/merchants/invitations/{team_invitation_token(invitation)}/")
    form = page.get_by_test_id("invitation-signup")
    expect(form).to_be_visible()
    form.locator("input[name=full_name]").fill("Li Na")
    form.locator("input[name=password1]").fill("jasmine-tea-2026")
    form.locator("input[name=password2]").fill("jasmine-tea-2026")
    screenshot(page, "team-invitation-signup-en")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/$"))
    membership = MerchantMembership.objects.get(user__email="new@example.com")
    assert membership.role == TeamRole.SUPPORT
    assert violations == []
