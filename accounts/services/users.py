"""Writes on users: the role given at sign-up, role changes, deactivation."""

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from accounts.services.audit import audit_event_record
from accounts.signals import roles_audited_by_caller
from accounts.signals_public import user_signed_up_as_merchant
from config.errors import Conflict, PermissionDenied


class AccountType:
    """What a person signs up as; each maps to one role."""

    PAYER = "payer"
    MERCHANT = "merchant"


SIGNUP_ROLES: dict[str, Role] = {
    AccountType.PAYER: Role.PAYER,
    AccountType.MERCHANT: Role.MERCHANT_OWNER,
}


def user_signup_complete(
    *,
    user: User,
    account_type: str,
    business_name: str = "",
    request: HttpRequest | None = None,
) -> None:
    """Give a freshly signed-up user the role of their account type and record the sign-up.

    Call inside the sign-up transaction, after the user is saved. For a merchant, the
    `user_signed_up_as_merchant` hook lets merchants create the draft merchant in the same
    transaction.
    """
    role = SIGNUP_ROLES[account_type]
    user.groups.add(Group.objects.get(name=role.value))
    user.__dict__.pop("roles", None)
    after: dict[str, str] = {"email": user.email, "account_type": account_type}
    if account_type == AccountType.MERCHANT:
        after["business_name"] = business_name
        user_signed_up_as_merchant.send(
            sender=User, user=user, business_name=business_name, request=request
        )
    audit_event_record(action="auth.signup", actor=user, target=user, after=after, request=request)


def _role_names(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def user_roles_set(
    *,
    actor: User,
    user: User,
    roles: Iterable[Role | str],
    request: HttpRequest | None = None,
) -> User:
    """Make `roles` exactly the user's roles, and record one `user.roles_changed` event.

    Groups that are not roles are kept. The actor needs `accounts.manage_roles` and may not
    remove their own administrator role (Conflict; nothing changes). Returns the user
    as saved.
    """
    if not actor.has_perm("accounts.manage_roles"):
        raise PermissionDenied
    wanted = {Role(role) for role in roles}
    with transaction.atomic():
        # The row lock serialises two administrators editing the same user at once.
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = _role_names(locked)
        if (
            locked.pk == actor.pk
            and Role.ADMINISTRATOR.value in before
            and Role.ADMINISTRATOR not in wanted
        ):
            raise Conflict(
                _("You cannot remove your own administrator role."), code="self_demotion"
            )
        role_values = {role.value for role in Role}
        kept = list(locked.groups.exclude(name__in=role_values))
        new_groups = kept + list(Group.objects.filter(name__in=[r.value for r in wanted]))
        # One event with the real actor instead of the m2m handler's remove + add pair.
        with roles_audited_by_caller():
            locked.groups.set(new_groups)
        after = _role_names(locked)
        if after != before:
            audit_event_record(
                action="user.roles_changed",
                actor=actor,
                target=locked,
                before={"roles": before},
                after={"roles": after},
                request=request,
            )
    user.__dict__.pop("roles", None)
    return locked


def _user_active_set(
    *, actor: User, user: User, is_active: bool, action: str, request: HttpRequest | None
) -> User:
    if not actor.has_perm("accounts.manage_roles"):
        raise PermissionDenied
    if user.pk == actor.pk:
        raise Conflict(
            _("You cannot deactivate or reactivate your own account."), code="self_deactivation"
        )
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active == is_active:
            return locked  # already so: nothing to change or record
        locked.is_active = is_active
        locked.save(update_fields=["is_active"])
        audit_event_record(
            action=action,
            actor=actor,
            target=locked,
            before={"is_active": not is_active},
            after={"is_active": is_active},
            request=request,
        )
    user.is_active = is_active
    return locked


def user_deactivate(*, actor: User, user: User, request: HttpRequest | None = None) -> User:
    """Stop the user from signing in; their open sessions end at their next request.

    Django's authentication backends refuse inactive users when loading the session user,
    so no session needs deleting. The actor needs `accounts.manage_roles` and cannot
    deactivate themselves. Deactivating an inactive user changes and records nothing.
    """
    return _user_active_set(
        actor=actor, user=user, is_active=False, action="user.deactivated", request=request
    )


def user_reactivate(*, actor: User, user: User, request: HttpRequest | None = None) -> User:
    """Let a deactivated user sign in again (same rules as `user_deactivate`)."""
    return _user_active_set(
        actor=actor, user=user, is_active=True, action="user.reactivated", request=request
    )
