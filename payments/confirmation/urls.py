"""URLs of payment confirmation, added to the checkout's (/pay/, payments/checkout_urls.py)."""

from django.urls import URLPattern, path

from payments.confirmation import views

urlpatterns: list[URLPattern] = [
    path("receipts/<str:public_id>/", views.payer_receipt, name="payer_receipt"),
    path(
        "<str:token>/passkey/options/",
        views.checkout_passkey_options,
        name="checkout_passkey_options",
    ),
    path(
        "<str:token>/passkey/confirm/",
        views.checkout_passkey_confirm,
        name="checkout_passkey_confirm",
    ),
    path(
        "<str:token>/passkey/register/options/",
        views.checkout_passkey_register_options,
        name="checkout_passkey_register_options",
    ),
    path(
        "<str:token>/passkey/register/",
        views.checkout_passkey_register,
        name="checkout_passkey_register",
    ),
    path(
        "<str:token>/attempts/report/",
        views.checkout_attempt_report,
        name="checkout_attempt_report",
    ),
    path(
        "<str:token>/email-code/send/",
        views.checkout_email_code_send,
        name="checkout_email_code_send",
    ),
    path(
        "<str:token>/email-code/confirm/",
        views.checkout_email_code_confirm,
        name="checkout_email_code_confirm",
    ),
]
