"""`manage.py seed_demo`: one verified user per role, the approved demo merchant with two
weeks of payments, merchants waiting in the KYC queue, a payer without a passkey; idempotent."""

from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import DEMO_PASSWORD
from accounts.models import AuditEvent, PasskeyCredential, User
from accounts.roles import Role
from merchants.models import (
    ApiKey,
    ApplicationDocument,
    KycReview,
    Merchant,
    MerchantApplication,
    MerchantEvent,
    MerchantMembership,
    MerchantStatus,
    WebhookEndpoint,
)
from merchants.selectors.applications import application_list_for_review
from payments.domain.models import Payment, PaymentEvent, PaymentStatus
from payments.ledger.models import EntryDirection, LedgerEntry, LedgerPosting, PostingKind
from payments.services.transitions import capture_posting_key
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db

# The merchants waiting in the KYC queue, their owners and their state.
KYC_MERCHANTS = {
    "Lotus Tea House": ("lotus@demo.paydesk.local", MerchantStatus.SUBMITTED),
    "Pearl River Books": ("pearl@demo.paydesk.local", MerchantStatus.SUBMITTED),
    "Great Wall Electronics": ("greatwall@demo.paydesk.local", MerchantStatus.UNDER_REVIEW),
    "Jade River Noodles": ("jade@demo.paydesk.local", MerchantStatus.NEEDS_INFORMATION),
}
PASSKEYLESS_PAYER = "new.payer@demo.paydesk.local"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    # The KYC applications upload their documents.
    settings.MEDIA_ROOT = tmp_path / "media"


EXPECTED_USERS = {
    "payer@demo.paydesk.local": Role.PAYER,
    "owner@demo.paydesk.local": Role.MERCHANT_OWNER,
    "staff@demo.paydesk.local": Role.MERCHANT_STAFF,
    "support@demo.paydesk.local": Role.SUPPORT_AGENT,
    "risk@demo.paydesk.local": Role.RISK_ANALYST,
    "finance@demo.paydesk.local": Role.FINANCE_OPERATOR,
    "kyc@demo.paydesk.local": Role.KYC_REVIEWER,
    "admin@demo.paydesk.local": Role.ADMINISTRATOR,
}


def snapshot() -> dict[str, object]:
    """Everything seed_demo writes, to compare two runs."""
    return {
        "users": list(User.objects.order_by("email").values()),
        "groups": sorted(User.groups.through.objects.values_list("user_id", "group_id")),
        "emails": list(EmailAddress.objects.order_by("email").values()),
        "merchants": list(Merchant.objects.order_by("id").values()),
        "events": list(MerchantEvent.objects.order_by("id").values()),
        "memberships": list(MerchantMembership.objects.order_by("id").values()),
        "applications": list(MerchantApplication.objects.order_by("id").values()),
        "documents": list(ApplicationDocument.objects.order_by("id").values()),
        "reviews": list(KycReview.objects.order_by("id").values()),
        "payments": list(Payment.objects.order_by("id").values()),
        "payment_events": PaymentEvent.objects.count(),
        "postings": list(LedgerPosting.objects.order_by("id").values_list("id", "key")),
        "entries": LedgerEntry.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


def _demo_merchant() -> Merchant:
    return Merchant.objects.get(name="Demo Coffee Roasters")


@override_settings(DEBUG=True)
def test_seed_demo_creates_one_verified_user_per_role_with_the_demo_password() -> None:
    call_command("seed_demo", stdout=None)

    users = {user.email: user for user in User.objects.all()}
    kyc_owners = {email: Role.MERCHANT_OWNER for email, _status in KYC_MERCHANTS.values()}
    assert set(users) == {*EXPECTED_USERS, *kyc_owners, PASSKEYLESS_PAYER}
    for email, role in {**EXPECTED_USERS, **kyc_owners}.items():
        assert users[email].roles == frozenset({role})
        assert users[email].check_password(DEMO_PASSWORD)
        assert list(
            EmailAddress.objects.filter(user=users[email]).values_list(
                "email", "verified", "primary"
            )
        ) == [(email, True, True)]
    assert [u.email for u in User.objects.filter(is_superuser=True)] == ["admin@demo.paydesk.local"]
    assert [u.email for u in User.objects.filter(is_staff=True)] == ["admin@demo.paydesk.local"]
    assert TOTPDevice.objects.count() == 0


@override_settings(DEBUG=True)
def test_seed_demo_creates_the_approved_demo_merchant_with_its_team() -> None:
    call_command("seed_demo")

    merchant = _demo_merchant()
    assert [m.name for m in Merchant.objects.filter(status=MerchantStatus.APPROVED)] == [
        "Demo Coffee Roasters"
    ]
    assert merchant.status == MerchantStatus.APPROVED
    assert merchant.approved_at is not None
    assert sorted(merchant.memberships.values_list("user__email", "role")) == [
        ("owner@demo.paydesk.local", "owner"),
        ("staff@demo.paydesk.local", "developer"),
    ]
    assert list(merchant.events.values_list("from_status", "to_status")) == [("", "approved")]


@override_settings(DEBUG=True)
def test_seed_demo_twice_changes_nothing() -> None:
    call_command("seed_demo")
    first = snapshot()

    call_command("seed_demo")

    assert snapshot() == first


@override_settings(DEBUG=True)
def test_seed_demo_restores_a_demo_address_marked_unverified() -> None:
    call_command("seed_demo")
    EmailAddress.objects.filter(email="owner@demo.paydesk.local").update(verified=False)

    call_command("seed_demo")

    assert EmailAddress.objects.get(email="owner@demo.paydesk.local").verified is True


@override_settings(DEBUG=True)
def test_seed_demo_fills_the_kyc_queue_with_applications_in_several_states() -> None:
    call_command("seed_demo")

    for name, (owner_email, status) in KYC_MERCHANTS.items():
        merchant = Merchant.objects.get(name=name)
        assert merchant.status == status, name
        assert list(merchant.memberships.values_list("user__email", "role")) == [
            (owner_email, "owner")
        ]
        application = merchant.application
        assert application.review_round == 1
        assert application.submitted_at is not None
        assert sorted(application.documents.values_list("kind", flat=True)) == [
            "business_licence",
            "representative_id",
        ]
    # the queue shows the submitted ones and the one under review
    assert sorted(a.merchant.name for a in application_list_for_review()) == [
        "Great Wall Electronics",
        "Lotus Tea House",
        "Pearl River Books",
    ]
    # under review with the first of two approvals, given by the administrator so that the
    # demo KYC reviewer can give the second one
    great_wall = MerchantApplication.objects.get(merchant__name="Great Wall Electronics")
    assert great_wall.needs_second_review
    assert list(great_wall.reviews.values_list("decision", "reviewer__email")) == [
        ("review_started", "admin@demo.paydesk.local"),
        ("first_approval", "admin@demo.paydesk.local"),
    ]
    # sent back to the merchant with what to add
    jade = Merchant.objects.get(name="Jade River Noodles")
    assert "business licence scan is cut off" in jade.status_reason
    assert jade.application.information_request == jade.status_reason
    assert list(jade.application.reviews.values_list("decision", "reviewer__email")) == [
        ("review_started", "kyc@demo.paydesk.local"),
        ("information_request", "kyc@demo.paydesk.local"),
    ]


@override_settings(DEBUG=True)
def test_seed_demo_adds_a_payer_with_a_verified_email_but_no_password_or_passkey() -> None:
    out = StringIO()
    call_command("seed_demo", stdout=out)

    payer = User.objects.get(email=PASSKEYLESS_PAYER)
    assert payer.roles == frozenset({Role.PAYER})
    assert not payer.has_usable_password()
    assert list(
        EmailAddress.objects.filter(user=payer).values_list("email", "verified", "primary")
    ) == [(PASSKEYLESS_PAYER, True, True)]
    assert not PasskeyCredential.objects.filter(user=payer).exists()
    assert f"Payer without a password or passkey: {PASSKEYLESS_PAYER}" in out.getvalue()


@override_settings(DEBUG=True)
def test_seed_demo_gives_the_demo_merchant_two_weeks_of_payments_with_their_ledger() -> None:
    started = timezone.now()
    call_command("seed_demo")

    merchant = _demo_merchant()
    payments = Payment.objects.all()
    assert payments.count() == 200
    assert set(payments.values_list("merchant", flat=True)) == {merchant.pk}
    assert set(payments.values_list("mode", flat=True)) == {"live"}
    assert payments.filter(created_at__lt=started - timedelta(days=14)).count() == 0
    assert payments.filter(created_at__gt=started).count() == 0
    statuses = set(payments.values_list("status", flat=True))
    assert PaymentStatus.SUCCEEDED in statuses
    assert statuses - {PaymentStatus.SUCCEEDED}, "the demo needs payments in other states too"
    # every succeeded payment has its balanced capture posting; no other payment has one
    succeeded = payments.filter(status=PaymentStatus.SUCCEEDED)
    captures = LedgerPosting.objects.filter(kind=PostingKind.PAYMENT_CAPTURE)
    assert sorted(captures.values_list("key", flat=True)) == sorted(
        capture_posting_key(payment) for payment in succeeded
    )
    for direction_total in (EntryDirection.DEBIT, EntryDirection.CREDIT):
        assert (
            LedgerEntry.objects.filter(posting__in=captures, direction=direction_total).aggregate(
                total=Sum("amount")
            )["total"]
            == succeeded.aggregate(total=Sum("amount"))["total"]
        )
    # no API key (a secret) and no webhook endpoint
    assert ApiKey.objects.count() == 0
    assert WebhookEndpoint.objects.count() == 0


@override_settings(DEBUG=True)
def test_seed_demo_seeds_no_payments_when_another_approved_merchant_is_older() -> None:
    # given an approved merchant from before the demo data: the seed would pick it first
    MerchantFactory(name="Real shop", status=MerchantStatus.APPROVED)
    out = StringIO()

    call_command("seed_demo", stdout=out)

    assert Payment.objects.count() == 0
    assert LedgerPosting.objects.count() == 0
    assert "no demo payments: Real shop is an older approved merchant" in out.getvalue()


def test_seed_demo_refuses_to_run_without_debug() -> None:
    with pytest.raises(CommandError, match="runs only with DEBUG on"):
        call_command("seed_demo")

    assert User.objects.count() == 0
    assert Merchant.objects.count() == 0
    assert Group.objects.filter(name=Role.PAYER).exists()  # groups come from migrate, not seed
