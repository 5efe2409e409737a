"""Merchant API URLs, mounted at /api/v1/ (no trailing slashes, as in the API docs)."""

from django.urls import URLPattern, path

from merchants import api

urlpatterns: list[URLPattern] = [
    path("merchant", api.MerchantDetailApi.as_view(), name="api_merchant"),
    path(
        "webhook-endpoints",
        api.WebhookEndpointListApi.as_view(),
        name="api_webhook_endpoints",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>",
        api.WebhookEndpointDetailApi.as_view(),
        name="api_webhook_endpoint",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/rotate-secret",
        api.WebhookEndpointRotateSecretApi.as_view(),
        name="api_webhook_endpoint_rotate_secret",
    ),
]
