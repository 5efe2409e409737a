"""Payments API URLs, mounted at /api/v1/ (no trailing slashes, as in the API docs)."""

from django.urls import URLPattern, path

from payments import api

urlpatterns: list[URLPattern] = [
    path("payments", api.PaymentListApi.as_view(), name="api_payments"),
    path("payments/<str:payment_id>", api.PaymentDetailApi.as_view(), name="api_payment"),
    path(
        "payments/<str:payment_id>/cancel",
        api.PaymentCancelApi.as_view(),
        name="api_payment_cancel",
    ),
]
