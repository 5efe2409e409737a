"""Paydesk's URLs plus the benchmark's reference endpoint (only under bench.settings)."""

from django.urls import URLPattern, URLResolver, path

from bench.reference import TpcbReferenceApi
from config.urls import (  # noqa: F401  (Django reads the handlers from ROOT_URLCONF)
    handler400,
    handler403,
    handler404,
    handler500,
)
from config.urls import urlpatterns as paydesk_urlpatterns

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/bench/tpcb", TpcbReferenceApi.as_view(), name="bench_tpcb"),
    *paydesk_urlpatterns,
]
