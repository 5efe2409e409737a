"""Create, revoke and authenticate secret API keys."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import ApplicationError, Conflict, ValidationFailed
from merchants.crypto import api_key_hash, api_key_hashes, hashes_match
from merchants.models import ApiKey, ApiMode, Merchant, MerchantStatus

KEY_PREFIXES: dict[str, str] = {ApiMode.TEST: "sk_test_", ApiMode.LIVE: "sk_live_"}
# 32 random bytes = 256 bits; token_urlsafe gives 43 characters for them.
KEY_RANDOM_BYTES = 32
# Shown in clear after the mode prefix, so that people can tell their keys apart.
CLEAR_PREFIX_CHARACTERS = 4
MAX_ACTIVE_KEYS_PER_MERCHANT = 20
# Write last_used_at at most once per key and minute, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Longer than any key we issue: refuse without touching the database.
MAX_KEY_LENGTH = 128
# Merchants whose keys do not authenticate at all, whatever their mode.
BLOCKED_STATUSES = frozenset({MerchantStatus.SUSPENDED, MerchantStatus.REJECTED})


class ApiKeyRefused(ApplicationError):  # noqa: N818
    """The presented key does not authenticate; `code` says why (401 for the API)."""

    status = 401


def api_key_create(
    *,
    merchant: Merchant,
    name: str,
    mode: str,
    actor: User | None,
    request: HttpRequest | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never available again.

    Live keys are only for approved merchants; a suspended or rejected merchant gets none.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            _("Give the key a name."), details={"name": [_("This field is required.")]}
        )
    if len(name) > 100:
        raise ValidationFailed(
            _("The name is too long."), details={"name": [_("Use at most 100 characters.")]}
        )
    if mode not in ApiMode.values:
        raise ValidationFailed(
            _("Choose test or live mode."), details={"mode": [_("Choose test or live.")]}
        )
    with transaction.atomic():
        # Lock the merchant so that a suspension cannot slip between the check and the insert.
        locked = Merchant.objects.select_for_update().get(pk=merchant.pk)
        if locked.status in BLOCKED_STATUSES:
            raise ApplicationError(
                _("This merchant account is not active, so no API key can be created."),
                code="merchant_suspended",
                status=403,
            )
        if mode == ApiMode.LIVE and locked.status != MerchantStatus.APPROVED:
            raise ApplicationError(
                _("Live keys are available once the merchant is approved. Use a test key."),
                code="merchant_not_approved",
                status=403,
            )
        active = ApiKey.objects.filter(merchant=locked, revoked_at__isnull=True).count()
        if active >= MAX_ACTIVE_KEYS_PER_MERCHANT:
            raise Conflict(
                _("A merchant can have at most %(count)d active keys. Revoke one first.")
                % {"count": MAX_ACTIVE_KEYS_PER_MERCHANT},
                code="too_many_api_keys",
            )
        random_part = secrets.token_urlsafe(KEY_RANDOM_BYTES)
        raw_key = KEY_PREFIXES[mode] + random_part
        api_key = ApiKey.objects.create(
            merchant=locked,
            name=name,
            mode=mode,
            key_hash=api_key_hash(raw_key),
            prefix=KEY_PREFIXES[mode] + random_part[:CLEAR_PREFIX_CHARACTERS],
            last_four=random_part[-4:],
            created_by=actor,
        )
        audit_event_record(
            action="api_key.create",
            actor=actor,
            target=api_key,
            after={
                "merchant": str(locked.public_id),
                "name": name,
                "mode": mode,
                "key": api_key.masked,
            },
            request=request,
        )
    return api_key, raw_key


def api_key_revoke(
    *, api_key: ApiKey, actor: User | None, request: HttpRequest | None = None
) -> ApiKey:
    """Revoke a key: from the commit on it no longer authenticates. Refuses a second revoke."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if locked.revoked_at is not None:
            raise Conflict(_("This key is already revoked."), code="api_key_already_revoked")
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        audit_event_record(
            action="api_key.revoke",
            actor=actor,
            target=locked,
            before={"revoked": False},
            after={"revoked": True, "key": locked.masked, "mode": locked.mode},
            request=request,
        )
    api_key.revoked_at, api_key.revoked_by = locked.revoked_at, locked.revoked_by
    return locked


def _invalid() -> ApiKeyRefused:
    return ApiKeyRefused(_("The API key is not valid."), code="invalid_api_key")


def api_key_authenticate(raw_key: str) -> ApiKey:
    """Return the active key for `raw_key`, its merchant loaded, or raise ApiKeyRefused.

    Codes: `invalid_api_key` (unknown or malformed), `api_key_revoked`, and
    `merchant_suspended` (the merchant is suspended or rejected, or a live key's merchant is
    no longer approved). Records the use at most once a minute.
    """
    if (
        not raw_key
        or len(raw_key) > MAX_KEY_LENGTH
        or not raw_key.startswith(tuple(KEY_PREFIXES.values()))
    ):
        raise _invalid()
    candidates = api_key_hashes(raw_key)
    api_key = ApiKey.objects.select_related("merchant").filter(key_hash__in=candidates).first()
    # The index lookup finds the row; the constant-time compare is the actual check.
    if api_key is None or not any(hashes_match(api_key.key_hash, c) for c in candidates):
        raise _invalid()
    if api_key.revoked_at is not None:
        raise ApiKeyRefused(_("This API key has been revoked."), code="api_key_revoked")
    merchant = api_key.merchant
    if merchant.status in BLOCKED_STATUSES or (
        api_key.mode == ApiMode.LIVE and merchant.status != MerchantStatus.APPROVED
    ):
        raise ApiKeyRefused(
            _(
                "The merchant account is suspended or not approved, so its API keys are "
                "refused. Contact Paydesk support."
            ),
            code="merchant_suspended",
        )
    _record_use(api_key)
    return api_key


def _record_use(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    # Conditional update: concurrent requests of the same minute write once between them.
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    api_key.last_used_at = now
