"""Template filters for merchant pages: money in minor units, status tones."""

from datetime import datetime
from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.timesince import timesince

from merchants.models import MerchantStatus

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}

# The badge / alert tone each merchant status is shown in.
STATUS_TONES: dict[str, str] = {
    MerchantStatus.DRAFT: "muted",
    MerchantStatus.SUBMITTED: "info",
    MerchantStatus.UNDER_REVIEW: "info",
    MerchantStatus.NEEDS_INFORMATION: "warning",
    MerchantStatus.APPROVED: "success",
    MerchantStatus.REJECTED: "danger",
    MerchantStatus.SUSPENDED: "danger",
}


@register.filter
def minor_units(amount: int | None, currency: str = "CNY") -> str:
    """Format an amount in minor units (fen) as "¥1,234.50"; "—" when there is none."""
    if amount is None or amount == "":
        return "—"
    major = (Decimal(int(amount)) / 100).quantize(Decimal("0.01"))
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    return f"{symbol}{intcomma(major, use_l10n=False)}"


@register.filter
def status_tone(status: str) -> str:
    """Return the badge tone (success, warning, danger, info, muted) for a merchant status."""
    return STATUS_TONES.get(status, "muted")


@register.filter
def status_label(status: str) -> str:
    """Return the translated label of a merchant status value."""
    try:
        return str(MerchantStatus(status).label)
    except ValueError:
        return status


@register.filter
def whole_units(amount: int | None, currency: str = "CNY") -> str:
    """Format minor units rounded to whole major units ("¥8,200,000"), for estimates."""
    if amount is None or amount == "":
        return "—"
    major = (Decimal(int(amount)) / 100).quantize(Decimal("1"))
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    return f"{symbol}{intcomma(major, use_l10n=False)}"


@register.filter
def age(value: datetime | None) -> str:
    """Return how long ago `value` was, in its largest unit only ("3 days")."""
    if value is None:
        return "—"
    return timesince(value, depth=1)
