"""Demo data for `manage.py seed_demo`: one user per role, with one documented password.

Each Paydesk app may have a `demo.py` with `seed(context)`; the command calls them in
INSTALLED_APPS order (the dependency order), so a higher app finds the users and rows of
the lower ones in `context` without a lower app ever importing a higher one.
Every `seed` must be idempotent: running it twice changes nothing.
"""

from dataclasses import dataclass, field
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.roles import Role, sync_role_groups

# Documented in README.md. Demo only: seed_demo refuses to run when DEBUG is off.
DEMO_PASSWORD = "paydesk-demo-2025"
DEMO_EMAIL_DOMAIN = "demo.paydesk.local"


@dataclass(frozen=True)
class DemoUser:
    role: Role
    email: str
    full_name: str
    is_superuser: bool = False


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(Role.PAYER, f"payer@{DEMO_EMAIL_DOMAIN}", "Li Wei"),
    DemoUser(Role.MERCHANT_OWNER, f"owner@{DEMO_EMAIL_DOMAIN}", "Chen Jing"),
    DemoUser(Role.MERCHANT_STAFF, f"staff@{DEMO_EMAIL_DOMAIN}", "Wang Fang"),
    DemoUser(Role.SUPPORT_AGENT, f"support@{DEMO_EMAIL_DOMAIN}", "Zhang Min"),
    DemoUser(Role.RISK_ANALYST, f"risk@{DEMO_EMAIL_DOMAIN}", "Liu Yang"),
    DemoUser(Role.FINANCE_OPERATOR, f"finance@{DEMO_EMAIL_DOMAIN}", "Zhao Lei"),
    DemoUser(Role.KYC_REVIEWER, f"kyc@{DEMO_EMAIL_DOMAIN}", "Huang Xin"),
    DemoUser(Role.ADMINISTRATOR, f"admin@{DEMO_EMAIL_DOMAIN}", "Sun Hao", is_superuser=True),
)


# A payer who signed up by email code and has no password and no passkey yet: sign in at
# /passkeys/sign-up/ with this address (the code is printed by the console email backend)
# to try creating a passkey.
DEMO_PASSKEYLESS_PAYER = DemoUser(Role.PAYER, f"new.payer@{DEMO_EMAIL_DOMAIN}", "Zhou Ning")


@dataclass
class DemoContext:
    """What the app seeders share: the demo users by role and a log of what was created."""

    users: dict[Role, User] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def demo_user_ensure(
    context: DemoContext, demo: DemoUser, *, password: str | None = DEMO_PASSWORD
) -> User:
    """Return the demo user, created with a verified primary address and their role.

    The password is set only when the user is created (None: no usable password), so a
    second run changes nothing; an address marked unverified since is verified again.
    """
    user = User.objects.filter(email=demo.email).first()
    if user is None:
        user = User.objects.create_user(
            demo.email,
            password,
            full_name=demo.full_name,
            is_staff=demo.is_superuser,
            is_superuser=demo.is_superuser,
        )
        context.created.append(f"user {demo.email} ({demo.role.label})")
    user.groups.add(Group.objects.get(name=demo.role.value))
    address, created = EmailAddress.objects.get_or_create(
        user=user, email=demo.email, defaults={"verified": True, "primary": True}
    )
    if not created and not (address.verified and address.primary):
        address.verified = address.primary = True
        address.save(update_fields=["verified", "primary"])
    return user


def seed(context: DemoContext) -> None:
    """Create the demo users (verified email, role group, superuser for the administrator).

    No TOTP devices: users whose role requires 2FA set it up at first sign-in. Also the
    payer without a password or passkey (`DEMO_PASSKEYLESS_PAYER`), kept in
    `context.extra["passkeyless_payer"]`.
    """
    sync_role_groups()
    for demo in DEMO_USERS:
        context.users[demo.role] = demo_user_ensure(context, demo)
    context.extra["passkeyless_payer"] = demo_user_ensure(
        context, DEMO_PASSKEYLESS_PAYER, password=None
    )
