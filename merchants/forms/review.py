"""Forms of the KYC review queue and of the administrators' merchant status actions."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from merchants.models import MerchantStatus
from merchants.selectors.applications import VOLUME_BANDS


class ApproveForm(forms.Form):
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the rejection"),
        max_length=2000,
        help_text=_("The merchant sees this text."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RequestInformationForm(forms.Form):
    message = forms.CharField(
        label=_("What must the merchant add or correct?"),
        max_length=2000,
        help_text=_("The merchant sees this text and can edit the application again."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StatusReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        help_text=_("Recorded in the audit log and shown to the merchant."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


QUEUE_STATUS_CHOICES = [
    ("open", _("Open")),
    (MerchantStatus.SUBMITTED.value, MerchantStatus.SUBMITTED.label),
    (MerchantStatus.UNDER_REVIEW.value, MerchantStatus.UNDER_REVIEW.label),
    (MerchantStatus.NEEDS_INFORMATION.value, MerchantStatus.NEEDS_INFORMATION.label),
    (MerchantStatus.APPROVED.value, MerchantStatus.APPROVED.label),
    (MerchantStatus.REJECTED.value, MerchantStatus.REJECTED.label),
    (MerchantStatus.SUSPENDED.value, MerchantStatus.SUSPENDED.label),
    ("all", _("All")),
]


class QueueFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": _("Legal name or credit code"), "type": "search"}
        ),
    )
    status = forms.ChoiceField(label=_("Status"), choices=QUEUE_STATUS_CHOICES, required=False)
    volume = forms.ChoiceField(
        label=_("Monthly volume"),
        required=False,
        choices=[("", _("Any volume")), *((b.slug, b.label) for b in VOLUME_BANDS)],
    )
    submitted_from = forms.DateField(
        label=_("Submitted from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    submitted_to = forms.DateField(
        label=_("Submitted to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def filters(self) -> dict[str, Any]:
        """Return keyword arguments for `application_list_for_review` (defaults if invalid)."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "status": data.get("status") or "open",
            "volume_band": data.get("volume") or "",
            "search": data.get("q") or "",
            "submitted_from": data.get("submitted_from"),
            "submitted_to": data.get("submitted_to"),
        }


class MerchantFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": _("Name, legal name or credit code"), "type": "search"}
        ),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *MerchantStatus.choices],
    )
