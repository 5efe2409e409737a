"""Merchant models, one module per sub-domain; import them from here."""

from merchants.models.api_keys import ApiKey, ApiMode
from merchants.models.application import (
    ApplicationDocument,
    DocumentKind,
    KycDecision,
    KycReview,
    MerchantApplication,
)
from merchants.models.invitations import InvitationStatus, MerchantInvitation
from merchants.models.merchant import Merchant, MerchantEvent, MerchantStatus
from merchants.models.settlement import (
    CycleRequestStatus,
    FeeGroup,
    SettlementCycle,
    SettlementCycleRequest,
    SettlementTerms,
)
from merchants.models.team import MerchantMembership, TeamRole
from merchants.models.webhooks import WebhookEndpoint, WebhookEventType, WebhookSecret

__all__ = ["Merchant", "MerchantEvent", "MerchantMembership", "MerchantStatus", "TeamRole"]
__all__ += [  # onboarding and KYC review
    "ApplicationDocument",
    "DocumentKind",
    "KycDecision",
    "KycReview",
    "MerchantApplication",
]
__all__ += [  # team, API keys, webhooks, settlement terms
    "ApiKey",
    "ApiMode",
    "CycleRequestStatus",
    "FeeGroup",
    "InvitationStatus",
    "MerchantInvitation",
    "SettlementCycle",
    "SettlementCycleRequest",
    "SettlementTerms",
    "WebhookEndpoint",
    "WebhookEventType",
    "WebhookSecret",
]
