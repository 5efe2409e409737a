"""Audit sign-ins, sign-outs, failed sign-ins and role changes as they happen."""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from accounts.services.audit import audit_event_record

# Set by a service that records a role change itself (one event, with its own actor), so that
# the m2m handler below does not record the same change again as a remove + add pair.
_roles_audited_by_caller: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "roles_audited_by_caller", default=False
)


@contextmanager
def roles_audited_by_caller() -> Iterator[None]:
    """Skip the automatic role-change audit inside the block; the caller must record it."""
    token = _roles_audited_by_caller.set(True)
    try:
        yield
    finally:
        _roles_audited_by_caller.reset(token)


@receiver(user_logged_in)
def audit_login(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    audit_event_record(action="auth.login", actor=user, target=user, request=request)


@receiver(user_logged_out)
def audit_logout(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        audit_event_record(action="auth.logout", actor=user, target=user, request=request)


@receiver(user_login_failed)
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Only the login name is kept; the password never reaches the log.
    login = str(credentials.get("email") or credentials.get("username") or "")[:254]
    audit_event_record(action="auth.login_failed", after={"login": login}, request=request)


@receiver(m2m_changed, sender=User.groups.through)
def audit_role_change(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Record role grants and removals, whoever made them (portal, admin or shell)."""
    if _roles_audited_by_caller.get():
        return
    if action.startswith("pre_"):
        if reverse:  # group.user_set changed: instance is the group
            users = (
                instance.user_set.all() if pk_set is None else User.objects.filter(pk__in=pk_set)
            )
        else:
            users = [instance]
        instance._audit_roles_before = {user.pk: _role_names(user) for user in users}
        return
    before_by_user: dict[int, list[str]] = getattr(instance, "_audit_roles_before", {})
    from accounts.middleware import current_request

    for user in User.objects.filter(pk__in=before_by_user):
        user_instance = instance if not reverse else user
        user_instance.__dict__.pop("roles", None)
        before, after = before_by_user[user.pk], _role_names(user)
        if before != after:
            audit_event_record(
                action="user.roles_changed",
                target=user,
                before={"roles": before},
                after={"roles": after},
                request=current_request(),
            )
    instance._audit_roles_before = {}


def _role_names(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))
