"""API shapes of webhook events, their deliveries and attempts (read-only, plus redeliver)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from merchants.models import ApiMode
from merchants.serializers import StrictInputSerializer
from payments.webhooks.models import DeliveryStatus


class WebhookAttemptOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    manual = serializers.BooleanField(source="is_manual")
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    succeeded = serializers.BooleanField(source="is_success")
    response_status = serializers.IntegerField(allow_null=True)
    response_excerpt = serializers.CharField(help_text=_("The first 1 KB of the response body."))
    error = serializers.CharField()


class WebhookDeliveryOutputSerializer(serializers.Serializer):
    endpoint_id = serializers.UUIDField(
        source="endpoint.public_id",
        allow_null=True,
        default=None,
        help_text=_("Null once the endpoint is deleted."),
    )
    url = serializers.URLField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    attempts = WebhookAttemptOutputSerializer(many=True, source="attempts.all")


class WebhookEventOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    type = serializers.CharField()
    mode = serializers.ChoiceField(choices=ApiMode.choices)
    created = serializers.DateTimeField(source="created_at")
    # DRF's metaclass pops declared fields, so this does not hide Serializer.data.
    data = serializers.JSONField(  # type: ignore[assignment]
        source="payload.data", help_text=_("The object of the event, as it was then.")
    )
    deliveries = WebhookDeliveryOutputSerializer(many=True, source="deliveries.all")


class WebhookEventRedeliverInputSerializer(StrictInputSerializer):
    endpoint_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Redeliver to this endpoint only; all of the event's endpoints if omitted."),
    )


class WebhookEventRedeliveredSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    deliveries = WebhookDeliveryOutputSerializer(many=True)
