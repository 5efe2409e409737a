"""Forms of the merchant owner's onboarding application: the steps, documents, submit."""

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from merchants.catalogues import Bank, MerchantCategory
from merchants.models import DocumentKind, MerchantApplication
from merchants.validators import (
    document_max_bytes,
    normalize_bank_account,
    normalize_code,
    validate_bank_account_number,
    validate_credit_code,
    validate_phone,
    validate_resident_id,
)

FEN_PER_YUAN = 100


class ApplicationStepForm(forms.ModelForm):
    """A step of the draft: every field optional (drafts save half-done), each value valid."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False

    def draft_data(self) -> dict[str, Any]:
        """Return the cleaned values to hand to `application_save_draft`."""
        return {name: self.cleaned_data.get(name) for name in self.fields}


class BusinessForm(ApplicationStepForm):
    expected_monthly_volume_yuan = forms.DecimalField(
        label=_("Expected monthly volume (CNY)"),
        min_value=Decimal("1"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Your estimate of the payments you will take in a month, in yuan."),
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    website = forms.URLField(
        label=_("Website"),
        max_length=200,
        assume_scheme="https",
        help_text=_("Where your customers will pay you."),
    )

    class Meta:
        model = MerchantApplication
        fields = ("legal_name", "credit_code", "mcc", "website")
        help_texts = {
            "legal_name": _("Exactly as printed on the business licence."),
            "credit_code": _("The 18-character code on the business licence."),
        }
        widgets = {
            "credit_code": forms.TextInput(
                attrs={"autocomplete": "off", "spellcheck": "false", "class": "mono"}
            ),
        }

    field_order = ("legal_name", "credit_code", "mcc", "expected_monthly_volume_yuan", "website")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mcc_field = cast(forms.ChoiceField, self.fields["mcc"])  # the model field has choices
        mcc_field.choices = [("", _("Choose a category")), *MerchantCategory.choices]
        volume = self.instance.expected_monthly_volume
        if volume is not None and not self.is_bound:
            self.initial["expected_monthly_volume_yuan"] = Decimal(volume) / FEN_PER_YUAN

    def clean_credit_code(self) -> str:
        code = normalize_code(self.cleaned_data.get("credit_code") or "")
        if code:
            validate_credit_code(code)
        return code

    def draft_data(self) -> dict[str, Any]:
        data = super().draft_data()
        yuan = data.pop("expected_monthly_volume_yuan")
        data["expected_monthly_volume"] = int(yuan * FEN_PER_YUAN) if yuan is not None else None
        return data


class RepresentativeForm(ApplicationStepForm):
    class Meta:
        model = MerchantApplication
        fields = (
            "representative_name",
            "representative_id_number",
            "contact_name",
            "contact_email",
            "contact_phone",
        )
        labels = {"representative_name": _("Legal representative's name")}
        help_texts = {
            "representative_name": _("As shown on the business licence."),
            "representative_id_number": _("18 characters: 17 digits and a digit or X."),
            "contact_name": _("Who we talk to about this application."),
        }
        widgets = {
            "representative_id_number": forms.TextInput(
                attrs={"autocomplete": "off", "spellcheck": "false", "class": "mono"}
            ),
            "contact_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "contact_email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }

    def clean_representative_id_number(self) -> str:
        number = normalize_code(self.cleaned_data.get("representative_id_number") or "")
        if number:
            validate_resident_id(number)
        return number

    def clean_contact_phone(self) -> str:
        phone = (self.cleaned_data.get("contact_phone") or "").strip()
        if phone:
            validate_phone(phone)
        return phone


class SettlementForm(ApplicationStepForm):
    class Meta:
        model = MerchantApplication
        fields = ("bank_account_name", "bank_code", "bank_branch", "bank_account_number")
        help_texts = {
            "bank_account_name": _("Usually your legal name: the account must belong to you."),
            "bank_branch": _("For example Hangzhou Xihu Sub-branch."),
            "bank_account_number": _("10 to 30 digits; spaces are ignored."),
        }
        widgets = {
            "bank_account_number": forms.TextInput(
                attrs={"inputmode": "numeric", "autocomplete": "off", "class": "mono"}
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bank_field = cast(
            forms.ChoiceField, self.fields["bank_code"]
        )  # the model field has choices
        bank_field.choices = [("", _("Choose a bank")), *Bank.choices]

    def clean_bank_account_number(self) -> str:
        number = normalize_bank_account(self.cleaned_data.get("bank_account_number") or "")
        if number:
            validate_bank_account_number(number)
        return number


STEP_FORMS: dict[str, type[ApplicationStepForm]] = {
    "business": BusinessForm,
    "representative": RepresentativeForm,
    "settlement": SettlementForm,
}


class DocumentUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=DocumentKind.choices)
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        megabytes = document_max_bytes() // (1024 * 1024)
        self.fields["file"].help_text = _("PDF, PNG or JPEG, up to %(size)d MB.") % {
            "size": megabytes
        }


class SubmitForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "I confirm that this information is true and complete, and that I may act for "
            "this business."
        ),
        error_messages={"required": _("Tick the box to confirm before you submit.")},
    )
