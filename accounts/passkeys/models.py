"""Passkeys (WebAuthn credentials), their single-use challenges and email one-time codes.

These models live in the accounts app (accounts/models.py re-exports them so that Django
finds them); the rules that write them are in accounts/passkeys/services.py,
ceremonies.py and email_codes.py.

Binary values (credential ids, keys, nonces) come back from PostgreSQL as `memoryview`:
read them through `bytes(...)`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The WebAuthn spec caps credential ids at 1023 bytes.
CREDENTIAL_ID_MAX_BYTES = 1023
PASSKEY_NAME_MAX_LENGTH = 64


class PasskeyUserHandle(models.Model):
    """The stable, random WebAuthn user handle of one user.

    Authenticators store it with every discoverable credential and return it at sign-in,
    so it must not reveal anything: it is neither the primary key nor the email.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="passkey_handle",
    )
    handle = models.BinaryField(_("user handle"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("passkey user handle")
        verbose_name_plural = _("passkey user handles")

    def __str__(self) -> str:
        return f"passkey handle of user {self.user_id}"


class PasskeyCredential(models.Model):
    """A passkey a user registered: the public key and what we last heard from it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="passkeys",
    )
    credential_id = models.BinaryField(
        _("credential id"), max_length=CREDENTIAL_ID_MAX_BYTES, unique=True
    )
    # COSE-encoded, as py_webauthn returns it and expects it back.
    public_key = models.BinaryField(_("public key"))
    sign_count = models.PositiveBigIntegerField(_("signature counter"), default=0)
    transports = models.JSONField(_("transports"), default=list, blank=True)
    aaguid = models.CharField(_("authenticator model (AAGUID)"), max_length=36, blank=True)
    name = models.CharField(_("name"), max_length=PASSKEY_NAME_MAX_LENGTH)
    backup_eligible = models.BooleanField(_("can be synced"), default=False)
    backup_state = models.BooleanField(_("synced"), default=False)
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    # Set when the signature counter went backwards: a sign of a cloned authenticator.
    is_flagged = models.BooleanField(_("blocked"), default=False)
    flagged_reason = models.CharField(_("reason blocked"), max_length=200, blank=True)
    flagged_at = models.DateTimeField(_("blocked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("passkey")
        verbose_name_plural = _("passkeys")
        ordering = ("created_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""), name="accounts_passkeycredential_name_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(is_flagged=False) | Q(flagged_at__isnull=False),
                name="accounts_passkeycredential_flag_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ChallengePurpose(models.TextChoices):
    REGISTRATION = "registration", _("Passkey registration")
    AUTHENTICATION = "authentication", _("Sign-in with a passkey")
    PAYMENT_CONFIRMATION = "payment_confirmation", _("Payment confirmation")


class WebAuthnChallenge(models.Model):
    """A single-use WebAuthn challenge.

    `challenge` is the random `nonce` itself, or SHA-256(nonce || binding) when the
    ceremony is bound to data such as a payment; `bound_digest` is SHA-256(binding).
    `used_at` is set by one conditional UPDATE (see ceremonies.challenge_consume), so
    a challenge can be answered once, whatever the outcome.
    """

    purpose = models.CharField(_("purpose"), max_length=32, choices=ChallengePurpose.choices)
    nonce = models.BinaryField(_("nonce"), max_length=64)
    challenge = models.BinaryField(_("challenge"), max_length=64)
    bound_digest = models.BinaryField(_("bound data digest"), max_length=32, null=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("WebAuthn challenge")
        verbose_name_plural = _("WebAuthn challenges")
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="accounts_webauthnchallenge_expires_after_creation",
            ),
            # Registration adds a passkey to someone; a payment is confirmed by its payer.
            models.CheckConstraint(
                condition=Q(purpose="authentication") | Q(user__isnull=False),
                name="accounts_webauthnchallenge_user_required",
            ),
            models.CheckConstraint(
                condition=~Q(purpose="payment_confirmation") | Q(bound_digest__isnull=False),
                name="accounts_webauthnchallenge_payment_is_bound",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} challenge {self.pk}"


class EmailCodePurpose(models.TextChoices):
    PAYER_SIGNUP = "payer_signup", _("Payer sign-up or sign-in")
    PAYMENT_CONFIRMATION = "payment_confirmation", _("Payment confirmation")


class EmailCode(models.Model):
    """A 6-digit code sent by email. Only its keyed hash is stored.

    Only the newest code of an (email, purpose) pair counts: issuing a new one retires
    the older ones without touching them.
    """

    email = models.EmailField(_("email address"))
    purpose = models.CharField(_("purpose"), max_length=32, choices=EmailCodePurpose.choices)
    code_hash = models.CharField(_("code hash"), max_length=64)
    bound_digest = models.BinaryField(_("bound data digest"), max_length=32, null=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("requested from"), null=True, blank=True)

    class Meta:
        verbose_name = _("email code")
        verbose_name_plural = _("email codes")
        indexes = [models.Index(fields=["email", "purpose", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="accounts_emailcode_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.email}"
