"""REST API of the merchants app (/api/v1/): the caller's merchant and its webhook endpoints.

Every view is scoped to the merchant and mode of the request's API key: another merchant's
object (or one of the other mode) is "not found", never "forbidden", so a key cannot even
learn that it exists.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.pagination import CursorPagination
from merchants.authentication import api_key_of
from merchants.models import ApiKey, WebhookEndpoint
from merchants.selectors.webhooks import (
    webhook_endpoint_get_for_merchant,
    webhook_endpoint_list_for_merchant,
)
from merchants.serializers import (
    MerchantOutputSerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointCreateInputSerializer,
    WebhookEndpointOutputSerializer,
    WebhookEndpointUpdateInputSerializer,
    WebhookSecretRotatedSerializer,
    WebhookSecretRotateInputSerializer,
)
from merchants.services.webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_secret_rotate,
)

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.DictField(),
            },
        )
    },
)
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description=_("Invalid input")),
    401: OpenApiResponse(ErrorSerializer, description=_("Missing, invalid or refused key")),
    404: OpenApiResponse(ErrorSerializer, description=_("Not found for this key")),
    429: OpenApiResponse(ErrorSerializer, description=_("Rate limited")),
}


def _key_and_endpoint(request: Request, endpoint_id: str) -> tuple[ApiKey, WebhookEndpoint]:
    """Return the request's API key and its endpoint `endpoint_id` (NotFound if not theirs)."""
    api_key = api_key_of(request)
    endpoint = webhook_endpoint_get_for_merchant(api_key.merchant, endpoint_id, mode=api_key.mode)
    return api_key, endpoint


class MerchantDetailApi(APIView):
    @extend_schema(
        operation_id="merchant_retrieve",
        summary=_("The merchant of the API key"),
        responses={200: MerchantOutputSerializer, **ERRORS},
        tags=["merchant"],
    )
    def get(self, request: Request) -> Response:
        api_key = api_key_of(request)
        merchant = api_key.merchant
        data = {
            "public_id": merchant.public_id,
            "name": merchant.name,
            "status": merchant.status,
            "mode": api_key.mode,
        }
        return Response(MerchantOutputSerializer(data).data)


class WebhookEndpointListApi(APIView):
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="webhook_endpoints_list",
        summary=_("List webhook endpoints"),
        responses={200: WebhookEndpointOutputSerializer(many=True), **ERRORS},
        tags=["webhook endpoints"],
    )
    def get(self, request: Request) -> Response:
        api_key = api_key_of(request)
        endpoints = webhook_endpoint_list_for_merchant(api_key.merchant, mode=api_key.mode)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(endpoints, request, view=self)
        return paginator.get_paginated_response(
            WebhookEndpointOutputSerializer(page, many=True).data
        )

    @extend_schema(
        operation_id="webhook_endpoints_create",
        summary=_("Register a webhook endpoint"),
        description=_(
            "The endpoint gets the mode of the key. The response holds the signing secret: "
            "it is never shown again."
        ),
        request=WebhookEndpointCreateInputSerializer,
        responses={201: WebhookEndpointCreatedSerializer, **ERRORS},
        tags=["webhook endpoints"],
    )
    def post(self, request: Request) -> Response:
        api_key = api_key_of(request)
        serializer = WebhookEndpointCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, secret = webhook_endpoint_create(
            merchant=api_key.merchant,
            mode=api_key.mode,
            url=data["url"],
            events=data["events"],
            description=data["description"],
            is_enabled=data["enabled"],
            api_key=api_key,
            request=request,
        )
        body = WebhookEndpointOutputSerializer(endpoint).data
        return Response({**body, "secret": secret}, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_retrieve",
        summary=_("Get a webhook endpoint"),
        responses={200: WebhookEndpointOutputSerializer, **ERRORS},
        tags=["webhook endpoints"],
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        _api_key, endpoint = _key_and_endpoint(request, endpoint_id)
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhook_endpoints_update",
        summary=_("Change a webhook endpoint"),
        request=WebhookEndpointUpdateInputSerializer,
        responses={200: WebhookEndpointOutputSerializer, **ERRORS},
        tags=["webhook endpoints"],
    )
    def patch(self, request: Request, endpoint_id: str) -> Response:
        api_key, endpoint = _key_and_endpoint(request, endpoint_id)
        serializer = WebhookEndpointUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "enabled" in data:
            data["is_enabled"] = data.pop("enabled")
        endpoint = webhook_endpoint_update(
            endpoint=endpoint,
            api_key=api_key,
            request=request,
            **data,
        )
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhook_endpoints_destroy",
        summary=_("Delete a webhook endpoint"),
        responses={204: None, **ERRORS},
        tags=["webhook endpoints"],
    )
    def delete(self, request: Request, endpoint_id: str) -> Response:
        api_key, endpoint = _key_and_endpoint(request, endpoint_id)
        webhook_endpoint_delete(endpoint=endpoint, api_key=api_key, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        summary=_("Rotate the signing secret"),
        description=_(
            "Returns a new secret (shown once). The previous secrets keep signing for "
            "`overlap_hours` (default 24), so deliveries carry both signatures meanwhile."
        ),
        request=WebhookSecretRotateInputSerializer,
        responses={200: WebhookSecretRotatedSerializer, **ERRORS},
        tags=["webhook endpoints"],
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        api_key, endpoint = _key_and_endpoint(request, endpoint_id)
        serializer = WebhookSecretRotateInputSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        overlap = serializer.validated_data["overlap_hours"]
        rotated = webhook_secret_rotate(
            endpoint=endpoint,
            overlap_hours=overlap,
            api_key=api_key,
            request=request,
        )
        data = {
            "endpoint_id": endpoint.public_id,
            "secret": rotated.secret,
            "previous_secrets_expire_at": rotated.previous_secrets_expire_at,
        }
        return Response(WebhookSecretRotatedSerializer(data).data)
