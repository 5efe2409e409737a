"""Reads of a merchant's API keys (their secrets are never readable)."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from config.errors import NotFound
from merchants.models import ApiKey, Merchant


def api_key_list_for_merchant(merchant: Merchant) -> QuerySet[ApiKey]:
    """Return the merchant's keys, active first, newest first within each group."""
    return (
        ApiKey.objects.filter(merchant=merchant)
        .select_related("created_by")
        .order_by("revoked_at", "-created_at")
    )


def api_key_get_for_merchant(merchant: Merchant, public_id: str) -> ApiKey:
    """Return one key of `merchant`, or raise NotFound (also for another merchant's key)."""
    key = ApiKey.objects.filter(merchant=merchant, public_id=public_id).first()
    if key is None:
        raise NotFound(_("No such API key."))
    return key
