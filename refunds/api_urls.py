"""Refunds API URLs, mounted at /api/v1/ (no trailing slashes, as in the API docs)."""

from django.urls import URLPattern, path

from refunds import api

urlpatterns: list[URLPattern] = [
    path("refunds", api.RefundListApi.as_view(), name="api_refunds"),
    path("refunds/<str:refund_id>", api.RefundDetailApi.as_view(), name="api_refund"),
    path(
        "refunds/<str:refund_id>/approve", api.RefundApproveApi.as_view(), name="api_refund_approve"
    ),
    path("refunds/<str:refund_id>/reject", api.RefundRejectApi.as_view(), name="api_refund_reject"),
    path("refunds/<str:refund_id>/cancel", api.RefundCancelApi.as_view(), name="api_refund_cancel"),
]
