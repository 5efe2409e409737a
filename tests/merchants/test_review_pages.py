"""The KYC review pages: the queue, its filters, the detail page and its actions."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from merchants.models import KycDecision, KycReview, MerchantStatus
from merchants.services.review import (
    application_approve,
)
from tests.factories import UserFactory
from tests.helpers.twofactor import verify_client
from tests.merchants.kyc import (
    application_under_review,
    owner_with_draft,
    reviewer,
    submitted_application,
)

pytestmark = pytest.mark.django_db

BIG = 600_000_000  # ¥6,000,000 a month: above the default threshold of ¥5,000,000


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def verified(user) -> Client:
    client = Client()
    verify_client(client, user)
    return client


# --- the queue and detail pages ---


def test_the_queue_lists_open_applications_oldest_first_and_never_drafts():
    _o1, _newer = submitted_application(legal_name="Newer Ltd.")
    _o2, older = submitted_application(legal_name="Older Ltd.")
    older.submitted_at = timezone.now() - timedelta(days=3)
    older.save(update_fields=["submitted_at"])
    owner_with_draft(legal_name="Draft Ltd.")

    response = verified(reviewer()).get(reverse("kyc_queue"))

    assert response.status_code == 200
    rows = [a.legal_name for a in response.context["page"].object_list]
    assert rows == ["Older Ltd.", "Newer Ltd."]
    content = response.content.decode()
    assert "Draft Ltd." not in content
    assert "3\xa0days" in content


def test_the_queue_marks_applications_that_need_two_reviewers():
    submitted_application(legal_name="Big Co.", expected_monthly_volume=BIG)
    _o, half, first = application_under_review(legal_name="Half Co.", expected_monthly_volume=BIG)
    application_approve(application=half, reviewer=first)

    content = verified(reviewer()).get(reverse("kyc_queue")).content.decode()

    assert content.count('data-testid="second-review-marker"') == 1
    assert content.count('data-testid="first-approval-marker"') == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "tea"}, ["Tea House Ltd."]),
        ({"q": "91350100m000100y43"}, ["Tea House Ltd."]),
        ({"status": "under_review"}, ["Noodle Bar Ltd."]),
        ({"status": "submitted"}, ["Tea House Ltd.", "Mega Mart Ltd."]),
        ({"volume": "very_large"}, ["Mega Mart Ltd."]),
        ({"volume": "small"}, ["Tea House Ltd."]),
        ({"status": "all", "submitted_from": "2020-01-01", "submitted_to": "2020-01-31"}, []),
    ],
)
def test_the_queue_filters(query, expected):
    submitted_application(
        legal_name="Tea House Ltd.",
        credit_code="91350100M000100Y43",
        expected_monthly_volume=5_000_000,
    )
    application_under_review(legal_name="Noodle Bar Ltd.", expected_monthly_volume=50_000_000)
    submitted_application(legal_name="Mega Mart Ltd.", expected_monthly_volume=BIG)

    response = verified(reviewer()).get(reverse("kyc_queue"), query)

    assert response.status_code == 200
    assert [a.legal_name for a in response.context["page"].object_list] == expected


def test_the_queue_filters_by_submission_date():
    _o, old = submitted_application(legal_name="Old Ltd.")
    old.submitted_at = timezone.now() - timedelta(days=40)
    old.save(update_fields=["submitted_at"])
    submitted_application(legal_name="Recent Ltd.")
    since = (timezone.localdate() - timedelta(days=7)).isoformat()

    response = verified(reviewer()).get(reverse("kyc_queue"), {"submitted_from": since})

    assert [a.legal_name for a in response.context["page"].object_list] == ["Recent Ltd."]


@pytest.mark.parametrize(
    "roles",
    [[Role.MERCHANT_OWNER], [Role.SUPPORT_AGENT], [Role.RISK_ANALYST], [Role.FINANCE_OPERATOR]],
)
def test_the_queue_and_detail_are_for_kyc_reviewers_only(roles):
    _owner, application = submitted_application()
    client = verified(UserFactory(roles=roles))

    assert client.get(reverse("kyc_queue")).status_code == 403
    assert client.get(reverse("kyc_application", kwargs={"pk": application.pk})).status_code == 403
    refused = client.post(reverse("kyc_start_review", kwargs={"pk": application.pk}))
    assert refused.status_code == 403
    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.SUBMITTED


def test_a_reviewer_without_two_factor_meets_the_wall():
    client = Client()
    client.force_login(reviewer())

    response = client.get(reverse("kyc_queue"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("twofactor:setup"))


def test_the_detail_shows_everything_a_reviewer_needs():
    _owner, application = submitted_application(bank_account_name="Someone Else")

    response = verified(reviewer()).get(reverse("kyc_application", kwargs={"pk": application.pk}))

    content = response.content.decode()
    assert response.status_code == 200
    assert application.bank_account_number in content  # in full, for staff
    assert application.representative_id_number in content
    assert 'data-testid="account-name-differs"' in content
    for document in application.documents.all():
        assert reverse("application_document", kwargs={"pk": document.pk}) in content
    assert "Start review" in content


def test_a_draft_has_no_detail_page():
    _owner, application = owner_with_draft()

    response = verified(reviewer()).get(reverse("kyc_application", kwargs={"pk": application.pk}))

    assert response.status_code == 404


def test_maker_checker_through_the_pages():
    _owner, application = submitted_application(expected_monthly_volume=BIG)
    first, second = reviewer(), reviewer()
    first_client, second_client = verified(first), verified(second)
    url = {
        name: reverse(name, kwargs={"pk": application.pk})
        for name in ("kyc_start_review", "kyc_approve", "kyc_application")
    }

    first_client.post(url["kyc_start_review"])
    first_client.post(url["kyc_approve"], {"note": ""})
    page = first_client.get(url["kyc_application"]).content.decode()
    again = first_client.post(url["kyc_approve"], {"note": ""})
    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.UNDER_REVIEW
    assert 'data-testid="waiting-second-reviewer"' in page
    assert again.status_code == 302
    assert KycReview.objects.filter(decision=KycDecision.APPROVAL).count() == 0

    second_client.post(url["kyc_approve"], {"note": "Checked twice."})

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.APPROVED


def test_rejecting_without_a_reason_on_the_page_shows_the_error():
    _owner, application, taker = application_under_review()

    response = verified(taker).post(
        reverse("kyc_reject", kwargs={"pk": application.pk}), {"reason": ""}
    )

    assert response.status_code == 400
    assert 'data-testid="reason-errors"' in response.content.decode()
    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.UNDER_REVIEW


def test_requesting_information_from_the_page():
    _owner, application, taker = application_under_review()

    response = verified(taker).post(
        reverse("kyc_request_information", kwargs={"pk": application.pk}),
        {"message": "The licence photo is blurred."},
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.NEEDS_INFORMATION
    assert application.information_request == "The licence photo is blurred."
