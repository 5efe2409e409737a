"""Forms of the payments portal and the hosted checkout.

`PaymentSearchForm` is the filter bar of the payments list (merchant and staff) and of the
CSV export: both read the same cleaned filters, so the export holds exactly the rows the
list shows. People type dates and amounts in major units; `api_filters()` turns them into
the API's filters (ISO instants, minor units), which `payments.selectors` applies.
"""

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.models import ApiMode, Merchant
from payments.domain.models import PaymentChannel, PaymentStatus
from payments.domain.validators import DEFAULT_CURRENCY, ISO_4217_CURRENCIES
from payments.templatetags.money import major_to_minor

SEARCH_MAX_LENGTH = 254
# The largest amount a bigint column holds is about 9.2e18 minor units; far above any payment.
AMOUNT_MAX_DIGITS = 15


class PaymentSearchForm(forms.Form):
    """Filters of a payments list; every field is optional."""

    q = forms.CharField(
        label=_("Search"),
        max_length=SEARCH_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Payment id, order id or payer email"), "type": "search"}
        ),
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *PaymentStatus.choices], required=False
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[("", _("Any channel")), *PaymentChannel.choices],
        required=False,
    )
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("Created to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=[("", _("Any currency")), *((code, code) for code in sorted(ISO_4217_CURRENCIES))],
        required=False,
    )
    amount_min = forms.DecimalField(
        label=_("Amount from"),
        required=False,
        min_value=Decimal(0),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    amount_max = forms.DecimalField(
        label=_("Amount to"),
        required=False,
        min_value=Decimal(0),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    merchant_order_id = forms.CharField(label=_("Merchant order id"), max_length=64, required=False)
    mode = forms.ChoiceField(label=_("Mode"), choices=ApiMode.choices, required=False)

    def __init__(self, *args: Any, staff: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.staff = staff
        if staff:
            # Staff see every merchant: both modes by default, and a merchant filter.
            mode_field = self.fields["mode"]
            assert isinstance(mode_field, forms.ChoiceField)
            mode_field.choices = [("", _("Any mode")), *ApiMode.choices]
            self.fields["merchant"] = forms.ModelChoiceField(
                label=_("Merchant"),
                queryset=Merchant.objects.order_by("name", "pk"),
                to_field_name="public_id",
                required=False,
                empty_label=_("Any merchant"),
            )
            self.order_fields(["q", "merchant"])

    def clean_q(self) -> str:
        return str(self.cleaned_data.get("q") or "").strip()

    def clean_merchant_order_id(self) -> str:
        return str(self.cleaned_data.get("merchant_order_id") or "").strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", _("The end date is before the start date."))
        low, high = cleaned.get("amount_min"), cleaned.get("amount_max")
        if low is not None and high is not None and high < low:
            self.add_error("amount_max", _("The maximum is below the minimum."))
        return cleaned

    @property
    def amount_currency(self) -> str:
        """The currency the amount bounds are in: the chosen one, else the platform's."""
        return str(self.cleaned_data.get("currency") or DEFAULT_CURRENCY)

    def has_amount_bounds(self) -> bool:
        data = self.cleaned_data
        return data.get("amount_min") is not None or data.get("amount_max") is not None

    def api_filters(self) -> dict[str, Any]:
        """Return the cleaned filters as `payments.selectors` takes them (call after is_valid).

        Dates are whole local days (the end date included); amounts become minor units of
        `amount_currency`, rounded inwards so that "from 0.015" never matches 0.01.
        """
        data = self.cleaned_data
        filters: dict[str, Any] = {}
        for name in ("status", "channel"):
            if data.get(name):
                filters[name] = [data[name]]
        if data.get("created_from"):
            filters["created_after"] = _day_start(data["created_from"]).isoformat()
        if data.get("created_to"):
            filters["created_before"] = _day_start(
                data["created_to"] + timedelta(days=1)
            ).isoformat()
        currency = self.amount_currency
        if data.get("amount_min") is not None:
            filters["amount_min"] = math.ceil(major_to_minor(data["amount_min"], currency))
        if data.get("amount_max") is not None:
            filters["amount_max"] = math.floor(major_to_minor(data["amount_max"], currency))
        if data.get("merchant_order_id"):
            filters["merchant_order_id"] = data["merchant_order_id"]
        return filters

    def currency_filter(self) -> str | None:
        """Return the currency to keep (amount bounds only make sense in one), or None."""
        if self.cleaned_data.get("currency") or self.has_amount_bounds():
            return self.amount_currency
        return None

    def active_filters(self) -> dict[str, Any]:
        """Return the non-empty cleaned values (for the audit record of an export)."""
        active = {}
        for name, value in self.cleaned_data.items():
            if value in (None, "", []):
                continue
            if isinstance(value, Merchant):
                value = str(value.public_id)
            elif isinstance(value, date | Decimal):
                value = str(value)
            active[name] = value
        return active


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())
