"""Top-level URLs. Each app owns its own `urls.py` (portal) and `api_urls.py` (REST API)."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from payments.urls import staff_urlpatterns as payments_staff_urlpatterns
from refunds.urls import staff_urlpatterns as refunds_staff_urlpatterns

urlpatterns: list[URLPattern | URLResolver] = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("config.ops_urls")),
    path("api/", include("config.api_urls")),
]

urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/2fa/", include("accounts.twofactor.urls")),
    path("passkeys/", include("accounts.passkeys.urls")),
    path("payer/", include("accounts.passkeys.payer_urls")),
    path("merchants/", include("merchants.urls")),
    path("webhooks/", include("payments.webhooks.urls")),
    path("pay/", include("payments.checkout_urls")),
    path("payments/", include("payments.urls")),
    path("ops/payments/", include(payments_staff_urlpatterns)),
    path("refunds/", include("refunds.urls")),
    path("ops/refunds/", include(refunds_staff_urlpatterns)),
    path("", include("accounts.urls")),
    prefix_default_language=False,
)

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
