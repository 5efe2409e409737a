"""API input and output shapes of refunds (the output is also the webhook payload).

Input serializers are strict like payments': unknown fields, wrong JSON types and NUL
characters are a 400; text that looks like a card number a 422.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from merchants.models import ApiMode
from payments.domain.validators import card_number_refuse
from payments.selectors import PUBLIC_ID_PATTERN as PAYMENT_ID_PATTERN
from payments.serializers import CARD_NUMBER_REFUSED, StrictInputSerializer, StrictIntegerField
from payments.services.payments import MAX_AMOUNT
from refunds.models import Refund, RefundReason, RefundStatus, RequestChannel
from refunds.services.requests import REASON_TEXT_MAX_LENGTH


def _text(value: str) -> str:
    if "\x00" in value:
        raise serializers.ValidationError(_("Text may not contain NUL characters."))
    try:
        return card_number_refuse(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages, code=CARD_NUMBER_REFUSED) from None


class RefundCreateInputSerializer(StrictInputSerializer):
    payment = serializers.CharField(max_length=32, help_text=_("The payment's id (pay_...)."))
    amount = StrictIntegerField(
        min_value=1,
        max_value=MAX_AMOUNT,
        required=False,
        help_text=_("In the currency's minor unit; omit it to refund everything left."),
    )
    currency = serializers.CharField(
        max_length=3, required=False, help_text=_("Optional; must be the payment's currency.")
    )
    reason = serializers.ChoiceField(choices=RefundReason.choices)
    reason_text = serializers.CharField(
        max_length=REASON_TEXT_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Required when the reason is “other”."),
    )

    def validate_payment(self, value: str) -> str:
        if not PAYMENT_ID_PATTERN.match(value):
            raise serializers.ValidationError(_("Send a payment id such as pay_0123…"))
        return value

    def validate_reason_text(self, value: str) -> str:
        return _text(value)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["reason"] == RefundReason.OTHER and not data.get("reason_text", "").strip():
            raise serializers.ValidationError(
                {"reason_text": [_("Say why when the reason is “other”.")]}
            )
        return data


class RefundRejectInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=REASON_TEXT_MAX_LENGTH)

    def validate_reason(self, value: str) -> str:
        return _text(value)


class RefundCancelInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(
        max_length=REASON_TEXT_MAX_LENGTH, required=False, allow_blank=True, default=""
    )

    def validate_reason(self, value: str) -> str:
        return _text(value)


class RefundApproveInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(
        max_length=REASON_TEXT_MAX_LENGTH, required=False, allow_blank=True, default=""
    )

    def validate_reason(self, value: str) -> str:
        return _text(value)


class RefundFailureSerializer(serializers.Serializer):
    code = serializers.CharField(source="failure_code")
    message = serializers.CharField(source="failure_message")


class RefundOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    mode = serializers.ChoiceField(choices=ApiMode.choices)
    payment = serializers.CharField(source="payment.public_id")
    status = serializers.ChoiceField(choices=RefundStatus.choices)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    reason = serializers.ChoiceField(choices=RefundReason.choices)
    reason_text = serializers.CharField()
    requested_via = serializers.ChoiceField(choices=RequestChannel.choices)
    approval_required = serializers.SerializerMethodField()
    approval_reason = serializers.CharField()
    decision_reason = serializers.CharField()
    failure = serializers.SerializerMethodField()
    is_delayed = serializers.BooleanField()
    sla_due_at = serializers.DateTimeField(allow_null=True)
    delayed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    succeeded_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    manual_review_at = serializers.DateTimeField(allow_null=True)
    rejected_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)

    def get_object(self, refund: Refund) -> str:
        return "refund"

    def get_approval_required(self, refund: Refund) -> bool:
        return bool(refund.approval_reason)

    def get_failure(self, refund: Refund) -> dict[str, str] | None:
        if refund.status not in {RefundStatus.FAILED, RefundStatus.MANUAL_REVIEW}:
            return None
        return dict(RefundFailureSerializer(refund).data)


def refund_data(refund: Refund) -> dict[str, Any]:
    """Return the refund as the API shows it (and as webhook events carry it)."""
    return dict(RefundOutputSerializer(refund).data)
