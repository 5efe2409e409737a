"""The REST API: /api/v1/ (versioned), its OpenAPI schema and interactive docs."""

from django.urls import include, path

urlpatterns = [
    path("v1/", include("merchants.api_urls")),
]
