"""Forms of the two-factor pages: they only parse input; the services check the codes."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """One code: a 6-digit TOTP code or, where `accepts_recovery_code`, a recovery code."""

    accepts_recovery_code = True

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.accepts_recovery_code:
            self.fields["code"].help_text = _(
                "The 6-digit code from your authenticator app, or one of your recovery codes."
            )
        else:
            self.fields["code"].help_text = _("The 6-digit code from your authenticator app.")
            self.fields["code"].widget.attrs["inputmode"] = "numeric"

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        if not self.accepts_recovery_code:
            compact = "".join(code.split())
            if not compact.isdigit() or len(compact) not in (6, 8):
                raise forms.ValidationError(
                    _("Enter the 6-digit code your authenticator app shows."), code="format"
                )
        return code


class SetupForm(CodeForm):
    """Confirm a new authenticator app with its first code, and name it."""

    accepts_recovery_code = False

    name = forms.CharField(
        label=_("Name of this authenticator"),
        max_length=64,
        required=False,
        help_text=_("For example “Work phone”, to tell your devices apart."),
    )

    field_order = ("code", "name")
