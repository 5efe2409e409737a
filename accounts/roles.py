"""Roles are Django groups with fixed permissions; this table is their one definition.

`sync_role_groups` runs after every migrate, so the groups and their permissions always
match this table. Later issues add permissions here and check them with
`user.has_perm("accounts.<codename>")`.
"""

from typing import Any

from django.db.models import TextChoices
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    PAYER = "payer", _("Payer")
    MERCHANT_OWNER = "merchant_owner", _("Merchant owner")
    MERCHANT_STAFF = "merchant_staff", _("Merchant staff")
    SUPPORT_AGENT = "support_agent", _("Support agent")
    RISK_ANALYST = "risk_analyst", _("Risk analyst")
    FINANCE_OPERATOR = "finance_operator", _("Finance operator")
    KYC_REVIEWER = "kyc_reviewer", _("KYC reviewer")
    ADMINISTRATOR = "administrator", _("Administrator")


StrOrPromise = str | Promise

# Permission codenames live on accounts.User's Meta (app label "accounts").
PERMISSIONS: dict[str, StrOrPromise] = {
    "use_payer_area": _("Can use the payer area"),
    "use_merchant_portal": _("Can use the merchant portal"),
    "manage_merchant": _("Can manage a merchant's team, keys and settings"),
    "handle_tickets": _("Can handle complaint tickets"),
    "review_risk": _("Can work the risk review queue"),
    "run_settlement": _("Can run settlement and payouts"),
    "review_kyc": _("Can review merchant applications"),
    "view_all_merchants": _("Can see every merchant's data"),
    "view_audit_log": _("Can browse the audit log"),
    "manage_roles": _("Can change users' roles"),
    "view_dashboard_kpis": _("Can see the platform KPI dashboard"),
}

ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.PAYER: {"use_payer_area"},
    Role.MERCHANT_OWNER: {"use_merchant_portal", "manage_merchant"},
    Role.MERCHANT_STAFF: {"use_merchant_portal"},
    Role.SUPPORT_AGENT: {"handle_tickets", "view_all_merchants"},
    Role.RISK_ANALYST: {"review_risk", "view_all_merchants", "view_dashboard_kpis"},
    Role.FINANCE_OPERATOR: {"run_settlement", "view_all_merchants", "view_dashboard_kpis"},
    Role.KYC_REVIEWER: {"review_kyc", "view_all_merchants"},
    Role.ADMINISTRATOR: set(PERMISSIONS),
}

# Operations staff and merchant owners must use two-factor authentication.
ROLES_REQUIRING_2FA: frozenset[Role] = frozenset(
    {
        Role.MERCHANT_OWNER,
        Role.SUPPORT_AGENT,
        Role.RISK_ANALYST,
        Role.FINANCE_OPERATOR,
        Role.KYC_REVIEWER,
        Role.ADMINISTRATOR,
    }
)
STAFF_ROLES: frozenset[Role] = ROLES_REQUIRING_2FA - {Role.MERCHANT_OWNER}


def sync_role_groups(**kwargs: Any) -> None:
    """Create or update one group per role with exactly its permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from accounts.models import User

    content_type = ContentType.objects.get_for_model(User)
    by_codename = {
        codename: Permission.objects.get_or_create(
            codename=codename, content_type=content_type, defaults={"name": str(label)}
        )[0]
        for codename, label in PERMISSIONS.items()
    }
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        group.permissions.set([by_codename[c] for c in codenames])
