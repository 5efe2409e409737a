"""`manage.py merchant_create`: make a merchant with an owner (and a test key) from a shell.

    python manage.py merchant_create --name "Tea House" --email owner@example.com [--approve]

The last line of the output is the new test-mode secret key, alone, so scripts can take it
with `| tail -n 1`. An existing user with that email becomes the owner (one person may own
several merchants); a new user gets no password and sets one with "Forgot password".
Operations staff are refused (they must not own merchants). --approve walks the merchant
through the normal status transitions (submitted, under review, approved) via
merchants.services.lifecycle, so the timeline and the audit log show what happened.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import User
from accounts.services.audit import audit_event_record
from config.errors import ApplicationError
from merchants.models import ApiMode, Merchant, MerchantMembership, MerchantStatus, TeamRole
from merchants.services.api_keys import api_key_create
from merchants.services.lifecycle import merchant_transition
from merchants.services.team import team_owner_add

APPROVAL_PATH = (MerchantStatus.SUBMITTED, MerchantStatus.UNDER_REVIEW, MerchantStatus.APPROVED)
APPROVAL_REASON = "Approved with the merchant_create command"


class Command(BaseCommand):
    help = "Create a merchant with an owner and print a test-mode secret key (last line)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The merchant's name.")
        parser.add_argument("--email", required=True, help="The owner's email address.")
        parser.add_argument(
            "--approve", action="store_true", help="Approve the merchant straight away."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = str(options["name"]).strip()
        email = str(options["email"]).strip().lower()
        if not name:
            raise CommandError("--name must not be empty.")
        if len(name) > 200:
            raise CommandError("--name is too long (at most 200 characters).")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"--email {email!r} is not a valid email address.") from None

        committed: list[bool] = []
        try:
            with transaction.atomic():
                user, user_created = self._owner(email)
                merchant = Merchant.objects.create(name=name)
                # Registered first, so it runs before the side effects queued below.
                transaction.on_commit(lambda: committed.append(True))
                audit_event_record(
                    action="merchant.created",
                    target=merchant,
                    after={"name": name, "owner": email, "via": "merchant_create command"},
                )
                team_owner_add(merchant=merchant, user=user)
                if options["approve"]:
                    for status in APPROVAL_PATH:
                        merchant_transition(
                            merchant=merchant, to_status=status, actor=None, reason=APPROVAL_REASON
                        )
                _key, raw_key = api_key_create(
                    merchant=merchant,
                    name="Created by merchant_create",
                    mode=ApiMode.TEST,
                    actor=None,
                )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        except Exception as error:
            if not committed:
                raise
            # The merchant and key exist; only a side effect (e.g. queueing the approval
            # email on an unreachable broker) failed. The key must still be printed.
            self.stderr.write(f"Warning: created, but a follow-up task failed: {error!r}")

        others = MerchantMembership.objects.filter(user=user, role=TeamRole.OWNER).exclude(
            merchant=merchant
        )
        self.stdout.write(f"Merchant: {merchant.name} ({merchant.public_id})")
        self.stdout.write(f"Status: {merchant.status}")
        if user_created:
            self.stdout.write(
                f"Owner: {email} (new account without a password: use “Forgot password” "
                "to set one; owners must also set up two-factor authentication)"
            )
        else:
            self.stdout.write(f"Owner: {email} (existing account)")
        if others.exists():
            self.stdout.write(f"Note: {email} also owns {others.count()} other merchant(s).")
        self.stdout.write("Test-mode secret key (shown once, store it now):")
        self.stdout.write(raw_key)

    def _owner(self, email: str) -> tuple[User, bool]:
        user = User.objects.filter(email__iexact=email).first()
        if user is not None:
            if not user.is_active:
                raise CommandError(f"The account {email} is deactivated.")
            return user, False
        user = User.objects.create_user(email=email, password=None)
        return user, True
