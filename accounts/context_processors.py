"""Template context shared by every portal page: the navigation and the user menu.

The navigation is one table (`NAVIGATION`). An entry is shown when the user holds one of
its permissions and one of its URL names resolves, so an area appears in the menu as soon
as its issue adds the URL: nothing here has to change. Merchant entries can also name a
team capability; the merchants app registers the check for it (accounts must not import
merchants, see STYLE.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse, translate_url
from django.utils.functional import Promise
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import Role

CapabilityCheck = Callable[[HttpRequest, str], bool]


@dataclass(frozen=True)
class NavEntry:
    """One possible navigation entry; `url_names` are tried in order."""

    key: str
    label: str | Promise
    url_names: tuple[str, ...]
    icon: str
    section: str = ""
    description: str | Promise = ""
    # Empty means every signed-in user; otherwise the user needs any one of them.
    permissions: tuple[str, ...] = ()
    # A merchant team capability (merchants.permissions.TEAM_CAPABILITIES), if any.
    capability: str = ""
    # Empty means any role; otherwise the user needs one of them (on top of a permission).
    # Merchant and payer areas are for merchant and payer users, not for an administrator
    # who happens to hold every permission.
    roles: tuple[Role, ...] = ()


@dataclass(frozen=True)
class NavItem:
    """A resolved entry, ready for a template."""

    key: str
    label: str | Promise
    url: str
    icon: str
    description: str | Promise
    is_active: bool


MERCHANT_ROLES = (Role.MERCHANT_OWNER, Role.MERCHANT_STAFF)
PAYER_ROLES = (Role.PAYER,)

SECTION_LABELS: dict[str, str | Promise] = {
    "": "",
    "payer": _("Your payments"),
    "merchant": _("Merchant"),
    "operations": _("Operations"),
}

NAVIGATION: tuple[NavEntry, ...] = (
    NavEntry("dashboard", _("Dashboard"), ("dashboard",), "home"),
    # Payers
    NavEntry(
        "payer_payments",
        _("My payments"),
        # payer_home is the payer area: its payment list comes from the payments app.
        ("payer_home", "payer_payment_list", "receipt_list"),
        "receipt",
        "payer",
        _("Your payments and their receipts."),
        ("accounts.use_payer_area",),
        roles=PAYER_ROLES,
    ),
    NavEntry(
        "payer_complaints",
        _("Help & complaints"),
        ("payer_ticket_list", "payer_complaint_list"),
        "lifebuoy",
        "payer",
        _("Raise a problem with a payment and follow its progress."),
        ("accounts.use_payer_area",),
        roles=PAYER_ROLES,
    ),
    # Merchants
    NavEntry(
        "onboarding",
        _("Onboarding"),
        ("merchant_onboarding", "merchant_application"),
        "clipboard",
        "merchant",
        _("Your business details and the state of your application."),
        ("accounts.manage_merchant",),
        roles=MERCHANT_ROLES,
    ),
    NavEntry(
        "payments",
        _("Payments"),
        ("payment_list", "merchant_payment_list"),
        "card",
        "merchant",
        _("Search payments, see their status and timeline."),
        ("accounts.use_merchant_portal",),
        "view",
        roles=MERCHANT_ROLES,
    ),
    NavEntry(
        "refunds",
        _("Refunds"),
        ("refund_list", "merchant_refund_list"),
        "refund",
        "merchant",
        _("Request, approve and track refunds."),
        ("accounts.use_merchant_portal",),
        "view",
        roles=MERCHANT_ROLES,
    ),
    NavEntry(
        "merchant_settlement",
        _("Settlement"),
        ("settlement_terms",),
        "bank",
        "merchant",
        _("Settlement schedule, fees and payouts."),
        ("accounts.use_merchant_portal",),
        "view_finance",
        roles=MERCHANT_ROLES,
    ),
    NavEntry(
        "developers",
        _("Developers"),
        ("developers", "api_key_list"),
        "code",
        "merchant",
        _("API keys and webhook endpoints."),
        ("accounts.use_merchant_portal",),
        "manage_api_keys",
        roles=MERCHANT_ROLES,
    ),
    NavEntry(
        "webhook_events",
        _("Webhook events"),
        ("webhook_events",),
        "globe",
        "merchant",
        _("Events sent to your endpoints, their delivery attempts and redelivery."),
        ("accounts.use_merchant_portal",),
        "manage_webhooks",
        roles=MERCHANT_ROLES,
    ),
    NavEntry(
        "team",
        _("Team"),
        ("team", "team_list"),
        "users",
        "merchant",
        _("Invite colleagues and choose what they may do."),
        ("accounts.use_merchant_portal",),
        "manage_team",
        roles=MERCHANT_ROLES,
    ),
    NavEntry(
        "settings",
        _("Settings"),
        ("merchant_settings",),
        "settings",
        "merchant",
        _("Business profile, settlement account and notifications."),
        ("accounts.use_merchant_portal",),
        "manage_settings",
        roles=MERCHANT_ROLES,
    ),
    # Operations staff
    NavEntry(
        "kpis",
        _("KPIs"),
        ("kpi_dashboard",),
        "chart",
        "operations",
        _("Success rate, transaction time, refunds and complaints."),
        ("accounts.view_dashboard_kpis",),
    ),
    NavEntry(
        "staff_payments",
        _("All payments"),
        ("staff_payment_list",),
        "card",
        "operations",
        _("Every merchant's payments, their timelines and exports."),
        ("accounts.view_all_merchants",),
    ),
    NavEntry(
        "staff_refunds",
        _("All refunds"),
        ("staff_refund_list",),
        "refund",
        "operations",
        _("Every merchant's refunds, their approvals and exports."),
        ("accounts.view_all_merchants",),
        # Refunds are support's, finance's and risk's business, not KYC reviewers'.
        roles=(Role.SUPPORT_AGENT, Role.FINANCE_OPERATOR, Role.RISK_ANALYST, Role.ADMINISTRATOR),
    ),
    NavEntry(
        "staff_refund_delayed",
        _("Delayed refunds"),
        ("staff_refund_delayed",),
        "alert",
        "operations",
        _("Refunds past their SLA, by age, and the delayed-refund rate."),
        ("accounts.run_settlement",),
    ),
    NavEntry(
        "merchants",
        _("Merchants"),
        ("merchant_list",),
        "store",
        "operations",
        _("Every merchant on the platform."),
        ("accounts.view_all_merchants",),
    ),
    NavEntry(
        "kyc",
        _("KYC review"),
        ("kyc_review_queue", "kyc_queue"),
        "shield-check",
        "operations",
        _("Review merchant applications and their documents."),
        ("accounts.review_kyc",),
    ),
    NavEntry(
        "risk",
        _("Risk review"),
        ("risk_review_queue", "risk_queue"),
        "alert",
        "operations",
        _("Payments held by risk control, waiting for a decision."),
        ("accounts.review_risk",),
    ),
    NavEntry(
        "settlement",
        _("Settlement"),
        ("settlement_list", "settlement_batch_list"),
        "bank",
        "operations",
        _("Settlement batches and merchant payouts."),
        ("accounts.run_settlement",),
    ),
    NavEntry(
        "settlement_requests",
        _("Term requests"),
        ("settlement_term_requests",),
        "clipboard",
        "operations",
        _("Merchants' requests to change their settlement terms."),
        ("accounts.run_settlement",),
    ),
    NavEntry(
        "complaints",
        _("Complaints"),
        ("ticket_list", "complaint_list"),
        "inbox",
        "operations",
        _("Complaint tickets and their response times."),
        ("accounts.handle_tickets",),
    ),
    NavEntry(
        "audit_log",
        _("Audit log"),
        ("audit_log",),
        "list",
        "operations",
        _("Every sensitive action, who did it and when."),
        ("accounts.view_audit_log",),
    ),
    NavEntry(
        "users",
        _("Users"),
        ("user_list",),
        "user-cog",
        "operations",
        _("People who can sign in, and their roles."),
        ("accounts.manage_roles",),
    ),
)

# The user menu's "Two-factor authentication" link, when the 2FA pages are installed.
SECURITY_URL_NAMES = ("twofactor:manage",)
# The user menu's "Passkeys" link (docs/passkeys.md), for users who can use passkeys.
PASSKEY_URL_NAMES = ("passkey_list",)

_capability_checks: list[CapabilityCheck] = []


def register_capability_check(check: CapabilityCheck) -> None:
    """Register how to test a merchant team capability (the merchants app calls this in ready).

    Until one is registered, entries that name a capability need only their permissions.
    """
    if check not in _capability_checks:
        _capability_checks.append(check)


def first_resolvable_url(url_names: Iterable[str]) -> str | None:
    """Return the URL of the first name that resolves without arguments, or None."""
    for name in url_names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


def _is_allowed(request: HttpRequest, entry: NavEntry) -> bool:
    user = request.user
    if not isinstance(user, User):
        return False
    if entry.roles and not any(user.has_role(role) for role in entry.roles):
        return False
    if entry.permissions and not any(user.has_perm(perm) for perm in entry.permissions):
        return False
    if entry.capability and _capability_checks:
        return all(check(request, entry.capability) for check in _capability_checks)
    return True


def can_use_passkeys(user: Any) -> bool:
    """Return whether the user menu offers the passkey page to `user`.

    Passkeys sign in users without a 2FA requirement (payers, merchant staff) and confirm
    payments for payers. Merchant owners and operations staff keep password + authenticator
    app (docs/passkeys.md): a passkey would only confuse them, unless they also pay.
    """
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    return user.has_role(Role.PAYER) or not user.requires_two_factor


def navigation_items(request: HttpRequest) -> list[tuple[NavEntry, str]]:
    """Return the (entry, url) pairs the signed-in user may see, in menu order."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return []
    visible = []
    for entry in NAVIGATION:
        if not _is_allowed(request, entry):
            continue
        url = first_resolvable_url(entry.url_names)
        if url is not None:
            visible.append((entry, url))
    return visible


def _active_url(path: str, pairs: Iterable[tuple[NavEntry, str]]) -> str | None:
    # The longest URL that prefixes the path wins, so /payments/42/ lights up Payments.
    # The dashboard is the site root ("/" or "/zh-hans/"): it only matches itself.
    best = None
    for entry, url in pairs:
        exact_only = entry.key == "dashboard" or not url.endswith("/")
        matches = path == url or (not exact_only and path.startswith(url))
        if matches and (best is None or len(url) > len(best)):
            best = url
    return best


def language_options(request: HttpRequest) -> list[dict[str, Any]]:
    """Return one switcher entry per language, each with this page's URL in that language.

    The URL is translated here, while the page's own language is active: Django's
    set_language resolves `next` under the language of the cookie, which fails for a
    /zh-hans/ path when the cookie says English (and the other way round).
    """
    current = get_language()
    path = request.get_full_path()
    options = []
    for code, _name in settings.LANGUAGES:
        info = get_language_info(code)
        options.append(
            {
                "code": code,
                "name_local": info["name_local"],
                "next": translate_url(path, code),
                "is_current": code == current,
            }
        )
    return options


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Give templates the navigation, grouped in sections, and the user's role badges."""
    pairs = navigation_items(request)
    active = _active_url(request.path, pairs)
    items = [
        NavItem(entry.key, entry.label, url, entry.icon, entry.description, url == active)
        for entry, url in pairs
    ]
    sections: list[dict[str, Any]] = []
    for (entry, _url), item in zip(pairs, items, strict=True):
        if not sections or sections[-1]["key"] != entry.section:
            sections.append(
                {"key": entry.section, "label": SECTION_LABELS[entry.section], "items": []}
            )
        sections[-1]["items"].append(item)

    user = getattr(request, "user", None)
    roles: list[dict[str, Any]] = []
    if user is not None and user.is_authenticated:
        roles = [{"value": role.value, "label": role.label} for role in Role if role in user.roles]
    return {
        "nav_items": items,
        "nav_sections": sections,
        "shortcut_items": [item for item in items if item.key != "dashboard"],
        "user_role_badges": roles,
        "security_url": first_resolvable_url(SECURITY_URL_NAMES),
        "passkeys_url": (
            first_resolvable_url(PASSKEY_URL_NAMES) if can_use_passkeys(user) else None
        ),
        "language_options": language_options(request),
    }
