"""Reads of a merchant's team: members, open invitations, an invitation by its link."""

from datetime import timedelta

from django.core import signing
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import ApplicationError, NotFound
from merchants.models import Merchant, MerchantInvitation, MerchantMembership

INVITATION_SALT = "paydesk.merchants.invitation"
# The link's signature and the row's expires_at both enforce this lifetime.
INVITATION_LIFETIME = timedelta(days=7)


def team_member_list(merchant: Merchant) -> QuerySet[MerchantMembership]:
    """Return the merchant's members, owners first, then by email."""
    return (
        MerchantMembership.objects.filter(merchant=merchant)
        .select_related("user")
        .order_by("role", "user__email")
    )


def team_member_get(merchant: Merchant, membership_id: int) -> MerchantMembership:
    """Return one member of `merchant` or raise NotFound (another merchant's member too)."""
    membership = (
        MerchantMembership.objects.filter(merchant=merchant, pk=membership_id)
        .select_related("user", "merchant")
        .first()
    )
    if membership is None:
        raise NotFound(_("No such team member."))
    return membership


def team_invitation_list_open(merchant: Merchant) -> QuerySet[MerchantInvitation]:
    """Return invitations not yet accepted, revoked or expired, newest first."""
    return (
        MerchantInvitation.objects.filter(
            merchant=merchant,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("invited_by")
        .order_by("-created_at")
    )


def team_invitation_get(merchant: Merchant, public_id: str) -> MerchantInvitation:
    """Return one invitation of `merchant` or raise NotFound."""
    invitation = (
        MerchantInvitation.objects.filter(merchant=merchant, public_id=public_id)
        .select_related("merchant")
        .first()
    )
    if invitation is None:
        raise NotFound(_("No such invitation."))
    return invitation


def team_invitation_from_token(token: str) -> MerchantInvitation:
    """Return the invitation a link's token names, or raise.

    NotFound for a token that was not made by Paydesk; `invitation_expired` (410) for one
    older than seven days. Whether the invitation is still open is the caller's to check
    (its `status`).
    """
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_LIFETIME)
    except signing.SignatureExpired:
        raise ApplicationError(
            _("This invitation has expired. Ask for a new one."),
            code="invitation_expired",
            status=410,
        ) from None
    except signing.BadSignature:
        raise NotFound(_("This invitation link is not valid."), code="invitation_invalid") from None
    public_id = payload.get("i") if isinstance(payload, dict) else None
    invitation = (
        MerchantInvitation.objects.filter(public_id=str(public_id))
        .select_related("merchant", "invited_by")
        .first()
        if public_id
        else None
    )
    if invitation is None:
        raise NotFound(_("This invitation link is not valid."), code="invitation_invalid")
    return invitation
