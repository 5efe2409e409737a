"""Filters of payment lists: the API's query parameters and the portal's filter form.

Every value is validated by a form field before it reaches the database, so a malformed
filter is a 400 with the one error shape, never a 500.
"""

from typing import Any

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from payments.domain.models import Payment, PaymentChannel, PaymentStatus

MAX_AMOUNT_FILTER = 2**63 - 1  # PostgreSQL bigint


MULTIPLE_VALUE_FILTERS = ("status", "channel")


def filter_data_normalise(filters: Any) -> dict[str, Any]:
    """Return `filters` (a QueryDict or a dict) as a plain dict the filter set accepts.

    status and channel may come repeated (`?status=a&status=b`), comma-separated
    (`?status=a,b`) or as a list; every other filter takes its last value.
    """
    data: dict[str, Any] = {}
    for name in filters:
        if name in MULTIPLE_VALUE_FILTERS:
            raw = filters.getlist(name) if hasattr(filters, "getlist") else filters[name]
            values = raw if isinstance(raw, list | tuple) else [raw]
            data[name] = [
                part.strip() for value in values for part in str(value).split(",") if part.strip()
            ]
        else:
            data[name] = filters.get(name) if hasattr(filters, "getlist") else filters[name]
    return data


class AmountFilter(django_filters.Filter):
    """Whole minor units only: "10.5" or "1e9" are refused rather than rounded."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_AMOUNT_FILTER)
        super().__init__(*args, **kwargs)


class PaymentFilter(django_filters.FilterSet):
    # MultipleChoiceFilter adds DISTINCT by default (meant for to-many lookups); on plain
    # columns of one table it only makes PostgreSQL sort the whole result.
    status = django_filters.MultipleChoiceFilter(
        choices=PaymentStatus.choices, label=_("Status"), distinct=False
    )
    channel = django_filters.MultipleChoiceFilter(
        choices=PaymentChannel.choices, label=_("Channel"), distinct=False
    )
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label=_("Created at or after")
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label=_("Created before")
    )
    amount_min = AmountFilter(field_name="amount", lookup_expr="gte", label=_("Amount at least"))
    amount_max = AmountFilter(field_name="amount", lookup_expr="lte", label=_("Amount at most"))
    merchant_order_id = django_filters.CharFilter(
        field_name="merchant_order_id", max_length=64, label=_("Merchant order id")
    )

    class Meta:
        model = Payment
        fields: list[str] = []

    def is_valid(self) -> bool:
        if not super().is_valid():
            return False
        data = self.form.cleaned_data
        checks = (
            ("created_before", "created_after", _("The end is before the start.")),
            ("amount_max", "amount_min", _("The maximum is below the minimum.")),
        )
        for upper, lower, message in checks:
            high, low = data.get(upper), data.get(lower)
            if high is not None and low is not None and high < low:
                self.form.add_error(upper, message)
                return False
        return True
