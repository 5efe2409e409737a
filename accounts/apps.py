from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import signals  # noqa: F401  (login, 2FA and role-change audit)
        from accounts.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, sender=self)
