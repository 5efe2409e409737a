"""Payments, their timeline, and the idempotency records of the payments API.

Fields, constraints and tiny derived properties only: every write and every status change
is a service in `payments.services` (under a row lock, with a PaymentEvent appended).
"""

import secrets
import time
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.models import ApiMode

PUBLIC_ID_PREFIX = "pay_"
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(number: int, length: int) -> str:
    chars = []
    for _position in range(length):
        number, remainder = divmod(number, 32)
        chars.append(_CROCKFORD[remainder])
    return "".join(reversed(chars))


def payment_public_id_new() -> str:
    """Return a new public payment id: "pay_" and 24 base32 characters, ULID-like.

    Ten characters of milliseconds, then fourteen random (70 bits): ids sort roughly by
    creation time and cannot be guessed or counted like an integer primary key.
    """
    milliseconds = time.time_ns() // 1_000_000
    return PUBLIC_ID_PREFIX + _base32(milliseconds, 10) + _base32(secrets.randbits(70), 14)


def checkout_token_new() -> str:
    """Return a new checkout token: 256 random bits, URL-safe, unrelated to the payment id."""
    return secrets.token_urlsafe(32)


class PaymentStatus(models.TextChoices):
    REQUIRES_CONFIRMATION = "requires_confirmation", _("Requires confirmation")
    PROCESSING = "processing", _("Processing")
    UNKNOWN = "unknown", _("Unknown")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")
    EXPIRED = "expired", _("Expired")


# The allowed moves. Every transition service checks against this table under a row lock.
# An unknown payment only ever leaves for a final state the acquirer reported (a query or
# a notification): it is never failed by guesswork.
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.REQUIRES_CONFIRMATION: frozenset(
        {PaymentStatus.PROCESSING, PaymentStatus.CANCELED, PaymentStatus.EXPIRED}
    ),
    PaymentStatus.PROCESSING: frozenset(
        {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.UNKNOWN}
    ),
    PaymentStatus.UNKNOWN: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}),
    PaymentStatus.SUCCEEDED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.CANCELED: frozenset(),
    PaymentStatus.EXPIRED: frozenset(),
}
FINAL_STATUSES: frozenset[str] = frozenset(
    status for status, moves in PAYMENT_TRANSITIONS.items() if not moves
)
# Statuses in which the acquirer holds the payment and Paydesk waits for its result.
AWAITING_ACQUIRER_STATUSES: frozenset[str] = frozenset(
    {PaymentStatus.PROCESSING, PaymentStatus.UNKNOWN}
)


class PaymentChannel(models.TextChoices):
    ALIPAY = "alipay", _("Alipay")
    WECHAT_PAY = "wechat_pay", _("WeChat Pay")
    BANK_CARD = "bank_card", _("Bank card")
    OTHER = "other", _("Other")


class RegionGroup(models.TextChoices):
    """The operations report's regions (per-region KPIs group on these)."""

    EAST = "east", _("East China")
    NORTH = "north", _("North China")
    SOUTH = "south", _("South China")
    OTHER = "other", _("Other regions")


class ActorType(models.TextChoices):
    """Who caused a payment event."""

    MERCHANT = "merchant", _("Merchant (API)")
    PAYER = "payer", _("Payer")
    ACQUIRER = "acquirer", _("Acquirer")
    SYSTEM = "system", _("Paydesk")
    STAFF = "staff", _("Operations staff")


class Payment(models.Model):
    """One payment a merchant asked a payer for, in test or live mode.

    `public_id` is what the API shows and what the acquirer knows as the reference; the
    integer primary key never leaves Paydesk. Card numbers are never stored: a card payment
    carries the acquirer's token only (`payer_token`).
    """

    public_id = models.CharField(
        _("payment id"), max_length=32, default=payment_public_id_new, editable=False
    )
    checkout_token = models.CharField(max_length=64, default=checkout_token_new, editable=False)
    merchant = models.ForeignKey(
        "merchants.Merchant",
        verbose_name=_("merchant"),
        on_delete=models.PROTECT,
        related_name="payments",
        # Covered by the (merchant, mode, ...) constraint and list index: no index of its own.
        db_index=False,
    )
    mode = models.CharField(_("mode"), max_length=8, choices=ApiMode.choices)
    status = models.CharField(
        _("status"),
        max_length=32,
        choices=PaymentStatus.choices,
        default=PaymentStatus.REQUIRES_CONFIRMATION,
    )

    amount = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    # Set in the transaction that records the capture, from the merchant's terms of that day.
    fee_amount = models.BigIntegerField(_("fee (minor units)"), null=True, blank=True)
    fee_bps = models.PositiveIntegerField(_("fee rate (basis points)"), null=True, blank=True)

    channel = models.CharField(_("channel"), max_length=16, choices=PaymentChannel.choices)
    merchant_order_id = models.CharField(_("merchant order id"), max_length=64)
    description = models.CharField(_("description"), max_length=255, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    return_url = models.URLField(_("return URL"), max_length=2048, blank=True)

    payer_email = models.EmailField(_("payer email"), max_length=254, blank=True)
    payer_phone = models.CharField(_("payer phone"), max_length=20, blank=True)
    # What risk control correlates: the payer's device and where the payment comes from.
    device_fingerprint = models.CharField(_("device fingerprint"), max_length=128, blank=True)
    device_ip = models.GenericIPAddressField(_("device IP address"), null=True, blank=True)
    device_user_agent = models.CharField(_("device user agent"), max_length=500, blank=True)
    region = models.CharField(_("region or province"), max_length=8, default=RegionGroup.OTHER)
    region_group = models.CharField(
        _("region"), max_length=8, choices=RegionGroup.choices, default=RegionGroup.OTHER
    )

    # Confirmation by the payer (hosted checkout): how, and the acquirer's token to charge.
    confirmation_method = models.CharField(_("confirmation method"), max_length=32, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    payer_token = models.CharField(_("payer token"), max_length=128, blank=True)

    acquirer_reference = models.CharField(_("acquirer reference"), max_length=64, blank=True)
    failure_code = models.CharField(_("failure code"), max_length=64, blank=True)
    failure_message = models.CharField(_("failure message"), max_length=255, blank=True)
    # While processing or unknown: when the janitor next asks the acquirer, and how often
    # it already asked without learning the result (drives the back-off).
    next_query_at = models.DateTimeField(_("next query"), null=True, blank=True)
    query_attempts = models.PositiveIntegerField(_("queries without a result"), default=0)

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    expires_at = models.DateTimeField(_("expires"))
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    succeeded_at = models.DateTimeField(_("succeeded"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)
    canceled_at = models.DateTimeField(_("canceled"), null=True, blank=True)
    expired_at = models.DateTimeField(_("expired"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(fee_amount__isnull=True)
                | models.Q(fee_amount__gte=0, fee_amount__lte=models.F("amount")),
                name="payment_fee_within_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PaymentStatus.values), name="payment_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(mode__in=ApiMode.values), name="payment_mode_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=PaymentChannel.values), name="payment_channel_valid"
            ),
            # A test order id must not block the same id in live mode, so the mode is part of it.
            models.UniqueConstraint(
                fields=["merchant", "mode", "merchant_order_id"],
                name="payment_merchant_order_id_unique",
            ),
            # Constraints rather than unique=True: on PostgreSQL unique=True also builds a
            # varchar_pattern_ops twin of each index, which no query uses and every insert pays.
            models.UniqueConstraint(fields=["public_id"], name="payment_public_id_unique"),
            models.UniqueConstraint(
                fields=["checkout_token"], name="payment_checkout_token_unique"
            ),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["merchant", "mode", "-created_at", "-id"], name="payment_merchant_list"
            ),
            # The staff list pages every merchant's payments newest first.
            models.Index(fields=["-created_at", "-id"], name="payment_staff_list"),
            # Search by payer email: `payer_email__iexact` compares UPPER(payer_email).
            models.Index(
                models.F("merchant"),
                models.F("mode"),
                Upper("payer_email"),
                name="payment_payer_email_search",
            ),
            # The janitor's sweeps read only the few payments that are waiting.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="requires_confirmation"),
                name="payment_expiry_sweep",
            ),
            models.Index(
                fields=["next_query_at"],
                condition=models.Q(status__in=["processing", "unknown"]),
                name="payment_query_sweep",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def reference(self) -> str:
        """The reference the acquirer knows this payment by (idempotent on its side)."""
        return self.public_id

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def net_amount(self) -> int | None:
        """What the merchant gets once captured: the amount less the fee."""
        return None if self.fee_amount is None else self.amount - self.fee_amount


class PaymentEvent(models.Model):
    """One status change of a payment, appended in the transition's transaction.

    The payment's timeline: never edited, never deleted.
    """

    # Covered by the (payment, occurred_at) index: no index of its own.
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    from_status = models.CharField(_("from"), max_length=32, blank=True)
    to_status = models.CharField(_("to"), max_length=32)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    actor_type = models.CharField(_("actor"), max_length=16, choices=ActorType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Who exactly, when it is not a user: "sk_test_Ab3x…9f2c", "sandbox", "janitor".
    actor_label = models.CharField(_("actor detail"), max_length=100, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ("occurred_at", "id")
        indexes: ClassVar = [models.Index(fields=["payment", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_status or '-'} -> {self.to_status}"


class IdempotencyStatus(models.TextChoices):
    IN_FLIGHT = "in_flight", _("In flight")
    COMPLETED = "completed", _("Completed")


class IdempotencyRecord(models.Model):
    """The first request made with an Idempotency-Key, and the response it got.

    Unique per (merchant, mode, key): the INSERT decides which of two concurrent requests
    does the work. `response_body` holds the exact bytes sent, so a replay is identical.
    """

    # A prefix of the (merchant, mode, key) unique index: no index of its own.
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    mode = models.CharField(_("mode"), max_length=8, choices=ApiMode.choices)
    key = models.CharField(_("idempotency key"), max_length=255)
    # sha256 of method, path and the canonical JSON body: "same request" means this.
    request_fingerprint = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_FLIGHT
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # An in-flight record past this time belongs to a request that died: a retry may take
    # it over (the work it did, if any, was rolled back with it).
    locked_until = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["merchant", "mode", "key"], name="idempotency_record_key_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=IdempotencyStatus.values),
                name="idempotency_record_status_valid",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["created_at"], name="idempotency_purge")]

    def __str__(self) -> str:
        return f"{self.merchant_id}/{self.mode}/{self.key}"
