"""Portal forms for the team, developer (API keys, webhooks) and settlement terms pages.

Forms only parse input; the services check the rules and raise ApplicationError, which the
views turn into form errors.
"""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from config.errors import ApplicationError
from merchants.models import ApiMode, TeamRole, WebhookEventType
from merchants.models.settlement import MAX_FEE_BPS
from merchants.services.webhooks import DEFAULT_ROTATION_OVERLAP_HOURS, MAX_ROTATION_OVERLAP_HOURS


def form_add_application_error(form: forms.Form, error: ApplicationError) -> None:
    """Show a service's refusal on the form: on its fields when it names them, else on top."""
    placed = False
    for field, messages in (error.details or {}).items():
        if field in form.fields and isinstance(messages, list):
            for message in messages:
                form.add_error(field, str(message))
            placed = True
    if not placed:
        form.add_error(None, error.message)


def _role_choices(*, include_owner: bool) -> list[tuple[str, Any]]:
    return [
        (value, label) for value, label in TeamRole.choices if include_owner or value != "owner"
    ]


class TeamInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Team role"), choices=TeamRole.choices)

    def __init__(self, *args: Any, can_grant_owner: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = _role_choices(include_owner=can_grant_owner)
        self.fields["role"].initial = TeamRole.DEVELOPER


class TeamRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Team role"), choices=TeamRole.choices)


class InvitationSignupForm(forms.Form):
    """A new account for an invited address: the link itself proves the address."""

    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    password1 = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                from accounts.models import User

                password_validation.validate_password(
                    first, User(email=self.email, full_name=cleaned.get("full_name", ""))
                )
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Where the key is used, e.g. “Online shop backend”."),
    )
    mode = forms.ChoiceField(
        label=_("Mode"), choices=ApiMode.choices, initial=ApiMode.TEST, widget=forms.RadioSelect
    )


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=2048,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/paydesk"}),
        help_text=_("HTTPS only. http://localhost is accepted in test mode."),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events to send"),
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class WebhookEndpointCreateForm(WebhookEndpointForm):
    mode = forms.ChoiceField(
        label=_("Mode"), choices=ApiMode.choices, initial=ApiMode.TEST, widget=forms.RadioSelect
    )


class WebhookEndpointEditForm(WebhookEndpointForm):
    is_enabled = forms.BooleanField(label=_("Enabled"), required=False)


class WebhookRotateForm(forms.Form):
    overlap_hours = forms.IntegerField(
        label=_("Keep the current secret valid for (hours)"),
        min_value=0,
        max_value=MAX_ROTATION_OVERLAP_HOURS,
        initial=DEFAULT_ROTATION_OVERLAP_HOURS,
        help_text=_("Both secrets sign deliveries meanwhile; 0 ends the current one now."),
    )


class MinimumPayoutForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Minimum payout (CNY)"),
        min_value=Decimal(0),
        max_value=Decimal("10000000.00"),
        decimal_places=2,
        max_digits=12,
        help_text=_("A smaller balance waits for the next settlement."),
    )

    def amount_in_fen(self) -> int:
        return int(self.cleaned_data["amount"] * 100)


class CycleRequestForm(forms.Form):
    note = forms.CharField(
        label=_("Why do you need same-day settlement?"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class FeesForm(forms.Form):
    wallet_fee_bps = forms.IntegerField(
        label=_("Mobile wallets (Alipay, WeChat Pay), basis points"),
        min_value=0,
        max_value=MAX_FEE_BPS,
    )
    bank_card_fee_bps = forms.IntegerField(
        label=_("Bank card, basis points"), min_value=0, max_value=MAX_FEE_BPS
    )
    other_fee_bps = forms.IntegerField(
        label=_("Other channels, basis points"), min_value=0, max_value=MAX_FEE_BPS
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class MerchantSearchForm(forms.Form):
    q = forms.CharField(label=_("Merchant name"), max_length=200, required=False)
