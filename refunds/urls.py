"""Refunds pages of the merchant portal (mounted at /refunds/) and of operations staff
(`staff_urlpatterns`, mounted at /ops/refunds/). The REST API is in api_urls.py."""

from django.urls import URLPattern, path

from refunds.views import decisions, export, portal, request, staff

urlpatterns: list[URLPattern] = [
    path("", portal.refund_list, name="refund_list"),
    path("export.csv", export.refund_export, name="refund_export"),
    path("approvals/", portal.refund_approvals, name="refund_approvals"),
    path("delayed/", portal.refund_delayed, name="refund_delayed"),
    path("new/<str:payment_id>/", request.refund_create_view, name="refund_create"),
    path("<str:public_id>/", portal.refund_detail, name="refund_detail"),
    path("<str:public_id>/approve/", decisions.refund_approve_view, name="refund_approve"),
    path("<str:public_id>/reject/", decisions.refund_reject_view, name="refund_reject"),
    path("<str:public_id>/cancel/", decisions.refund_cancel_view, name="refund_cancel"),
    path(
        "<str:public_id>/review/<str:action>/",
        decisions.refund_review_view,
        name="refund_review",
    ),
]

staff_urlpatterns: list[URLPattern] = [
    path("", staff.staff_refund_list, name="staff_refund_list"),
    path("export.csv", export.staff_refund_export, name="staff_refund_export"),
    path("approvals/", staff.staff_refund_approvals, name="staff_refund_approvals"),
    path("delayed/", staff.staff_refund_delayed, name="staff_refund_delayed"),
    path("<str:public_id>/", staff.staff_refund_detail, name="staff_refund_detail"),
    path(
        "<str:public_id>/review/<str:action>/",
        staff.staff_refund_review,
        name="staff_refund_review",
    ),
]
