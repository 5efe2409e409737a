"""What the sandbox acquirer does with each request: the bank's side of the adapter.

Idempotent on references: a second pay or refund with a reference already seen returns
the first transaction's current state and never charges or refunds again; the same
reference with other parameters is refused (409 reference_conflict). Refunds never exceed
what was captured: refunds that succeeded or are still processing count against it.
"""

import csv
import functools
import io
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from payments.gateways.sandbox_acquirer.config import (
    ConfigInvalid,
    Outcome,
    Plan,
    SandboxConfig,
    latency_seconds,
    plan_payment,
    plan_refund,
)
from payments.gateways.sandbox_acquirer.notifier import Notifier, Scheduler
from payments.gateways.sandbox_acquirer.store import (
    FAILED,
    PROCESSING,
    SUCCEEDED,
    ReferenceConflict,
    Store,
    Transaction,
    timestamp,
    utc_now,
)

logger = logging.getLogger("payments.sandbox_acquirer")

REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
# A primary account number looks like 12-19 digits; the sandbox refuses to even see one.
CARD_NUMBER = re.compile(r"^\d{12,19}$")
MAX_AMOUNT = 10**13
APPROVING = {Outcome.APPROVE, Outcome.HANG_APPROVE, Outcome.ASYNC_APPROVE, Outcome.UNAVAILABLE_ONCE}
BILL_COLUMNS = (
    "record_type",
    "reference",
    "payment_reference",
    "acquirer_reference",
    "merchant_ref",
    "channel",
    "amount",
    "currency",
    "status",
    "decline_code",
    "created_at",
    "completed_at",
)


class ApiError(Exception):
    """A refusal, sent as {"error": {"code", "message", "details"}} with `status`."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        super().__init__(message)

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def _text(data: dict[str, Any], name: str, *, required: bool = True, limit: int = 64) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise ApiError(400, "invalid_request", f"{name} must be a text of 1 to {limit} characters")
    return value


def _reference(data: dict[str, Any], name: str) -> str:
    value = _text(data, name)
    if not REFERENCE.match(value):
        raise ApiError(400, "invalid_request", f"{name} must match {REFERENCE.pattern}")
    return value


def _money(data: dict[str, Any]) -> tuple[int, str]:
    amount, currency = data.get("amount"), data.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount < MAX_AMOUNT:
        raise ApiError(400, "invalid_request", "amount must be a positive integer (minor units)")
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        raise ApiError(400, "invalid_request", "currency must be an ISO 4217 code")
    return amount, currency


def _notify_url(data: dict[str, Any]) -> str:
    url = _text(data, "notify_url", required=False, limit=500)
    if url and not url.startswith(("http://", "https://")):
        raise ApiError(400, "invalid_request", "notify_url must be an http(s) URL")
    return url


def _new_transaction(
    kind: str, reference: str, payment_reference: str, **fields: Any
) -> Transaction:
    return Transaction(
        kind=kind,
        reference=reference,
        payment_reference=payment_reference,
        status=PROCESSING,
        history=(PROCESSING,),
        acquirer_reference=f"SBX{kind[0].upper()}{uuid.uuid4().hex[:20].upper()}",
        decline_code="",
        decline_message="",
        created_at=timestamp(utc_now()),
        completed_at=None,
        **fields,
    )


class Acquirer:
    def __init__(self, config: SandboxConfig, *, sleep: Callable[[float], None] = time.sleep):
        self._config = config
        self._config_lock = threading.Lock()
        self._sleep = sleep
        self.store = Store(config.state_dir)
        self.scheduler = Scheduler()
        self.notifier = Notifier(config.response_secret, self.scheduler)

    @property
    def config(self) -> SandboxConfig:
        return self._config

    def close(self) -> None:
        self.scheduler.stop()
        self.store.close()

    # -- payments ------------------------------------------------------------------------

    def pay(self, data: dict[str, Any]) -> dict[str, Any]:
        reference = _reference(data, "reference")
        amount, currency = _money(data)
        channel = _text(data, "channel", limit=32)
        merchant_ref = _text(data, "merchant_ref")
        token = _text(data, "payer_token", required=False, limit=128)
        if CARD_NUMBER.match(re.sub(r"[\s-]", "", token)):
            raise ApiError(
                400, "card_number_refused", "send the acquirer's token, never a card number"
            )
        notify_url = _notify_url(data)
        config = self.config
        plan = plan_payment(config, reference, amount)
        self._refuse_if_unavailable("payment", reference, plan)
        candidate = _new_transaction(
            "payment",
            reference,
            reference,
            amount=amount,
            currency=currency,
            channel=channel,
            merchant_ref=merchant_ref,
            notify_url=notify_url,
            fingerprint=json.dumps([amount, currency, channel, merchant_ref]),
        )
        try:
            transaction, created = self.store.insert_or_get(candidate)
        except ReferenceConflict as error:
            raise ApiError(
                409, "reference_conflict", "this reference was used for another payment"
            ) from error
        if not created:
            return transaction.as_payload()
        return self._carry_out(transaction, plan, config)

    def payment(self, reference: str) -> dict[str, Any]:
        transaction = self.store.get("payment", reference)
        if transaction is None:
            raise ApiError(404, "payment_not_found", "no payment with this reference")
        return transaction.as_payload()

    # -- refunds -------------------------------------------------------------------------

    def refund(self, data: dict[str, Any]) -> dict[str, Any]:
        reference = _reference(data, "refund_reference")
        payment_reference = _reference(data, "payment_reference")
        amount, currency = _money(data)
        notify_url = _notify_url(data)
        config = self.config
        plan = plan_refund(config, reference, amount)
        self._refuse_if_unavailable("refund", reference, plan)
        with self.store.locked():  # check the balance and record the refund as one step
            existing = self.store.get("refund", reference)
            fingerprint = json.dumps([payment_reference, amount, currency])
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise ApiError(
                        409,
                        "reference_conflict",
                        "this refund reference was used for another refund",
                    )
                return existing.as_payload()
            payment = self.store.get("payment", payment_reference)
            if payment is None:
                raise ApiError(404, "payment_not_found", "no payment with this reference")
            if payment.status != SUCCEEDED:
                raise ApiError(
                    409, "payment_not_captured", "only a succeeded payment can be refunded"
                )
            if currency != payment.currency:
                raise ApiError(
                    400, "currency_mismatch", "the refund's currency is not the payment's"
                )
            refunded = self.store.refunded_total(payment_reference)
            if refunded + amount > payment.amount:
                raise ApiError(
                    422,
                    "refund_exceeds_captured",
                    "the refunds would exceed the captured amount",
                    {"captured": payment.amount, "refunded": refunded, "requested": amount},
                )
            transaction, _ = self.store.insert_or_get(
                _new_transaction(
                    "refund",
                    reference,
                    payment_reference,
                    amount=amount,
                    currency=currency,
                    channel=payment.channel,
                    merchant_ref=payment.merchant_ref,
                    notify_url=notify_url or payment.notify_url,
                    fingerprint=fingerprint,
                )
            )
        return self._carry_out(transaction, plan, config)

    def refund_status(self, reference: str) -> dict[str, Any]:
        transaction = self.store.get("refund", reference)
        if transaction is None:
            raise ApiError(404, "refund_not_found", "no refund with this reference")
        return transaction.as_payload()

    # -- outcomes ------------------------------------------------------------------------

    def _refuse_if_unavailable(self, kind: str, reference: str, plan: Plan) -> None:
        if plan.outcome is Outcome.UNAVAILABLE or (
            plan.outcome is Outcome.UNAVAILABLE_ONCE and self.store.first_attempt(kind, reference)
        ):
            raise ApiError(503, "unavailable", "the acquirer is unavailable; nothing was done")

    def _carry_out(
        self, transaction: Transaction, plan: Plan, config: SandboxConfig
    ) -> dict[str, Any]:
        if plan.outcome in (Outcome.ASYNC_APPROVE, Outcome.ASYNC_DECLINE):
            finish = functools.partial(self._finish, transaction, plan)
            self.scheduler.after(config.async_delay_ms / 1000, finish)
            return transaction.as_payload()
        if plan.outcome in (Outcome.HANG_APPROVE, Outcome.HANG_DECLINE):
            # The client gives up first; the work still completes, as at a real bank.
            self._sleep(config.hang_seconds)
        else:
            self._sleep(latency_seconds(config, transaction.reference))
        self._finish(transaction, plan)
        current = self.store.get(transaction.kind, transaction.reference)
        assert current is not None
        return current.as_payload()

    def _finish(self, transaction: Transaction, plan: Plan) -> None:
        status = SUCCEEDED if plan.outcome in APPROVING else FAILED
        finished = self.store.finish(
            transaction.kind,
            transaction.reference,
            status,
            plan.decline_code if status == FAILED else "",
            plan.decline_message if status == FAILED else "",
        )
        if finished is None:
            return
        config = self.config
        self.notifier.announce(
            finished,
            url=finished.notify_url or config.notify_url,
            repeats=config.notify_repeats,
            interval_seconds=config.notify_interval_ms / 1000,
        )

    # -- bill and administration ---------------------------------------------------------

    def bill_csv(self, day: date) -> str:
        """Return (and file under state_dir/bills/) the final transactions of `day`."""
        zone = ZoneInfo(self.config.timezone)
        start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        if start > utc_now():
            raise ApiError(404, "bill_not_ready", "there is no bill for a day that has not begun")
        output = io.StringIO()
        writer = csv.writer(output, lineterminator="\n")
        writer.writerow(BILL_COLUMNS)
        for row in self.store.completed_between(start, end):
            assert row.completed_at is not None
            writer.writerow(
                [
                    row.kind,
                    row.reference,
                    row.payment_reference,
                    row.acquirer_reference,
                    row.merchant_ref,
                    row.channel,
                    row.amount,
                    row.currency,
                    row.status,
                    row.decline_code,
                    datetime.fromisoformat(row.created_at).astimezone(zone).isoformat(),
                    datetime.fromisoformat(row.completed_at).astimezone(zone).isoformat(),
                ]
            )
        text = output.getvalue()
        if self.config.state_dir is not None:
            bills = self.config.state_dir / "bills"
            bills.mkdir(parents=True, exist_ok=True)
            (bills / f"{day.isoformat()}.csv").write_text(text, encoding="utf-8")
        return text

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self._config_lock:
            try:
                self._config = self._config.updated(changes)
            except ConfigInvalid as error:
                raise ApiError(400, "invalid_config", str(error)) from error
            logger.info("configuration changed: %s", changes)
            return self._config.public()

    def renotify(self, data: dict[str, Any]) -> dict[str, Any]:
        """Deliver one notification now, of the current or an earlier state (out of order)."""
        kind = data.get("kind")
        if kind not in ("payment", "refund"):
            raise ApiError(400, "invalid_request", "kind must be payment or refund")
        transaction = self.store.get(kind, _reference(data, "reference"))
        if transaction is None:
            raise ApiError(404, f"{kind}_not_found", f"no {kind} with this reference")
        status = data.get("status") or transaction.status
        if status not in transaction.history:
            raise ApiError(400, "invalid_request", f"the {kind} was never {status}")
        url = _notify_url(data) or transaction.notify_url or self.config.notify_url
        if not url:
            raise ApiError(
                400, "no_notify_url", "no notify_url in the request, transaction or config"
            )
        receiver_status = self.notifier.deliver(transaction, url, status=status)
        return {"status": status, "notify_url": url, "receiver_status": receiver_status}
