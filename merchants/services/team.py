"""A merchant's team: invitations, their acceptance, role changes and removals.

Every service here takes the acting member's own membership (`actor`) and checks that
its team role may manage the team. Two rules protect the merchant: only an owner can
grant, change or remove the owner role, and the last owner can be neither demoted nor
removed. Both are checked with the merchant row locked, so two concurrent changes cannot
leave a merchant without an owner.
"""

from functools import partial

from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from accounts.services.audit import audit_event_record
from config.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from merchants.models import (
    InvitationStatus,
    Merchant,
    MerchantInvitation,
    MerchantMembership,
    TeamRole,
)
from merchants.selectors.membership import membership_has_capability
from merchants.selectors.team import INVITATION_LIFETIME, INVITATION_SALT

SENT_MARKER_TTL = 8 * 24 * 3600


def team_invitation_token(invitation: MerchantInvitation) -> str:
    """Return the signed token of the invitation's link (never stored; valid 7 days)."""
    return signing.dumps({"i": str(invitation.public_id)}, salt=INVITATION_SALT)


def _require_manager(actor: MerchantMembership, merchant: Merchant) -> None:
    if actor.merchant_id != merchant.pk or not membership_has_capability(actor, "manage_team"):
        raise PermissionDenied(_("Your team role cannot manage this team."))


def _require_owner_for(actor: MerchantMembership, *roles: str) -> None:
    if TeamRole.OWNER in roles and actor.role != TeamRole.OWNER:
        raise PermissionDenied(
            _("Only an owner can grant, change or remove the owner role."),
            code="owner_required",
        )


def _lock_merchant(merchant: Merchant) -> Merchant:
    return Merchant.objects.select_for_update().get(pk=merchant.pk)


def team_portal_roles_sync(user: User) -> None:
    """Give the user the portal role groups that their memberships call for, and no others.

    Owner of any merchant: "merchant_owner" (which brings the 2FA requirement); any other
    team role: "merchant_staff". The accounts signal audits each group change.
    """
    team_roles = set(MerchantMembership.objects.filter(user=user).values_list("role", flat=True))
    wanted = {
        Role.MERCHANT_OWNER: TeamRole.OWNER in team_roles,
        Role.MERCHANT_STAFF: bool(team_roles - {TeamRole.OWNER}),
    }
    current = set(user.groups.values_list("name", flat=True))
    for role, should_have in wanted.items():
        if should_have and role.value not in current:
            user.groups.add(Group.objects.get(name=role.value))
        elif not should_have and role.value in current:
            user.groups.remove(Group.objects.get(name=role.value))
    user.__dict__.pop("roles", None)  # drop the cached_property


def team_invitation_create(
    *,
    actor: MerchantMembership,
    email: str,
    role: str,
    request: HttpRequest | None = None,
) -> MerchantInvitation:
    """Invite `email` to the actor's merchant with a team role and email the link.

    A newer invitation to the same address replaces an open one. The email goes out from a
    Celery task once the transaction commits, in the inviter's current language.
    """
    merchant = actor.merchant
    _require_manager(actor, merchant)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        message = _("Enter a valid email address.")
        raise ValidationFailed(message, details={"email": [message]}) from None
    if role not in TeamRole.values:
        message = _("Choose a team role.")
        raise ValidationFailed(message, details={"role": [message]})
    _require_owner_for(actor, role)
    with transaction.atomic():
        locked = _lock_merchant(merchant)
        if MerchantMembership.objects.filter(merchant=locked, user__email__iexact=email).exists():
            message = _("%(email)s is already a member of this team.") % {"email": email}
            raise Conflict(message, code="already_member", details={"email": [message]})
        now = timezone.now()
        MerchantInvitation.objects.filter(
            merchant=locked, email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = MerchantInvitation.objects.create(
            merchant=locked,
            email=email,
            role=role,
            invited_by=actor.user,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        audit_event_record(
            action="team.invitation_create",
            actor=actor.user,
            target=invitation,
            after={"merchant": str(locked.public_id), "email": email, "role": role},
            request=request,
        )
        from merchants.tasks import team_invitation_send

        language = translation.get_language() or "en"
        transaction.on_commit(partial(team_invitation_send.delay, invitation.pk, language))
    return invitation


def team_invitation_revoke(
    *,
    actor: MerchantMembership,
    invitation: MerchantInvitation,
    request: HttpRequest | None = None,
) -> MerchantInvitation:
    """Revoke an open invitation: its link stops working."""
    _require_manager(actor, invitation.merchant)
    _require_owner_for(actor, invitation.role)
    with transaction.atomic():
        locked = MerchantInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None or locked.revoked_at is not None:
            raise Conflict(_("This invitation is no longer open."), code="invitation_closed")
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_event_record(
            action="team.invitation_revoke",
            actor=actor.user,
            target=locked,
            after={"email": locked.email, "role": locked.role},
            request=request,
        )
    return locked


def team_invitation_accept(
    *, invitation: MerchantInvitation, user: User, request: HttpRequest | None = None
) -> MerchantMembership:
    """Make `user` a member with the invitation's role; the invitation is then used up.

    The user must be signed in with the invited email address.
    """
    if user.email.lower() != invitation.email.lower():
        raise PermissionDenied(
            _(
                "This invitation was sent to %(invited)s, but you are signed in as %(current)s. "
                "Sign in with the invited address to accept it."
            )
            % {"invited": invitation.email, "current": user.email},
            code="invitation_email_mismatch",
        )
    with transaction.atomic():
        _lock_merchant(invitation.merchant)
        locked = MerchantInvitation.objects.select_for_update().get(pk=invitation.pk)
        status = locked.status
        if status != InvitationStatus.PENDING:
            messages: dict[str, str] = {
                InvitationStatus.ACCEPTED: _("This invitation has already been used."),
                InvitationStatus.REVOKED: _("This invitation has been withdrawn."),
                InvitationStatus.EXPIRED: _("This invitation has expired. Ask for a new one."),
            }
            raise Conflict(messages[status], code=f"invitation_{status}")
        try:
            with transaction.atomic():
                membership = MerchantMembership.objects.create(
                    merchant=locked.merchant, user=user, role=locked.role
                )
        except IntegrityError:
            raise Conflict(
                _("You are already a member of this team."), code="already_member"
            ) from None
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        team_portal_roles_sync(user)
        audit_event_record(
            action="team.invitation_accept",
            actor=user,
            target=membership,
            after={
                "merchant": str(locked.merchant.public_id),
                "role": membership.role,
                "invitation": str(locked.public_id),
            },
            request=request,
        )
    return membership


def _count_owners(merchant: Merchant) -> int:
    return MerchantMembership.objects.filter(merchant=merchant, role=TeamRole.OWNER).count()


def team_member_role_change(
    *,
    actor: MerchantMembership,
    membership: MerchantMembership,
    role: str,
    request: HttpRequest | None = None,
) -> MerchantMembership:
    """Give a member another team role. The last owner cannot be demoted."""
    _require_manager(actor, membership.merchant)
    if role not in TeamRole.values:
        message = _("Choose a team role.")
        raise ValidationFailed(message, details={"role": [message]})
    _require_owner_for(actor, role, membership.role)
    with transaction.atomic():
        locked_merchant = _lock_merchant(membership.merchant)
        try:
            locked = MerchantMembership.objects.select_for_update().get(
                pk=membership.pk, merchant=locked_merchant
            )
        except MerchantMembership.DoesNotExist:
            raise NotFound(_("This member is no longer in the team.")) from None
        before = locked.role
        if before == role:
            return locked
        if before == TeamRole.OWNER and _count_owners(locked_merchant) == 1:
            raise Conflict(
                _("The last owner cannot be given another role. Make someone else owner first."),
                code="last_owner",
            )
        locked.role = role
        locked.save(update_fields=["role"])
        team_portal_roles_sync(locked.user)
        audit_event_record(
            action="team.member_role_change",
            actor=actor.user,
            target=locked,
            before={"role": before},
            after={"role": role, "user": locked.user.email},
            request=request,
        )
    membership.role = role
    return locked


def team_member_remove(
    *,
    actor: MerchantMembership,
    membership: MerchantMembership,
    request: HttpRequest | None = None,
) -> None:
    """Remove a member from the team. The last owner cannot be removed."""
    _require_manager(actor, membership.merchant)
    _require_owner_for(actor, membership.role)
    with transaction.atomic():
        locked_merchant = _lock_merchant(membership.merchant)
        try:
            locked = MerchantMembership.objects.select_for_update().get(
                pk=membership.pk, merchant=locked_merchant
            )
        except MerchantMembership.DoesNotExist:
            raise NotFound(_("This member is no longer in the team.")) from None
        if locked.role == TeamRole.OWNER and _count_owners(locked_merchant) == 1:
            raise Conflict(
                _("The last owner cannot be removed. Make someone else owner first."),
                code="last_owner",
            )
        user = locked.user
        audit_event_record(
            action="team.member_remove",
            actor=actor.user,
            target=locked,
            before={"role": locked.role, "user": user.email},
            request=request,
        )
        locked.delete()
        team_portal_roles_sync(user)


def team_invitation_send(*, invitation: MerchantInvitation, language: str) -> bool:
    """Email the invitation link; return whether a message went out.

    Writes in the invitee's preferred language when they already have an account, else in
    `language` (the inviter's). Safe to run twice: a closed invitation is skipped, and a
    cache marker keeps a retried task from mailing the same invitation again.
    """
    if not invitation.is_pending:
        return False
    marker = f"merchants:invitation-mail:{invitation.pk}"
    if cache.get(marker):
        return False
    invitee = User.objects.filter(email__iexact=invitation.email).first()
    if invitee is not None and invitee.preferred_language:
        language = invitee.preferred_language
    token = team_invitation_token(invitation)
    with translation.override(language):
        # Reversed inside the override: the link opens in the email's language.
        path = reverse("team_invitation", kwargs={"token": token})
        context = {
            "invitation": invitation,
            "merchant": invitation.merchant,
            "inviter": invitation.invited_by,
            "role_label": TeamRole(invitation.role).label,
            "accept_url": settings.PORTAL_BASE_URL + path,
            "has_account": invitee is not None,
        }
        subject = render_to_string("emails/merchants/invitation_subject.txt", context)
        body = render_to_string("emails/merchants/invitation.txt", context)
    EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    ).send()
    cache.set(marker, 1, SENT_MARKER_TTL)
    return True


def team_invitation_signup(
    *,
    invitation: MerchantInvitation,
    password: str,
    full_name: str = "",
    request: HttpRequest | None = None,
) -> MerchantMembership:
    """Create an account for the invited address and accept the invitation with it.

    The link was mailed to that address, so following it proves the address: it is saved
    as verified. Refused when an account with that address exists (sign in instead). The
    caller validates the password and signs the new user in.
    """
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise Conflict(
                _("An account with this address already exists. Sign in to accept."),
                code="account_exists",
            )
        user = User.objects.create_user(
            email=invitation.email, password=password, full_name=full_name.strip()[:150]
        )
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        audit_event_record(
            action="auth.signup",
            actor=user,
            target=user,
            after={"email": user.email, "account_type": "invited_member"},
            request=request,
        )
        return team_invitation_accept(invitation=invitation, user=user, request=request)


def team_owner_add(
    *, merchant: Merchant, user: User, actor: User | None = None, request: HttpRequest | None = None
) -> MerchantMembership:
    """Make `user` an owner of `merchant` directly, without an invitation (ops tooling).

    Refuses operations staff: nobody both runs the platform and owns a merchant on it.
    """
    if user.is_operations_staff:
        raise PermissionDenied(
            _("%(email)s is operations staff and cannot own a merchant.") % {"email": user.email},
            code="staff_cannot_own_merchant",
        )
    with transaction.atomic():
        locked = _lock_merchant(merchant)
        membership, created = MerchantMembership.objects.get_or_create(
            merchant=locked, user=user, defaults={"role": TeamRole.OWNER}
        )
        if not created and membership.role != TeamRole.OWNER:
            before = membership.role
            membership.role = TeamRole.OWNER
            membership.save(update_fields=["role"])
        else:
            before = None
        team_portal_roles_sync(user)
        audit_event_record(
            action="team.owner_add",
            actor=actor,
            target=membership,
            before={"role": before} if before else None,
            after={"merchant": str(locked.public_id), "user": user.email, "role": TeamRole.OWNER},
            request=request,
        )
    return membership
