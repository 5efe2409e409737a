"""Receivers of the hooks that accounts publishes (connected in MerchantsConfig.ready)."""

from typing import Any

from django.http import HttpRequest

from accounts.models import User
from accounts.services.audit import audit_event_record
from accounts.signals_public import user_signed_up_as_merchant
from merchants.models import Merchant, MerchantMembership, MerchantStatus, TeamRole


def merchant_owner_signed_up(
    sender: Any,
    *,
    user: User,
    business_name: str,
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    """Create the new owner's draft merchant and their owner membership.

    Runs inside the sign-up transaction, so a failure here undoes the sign-up too.
    """
    merchant = Merchant.objects.create(name=business_name, status=MerchantStatus.DRAFT)
    MerchantMembership.objects.create(merchant=merchant, user=user, role=TeamRole.OWNER)
    audit_event_record(
        action="merchant.created",
        actor=user,
        target=merchant,
        after={"name": merchant.name, "status": merchant.status, "owner": user.email},
        request=request,
    )


def connect() -> None:
    """Connect the receivers; MerchantsConfig.ready calls this once."""
    user_signed_up_as_merchant.connect(
        merchant_owner_signed_up, dispatch_uid="merchants.merchant_owner_signed_up"
    )
