"""`manage.py seed_demo`: load the demo data that `make run` shows (idempotent)."""

import importlib
import importlib.util
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.demo import DEMO_PASSKEYLESS_PAYER, DEMO_PASSWORD, DEMO_USERS, DemoContext


class Command(BaseCommand):
    help = "Create the demo users, one per role, and each app's demo data. Safe to re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even when DEBUG is off (the demo password is public).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates users with a public password; it runs only with DEBUG on "
                "(use --force to override on a throw-away installation)."
            )
        context = DemoContext()
        with transaction.atomic():
            for module in self._demo_modules():
                module.seed(context)
        for line in context.created:
            self.stdout.write(f"created {line}")
        if not context.created:
            self.stdout.write("Demo data already present; nothing changed.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo logins: {', '.join(u.email for u in DEMO_USERS)} (password {DEMO_PASSWORD})"
            )
        )
        self.stdout.write(
            f"Payer without a password or passkey: {DEMO_PASSKEYLESS_PAYER.email} "
            "(sign in with an emailed code at /passkeys/sign-up/, then create a passkey)"
        )

    def _demo_modules(self) -> list[Any]:
        """Return the `demo` module of every Paydesk app, in INSTALLED_APPS order."""
        modules = []
        for app_config in apps.get_app_configs():
            if not app_config.path.startswith(str(settings.BASE_DIR)):
                continue  # third-party apps have no Paydesk demo data
            name = f"{app_config.name}.demo"
            if importlib.util.find_spec(name) is not None:
                modules.append(importlib.import_module(name))
        return modules
