"""Helpers for the passkey tests."""

import re
from typing import Any

from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, PasskeyCredential, User
from accounts.passkeys.services import passkey_register, passkey_registration_start
from tests.helpers.soft_authenticator import SoftAuthenticator


def register_passkey(
    user: User, authenticator: SoftAuthenticator, *, name: str = "Test phone"
) -> PasskeyCredential:
    """Register a passkey of `authenticator` for `user` through the services."""
    challenge, options = passkey_registration_start(user=user)
    return passkey_register(
        user=user,
        challenge_id=challenge.pk,
        response=authenticator.create(options),
        name=name,
    )


def post_json(client: Client, url_name: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(reverse(url_name), body or {}, content_type="application/json")


def code_from_last_email() -> str:
    """Return the 6-digit code of the last email sent."""
    match = re.search(r"^\s+(\d{6})$", str(mail.outbox[-1].body), re.MULTILINE)
    assert match is not None
    return match.group(1)


def audit_actions(*prefixes: str) -> list[str]:
    """Return the recorded actions starting with any of `prefixes`, oldest first."""
    actions = AuditEvent.objects.order_by("occurred_at", "id").values_list("action", flat=True)
    return [a for a in actions if a.startswith(prefixes)]
