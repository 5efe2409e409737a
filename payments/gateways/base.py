"""The gateway adapter interface: what Paydesk asks an acquirer, and what it gets back.

Every adapter (the sandbox today, real acquirers later) takes and returns these frozen
types, so the payment and refund services never see a wire format. Amounts are integers
in the currency's minor unit; references are Paydesk's own and the acquirer is idempotent
on them: asking again with the same reference returns the first result, never a second
charge or refund. `get_gateway()` (payments.gateways.registry) picks the adapter.
"""

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from payments.gateways.errors import GatewayMismatch

# Paydesk's references travel in URL paths and bill files: keep them plain.
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")


class GatewayStatus(StrEnum):
    """Where the acquirer says a payment or refund stands."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PROCESSING = "processing"  # accepted; the final result comes by notification or query

    @property
    def is_final(self) -> bool:
        return self is not GatewayStatus.PROCESSING


class NotificationKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


def _check_reference(name: str, value: str) -> None:
    if not isinstance(value, str) or not REFERENCE_PATTERN.match(value):
        raise ValueError(f"{name} must match {REFERENCE_PATTERN.pattern}, got {value!r}")


def _check_money(amount: int, currency: str) -> None:
    # bool is an int: refuse it, it is always a bug here.
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"amount must be a positive integer in minor units, got {amount!r}")
    if not isinstance(currency, str) or not CURRENCY_PATTERN.match(currency):
        raise ValueError(f"currency must be an ISO 4217 code such as 'CNY', got {currency!r}")


@dataclass(frozen=True, kw_only=True)
class PayRequest:
    """Ask the acquirer to authorise and capture `amount` for one payment.

    `payer_token` is the acquirer's token for the card or wallet account, never a card
    number. `notify_url` is where the acquirer posts signed notifications of the result.
    """

    reference: str
    amount: int
    currency: str
    channel: str
    merchant_ref: str
    payer_token: str = ""
    notify_url: str = ""

    def __post_init__(self) -> None:
        _check_reference("reference", self.reference)
        _check_money(self.amount, self.currency)
        if not self.channel or not self.merchant_ref:
            raise ValueError("channel and merchant_ref are required")


@dataclass(frozen=True, kw_only=True)
class RefundRequest:
    """Ask the acquirer to refund `amount` of a captured payment.

    Retries must reuse `refund_reference`: that is what keeps a refund from being paid twice.
    """

    refund_reference: str
    payment_reference: str
    amount: int
    currency: str
    notify_url: str = ""

    def __post_init__(self) -> None:
        _check_reference("refund_reference", self.refund_reference)
        _check_reference("payment_reference", self.payment_reference)
        _check_money(self.amount, self.currency)


@dataclass(frozen=True, kw_only=True)
class GatewayResult:
    """The acquirer's answer about one payment (from pay or query)."""

    reference: str
    status: GatewayStatus
    amount: int
    currency: str
    acquirer_reference: str = ""
    decline_code: str = ""  # set when failed: a stable code such as "insufficient_funds"
    decline_message: str = ""  # the acquirer's own words, for logs and staff, not payers
    completed_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_final(self) -> bool:
        return self.status.is_final


@dataclass(frozen=True, kw_only=True)
class RefundResult:
    """The acquirer's answer about one refund (from refund or refund_query)."""

    refund_reference: str
    payment_reference: str
    status: GatewayStatus
    amount: int
    currency: str
    acquirer_reference: str = ""
    decline_code: str = ""
    decline_message: str = ""
    completed_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_final(self) -> bool:
        return self.status.is_final


@dataclass(frozen=True, kw_only=True)
class Notification:
    """A verified asynchronous notification from the acquirer.

    The acquirer sends each one several times, each delivery freshly signed; every delivery
    of the same event has the same `notification_id`. Applying it must be idempotent: a
    transaction already in a final state changes nothing.
    """

    notification_id: str
    kind: NotificationKind
    reference: str  # the payment reference, or the refund reference for a refund
    payment_reference: str
    status: GatewayStatus
    amount: int
    currency: str
    acquirer_reference: str = ""
    decline_code: str = ""
    decline_message: str = ""
    completed_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def check_matches(self, *, reference: str, amount: int, currency: str) -> None:
        """Raise GatewayMismatch unless this notification is about exactly this transaction.

        Call it with the values Paydesk holds (the locked payment or refund row) before
        applying the notification: a valid signature alone does not prove the amount.
        """
        expected = {"reference": reference, "amount": amount, "currency": currency}
        received = {"reference": self.reference, "amount": self.amount, "currency": self.currency}
        if expected != received:
            raise GatewayMismatch(
                reason="notification_mismatch",
                details={"expected": expected, "received": received},
            )


@dataclass(frozen=True, kw_only=True)
class BillRow:
    """One line of the acquirer's daily bill: a payment or a refund in a final state."""

    record_type: NotificationKind
    reference: str
    payment_reference: str
    acquirer_reference: str
    merchant_ref: str
    channel: str
    amount: int
    currency: str
    status: GatewayStatus
    decline_code: str
    created_at: datetime
    completed_at: datetime


@dataclass(frozen=True, kw_only=True)
class Bill:
    """The acquirer's bill for one day (its own time zone), for reconciliation."""

    day: date
    rows: tuple[BillRow, ...]
    raw: str = field(default="", compare=False, repr=False)  # the file as received


class GatewayAdapter(ABC):
    """What Paydesk can ask an acquirer. One instance per call site is fine: no shared state.

    Every method makes one outbound call with explicit connect and read timeouts and raises
    a `GatewayError` subclass on any failure (see payments.gateways.errors for what each
    means to the caller). None of them touches the database.
    """

    name: ClassVar[str]

    @abstractmethod
    def pay(self, request: PayRequest) -> GatewayResult:
        """Authorise and capture a payment; idempotent on `request.reference`.

        A `processing` result means the final one comes by notification or `query`.
        GatewayTimeout means unknown: query later, never pay again with a new reference.
        """

    @abstractmethod
    def query(self, reference: str) -> GatewayResult:
        """Return the acquirer's current view of a payment; GatewayNotFound if it has none."""

    @abstractmethod
    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund part or all of a captured payment; idempotent on `refund_reference`.

        GatewayRejected with reason `refund_exceeds_captured` when the refunds would exceed
        what was captured; retry GatewayTimeout/GatewayUnavailable with the same reference.
        """

    @abstractmethod
    def refund_query(self, refund_reference: str) -> RefundResult:
        """Return the acquirer's current view of a refund; GatewayNotFound if it has none."""

    @abstractmethod
    def bill(self, day: date) -> Bill:
        """Return the final payments and refunds the acquirer completed on `day`."""

    @abstractmethod
    def parse_notification(
        self, *, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> Notification:
        """Verify and decode a notification the acquirer posted to Paydesk.

        `path` is the request's full path with its query string, exactly as received
        (Django: `request.get_full_path()`); `body` the raw bytes (`request.body`).
        Raise InvalidSignature for a bad signature, a stale timestamp or a replayed nonce.
        """
