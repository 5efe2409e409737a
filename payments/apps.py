from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        # The checkout's confirmation methods and the payer area's payment list.
        from payments.confirmation.methods import (
            confirmation_methods_register,
            payer_area_register,
        )

        confirmation_methods_register()
        payer_area_register()
