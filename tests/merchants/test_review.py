"""KYC review: start, approve (with maker-checker), reject, request information; the queue."""

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from accounts.models import AuditEvent
from accounts.roles import Role
from config.celery import app as celery_app
from config.errors import InvalidTransition, PermissionDenied
from merchants.models import KycDecision, KycReview, MerchantEvent, MerchantStatus, TeamRole
from merchants.services.lifecycle import ReasonRequired
from merchants.services.review import (
    SecondReviewerRequired,
    application_approve,
    application_reject,
    application_request_information,
    application_start_review,
)
from merchants.tasks import merchant_notify_decision
from tests.factories import MerchantMembershipFactory, UserFactory
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


@pytest.fixture(autouse=True)
def _eager_celery():
    """Run queued tasks in-process, and forget which decision emails were sent."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    cache.clear()
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


def verified(user) -> Client:
    client = Client()
    verify_client(client, user)
    return client


# --- start review ---


def test_starting_a_review_assigns_the_reviewer():
    _owner, application = submitted_application()
    taker = reviewer()

    review = application_start_review(application=application, reviewer=taker)

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.UNDER_REVIEW
    assert application.reviewer == taker
    assert (review.decision, review.round, review.reviewer) == ("review_started", 1, taker)
    audit = AuditEvent.objects.get(action="kyc.review_start")
    assert audit.after == {"status": "under_review", "reason": "", "round": 1}


@pytest.mark.parametrize(
    "roles", [[Role.SUPPORT_AGENT], [Role.RISK_ANALYST], [Role.MERCHANT_OWNER], []]
)
def test_only_kyc_reviewers_can_start_a_review(roles):
    _owner, application = submitted_application()
    outsider = UserFactory(roles=roles)

    with pytest.raises(PermissionDenied):
        application_start_review(application=application, reviewer=outsider)

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.SUBMITTED
    assert not KycReview.objects.exists()


def test_a_reviewer_on_the_merchants_own_team_cannot_review_it():
    _owner, application = submitted_application()
    insider = reviewer()
    MerchantMembershipFactory(merchant=application.merchant, user=insider, role=TeamRole.READ_ONLY)

    with pytest.raises(PermissionDenied):
        application_start_review(application=application, reviewer=insider)

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.SUBMITTED


def test_a_draft_cannot_be_taken_into_review():
    _owner, application = owner_with_draft()

    with pytest.raises(InvalidTransition):
        application_start_review(application=application, reviewer=reviewer())

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.DRAFT


# --- approve ---


def test_approval_below_the_threshold_takes_one_reviewer_and_emails_the_owner(
    django_capture_on_commit_callbacks,
):
    owner, application, taker = application_under_review()

    with django_capture_on_commit_callbacks(execute=True):
        review = application_approve(application=application, reviewer=taker, note="All good.")

    application.refresh_from_db()
    merchant = application.merchant
    assert review.decision == KycDecision.APPROVAL
    assert merchant.status == MerchantStatus.APPROVED
    assert merchant.approved_at is not None
    assert application.decided_at is not None
    audit = AuditEvent.objects.get(action="kyc.approve")
    assert audit.actor == taker
    assert audit.after is not None
    assert audit.after["second_review"] is False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    assert message.subject == f"{merchant.name} is approved on Paydesk"
    assert "All good." in message.body
    assert "http://localhost:8000/merchants/application/" in message.body


def test_approving_a_submitted_application_needs_the_review_started_first():
    _owner, application = submitted_application()

    with pytest.raises(InvalidTransition):
        application_approve(application=application, reviewer=reviewer())

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.SUBMITTED
    assert not KycReview.objects.filter(decision=KycDecision.APPROVAL).exists()


def test_above_the_threshold_the_first_approval_leaves_the_merchant_under_review(
    django_capture_on_commit_callbacks,
):
    _owner, application, first = application_under_review(expected_monthly_volume=BIG)

    with django_capture_on_commit_callbacks(execute=True):
        review = application_approve(application=application, reviewer=first)

    application.refresh_from_db()
    assert review.decision == KycDecision.FIRST_APPROVAL
    assert application.merchant.status == MerchantStatus.UNDER_REVIEW
    assert application.merchant.approved_at is None
    assert AuditEvent.objects.filter(action="kyc.first_approval", actor=first).count() == 1
    assert mail.outbox == []


def test_the_first_approver_cannot_give_the_final_approval():
    _owner, application, first = application_under_review(expected_monthly_volume=BIG)
    application_approve(application=application, reviewer=first)

    with pytest.raises(SecondReviewerRequired):
        application_approve(application=application, reviewer=first)

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.UNDER_REVIEW
    assert list(application.reviews.values_list("decision", flat=True)) == [
        "review_started",
        "first_approval",
    ]


def test_a_second_different_reviewer_gives_the_final_approval(django_capture_on_commit_callbacks):
    _owner, application, first = application_under_review(expected_monthly_volume=BIG)
    application_approve(application=application, reviewer=first, note="Licence checked.")
    second = reviewer()

    with django_capture_on_commit_callbacks(execute=True):
        review = application_approve(application=application, reviewer=second)

    application.refresh_from_db()
    assert review.decision == KycDecision.APPROVAL
    assert application.merchant.status == MerchantStatus.APPROVED
    assert list(application.reviews.values_list("decision", "reviewer")) == [
        ("review_started", first.pk),
        ("first_approval", first.pk),
        ("approval", second.pk),
    ]
    approval = AuditEvent.objects.get(action="kyc.approve")
    assert approval.after is not None
    assert approval.after["second_review"] is True
    assert len(mail.outbox) == 1


def test_exactly_the_threshold_needs_one_reviewer(settings):
    settings.KYC_SECOND_REVIEW_THRESHOLD = 100_000_000
    _owner, application, taker = application_under_review(expected_monthly_volume=100_000_000)

    review = application_approve(application=application, reviewer=taker)

    assert review.decision == KycDecision.APPROVAL
    assert application.merchant.status == MerchantStatus.APPROVED


def test_the_threshold_is_a_setting(settings):
    settings.KYC_SECOND_REVIEW_THRESHOLD = 100_000_000
    _owner, application, taker = application_under_review(expected_monthly_volume=100_000_001)

    review = application_approve(application=application, reviewer=taker)

    assert review.decision == KycDecision.FIRST_APPROVAL
    assert application.merchant.status == MerchantStatus.UNDER_REVIEW


def test_a_first_approval_does_not_survive_a_resubmission():
    from merchants.services.onboarding import application_submit

    owner, application, first = application_under_review(expected_monthly_volume=BIG)
    application_approve(application=application, reviewer=first)
    second = reviewer()
    application_request_information(
        application=application, reviewer=second, message="Bank permit is unreadable."
    )
    application_submit(application=application, actor=owner)
    application_start_review(application=application, reviewer=second)

    review = application_approve(application=application, reviewer=second)

    # Round 2 starts over: second's approval is only the first of two again.
    assert (review.decision, review.round) == ("first_approval", 2)
    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.UNDER_REVIEW


# --- reject and request information ---


def test_rejection_needs_a_reason():
    _owner, application, taker = application_under_review()

    with pytest.raises(ReasonRequired):
        application_reject(application=application, reviewer=taker, reason="   ")

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.UNDER_REVIEW
    assert not KycReview.objects.filter(decision=KycDecision.REJECTION).exists()


def test_rejection_records_the_reason_and_emails_it(django_capture_on_commit_callbacks):
    _owner, application, taker = application_under_review()

    with django_capture_on_commit_callbacks(execute=True):
        application_reject(
            application=application, reviewer=taker, reason="Licence & ID do not match."
        )

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.REJECTED
    assert application.merchant.status_reason == "Licence & ID do not match."
    assert KycReview.objects.get(decision="rejection").reason == "Licence & ID do not match."
    rejection = AuditEvent.objects.get(action="kyc.reject")
    assert rejection.after is not None
    assert rejection.after["reason"] == "Licence & ID do not match."
    assert len(mail.outbox) == 1
    # Plain-text email: no HTML escaping of the reviewer's words.
    assert "Licence & ID do not match." in mail.outbox[0].body


def test_a_rejected_merchant_is_final():
    _owner, application, taker = application_under_review()
    application_reject(application=application, reviewer=taker, reason="Fraudulent documents.")

    with pytest.raises(InvalidTransition):
        application_approve(application=application, reviewer=reviewer())

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.REJECTED


def test_request_information_needs_a_message():
    _owner, application, taker = application_under_review()

    with pytest.raises(ReasonRequired):
        application_request_information(application=application, reviewer=taker, message="")

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.UNDER_REVIEW


def test_request_information_emails_the_owner_in_their_language(django_capture_on_commit_callbacks):
    owner, application, taker = application_under_review()
    owner.preferred_language = "zh-hans"
    owner.save(update_fields=["preferred_language"])

    with django_capture_on_commit_callbacks(execute=True):
        application_request_information(
            application=application, reviewer=taker, message="请上传身份证反面。"
        )

    application.refresh_from_db()
    assert application.merchant.status == MerchantStatus.NEEDS_INFORMATION
    assert application.information_request == "请上传身份证反面。"
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "请上传身份证反面。" in body
    # The link points at the owner's language version of the portal.
    assert "http://localhost:8000/zh-hans/merchants/application/" in body


def test_every_active_owner_is_emailed_and_other_roles_are_not(django_capture_on_commit_callbacks):
    owner, application, taker = application_under_review()
    co_owner = UserFactory(roles=[Role.MERCHANT_OWNER])
    MerchantMembershipFactory(merchant=application.merchant, user=co_owner, role=TeamRole.OWNER)
    developer = UserFactory(roles=[Role.MERCHANT_STAFF])
    MerchantMembershipFactory(
        merchant=application.merchant, user=developer, role=TeamRole.DEVELOPER
    )

    with django_capture_on_commit_callbacks(execute=True):
        application_approve(application=application, reviewer=taker)

    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, co_owner.email])


def test_the_email_task_is_safe_to_run_twice():
    _owner, application, taker = application_under_review()
    application_approve(application=application, reviewer=taker)  # not committed: no email yet
    event = MerchantEvent.objects.get(to_status=MerchantStatus.APPROVED)

    first = merchant_notify_decision(event.pk)
    second = merchant_notify_decision(event.pk)

    assert (first, second) == (1, 0)
    assert len(mail.outbox) == 1


def test_no_email_is_sent_for_moves_that_are_not_decisions(django_capture_on_commit_callbacks):
    _owner, application = submitted_application()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        application_start_review(application=application, reviewer=reviewer())

    assert callbacks == []
    assert mail.outbox == []
