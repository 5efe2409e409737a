"""API input and output shapes of the merchants app (thin: services validate the rules)."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from merchants.models import ApiMode, MerchantStatus, WebhookEventType
from merchants.services.webhooks import DEFAULT_ROTATION_OVERLAP_HOURS, MAX_ROTATION_OVERLAP_HOURS


class StrictInputSerializer(serializers.Serializer):
    """Refuse fields the endpoint does not know, instead of silently ignoring a typo."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, dict):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return attrs


class MerchantOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=MerchantStatus.choices)
    mode = serializers.ChoiceField(
        choices=ApiMode.choices, help_text=_("The mode of the key that made the request.")
    )


class WebhookEndpointOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    url = serializers.URLField()
    description = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEventType.choices))
    enabled = serializers.BooleanField(source="is_enabled")
    mode = serializers.ChoiceField(choices=ApiMode.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(
        help_text=_("The signing secret (whsec_…). Shown only in this response: store it now.")
    )


class WebhookEndpointCreateInputSerializer(StrictInputSerializer):
    url = serializers.CharField(
        max_length=2048,
        help_text=_("HTTPS URL. Plain http:// is accepted for localhost with a test key."),
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        allow_empty=False,
        max_length=len(WebhookEventType.values),
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    enabled = serializers.BooleanField(required=False, default=True)


class WebhookEndpointUpdateInputSerializer(StrictInputSerializer):
    url = serializers.CharField(max_length=2048, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        allow_empty=False,
        required=False,
        max_length=len(WebhookEventType.values),
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if not attrs:
            raise serializers.ValidationError(
                _("Send at least one of: url, events, description, enabled.")
            )
        return attrs


class WebhookSecretRotateInputSerializer(StrictInputSerializer):
    overlap_hours = serializers.IntegerField(
        min_value=0,
        max_value=MAX_ROTATION_OVERLAP_HOURS,
        required=False,
        default=DEFAULT_ROTATION_OVERLAP_HOURS,
        help_text=_("How long the current secrets keep signing (hours, default 24)."),
    )


class WebhookSecretRotatedSerializer(serializers.Serializer):
    endpoint_id = serializers.UUIDField()
    secret = serializers.CharField(help_text=_("The new signing secret, shown only once."))
    previous_secrets_expire_at = serializers.DateTimeField()
