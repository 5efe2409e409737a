"""Refunds, their timeline, and each merchant's refund policy.

Fields, constraints and tiny derived properties only: every write and every status change
is a service in `refunds.services` (under a row lock, with a RefundEvent appended and an
audit entry). docs/refunds.md explains the states and the rules.
"""

import secrets
import time
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.models import ApiMode

PUBLIC_ID_PREFIX = "re_"
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(number: int, length: int) -> str:
    chars = []
    for _position in range(length):
        number, remainder = divmod(number, 32)
        chars.append(_CROCKFORD[remainder])
    return "".join(reversed(chars))


def refund_public_id_new() -> str:
    """Return a new public refund id: "re_" and 24 base32 characters, ULID-like.

    The same shape as payment ids: sortable by creation time, not guessable. It is also
    the refund reference the acquirer knows, the same on every retry.
    """
    milliseconds = time.time_ns() // 1_000_000
    return PUBLIC_ID_PREFIX + _base32(milliseconds, 10) + _base32(secrets.randbits(70), 14)


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    PROCESSING = "processing", _("Processing")
    UNKNOWN = "unknown", _("Unknown")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    MANUAL_REVIEW = "manual_review", _("Manual review")
    REJECTED = "rejected", _("Rejected")
    CANCELED = "canceled", _("Canceled")


# The allowed moves; every transition service checks against this table under a row lock.
# - approved is where maker-checker ends; the same transaction moves on to processing.
# - unknown (no answer in time) only leaves for what the acquirer reports, or for manual
#   review when the acquirer proves it never had the refund and refuses it again.
# - manual_review: the acquirer's reason is recorded and the ledger reversed; a person
#   retries it (back to processing) or closes it as failed. A late result from the
#   acquirer is still recorded.
REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    RefundStatus.REQUESTED: frozenset(
        {RefundStatus.APPROVED, RefundStatus.REJECTED, RefundStatus.CANCELED}
    ),
    RefundStatus.APPROVED: frozenset({RefundStatus.PROCESSING}),
    RefundStatus.PROCESSING: frozenset(
        {
            RefundStatus.SUCCEEDED,
            RefundStatus.FAILED,
            RefundStatus.UNKNOWN,
            RefundStatus.MANUAL_REVIEW,
        }
    ),
    RefundStatus.UNKNOWN: frozenset(
        {RefundStatus.SUCCEEDED, RefundStatus.FAILED, RefundStatus.MANUAL_REVIEW}
    ),
    RefundStatus.MANUAL_REVIEW: frozenset(
        {RefundStatus.PROCESSING, RefundStatus.SUCCEEDED, RefundStatus.FAILED}
    ),
    RefundStatus.SUCCEEDED: frozenset(),
    RefundStatus.FAILED: frozenset(),
    RefundStatus.REJECTED: frozenset(),
    RefundStatus.CANCELED: frozenset(),
}
FINAL_STATUSES: frozenset[str] = frozenset(
    status for status, moves in REFUND_TRANSITIONS.items() if not moves
)
# Refunds that no longer count against the payment's amount: nothing was, or will be, paid.
RELEASED_STATUSES: frozenset[str] = frozenset(
    {RefundStatus.FAILED, RefundStatus.REJECTED, RefundStatus.CANCELED}
)
# Statuses in which the acquirer holds (or may hold) the refund and Paydesk waits for it.
AWAITING_ACQUIRER_STATUSES: frozenset[str] = frozenset(
    {RefundStatus.PROCESSING, RefundStatus.UNKNOWN}
)
# Approved but not yet paid back: the SLA clock runs for these.
OPEN_APPROVED_STATUSES: frozenset[str] = frozenset(
    {
        RefundStatus.APPROVED,
        RefundStatus.PROCESSING,
        RefundStatus.UNKNOWN,
        RefundStatus.MANUAL_REVIEW,
    }
)


class RefundReason(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate payment")
    FRAUDULENT = "fraudulent", _("Fraudulent payment")
    REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by the customer")
    PRODUCT_NOT_RECEIVED = "product_not_received", _("Product not received")
    OTHER = "other", _("Other")


class RequestChannel(models.TextChoices):
    """Where a refund was asked for: it decides who may approve and cancel it."""

    PORTAL = "portal", _("Merchant portal")
    API = "api", _("API (merchant system)")
    STAFF = "staff", _("Paydesk support")


class ApprovalReason(models.TextChoices):
    """Why a refund waits for an owner or finance user (empty: it did not wait)."""

    ABOVE_THRESHOLD = "above_threshold", _("Above the approval threshold")
    SUPPORT_AGENT = "support_agent", _("Proposed by a support agent")


class RefundActorType(models.TextChoices):
    """Who caused a refund event."""

    USER = "user", _("Person")
    MERCHANT = "merchant", _("Merchant system (API)")
    ACQUIRER = "acquirer", _("Acquirer")
    SYSTEM = "system", _("Paydesk")


class Refund(models.Model):
    """Money of one succeeded payment paid back to the payer, in full or in part.

    The merchant and mode are the payment's, copied so that every query is scoped without
    a join. `public_id` is also the refund reference sent to the acquirer. `attempt`
    counts the sends that moved money in the ledger (a retry after manual review posts
    again under a new key).
    """

    public_id = models.CharField(
        _("refund id"), max_length=32, unique=True, default=refund_public_id_new, editable=False
    )
    merchant = models.ForeignKey(
        "merchants.Merchant",
        verbose_name=_("merchant"),
        on_delete=models.PROTECT,
        related_name="refunds",
    )
    payment = models.ForeignKey(
        "payments.Payment",
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="refunds",
    )
    mode = models.CharField(_("mode"), max_length=8, choices=ApiMode.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    amount = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=32, choices=RefundReason.choices)
    reason_text = models.CharField(_("reason details"), max_length=500, blank=True)

    requested_via = models.CharField(
        _("requested via"), max_length=8, choices=RequestChannel.choices
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The API key ("sk_live_Ab3x…9f2c") when a merchant system asked.
    requester_label = models.CharField(_("requester detail"), max_length=100, blank=True)
    approval_reason = models.CharField(
        _("approval needed because"), max_length=16, choices=ApprovalReason.choices, blank=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision_label = models.CharField(_("decision detail"), max_length=100, blank=True)
    decision_reason = models.CharField(_("decision reason"), max_length=500, blank=True)

    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    acquirer_reference = models.CharField(_("acquirer reference"), max_length=64, blank=True)
    failure_code = models.CharField(_("failure code"), max_length=64, blank=True)
    failure_message = models.CharField(_("failure message"), max_length=255, blank=True)
    next_query_at = models.DateTimeField(_("next query"), null=True, blank=True)
    query_attempts = models.PositiveIntegerField(_("queries without a result"), default=0)

    # The SLA runs from approval (REFUND_SLA_HOURS); past it, an open refund is delayed.
    sla_due_at = models.DateTimeField(_("due by"), null=True, blank=True)
    is_delayed = models.BooleanField(_("delayed"), default=False)
    delayed_at = models.DateTimeField(_("marked delayed"), null=True, blank=True)
    payer_notified_at = models.DateTimeField(_("payer emailed"), null=True, blank=True)

    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    processing_at = models.DateTimeField(_("sent to the acquirer"), null=True, blank=True)
    succeeded_at = models.DateTimeField(_("succeeded"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)
    manual_review_at = models.DateTimeField(_("manual review since"), null=True, blank=True)
    rejected_at = models.DateTimeField(_("rejected"), null=True, blank=True)
    canceled_at = models.DateTimeField(_("canceled"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(status__in=RefundStatus.values), name="refund_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(mode__in=ApiMode.values), name="refund_mode_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(reason__in=RefundReason.values), name="refund_reason_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(reason=RefundReason.OTHER) | ~models.Q(reason_text=""),
                name="refund_other_reason_explained",
            ),
            models.CheckConstraint(
                condition=models.Q(requested_via__in=RequestChannel.values),
                name="refund_requested_via_valid",
            ),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["merchant", "mode", "-created_at", "-id"], name="refund_merchant_list"
            ),
            models.Index(fields=["payment", "status"], name="refund_payment_status"),
            models.Index(
                fields=["merchant", "created_at"],
                condition=models.Q(status="requested"),
                name="refund_approval_queue",
            ),
            # The janitor and the SLA sweep read only the few refunds still open.
            models.Index(
                fields=["next_query_at"],
                condition=models.Q(status__in=["processing", "unknown"]),
                name="refund_query_sweep",
            ),
            models.Index(
                fields=["sla_due_at"],
                condition=models.Q(
                    status__in=["approved", "processing", "unknown", "manual_review"],
                    is_delayed=False,
                ),
                name="refund_sla_sweep",
            ),
            models.Index(fields=["created_at"], name="refund_created"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def reference(self) -> str:
        """The refund reference the acquirer knows (idempotent on its side)."""
        return self.public_id

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_awaiting_approval(self) -> bool:
        return self.status == RefundStatus.REQUESTED


class RefundEvent(models.Model):
    """One change on a refund's timeline (a transition, or the SLA being missed).

    Appended in the change's transaction; never edited, never deleted.
    """

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    actor_type = models.CharField(_("actor"), max_length=16, choices=RefundActorType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Who exactly, when it is not a user: "sk_live_Ab3x…9f2c", "sandbox", "janitor".
    actor_label = models.CharField(_("actor detail"), max_length=100, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("refund event")
        verbose_name_plural = _("refund events")
        ordering = ("occurred_at", "id")
        indexes: ClassVar = [models.Index(fields=["refund", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.refund_id}: {self.from_status or '-'} -> {self.to_status}"


class RefundPolicy(models.Model):
    """A merchant's own refund settings; without a row the platform defaults apply.

    `approval_threshold` is in minor units of the refund's currency: a refund above it
    waits for an owner or finance user (REFUND_APPROVAL_THRESHOLD by default).
    """

    merchant = models.OneToOneField(
        "merchants.Merchant",
        verbose_name=_("merchant"),
        on_delete=models.CASCADE,
        related_name="refund_policy",
    )
    approval_threshold = models.BigIntegerField(_("approval threshold (minor units)"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("refund policy")
        verbose_name_plural = _("refund policies")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(approval_threshold__gte=0),
                name="refund_policy_threshold_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant}: {self.approval_threshold}"
