from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MerchantsConfig(AppConfig):
    name = "merchants"
    verbose_name = _("Merchants")

    def ready(self) -> None:
        from accounts.context_processors import register_capability_check
        from accounts.dashboard import dashboard_section_register
        from merchants import receivers
        from merchants.dashboard import DASHBOARD_TEMPLATE, merchant_dashboard_context
        from merchants.selectors.membership import request_has_capability

        receivers.connect()  # sign-up as a merchant creates the draft merchant
        # The navigation shows a merchant entry only if the team role grants its capability.
        register_capability_check(request_has_capability)
        # The owner sees the merchant's status (and why it is suspended) on the dashboard.
        dashboard_section_register(
            key="merchant_status",
            template_name=DASHBOARD_TEMPLATE,
            get_context=merchant_dashboard_context,
            stylesheets=("css/merchants.css",),
        )
