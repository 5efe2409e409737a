"""Onboarding and KYC review in a real browser, in English and Chinese, desktop and phone."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, ConsoleMessage, FilePayload, Page, expect

from accounts.roles import Role
from merchants.models import MerchantStatus
from merchants.services.review import application_approve, application_request_information
from tests.factories import MerchantFactory, MerchantMembershipFactory, UserFactory
from tests.merchants.kyc import (
    JPEG_BYTES,
    PDF_BYTES,
    application_under_review,
    owner_with_draft,
    png_bytes,
    reviewer,
    submitted_application,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def collect_errors(page: Page) -> list[str]:
    """Return a list that fills with console errors (CSP violations land there too)."""
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        # A refused form comes back as 400 on purpose; the browser logs every 4xx.
        if message.type == "error" and "status of 400" not in message.text:
            errors.append(message.text)

    page.on("console", keep)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def seed_queue() -> None:
    """Put a realistic mix of applications in the review queue."""
    now = timezone.now()
    rows = [
        ("杭州西湖茶舍有限公司", "West Lake Tea House", 45_000_000, 3),
        ("Shenzhen Nova Electronics Co., Ltd.", "Nova Electronics", 820_000_000, 2),
        ("上海小笼包餐饮管理有限公司", "Xiaolongbao Kitchen", 12_000_000, 1),
        ("Chengdu Panda Travel Service Co., Ltd.", "Panda Travel", 230_000_000, 0),
    ]
    for legal_name, name, volume, days in rows:
        _owner, application = submitted_application(
            legal_name=legal_name, expected_monthly_volume=volume, merchant__name=name
        )
        application.submitted_at = now - timedelta(days=days, hours=5)
        application.save(update_fields=["submitted_at"])
    _owner, application, first = application_under_review(
        legal_name="Guangzhou Pearl Mart Co., Ltd.",
        expected_monthly_volume=1_500_000_000,
        merchant__name="Pearl Mart",
    )
    application_approve(application=application, reviewer=first)


def test_owner_fills_the_application_and_a_reviewer_approves_it(
    page: Page, context: BrowserContext, browser, live_server, login_as, screenshot, tmp_path
) -> None:
    merchant = MerchantFactory(name="West Lake Tea House")
    owner = UserFactory(roles=[Role.MERCHANT_OWNER], full_name="Wang Fang")
    MerchantMembershipFactory(merchant=merchant, user=owner)
    errors = collect_errors(page)
    login_as(owner)

    # Business: a mistyped credit code is caught and explained, nothing typed is lost.
    page.goto(f"{live_server.url}/merchants/application/")
    expect(page).to_have_url(f"{live_server.url}/merchants/application/step/business/")
    expect(page.locator(".steps li.is-current")).to_have_text("Business")
    page.fill("#id_legal_name", "Hangzhou West Lake Tea House Co., Ltd.")
    page.fill("#id_credit_code", "91350100M000100Y44")
    page.select_option("#id_mcc", "5814")
    page.fill("#id_expected_monthly_volume_yuan", "450000")
    page.click("button[name=continue]")
    expect(page.locator("[data-testid=credit_code-errors]")).to_contain_text(
        "check the last character"
    )
    expect(page.locator("#id_legal_name")).to_have_value("Hangzhou West Lake Tea House Co., Ltd.")
    screenshot(page, "onboarding-business-error-desktop-en")
    page.fill("#id_credit_code", "91350100M000100Y43")
    page.click("button[name=continue]")

    # Representative & contact
    expect(page).to_have_url(f"{live_server.url}/merchants/application/step/representative/")
    page.fill("#id_representative_name", "Wang Fang")
    page.fill("#id_representative_id_number", "11010519491231002X")
    page.fill("#id_contact_name", "Li Lei")
    page.fill("#id_contact_email", "lilei@westlaketea.example")
    page.fill("#id_contact_phone", "138 0013 8000")
    page.click("button[name=continue]")

    # Settlement account
    expect(page).to_have_url(f"{live_server.url}/merchants/application/step/settlement/")
    page.fill("#id_bank_account_name", "Hangzhou West Lake Tea House Co., Ltd.")
    page.select_option("#id_bank_code", "CMB")
    page.fill("#id_bank_branch", "Hangzhou Xihu Sub-branch")
    page.fill("#id_bank_account_number", "5719 0123 4567 8901")
    screenshot(page, "onboarding-settlement-desktop-en")
    page.click("button[name=continue]")

    # Documents: a fake file is refused, real ones are kept.
    expect(page).to_have_url(f"{live_server.url}/merchants/application/documents/")
    fake = tmp_path / "licence.pdf"
    fake.write_bytes(b"<html>not a pdf</html>")
    page.select_option("#id_kind", "business_licence")
    page.set_input_files("#id_file", str(fake))
    page.click("[data-testid=upload-form] button[type=submit]")
    expect(page.locator("[data-testid=file-errors]")).to_contain_text("PDF, PNG or JPEG")
    _upload(page, tmp_path, "business_licence", "营业执照.pdf", PDF_BYTES)
    _upload(page, tmp_path, "representative_id", "id-card.png", png_bytes())
    expect(page.locator("[data-testid=documents-table] tbody tr")).to_have_count(2)
    expect(page.locator("[data-testid=required-documents] li.is-done")).to_have_count(2)
    screenshot(page, "onboarding-documents-desktop-en")

    # Review & submit
    page.click("text=Continue")
    expect(page).to_have_url(f"{live_server.url}/merchants/application/submit/")
    expect(page.locator("[data-testid=incomplete-steps]")).to_have_count(0)
    expect(page.locator("[data-testid=account-number]").first).to_have_text("•••• 8901")
    screenshot(page, "onboarding-review-desktop-en")
    page.check("#id_confirm")
    page.click("[data-testid=submit-form] button[type=submit]")
    expect(page.locator("[data-testid=status-banner]")).to_have_attribute(
        "data-status", "submitted"
    )
    screenshot(page, "onboarding-submitted-desktop-en")

    # The reviewer opens it from the queue, takes it and approves it.
    reviewer_context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    reviewer_page = reviewer_context.new_page()
    reviewer_errors = collect_errors(reviewer_page)
    login_as(reviewer(full_name="Zhao Min"), reviewer_context)
    reviewer_page.goto(f"{live_server.url}/merchants/kyc/")
    reviewer_page.click("text=Hangzhou West Lake Tea House Co., Ltd.")
    reviewer_page.click("text=Start review")
    expect(reviewer_page.locator(".messages")).to_contain_text("You are now reviewing")
    with reviewer_page.expect_popup() as popup:
        reviewer_page.click("[data-testid=documents-table] a[target=_blank] >> nth=0")
    assert popup.value.url.startswith(f"{live_server.url}/merchants/documents/")
    popup.value.close()
    screenshot(reviewer_page, "kyc-detail-desktop-en")
    reviewer_page.fill("[data-testid=approve-form] textarea", "Licence and ID match.")
    reviewer_page.click("[data-testid=approve-form] button[type=submit]")
    expect(reviewer_page.locator(".page-actions [data-status]")).to_have_attribute(
        "data-status", "approved"
    )
    reviewer_context.close()

    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.APPROVED
    page.reload()
    expect(page.locator("[data-testid=status-banner]")).to_have_attribute("data-status", "approved")
    assert errors == []
    assert reviewer_errors == []


def _upload(page: Page, tmp_path: Path, kind: str, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    page.select_option("#id_kind", kind)
    page.set_input_files("#id_file", str(path))
    page.click("[data-testid=upload-form] button[type=submit]")
    expect(page.locator(".messages")).to_contain_text(name)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_application_form_screenshots(
    page: Page, phone_page: Page, phone_context, live_server, login_as, screenshot, language
) -> None:
    owner, _application = owner_with_draft(
        legal_name="杭州西湖茶舍有限公司"
        if language == "zh-hans"
        else "Hangzhou West Lake Tea Co.",
        credit_code="91350100M000100Y43",
        website="",
    )
    prefix = "" if language == "en" else "/zh-hans"
    errors = collect_errors(page)
    login_as(owner)
    login_as(owner, phone_context)

    for target, device in ((page, "desktop"), (phone_page, "phone")):
        target.goto(f"{live_server.url}{prefix}/merchants/application/step/business/")
        expect(target.locator("html")).to_have_attribute("lang", language)
        expect(target.locator("[data-testid=step-form]")).to_be_visible()
        expect(target.locator(".steps li")).to_have_count(5)
        screenshot(target, f"onboarding-form-{device}-{language}")

    page.goto(f"{live_server.url}{prefix}/merchants/application/documents/")
    _upload_quietly(page, "representative_id", JPEG_BYTES)
    screenshot(page, f"onboarding-documents-desktop-{language}")
    page.goto(f"{live_server.url}{prefix}/merchants/application/submit/")
    expect(page.locator("[data-testid=incomplete-steps]")).to_be_visible()
    screenshot(page, f"onboarding-review-desktop-{language}")
    assert errors == []


def _upload_quietly(page: Page, kind: str, content: bytes) -> None:
    page.select_option("#id_kind", kind)
    photo: FilePayload = {"name": "id.jpg", "mimeType": "image/jpeg", "buffer": content}
    page.set_input_files("#id_file", files=[photo])
    page.click("[data-testid=upload-form] button[type=submit]")
    expect(page.locator("[data-testid=documents-table] tbody tr")).to_have_count(1)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_review_queue_screenshots(
    page: Page, phone_page: Page, phone_context, live_server, login_as, screenshot, language
) -> None:
    seed_queue()
    prefix = "" if language == "en" else "/zh-hans"
    user = reviewer(full_name="Zhao Min")
    errors = collect_errors(page)
    login_as(user)
    login_as(user, phone_context)

    for target, device in ((page, "desktop"), (phone_page, "phone")):
        target.goto(f"{live_server.url}{prefix}/merchants/kyc/")
        expect(target.locator("[data-testid=queue-table] tbody tr")).to_have_count(5)
        expect(target.locator("[data-testid=second-review-marker]")).to_have_count(1)
        expect(target.locator("[data-testid=first-approval-marker]")).to_have_count(1)
        screenshot(target, f"kyc-queue-{device}-{language}")

    page.click(".more-filters summary")
    page.select_option("#id_volume", "very_large")
    page.click("[data-testid=queue-filters] button[type=submit]")
    expect(page.locator("[data-testid=queue-table] tbody tr")).to_have_count(2)
    page.click("[data-testid=queue-table] tbody tr >> nth=0 >> a")
    expect(page.locator("[data-testid=review-actions]")).to_be_visible()
    screenshot(page, f"kyc-detail-desktop-{language}")
    assert errors == []


def test_needs_information_and_suspension_banners(
    page: Page, live_server, login_as, screenshot
) -> None:
    owner, application, taker = application_under_review(legal_name="Pearl Mart Co., Ltd.")
    application_request_information(
        application=application,
        reviewer=taker,
        message="The business licence photo is cut off at the bottom. Please upload a full scan.",
    )
    login_as(owner)

    page.goto(f"{live_server.url}/merchants/application/")

    expect(page).to_have_url(f"{live_server.url}/merchants/application/submit/")
    banner = page.locator("[data-testid=status-banner]")
    expect(banner).to_have_attribute("data-status", "needs_information")
    expect(banner).to_contain_text("cut off at the bottom")
    screenshot(page, "onboarding-needs-information-desktop-en")


def test_an_administrator_suspends_and_the_owner_sees_why(
    page: Page, browser, live_server, login_as, screenshot
) -> None:
    owner, application, taker = application_under_review(legal_name="Pearl Mart Co., Ltd.")
    application_approve(application=application, reviewer=taker)
    admin = UserFactory(roles=[Role.ADMINISTRATOR], full_name="Chen Jie")
    errors = collect_errors(page)
    login_as(admin)
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm question

    page.goto(f"{live_server.url}/merchants/staff/")
    page.click(f"text={application.merchant.name}")
    page.fill("[data-testid=suspend-form] textarea", "Chargeback rate above 3% for two weeks.")
    screenshot(page, "merchant-staff-detail-desktop-en")
    page.click("[data-testid=suspend-form] button[type=submit]")

    expect(page.locator("[data-testid=suspended-banner]")).to_contain_text("Chargeback rate")
    expect(page.locator("[data-testid=reinstate-form]")).to_be_visible()
    owner_context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    owner_page = owner_context.new_page()
    login_as(owner, owner_context)
    owner_page.goto(f"{live_server.url}/zh-hans/merchants/application/")
    banner = owner_page.locator("[data-testid=status-banner]")
    expect(banner).to_have_attribute("data-status", "suspended")
    expect(banner).to_contain_text("Chargeback rate above 3%")
    screenshot(owner_page, "onboarding-suspended-phone-zh-hans")
    owner_context.close()
    assert errors == []
