"""A small URL configuration for the navigation tests: only some areas exist."""

from django.http import HttpRequest, HttpResponse
from django.urls import path


def stub(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


urlpatterns = [
    path("", stub, name="dashboard"),
    path("payments/", stub, name="payment_list"),
    path("team/", stub, name="team"),
    path("audit/", stub, name="audit_log"),
]
