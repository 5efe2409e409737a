"""API input and output shapes of payments (the output is also the webhook payload).

Input serializers are strict: unknown fields, wrong JSON types ("100" for an amount),
NUL characters and unencodable text are refused with a 400, and anything that looks like
a card number with a 422, before a service sees the data.
"""

import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from merchants.models import ApiMode
from payments.domain.models import Payment, PaymentChannel, PaymentStatus
from payments.domain.validators import (
    DEFAULT_CURRENCY,
    CardNumberRefused,
    card_number_refuse,
    currency_validate,
    metadata_validate,
    region_validate,
)
from payments.selectors import payment_checkout_url
from payments.services.payments import MAX_AMOUNT, PaymentInput

CARD_NUMBER_REFUSED = "card_number_refused"
MERCHANT_ORDER_ID = re.compile(r"^[\x21-\x7e]{1,64}$")  # visible ASCII, no spaces
PHONE = re.compile(r"^\+?[0-9]{6,15}$")


def _django_errors(error: DjangoValidationError) -> Any:
    return error.message_dict if hasattr(error, "error_dict") else error.messages


def _refuse_card_numbers(value: str) -> str:
    try:
        return card_number_refuse(value)
    except CardNumberRefused as error:
        raise serializers.ValidationError(_django_errors(error), code=CARD_NUMBER_REFUSED) from None


def _unencodable(data: Any) -> bool:
    """Return whether `data` holds text PostgreSQL cannot store (lone surrogates, NUL)."""
    if isinstance(data, str):
        if "\x00" in data:
            return True
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(data, dict):
        return any(_unencodable(k) or _unencodable(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_unencodable(item) for item in data)
    return False


class StrictInputSerializer(serializers.Serializer):
    """Refuse fields the endpoint does not know (nested objects too), instead of ignoring a typo."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer that must be a JSON integer: "100", 100.0 and true are refused."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class PayerInputSerializer(StrictInputSerializer):
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")

    def validate_phone(self, value: str) -> str:
        compact = re.sub(r"[\s()-]", "", value)
        if compact and not PHONE.match(compact):
            raise serializers.ValidationError(_("Use a phone number such as +8613800138000."))
        return compact


class DeviceInputSerializer(StrictInputSerializer):
    fingerprint = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default=""
    )
    ip = serializers.IPAddressField(required=False, allow_null=True, default=None)
    user_agent = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", trim_whitespace=False
    )


class PaymentCreateInputSerializer(StrictInputSerializer):
    amount = StrictIntegerField(
        min_value=1, max_value=MAX_AMOUNT, help_text=_("In the currency's minor unit (fen).")
    )
    currency = serializers.CharField(
        max_length=3, required=False, default=DEFAULT_CURRENCY, help_text=_("ISO 4217 code.")
    )
    channel = serializers.ChoiceField(choices=PaymentChannel.choices)
    merchant_order_id = serializers.CharField(max_length=64)
    description = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )
    payer = PayerInputSerializer(required=False)
    device = DeviceInputSerializer(required=False)
    region = serializers.CharField(
        max_length=8,
        required=False,
        default="other",
        help_text=_("east, north, south, other, or a province code such as CN-ZJ."),
    )
    return_url = serializers.URLField(max_length=2048, required=False, allow_blank=True, default="")
    metadata = serializers.DictField(
        child=serializers.JSONField(), required=False, default=dict, allow_empty=True
    )

    def __init__(self, *args: Any, mode: str = ApiMode.TEST, **kwargs: Any) -> None:
        self.mode = mode
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if _unencodable(data):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Text may not contain NUL or unpaired surrogates.")]}
            )
        return super().to_internal_value(data)

    def validate_currency(self, value: str) -> str:
        try:
            return currency_validate(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def validate_merchant_order_id(self, value: str) -> str:
        if not MERCHANT_ORDER_ID.match(value):
            raise serializers.ValidationError(
                _("Use 1 to 64 visible ASCII characters, without spaces.")
            )
        return value

    def validate_description(self, value: str) -> str:
        return _refuse_card_numbers(value)

    def validate_region(self, value: str) -> str:
        try:
            region, _group = region_validate(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return region

    def validate_return_url(self, value: str) -> str:
        if value and self.mode == ApiMode.LIVE and not value.startswith("https://"):
            raise serializers.ValidationError(_("Use an https:// URL in live mode."))
        if value and not value.startswith(("https://", "http://")):
            raise serializers.ValidationError(_("Use an http(s):// URL."))
        return value

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, str]:
        try:
            return metadata_validate(value)
        except CardNumberRefused as error:
            raise serializers.ValidationError(
                _django_errors(error), code=CARD_NUMBER_REFUSED
            ) from None
        except DjangoValidationError as error:
            raise serializers.ValidationError(_django_errors(error)) from None

    def payment_input(self) -> PaymentInput:
        """Return the validated body as the service's input."""
        data = self.validated_data
        payer = data.get("payer") or {}
        device = data.get("device") or {}
        return PaymentInput(
            amount=data["amount"],
            currency=data["currency"],
            channel=data["channel"],
            merchant_order_id=data["merchant_order_id"],
            description=data["description"],
            payer_email=payer.get("email", ""),
            payer_phone=payer.get("phone", ""),
            device_fingerprint=device.get("fingerprint", ""),
            device_ip=device.get("ip"),
            device_user_agent=device.get("user_agent", ""),
            region=data["region"],
            return_url=data["return_url"],
            metadata=data["metadata"],
        )


class PaymentCancelInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate_reason(self, value: str) -> str:
        return _refuse_card_numbers(value)


def errors_have_code(errors: Any, code: str) -> bool:
    """Return whether DRF `errors` (nested dicts and lists of ErrorDetail) carry `code`."""
    if isinstance(errors, dict):
        return any(errors_have_code(value, code) for value in errors.values())
    if isinstance(errors, list):
        return any(errors_have_code(value, code) for value in errors)
    return getattr(errors, "code", None) == code


class PayerOutputSerializer(serializers.Serializer):
    email = serializers.CharField(source="payer_email")
    phone = serializers.CharField(source="payer_phone")


class DeviceOutputSerializer(serializers.Serializer):
    fingerprint = serializers.CharField(source="device_fingerprint")
    ip = serializers.CharField(source="device_ip", allow_null=True)
    user_agent = serializers.CharField(source="device_user_agent")


class FailureOutputSerializer(serializers.Serializer):
    code = serializers.CharField(source="failure_code")
    message = serializers.CharField(source="failure_message")


class PaymentOutputSerializer(serializers.Serializer):
    """The payment as the API shows it: the schema's description of `payment_data`."""

    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    mode = serializers.ChoiceField(choices=ApiMode.choices)
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    amount = serializers.IntegerField()
    amount_captured = serializers.SerializerMethodField()
    fee = serializers.IntegerField(source="fee_amount", allow_null=True)
    net = serializers.IntegerField(source="net_amount", allow_null=True)
    currency = serializers.CharField()
    channel = serializers.ChoiceField(choices=PaymentChannel.choices)
    merchant_order_id = serializers.CharField()
    description = serializers.CharField()
    payer = PayerOutputSerializer(source="*")
    device = DeviceOutputSerializer(source="*")
    region = serializers.CharField()
    region_group = serializers.CharField()
    return_url = serializers.CharField()
    metadata = serializers.DictField(child=serializers.CharField())
    checkout_url = serializers.SerializerMethodField()
    failure = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    succeeded_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)
    expired_at = serializers.DateTimeField(allow_null=True)

    def get_object(self, payment: Payment) -> str:
        return "payment"

    def get_amount_captured(self, payment: Payment) -> int:
        return payment.amount if payment.status == PaymentStatus.SUCCEEDED else 0

    def get_checkout_url(self, payment: Payment) -> str | None:
        # Only while the payer can still act on it.
        if payment.status != PaymentStatus.REQUIRES_CONFIRMATION:
            return None
        return payment_checkout_url(payment)

    def get_failure(self, payment: Payment) -> dict[str, str] | None:
        if payment.status != PaymentStatus.FAILED:
            return None
        return dict(FailureOutputSerializer(payment).data)


# DRF's own rendering of a moment (ISO 8601 in the current time zone, "Z" for UTC), from
# one shared field: it keeps no state between calls.
_MOMENT = serializers.DateTimeField()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)


def _moment(value: Any) -> str | None:
    return None if value is None else _MOMENT.to_representation(value)


def payment_data(payment: Payment) -> dict[str, Any]:
    """Return the payment as the API shows it (and as webhook events carry it).

    Exactly `PaymentOutputSerializer(payment).data`, field for field and in its order
    (tests/payments/test_response_shape.py compares them), without building a serializer:
    DRF deep-copies every declared field of each serializer instance, which made this a
    tenth of the CPU of creating a payment. Change both together.
    """
    status = payment.status
    metadata = payment.metadata
    return {
        "id": _text(payment.public_id),
        "object": "payment",
        "mode": _text(payment.mode),
        "status": _text(status),
        "amount": _integer(payment.amount),
        "amount_captured": payment.amount if status == PaymentStatus.SUCCEEDED else 0,
        "fee": _integer(payment.fee_amount),
        "net": _integer(payment.net_amount),
        "currency": _text(payment.currency),
        "channel": _text(payment.channel),
        "merchant_order_id": _text(payment.merchant_order_id),
        "description": _text(payment.description),
        "payer": {"email": _text(payment.payer_email), "phone": _text(payment.payer_phone)},
        "device": {
            "fingerprint": _text(payment.device_fingerprint),
            "ip": _text(payment.device_ip),
            "user_agent": _text(payment.device_user_agent),
        },
        "region": _text(payment.region),
        "region_group": _text(payment.region_group),
        "return_url": _text(payment.return_url),
        "metadata": None
        if metadata is None
        else {str(key): _text(value) for key, value in metadata.items()},
        # Only while the payer can still act on it.
        "checkout_url": payment_checkout_url(payment)
        if status == PaymentStatus.REQUIRES_CONFIRMATION
        else None,
        "failure": {
            "code": _text(payment.failure_code),
            "message": _text(payment.failure_message),
        }
        if status == PaymentStatus.FAILED
        else None,
        "created_at": _moment(payment.created_at),
        "expires_at": _moment(payment.expires_at),
        "confirmed_at": _moment(payment.confirmed_at),
        "succeeded_at": _moment(payment.succeeded_at),
        "failed_at": _moment(payment.failed_at),
        "canceled_at": _moment(payment.canceled_at),
        "expired_at": _moment(payment.expired_at),
    }
