"""Users (email is the login) and the append-only audit log."""

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from accounts.roles import ROLES_REQUIRING_2FA, STAFF_ROLES, Role


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in to Paydesk; roles are group memberships (see accounts.roles)."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_staff = models.BooleanField(
        _("Django admin access"),
        default=False,
        help_text=_("Whether the user can open the Django admin site."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, blank=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # Permissions are created by accounts.roles.sync_role_groups, not declared here.

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @cached_property
    def roles(self) -> frozenset[Role]:
        names = {g.name for g in self.groups.all()}
        return frozenset(role for role in Role if role.value in names)

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_operations_staff(self) -> bool:
        return self.is_superuser or bool(self.roles & STAFF_ROLES)

    @property
    def requires_two_factor(self) -> bool:
        return self.is_superuser or bool(self.roles & ROLES_REQUIRING_2FA)


class AuditEvent(models.Model):
    """One sensitive action. Rows are only ever inserted (a database trigger refuses the rest)."""

    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_email = models.CharField(_("actor email"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ("-occurred_at", "-id")
        indexes = [models.Index(fields=["object_type", "object_id", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_email or '-'} {self.action}"


# Payer passkeys and email codes live in their own package; importing them here registers
# them with the accounts app.
from accounts.passkeys.models import (  # noqa: E402, F401
    ChallengePurpose,
    EmailCode,
    EmailCodePurpose,
    PasskeyCredential,
    PasskeyUserHandle,
    WebAuthnChallenge,
)
