"""Reads of the accounts app: the audit log and the user list for administrators."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from accounts.filters import AuditEventFilter
from accounts.models import AuditEvent, User


def audit_event_list(*, filters: Mapping[str, Any]) -> QuerySet[AuditEvent]:
    """Return the audit events matching `filters` (AuditEventFilter's fields), newest first.

    Raise ValidationError with the filter form's errors when a filter value is invalid, so
    a malformed filter never silently widens the result. Only callers holding
    `accounts.view_audit_log` may show the result.
    """
    filterset = AuditEventFilter(data=filters, queryset=AuditEvent.objects.all())
    if not filterset.is_valid():
        raise ValidationError(filterset.errors.as_data())
    return filterset.qs.select_related("actor").order_by("-occurred_at", "-id")


def audit_event_list_for_object(*, target: Any, limit: int = 20) -> list[AuditEvent]:
    """Return the latest events recorded about `target` (a model instance), newest first."""
    return list(
        AuditEvent.objects.filter(
            object_type=target._meta.label_lower, object_id=str(target.pk)
        ).order_by("-occurred_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class AuditChange:
    """One key of an event's before/after, rendered for reading."""

    key: str
    before: str
    after: str
    is_changed: bool


def _render(value: Any, present: bool) -> str:
    if not present:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def audit_event_diff(event: AuditEvent) -> list[AuditChange]:
    """Return one row per key of the event's before and after, changed keys first."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    rows = [
        AuditChange(
            key=key,
            before=_render(before.get(key), key in before),
            after=_render(after.get(key), key in after),
            is_changed=(key in before) != (key in after) or before.get(key) != after.get(key),
        )
        for key in sorted(before.keys() | after.keys())
    ]
    return sorted(rows, key=lambda row: not row.is_changed)


def user_list(*, search: str = "", role: str = "", is_active: bool | None = None) -> QuerySet[User]:
    """Return users whose email or name contains `search`, optionally with `role`, by email.

    For administrators (`accounts.manage_roles`), who see every user.
    """
    users = User.objects.prefetch_related("groups").order_by("email")
    if search:
        users = users.filter(Q(email__icontains=search) | Q(full_name__icontains=search))
    if role:
        users = users.filter(groups__name=role)
    if is_active is not None:
        users = users.filter(is_active=is_active)
    return users
