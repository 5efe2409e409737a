"""The one way to write the audit log."""

from typing import Any

from django.db import models
from django.http import HttpRequest

from accounts.models import AuditEvent, User
from config.logging import request_id_var


def client_ip(request: HttpRequest | None) -> str | None:
    """Return the client's address as the web server saw it (proxies set REMOTE_ADDR)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_event_record(
    *,
    action: str,
    actor: User | None = None,
    target: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one audit event.

    `action` is a dotted verb such as `auth.login` or `merchant.approve`. Call it inside the
    transaction that makes the change, so that the change and its record commit together.
    `before` and `after` hold only JSON-safe values and never secrets.
    """
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_email=actor.email if actor else "",
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        before=before,
        after=after,
        ip_address=client_ip(request),
        user_agent=(request.headers.get("User-Agent", "")[:300] if request else ""),
        request_id=request_id_var.get() if request_id_var.get() != "-" else "",
    )
