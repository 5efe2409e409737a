"""Filters of refund lists: the API's query parameters (and the portal's filter form).

Every value is validated by a form field before it reaches the database, so a malformed
filter is a 400 with the one error shape, never a 500.
"""

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _

from payments.filters import AmountFilter
from refunds.models import Refund, RefundReason, RefundStatus, RequestChannel


class RefundFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RefundStatus.choices, label=_("Status"))
    payment = django_filters.CharFilter(
        field_name="payment__public_id", max_length=32, label=_("Payment id")
    )
    reason = django_filters.ChoiceFilter(choices=RefundReason.choices, label=_("Reason"))
    requested_via = django_filters.ChoiceFilter(
        choices=RequestChannel.choices, label=_("Requested via")
    )
    is_delayed = django_filters.BooleanFilter(label=_("Delayed (past the SLA)"))
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label=_("Requested at or after")
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label=_("Requested before")
    )
    amount_min = AmountFilter(field_name="amount", lookup_expr="gte", label=_("Amount at least"))
    amount_max = AmountFilter(field_name="amount", lookup_expr="lte", label=_("Amount at most"))

    class Meta:
        model = Refund
        fields: list[str] = []

    def is_valid(self) -> bool:
        if not super().is_valid():
            return False
        data: dict[str, Any] = self.form.cleaned_data
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
