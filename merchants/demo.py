"""Demo merchant for `manage.py seed_demo`: an approved shop with an owner and a developer."""

from django.utils import timezone

from accounts.demo import DemoContext
from accounts.roles import Role
from merchants.models import Merchant, MerchantEvent, MerchantMembership, MerchantStatus, TeamRole

DEMO_MERCHANT_NAME = "Demo Coffee Roasters"


def seed(context: DemoContext) -> None:
    """Create the approved demo merchant and its team; a second run changes nothing."""
    merchant = Merchant.objects.filter(name=DEMO_MERCHANT_NAME).first()
    if merchant is None:
        now = timezone.now()
        merchant = Merchant.objects.create(
            name=DEMO_MERCHANT_NAME, status=MerchantStatus.APPROVED, approved_at=now
        )
        MerchantEvent.objects.create(
            merchant=merchant,
            occurred_at=now,
            from_status="",
            to_status=MerchantStatus.APPROVED,
            reason="Demo data",
        )
        context.created.append(f"merchant {DEMO_MERCHANT_NAME} (approved)")
    for role, team_role in (
        (Role.MERCHANT_OWNER, TeamRole.OWNER),
        (Role.MERCHANT_STAFF, TeamRole.DEVELOPER),
    ):
        _membership, created = MerchantMembership.objects.get_or_create(
            merchant=merchant, user=context.users[role], defaults={"role": team_role}
        )
        if created:
            context.created.append(f"{context.users[role].email} joins as {team_role.label}")
    context.extra["merchant"] = merchant
