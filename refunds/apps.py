from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RefundsConfig(AppConfig):
    name = "refunds"
    verbose_name = _("Refunds")

    def ready(self) -> None:
        # payments knows nothing of refunds: the acquirer's refund notifications reach
        # the refunds services through the hook payments exposes for higher apps.
        from payments.gateways import NotificationKind
        from payments.services.notifications import notification_handler_register
        from refunds.services.acquirer_answers import refund_notification_apply

        notification_handler_register(NotificationKind.REFUND, refund_notification_apply)

        # The payment page shows a "Refunds" panel without payments importing refunds.
        from payments.panels import payment_detail_panel_register
        from refunds.views.request import payment_refund_panel

        payment_detail_panel_register(payment_refund_panel)
