"""Filters of the audit log page."""

import datetime as dt

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditEvent


def _distinct_values(field: str) -> list[tuple[str, str]]:
    values = (
        AuditEvent.objects.exclude(**{field: ""})
        .order_by(field)
        .values_list(field, flat=True)
        .distinct()
    )
    return [(value, value) for value in values]


def _action_choices() -> list[tuple[str, str]]:
    return _distinct_values("action")


def _object_type_choices() -> list[tuple[str, str]]:
    return _distinct_values("object_type")


def _start_of_local_day(day: dt.date) -> dt.datetime:
    # Dates are the portal's local dates (TIME_ZONE), not UTC ones.
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class IPAddressFilter(django_filters.Filter):
    # Validating in the form keeps a malformed address from reaching PostgreSQL's inet cast.
    field_class = forms.GenericIPAddressField


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(
        field_name="actor_email", lookup_expr="icontains", label=_("Actor email contains")
    )
    action = django_filters.ChoiceFilter(
        choices=_action_choices, label=_("Action"), empty_label=_("Any action")
    )
    object_type = django_filters.ChoiceFilter(
        choices=_object_type_choices, label=_("Object type"), empty_label=_("Any type")
    )
    object_id = django_filters.CharFilter(field_name="object_id", label=_("Object id"))
    date_from = django_filters.DateFilter(
        method="filter_date_from",
        label=_("From date"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to",
        label=_("To date (inclusive)"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    ip = IPAddressFilter(field_name="ip_address", label=_("IP address"))

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def filter_date_from(
        self, queryset: QuerySet[AuditEvent], name: str, value: dt.date
    ) -> QuerySet[AuditEvent]:
        return queryset.filter(occurred_at__gte=_start_of_local_day(value))

    def filter_date_to(
        self, queryset: QuerySet[AuditEvent], name: str, value: dt.date
    ) -> QuerySet[AuditEvent]:
        # A range on the indexed column rather than __date, which would defeat the index.
        return queryset.filter(occurred_at__lt=_start_of_local_day(value + dt.timedelta(days=1)))

    def is_valid(self) -> bool:
        if not super().is_valid():
            return False
        date_from = self.form.cleaned_data.get("date_from")
        date_to = self.form.cleaned_data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.form.add_error("date_to", _("The end date is before the start date."))
            return False
        return True
