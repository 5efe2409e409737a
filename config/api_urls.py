"""The REST API: /api/v1/ (versioned), its OpenAPI schema and interactive docs."""

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView

from config.api.docs import ApiDocsView

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", include("merchants.api_urls")),
    path("v1/", include("payments.api_urls")),
    # Signed notifications from acquirers (no API key): payments/acquirer_urls.py.
    path("acquirer/", include("payments.acquirer_urls")),
    path("v1/", include("payments.webhooks.api_urls")),
    path("v1/", include("refunds.api_urls")),
    # OpenAPI 3: YAML by default, JSON with ?format=json.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="schema"), name="api_docs"),
]
