"""Forms of the accounts app."""

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import Role
from accounts.services.users import AccountType


class SignupForm(AllauthSignupForm):
    """allauth's sign-up plus who is signing up: a payer, or a merchant and its business name."""

    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    account_type = forms.ChoiceField(
        label=_("I am signing up as"),
        choices=[
            (AccountType.MERCHANT, _("A merchant: my business takes payments")),
            (AccountType.PAYER, _("A payer: I pay merchants")),
        ],
        widget=forms.RadioSelect,
    )
    business_name = forms.CharField(
        label=_("Business name"),
        max_length=200,
        required=False,
        help_text=_("Required for merchants."),
    )

    def clean_business_name(self) -> str:
        return str(self.cleaned_data.get("business_name", "")).strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("account_type") == AccountType.MERCHANT and not cleaned.get("business_name"):
            self.add_error("business_name", _("Enter your business name."))
        return cleaned

    def save(self, request: HttpRequest) -> User:
        # The user, their email address, role and (for merchants) the draft merchant commit
        # together or not at all; the adapter's save_user does the role and the hook.
        with transaction.atomic():
            return super().save(request)


class UserRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class UserSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=254, required=False)
    role = forms.ChoiceField(
        label=_("Role"), choices=[("", _("Any role")), *Role.choices], required=False
    )
    is_active = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Any status")), ("1", _("Active")), ("0", _("Deactivated"))],
        required=False,
    )


class TwoFactorResetForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Recorded in the audit log. Say why, and how the user proved who they are "
            "(for example: lost phone and recovery codes, identity checked by video call)."
        ),
    )
