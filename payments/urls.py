"""Payments pages of the merchant portal (mounted at /payments/) and of operations staff
(`staff_urlpatterns`, mounted at /ops/payments/). The checkout is in checkout_urls.py."""

from django.urls import URLPattern, path

from payments.views import export, portal, staff

urlpatterns: list[URLPattern] = [
    path("", portal.payment_list, name="payment_list"),
    path("export.csv", export.payment_export, name="payment_export"),
    path("<str:public_id>/", portal.payment_detail, name="payment_detail"),
]

staff_urlpatterns: list[URLPattern] = [
    path("", staff.staff_payment_list, name="staff_payment_list"),
    path("export.csv", export.staff_payment_export, name="staff_payment_export"),
    path("<str:public_id>/", staff.staff_payment_detail, name="staff_payment_detail"),
]
