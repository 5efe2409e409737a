"""The KYC reviewer's side of onboarding: start a review, approve, reject, ask for more.

Approval of an application whose expected monthly volume is above
settings.KYC_SECOND_REVIEW_THRESHOLD takes two reviewers (maker-checker): the first approval
is recorded and the merchant stays under review; the final approval must come from someone
else. A resubmission starts a new round, so an earlier round's first approval no longer counts.
"""

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import Conflict, InvalidTransition, PermissionDenied
from merchants.models import (
    KycDecision,
    KycReview,
    Merchant,
    MerchantApplication,
    MerchantStatus,
)
from merchants.services.lifecycle import ReasonRequired, merchant_transition


class SecondReviewerRequired(Conflict):
    code = "second_reviewer_required"


def can_review(user: User, merchant: Merchant) -> bool:
    """Return whether `user` may decide on this merchant's application.

    A reviewer who belongs to the merchant's own team has a conflict of interest.
    """
    return (
        user.is_active
        and user.has_perm("accounts.review_kyc")
        and not merchant.memberships.filter(user=user).exists()
    )


def _lock_for_review(
    application: MerchantApplication, reviewer: User, expected_status: str
) -> tuple[Merchant, MerchantApplication]:
    """Lock merchant then application (always in this order) and check who and what.

    Call inside an atomic block.
    """
    merchant = Merchant.objects.select_for_update().get(pk=application.merchant_id)
    if not can_review(reviewer, merchant):
        raise PermissionDenied(_("You may not review this application."))
    if merchant.status != expected_status:
        raise InvalidTransition(
            _("The application is %(status)s, not %(expected)s.")
            % {
                "status": MerchantStatus(merchant.status).label.lower(),
                "expected": MerchantStatus(expected_status).label.lower(),
            },
            details={"from": merchant.status},
        )
    locked = MerchantApplication.objects.select_for_update().get(pk=application.pk)
    locked.merchant = merchant
    return merchant, locked


def _record(
    application: MerchantApplication, reviewer: User, decision: str, reason: str = ""
) -> KycReview:
    return KycReview.objects.create(
        application=application,
        reviewer=reviewer,
        decision=decision,
        reason=reason,
        round=application.review_round,
    )


def _decide(
    locked: MerchantApplication,
    merchant: Merchant,
    reviewer: User,
    *,
    decision: KycDecision,
    text: str,
    to_status: MerchantStatus,
    audit_action: str,
    audit_extra: dict[str, object],
    request: HttpRequest | None,
) -> KycReview:
    """Record a decision that ends the review round and move the merchant to `to_status`.

    An information request hands the application back with `text`; any other decision is
    final and sets `decided_at`. Call inside the atomic block of `_lock_for_review`.
    """
    review = _record(locked, reviewer, decision, text)
    if decision == KycDecision.INFORMATION_REQUEST:
        locked.information_request = text
        locked.save(update_fields=["information_request", "updated_at"])
    else:
        locked.decided_at = timezone.now()
        locked.save(update_fields=["decided_at", "updated_at"])
    merchant_transition(
        merchant=merchant,
        to_status=to_status,
        actor=reviewer,
        reason=text,
        audit_action=audit_action,
        audit_extra=audit_extra,
        request=request,
    )
    return review


def _refresh(application: MerchantApplication, merchant: Merchant) -> None:
    application.refresh_from_db()
    application.merchant = merchant


def _decide_under_review(
    application: MerchantApplication,
    reviewer: User,
    *,
    decision: KycDecision,
    text: str,
    to_status: MerchantStatus,
    audit_action: str,
    request: HttpRequest | None,
) -> KycReview:
    """Lock the application under review, record `decision` with `text`, move the merchant."""
    with transaction.atomic():
        merchant, locked = _lock_for_review(application, reviewer, MerchantStatus.UNDER_REVIEW)
        review = _decide(
            locked,
            merchant,
            reviewer,
            decision=decision,
            text=text,
            to_status=to_status,
            audit_action=audit_action,
            audit_extra={"round": locked.review_round},
            request=request,
        )
    _refresh(application, merchant)
    return review


def application_start_review(
    *, application: MerchantApplication, reviewer: User, request: HttpRequest | None = None
) -> KycReview:
    """Take a submitted application: it moves to under review with `reviewer` assigned."""
    with transaction.atomic():
        merchant, locked = _lock_for_review(application, reviewer, MerchantStatus.SUBMITTED)
        locked.reviewer = reviewer
        locked.save(update_fields=["reviewer", "updated_at"])
        review = _record(locked, reviewer, KycDecision.REVIEW_STARTED)
        merchant_transition(
            merchant=merchant,
            to_status=MerchantStatus.UNDER_REVIEW,
            actor=reviewer,
            audit_action="kyc.review_start",
            audit_extra={"round": locked.review_round},
            request=request,
        )
    _refresh(application, merchant)
    return review


def application_first_approval(application: MerchantApplication) -> KycReview | None:
    """Return the current round's first approval, if one was given."""
    return (
        application.reviews.filter(
            round=application.review_round, decision=KycDecision.FIRST_APPROVAL
        )
        .select_related("reviewer")
        .first()
    )


def application_approve(
    *,
    application: MerchantApplication,
    reviewer: User,
    note: str = "",
    request: HttpRequest | None = None,
) -> KycReview:
    """Approve, or record the first of two approvals when the volume needs a second reviewer.

    Returns the KycReview written: FIRST_APPROVAL (merchant stays under review) or APPROVAL
    (merchant approved and notified). Raises SecondReviewerRequired when the first approver
    tries to give the second approval too.
    """
    note = note.strip()
    with transaction.atomic():
        merchant, locked = _lock_for_review(application, reviewer, MerchantStatus.UNDER_REVIEW)
        if locked.needs_second_review:
            first = application_first_approval(locked)
            if first is None:
                review = _record(locked, reviewer, KycDecision.FIRST_APPROVAL, note)
                audit_event_record(
                    action="kyc.first_approval",
                    actor=reviewer,
                    target=merchant,
                    after={"round": locked.review_round, "note": note},
                    request=request,
                )
                _refresh(application, merchant)
                return review
            if first.reviewer_id == reviewer.pk:
                raise SecondReviewerRequired(
                    _(
                        "You gave the first approval; a second, different reviewer must "
                        "give the final one."
                    )
                )
        review = _decide(
            locked,
            merchant,
            reviewer,
            decision=KycDecision.APPROVAL,
            text=note,
            to_status=MerchantStatus.APPROVED,
            audit_action="kyc.approve",
            audit_extra={"round": locked.review_round, "second_review": locked.needs_second_review},
            request=request,
        )
    _refresh(application, merchant)
    return review


def application_reject(
    *,
    application: MerchantApplication,
    reviewer: User,
    reason: str,
    request: HttpRequest | None = None,
) -> KycReview:
    """Reject the application for good; the merchant sees and is emailed the reason."""
    reason = reason.strip()
    if not reason:
        raise ReasonRequired(_("Give the reason for the rejection: the merchant sees it."))
    return _decide_under_review(
        application,
        reviewer,
        decision=KycDecision.REJECTION,
        text=reason,
        to_status=MerchantStatus.REJECTED,
        audit_action="kyc.reject",
        request=request,
    )


def application_request_information(
    *,
    application: MerchantApplication,
    reviewer: User,
    message: str,
    request: HttpRequest | None = None,
) -> KycReview:
    """Send the application back to the merchant with what to add or correct.

    The application unlocks for editing; resubmitting it starts a new review round.
    """
    message = message.strip()
    if not message:
        raise ReasonRequired(_("Say what the merchant must add or correct."))
    return _decide_under_review(
        application,
        reviewer,
        decision=KycDecision.INFORMATION_REQUEST,
        text=message,
        to_status=MerchantStatus.NEEDS_INFORMATION,
        audit_action="kyc.request_information",
        request=request,
    )
