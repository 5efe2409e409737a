"""Portal URLs of webhook events, mounted at /webhooks/ (config/urls.py)."""

from django.urls import URLPattern, path

from payments.webhooks import views

urlpatterns: list[URLPattern] = [
    path("events/", views.webhook_events, name="webhook_events"),
    path(
        "events/<str:event_id>/redeliver/",
        views.webhook_event_redeliver_view,
        name="webhook_event_redeliver",
    ),
]
