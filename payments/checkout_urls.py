"""URLs of the hosted checkout, mounted at /pay/ (config/urls.py).

The token is the payment's `checkout_token` (URL-safe base64, 43 characters today); the
selector checks its shape before any query.
"""

from django.urls import URLPattern, path

from payments.confirmation.urls import urlpatterns as confirmation_urlpatterns
from payments.views import checkout

urlpatterns: list[URLPattern] = [
    path("<str:token>/", checkout.checkout, name="checkout"),
    path("<str:token>/status/", checkout.checkout_status, name="checkout_status"),
    # Confirming: passkeys, the email-code fallback, receipts (payments/confirmation/).
    *confirmation_urlpatterns,
]
