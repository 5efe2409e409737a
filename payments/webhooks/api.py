"""REST API of webhook events (/api/v1/events): list, detail with attempts, redelivery.

Scoped to the merchant and mode of the request's API key: another merchant's event is
"not found", never "forbidden".
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.pagination import CursorPagination
from merchants.api import ERRORS, ErrorSerializer
from merchants.authentication import api_key_of
from merchants.selectors.webhooks import webhook_endpoint_get_for_merchant
from payments.webhooks.selectors import (
    webhook_event_get_for_merchant,
    webhook_event_list_for_merchant,
)
from payments.webhooks.serializers import (
    WebhookEventOutputSerializer,
    WebhookEventRedeliveredSerializer,
    WebhookEventRedeliverInputSerializer,
)
from payments.webhooks.services import webhook_event_redeliver

TAGS = ["webhook events"]


class WebhookEventListApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="events_list",
        summary=_("List webhook events"),
        description=_("Newest first, each with its deliveries and their attempts."),
        parameters=[
            OpenApiParameter("type", OpenApiTypes.STR, description=_("Only this event type.")),
            OpenApiParameter(
                "delivery_status",
                OpenApiTypes.STR,
                description=_("Only events with a delivery in this status."),
            ),
        ],
        responses={200: WebhookEventOutputSerializer(many=True), **ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        api_key = api_key_of(request)
        events = webhook_event_list_for_merchant(
            api_key.merchant,
            mode=api_key.mode,
            event_type=request.query_params.get("type") or None,
            delivery_status=request.query_params.get("delivery_status") or None,
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(WebhookEventOutputSerializer(page, many=True).data)


class WebhookEventDetailApi(APIView):
    @extend_schema(
        operation_id="events_retrieve",
        summary=_("Get a webhook event"),
        responses={200: WebhookEventOutputSerializer, **ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, event_id: str) -> Response:
        api_key = api_key_of(request)
        event = webhook_event_get_for_merchant(api_key.merchant, event_id, mode=api_key.mode)
        return Response(WebhookEventOutputSerializer(event).data)


class WebhookEventRedeliverApi(APIView):
    @extend_schema(
        operation_id="events_redeliver",
        summary=_("Redeliver a webhook event"),
        description=_(
            "Queues an immediate attempt to the given endpoint, or to every endpoint the "
            "event was sent to. Refused (409) for a disabled endpoint."
        ),
        request=WebhookEventRedeliverInputSerializer,
        responses={
            202: WebhookEventRedeliveredSerializer,
            **ERRORS,
            409: OpenApiResponse(
                ErrorSerializer, description=_("Endpoint disabled, or a delivery in progress")
            ),
        },
        tags=TAGS,
    )
    def post(self, request: Request, event_id: str) -> Response:
        api_key = api_key_of(request)
        event = webhook_event_get_for_merchant(api_key.merchant, event_id, mode=api_key.mode)
        serializer = WebhookEventRedeliverInputSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        endpoint_id = serializer.validated_data["endpoint_id"]
        endpoint = (
            webhook_endpoint_get_for_merchant(api_key.merchant, endpoint_id, mode=api_key.mode)
            if endpoint_id is not None
            else None
        )
        deliveries = webhook_event_redeliver(
            event=event, endpoint=endpoint, api_key=api_key, request=request
        )
        body = WebhookEventRedeliveredSerializer(
            {"event_id": event.public_id, "deliveries": deliveries}
        ).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
