"""Forms of the refunds portal: the list's filters, the refund request, the decisions.

People type amounts in major units ("12.50") and dates as whole days; the forms turn
them into what the refunds selectors and services take (minor units, ISO instants), so
the list, its CSV export and the API agree on what a filter means.
"""

import math
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.models import ApiMode, Merchant
from payments.domain.models import Payment
from payments.domain.validators import (
    DEFAULT_CURRENCY,
    ISO_4217_CURRENCIES,
    card_number_refuse,
)
from payments.templatetags.money import currency_exponent, major_to_minor, minor_to_major
from refunds.models import RefundReason, RefundStatus, RequestChannel
from refunds.selectors import RefundSummary
from refunds.services.requests import REASON_TEXT_MAX_LENGTH

SEARCH_MAX_LENGTH = 40
AMOUNT_MAX_DIGITS = 15
TOKEN_SALT = "refunds.portal.request"
# A refund form older than this is refused: the refundable amount it showed may be stale.
TOKEN_MAX_AGE = timedelta(hours=12)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _amount_field(label: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal(0),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


class RefundSearchForm(forms.Form):
    """Filters of a refunds list (merchant or staff) and of its CSV export; all optional."""

    q = forms.CharField(
        label=_("Refund or payment id"),
        max_length=SEARCH_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("re_… or pay_…"), "type": "search", "spellcheck": "false"}
        ),
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *RefundStatus.choices], required=False
    )
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", _("Any reason")), *RefundReason.choices], required=False
    )
    requested_via = forms.ChoiceField(
        label=_("Requested via"),
        choices=[("", _("Anywhere")), *RequestChannel.choices],
        required=False,
    )
    created_from = forms.DateField(
        label=_("Requested from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("Requested to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=[("", _("Any currency")), *((code, code) for code in sorted(ISO_4217_CURRENCIES))],
        required=False,
    )
    amount_min = _amount_field(_("Amount from"))
    amount_max = _amount_field(_("Amount to"))
    delayed = forms.BooleanField(label=_("Delayed only"), required=False)
    mode = forms.ChoiceField(label=_("Mode"), choices=ApiMode.choices, required=False)

    def __init__(self, *args: Any, staff: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.staff = staff
        if staff:
            # Staff see every merchant: both modes unless one is chosen, and a merchant filter.
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
        value = str(self.cleaned_data.get("q") or "").strip().lower()
        if value and not value.startswith(("re_", "pay_")):
            raise forms.ValidationError(_("Enter a refund id (re_…) or a payment id (pay_…)."))
        return value

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

    def selector_filters(self) -> dict[str, Any]:
        """Return the filters as `refunds.selectors.refund_list_for_merchant` takes them.

        Call after is_valid. Dates are whole local days (the end date included); amounts
        become minor units, rounded inwards so that "from 0.015" never matches 0.01.
        """
        data = self.cleaned_data
        filters: dict[str, Any] = {}
        if data.get("status"):
            filters["status"] = [data["status"]]
        for name in ("reason", "requested_via"):
            if data.get(name):
                filters[name] = data[name]
        if data.get("q", "").startswith("pay_"):
            filters["payment"] = data["q"]
        if data.get("delayed"):
            filters["is_delayed"] = "true"
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
        return filters

    def refund_id(self) -> str:
        """Return the refund id searched for, or "" (call after is_valid)."""
        value = str(self.cleaned_data.get("q") or "")
        return value if value.startswith("re_") else ""

    def currency_filter(self) -> str | None:
        """Return the currency to keep (amount bounds only make sense in one), or None."""
        if self.cleaned_data.get("currency") or self.has_amount_bounds():
            return self.amount_currency
        return None

    def active_filters(self) -> dict[str, Any]:
        """Return the non-empty cleaned values (for the audit record of an export)."""
        active: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if value in (None, "", [], False):
                continue
            if isinstance(value, Merchant):
                value = str(value.public_id)
            elif isinstance(value, date | Decimal):
                value = str(value)
            active[name] = value
        return active


def _text_without_card_number(form: forms.Form, name: str, value: str) -> str:
    """Return `value`, or refuse it when it holds a card number (and never show it again)."""
    try:
        return card_number_refuse(value)
    except ValidationError as error:
        # The re-rendered form must not echo the card number back into the page.
        data = QueryDict(mutable=True)
        data.update(form.data)
        data[name] = ""
        form.data = data
        raise forms.ValidationError(error.messages, code="card_number_refused") from None


def submission_token_new(payment: Payment) -> str:
    """Return a fresh signed token for one refund form of `payment` (double-submit guard)."""
    return signing.dumps({"payment": payment.public_id, "nonce": uuid.uuid4().hex}, salt=TOKEN_SALT)


class RefundRequestForm(forms.Form):
    """Ask for a refund of one payment: amount in major units, reason, and a form token.

    The amount is checked against what the page showed as refundable; the service checks
    it again under the payment's lock, so a stale page can never over-refund.
    """

    amount = forms.DecimalField(
        label=_("Amount to refund"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"inputmode": "decimal"}),
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=RefundReason.choices)
    reason_text = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=REASON_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the reason is “Other”. Never enter card numbers."),
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=300)

    def __init__(self, *args: Any, payment: Payment, summary: RefundSummary, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.summary = summary
        exponent = currency_exponent(payment.currency)
        step = Decimal(1).scaleb(-exponent)
        maximum = minor_to_major(summary.refundable, payment.currency)
        amount = self.fields["amount"]
        amount.widget.attrs.update({"step": str(step), "min": str(step), "max": str(maximum)})
        amount.help_text = _("At most %(amount)s %(currency)s.") % {
            "amount": f"{maximum:,f}",
            "currency": payment.currency,
        }
        if not self.is_bound:
            self.initial.setdefault("amount", maximum)
            self.initial.setdefault("reason", RefundReason.REQUESTED_BY_CUSTOMER)
            self.initial.setdefault("token", submission_token_new(payment))
        # Lists the reason text's field for the "show only for Other" behaviour.
        self.fields["reason_text"].widget.attrs["maxlength"] = str(REASON_TEXT_MAX_LENGTH)

    def clean_amount(self) -> int:
        """Return the amount in minor units, whole and within what is refundable."""
        value = self.cleaned_data["amount"]
        minor = major_to_minor(value, self.payment.currency)
        if minor != minor.to_integral_value():
            places = currency_exponent(self.payment.currency)
            raise forms.ValidationError(
                _("Use at most %(places)d decimal places for %(currency)s.")
                % {"places": places, "currency": self.payment.currency}
            )
        amount = int(minor)
        if amount <= 0:
            raise forms.ValidationError(_("Enter an amount above zero."))
        if amount > self.summary.refundable:
            maximum = minor_to_major(self.summary.refundable, self.payment.currency)
            raise forms.ValidationError(
                _("At most %(amount)s %(currency)s is left to refund.")
                % {"amount": f"{maximum:,f}", "currency": self.payment.currency}
            )
        return amount

    def clean_reason_text(self) -> str:
        value = str(self.cleaned_data.get("reason_text") or "").strip()
        return _text_without_card_number(self, "reason_text", value)

    def clean_token(self) -> str:
        """Return the token's nonce; refuse a forged, foreign or expired token."""
        try:
            data = signing.loads(
                self.cleaned_data["token"],
                salt=TOKEN_SALT,
                max_age=TOKEN_MAX_AGE,
            )
        except signing.BadSignature:
            raise forms.ValidationError(
                _("This form has expired. Check the amount and send it again.")
            ) from None
        if not isinstance(data, dict) or data.get("payment") != self.payment.public_id:
            raise forms.ValidationError(_("This form belongs to another payment."))
        return str(data.get("nonce", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("reason") == RefundReason.OTHER and not cleaned.get("reason_text"):
            self.add_error("reason_text", _("Say why when the reason is “Other”."))
        return cleaned

    def fresh_token(self) -> None:
        """Give the re-rendered form a new token (after an expired one was refused)."""
        data = QueryDict(mutable=True)
        data.update(self.data)
        data["token"] = submission_token_new(self.payment)
        self.data = data


class RefundRejectForm(forms.Form):
    """Why a refund awaiting approval is rejected (shown on its timeline)."""

    reason = forms.CharField(
        label=_("Reason for rejecting"),
        max_length=REASON_TEXT_MAX_LENGTH,
        error_messages={"required": _("Say why.")},
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": str(REASON_TEXT_MAX_LENGTH)}),
    )

    def clean_reason(self) -> str:
        value = str(self.cleaned_data.get("reason") or "").strip()
        if not value:
            raise forms.ValidationError(_("Say why."))
        return _text_without_card_number(self, "reason", value)


class RefundCancelForm(forms.Form):
    """Why the requester withdraws a refund (optional)."""

    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=REASON_TEXT_MAX_LENGTH,
        widget=forms.TextInput(attrs={"maxlength": str(REASON_TEXT_MAX_LENGTH)}),
    )

    def clean_reason(self) -> str:
        value = str(self.cleaned_data.get("reason") or "").strip()
        return _text_without_card_number(self, "reason", value)


class RefundCloseForm(forms.Form):
    """Why a refund in manual review is closed as failed (shown on its timeline)."""

    CLOSE_REASON_MAX_LENGTH = 255

    reason = forms.CharField(
        label=_("Why close it"),
        max_length=CLOSE_REASON_MAX_LENGTH,
        error_messages={"required": _("Say why.")},
        widget=forms.TextInput(attrs={"maxlength": str(CLOSE_REASON_MAX_LENGTH)}),
    )

    def clean_reason(self) -> str:
        value = str(self.cleaned_data.get("reason") or "").strip()
        return _text_without_card_number(self, "reason", value)


PERIOD_CHOICES = (("7", _("Last 7 days")), ("30", _("Last 30 days")), ("90", _("Last 90 days")))
SORT_CHOICES = (("oldest", _("Longest waiting first")), ("newest", _("Most recent first")))


class DelayedQueueForm(forms.Form):
    """The delayed queue's period (of the delayed-refund rate) and sort order."""

    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, required=False)
    sort = forms.ChoiceField(label=_("Sort"), choices=SORT_CHOICES, required=False)

    def period_days(self) -> int:
        return int(self.cleaned_data.get("period") or 30) if self.is_valid() else 30

    def sort_order(self) -> str:
        return str(self.cleaned_data.get("sort") or "oldest") if self.is_valid() else "oldest"
