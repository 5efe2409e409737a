"""Webhook event API URLs, mounted at /api/v1/ (no trailing slashes, as in the API docs)."""

from django.urls import URLPattern, path

from payments.webhooks import api

urlpatterns: list[URLPattern] = [
    path("events", api.WebhookEventListApi.as_view(), name="api_events"),
    path("events/<str:event_id>", api.WebhookEventDetailApi.as_view(), name="api_event"),
    path(
        "events/<str:event_id>/redeliver",
        api.WebhookEventRedeliverApi.as_view(),
        name="api_event_redeliver",
    ),
]
