"""Merchant models, one module per sub-domain; import them from here."""

from merchants.models.merchant import Merchant, MerchantEvent, MerchantStatus
from merchants.models.team import MerchantMembership, TeamRole

__all__ = ["Merchant", "MerchantEvent", "MerchantMembership", "MerchantStatus", "TeamRole"]
