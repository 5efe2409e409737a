"""Reads for onboarding and the KYC review queue, each scoped to its caller."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from merchants.models import (
    ApplicationDocument,
    KycDecision,
    KycReview,
    Merchant,
    MerchantApplication,
    MerchantEvent,
    MerchantStatus,
    TeamRole,
)
from merchants.models.application import second_review_threshold
from merchants.selectors.membership import membership_has_capability

# The reviewers' default view: what still needs someone's decision.
OPEN_STATUSES = (MerchantStatus.SUBMITTED, MerchantStatus.UNDER_REVIEW)


@dataclass(frozen=True)
class VolumeBand:
    slug: str
    label: str | Promise
    minimum: int | None  # fen, inclusive
    maximum: int | None  # fen, exclusive


VOLUME_BANDS: tuple[VolumeBand, ...] = (
    VolumeBand("small", _("Up to ¥100,000 a month"), None, 10_000_000),
    VolumeBand("medium", _("¥100,000 to ¥1,000,000"), 10_000_000, 100_000_000),
    VolumeBand("large", _("¥1,000,000 to ¥5,000,000"), 100_000_000, 500_000_001),
    VolumeBand("very_large", _("Over ¥5,000,000"), 500_000_001, None),
)


def application_for_merchant(*, merchant: Merchant) -> MerchantApplication | None:
    """Return the merchant's application with its documents, or None before the first save."""
    return (
        MerchantApplication.objects.select_related("merchant")
        .prefetch_related("documents")
        .filter(merchant=merchant)
        .first()
    )


def application_list_for_review(
    *,
    status: str = "open",
    submitted_from: date | None = None,
    submitted_to: date | None = None,
    volume_band: str = "",
    search: str = "",
) -> QuerySet[MerchantApplication]:
    """Return submitted applications for the KYC queue, oldest submission first.

    `status` is a MerchantStatus value, "open" (submitted or under review) or "all" (every
    application ever submitted). Rows carry `has_first_approval` for the current round and
    `document_count`. Drafts never appear: nobody has asked for a review yet.
    """
    queryset = MerchantApplication.objects.select_related("merchant", "reviewer").exclude(
        merchant__status=MerchantStatus.DRAFT
    )
    if status == "open":
        queryset = queryset.filter(merchant__status__in=OPEN_STATUSES)
    elif status in MerchantStatus.values:
        queryset = queryset.filter(merchant__status=status)
    tz = timezone.get_current_timezone()
    if submitted_from:
        queryset = queryset.filter(
            submitted_at__gte=datetime.combine(submitted_from, time.min, tzinfo=tz)
        )
    if submitted_to:
        end = datetime.combine(submitted_to + timedelta(days=1), time.min, tzinfo=tz)
        queryset = queryset.filter(submitted_at__lt=end)
    band = next((b for b in VOLUME_BANDS if b.slug == volume_band), None)
    if band is not None:
        if band.minimum is not None:
            queryset = queryset.filter(expected_monthly_volume__gte=band.minimum)
        if band.maximum is not None:
            queryset = queryset.filter(expected_monthly_volume__lt=band.maximum)
    search = search.strip()
    if search:
        queryset = queryset.filter(
            Q(legal_name__icontains=search)
            | Q(merchant__name__icontains=search)
            | Q(credit_code__iexact=search.replace(" ", "").upper())
        )
    first_approval = KycReview.objects.filter(
        application=OuterRef("pk"),
        round=OuterRef("review_round"),
        decision=KycDecision.FIRST_APPROVAL,
    )
    return queryset.annotate(
        has_first_approval=Exists(first_approval),
        document_count=Count("documents", distinct=True),
    ).order_by("submitted_at", "pk")


def application_queue_counts() -> dict[str, int]:
    """Return how many applications wait in each open status (for the queue's tabs)."""
    rows = (
        Merchant.objects.filter(status__in=OPEN_STATUSES)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    counts: dict[str, int] = {str(status): 0 for status in OPEN_STATUSES}
    counts.update(dict(rows))
    return counts


def application_get_for_review(*, pk: int) -> MerchantApplication | None:
    """Return one submitted application with everything a reviewer looks at, or None."""
    return (
        MerchantApplication.objects.select_related("merchant", "reviewer")
        .prefetch_related("documents")
        .exclude(merchant__status=MerchantStatus.DRAFT)
        .filter(pk=pk)
        .first()
    )


def application_review_history(*, application: MerchantApplication) -> list[KycReview]:
    """Return every reviewer decision on the application, oldest first."""
    return list(application.reviews.select_related("reviewer").order_by("created_at", "pk"))


def merchant_events(*, merchant: Merchant) -> list[MerchantEvent]:
    """Return the merchant's status timeline, oldest first."""
    return list(merchant.events.select_related("actor").order_by("occurred_at", "pk"))


def application_duplicates(*, application: MerchantApplication) -> list[MerchantApplication]:
    """Return other merchants' applications with the same credit code (a reviewer warning)."""
    if not application.credit_code:
        return []
    return list(
        MerchantApplication.objects.select_related("merchant")
        .filter(credit_code=application.credit_code)
        .exclude(pk=application.pk)
        .exclude(merchant__status=MerchantStatus.DRAFT)
    )


def merchant_get_for_staff(*, public_id: UUID | str) -> Merchant | None:
    """Return a merchant for operations staff pages, or None."""
    return Merchant.objects.filter(public_id=public_id).first()


def user_can_read_documents(user: User) -> bool:
    """Return whether an operations user may open any merchant's KYC documents."""
    return user.is_active and (user.is_superuser or user.has_perm("accounts.review_kyc"))


def document_get_for_user(*, user: User, pk: int) -> ApplicationDocument | None:
    """Return the document if `user` may read it: the merchant's owner, or KYC staff.

    Anyone else (other merchants, other team roles, other staff) gets None, as if the
    document did not exist.
    """
    document = (
        ApplicationDocument.objects.select_related("application__merchant").filter(pk=pk).first()
    )
    if document is None or not user.is_authenticated:
        return None
    if user_can_read_documents(user):
        return document
    membership = document.application.merchant.memberships.filter(
        user=user, role=TeamRole.OWNER
    ).first()
    if membership is not None and membership_has_capability(membership, "edit_application"):
        return document
    return None


def threshold() -> int:
    """Return the second-review threshold in fen (for display)."""
    return second_review_threshold()
