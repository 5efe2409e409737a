"""Reads on passkeys, always scoped to the user who owns them."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.passkeys.models import PasskeyCredential
from config.errors import NotFound


def passkey_list_for_user(*, user: User) -> QuerySet[PasskeyCredential]:
    """Return the user's passkeys, oldest first (the public key is left out)."""
    return (
        PasskeyCredential.objects.filter(user=user).defer("public_key").order_by("created_at", "id")
    )


def passkey_get_for_user(
    *, user: User, passkey_id: int, for_update: bool = False
) -> PasskeyCredential:
    """Return one of the user's passkeys; raise NotFound for anyone else's (or none).

    With `for_update`, lock the row: call inside an atomic block.
    """
    queryset = PasskeyCredential.objects.filter(user=user, pk=passkey_id)
    if for_update:
        queryset = queryset.select_for_update()
    credential = queryset.first()
    if credential is None:
        raise NotFound(_("That passkey is not one of yours."))
    return credential


def user_has_passkey(user: User) -> bool:
    """Whether the user has at least one passkey that is not blocked."""
    return PasskeyCredential.objects.filter(user=user, is_flagged=False).exists()


def passkey_descriptors_for_user(*, user: User) -> list[tuple[bytes, list[str]]]:
    """Return (credential id, transports) of the user's usable passkeys.

    For `webauthn.authentication_options(allow=...)` when the user is known (a payment
    confirmation), so the browser offers only this payer's passkeys.
    """
    return [
        (bytes(credential_id), list(transports or []))
        for credential_id, transports in PasskeyCredential.objects.filter(
            user=user, is_flagged=False
        )
        .order_by("created_at", "id")
        .values_list("credential_id", "transports")
    ]
