"""Forms of the passkey and payer sign-up pages: they parse input, services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.passkeys.models import PASSKEY_NAME_MAX_LENGTH


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(
            attrs={
                # "webauthn" lets the browser offer saved passkeys in this field's autofill.
                "autocomplete": "username webauthn",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
                "placeholder": "you@example.com",
            }
        ),
    )


class EmailCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        strip=True,
        help_text=_("The 6-digit code in the email we sent you."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit() or len(code) != 6:
            raise forms.ValidationError(_("Enter the 6 digits from the email."), code="format")
        return code


class PasskeyNameForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=PASSKEY_NAME_MAX_LENGTH,
        help_text=_("For example “My phone” or “Work laptop”, to tell your passkeys apart."),
        widget=forms.TextInput(attrs={"autofocus": True}),
    )
