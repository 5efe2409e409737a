"""Write seeded payments: COPY on PostgreSQL, the ORM elsewhere (SQLite for `make run`).

Both writers run inside the caller's transaction, one batch at a time. The ledger lines of
each capture come from the ledger's own recipe (`payment_capture_lines`) under the key of
`capture_posting_key`; on PostgreSQL the postings and entries are COPYed, and the
database's triggers check every one of them exactly as they check a posting made by the
service (balanced at COMMIT, stamped with the transaction's time, currency of the account).
"""

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol
from unittest import mock

from django.db import connection, models

from merchants.models import Merchant
from payments.domain.models import Payment, PaymentEvent
from payments.ledger import recipes
from payments.ledger.models import LedgerAccount, LedgerEntry, LedgerPosting, PostingKind
from payments.ledger.recipes import payment_capture_lines, posting_key
from payments.ledger.services import posting_create
from payments.seeding.generate import SeedPayment

SOURCE_TYPE = Payment._meta.label_lower


def capture_key(public_id: str) -> str:
    """The capture's posting key, as `payments.services.transitions.capture_posting_key`."""
    return posting_key("payment", public_id, "capture")


def capture_memo(public_id: str) -> str:
    return f"Payment {public_id}"


@contextmanager
def ledger_accounts_memoized() -> Iterator[None]:
    """Let the ledger's recipes look each account up once for the whole seed.

    A recipe fetches (or creates) its accounts on every call; for a million captures that
    is three million queries for a handful of rows. Accounts are append-only and never
    change, so remembering them is safe. Only the recipes' lookup is memoized, only here.
    """
    original = recipes.account_get_or_create
    known: dict[tuple[str, str, int | None], LedgerAccount] = {}

    def remembered(*, kind: str, currency: str, merchant: Merchant | None = None) -> LedgerAccount:
        key = (kind, currency, merchant.pk if merchant is not None else None)
        account = known.get(key)
        if account is None:
            account = known[key] = original(kind=kind, currency=currency, merchant=merchant)
        return account

    with mock.patch.object(recipes, "account_get_or_create", remembered):
        yield


class SeedWriter(Protocol):
    with_postings: bool

    def write(self, batch: Sequence[SeedPayment]) -> list[int]:
        """Write the batch; return the new payments' primary keys, in batch order."""
        ...


def _timestamp(moment: float | None) -> datetime | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC)


def _converters(model: type[models.Model]) -> list[tuple[str, str, Callable[[Any], Any], Any]]:
    """Return (column, attname, to-COPY-text converter, default) for every concrete field."""
    columns = []
    for model_field in model._meta.concrete_fields:
        if isinstance(model_field, models.DateTimeField):
            convert: Callable[[Any], Any] = _timestamp
        elif isinstance(model_field, models.JSONField):
            convert = json.dumps
        else:
            convert = _identity
        # What the model would store when the generator leaves a field out ("" or None).
        default = None if model_field.primary_key else model_field.get_default()
        if not isinstance(default, datetime):
            default = convert(default)
        columns.append(
            (model_field.column or model_field.attname, model_field.attname, convert, default)
        )
    return columns


def _columns(model: type[models.Model], *names: str) -> list[str]:
    columns = []
    for name in names:
        model_field = model._meta.get_field(name)
        assert isinstance(model_field, models.Field) and model_field.column
        columns.append(model_field.column)
    return columns


def _identity(value: Any) -> Any:
    return value


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


class PostgresCopyWriter:
    """COPY payments, events, postings and entries; ids come from the tables' sequences."""

    def __init__(self, *, with_postings: bool) -> None:
        self.with_postings = with_postings
        self.payment_columns = _converters(Payment)
        self.event_columns = _columns(
            PaymentEvent,
            "payment",
            "occurred_at",
            "from_status",
            "to_status",
            "reason",
            "actor_type",
            "actor_label",
            "details",
        )

    def _ids(self, model: type[models.Model], count: int) -> list[int]:
        if not count:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [model._meta.db_table, model._meta.pk.column, count],
            )
            return [row[0] for row in cursor.fetchall()]

    def _copy(self, table: str, columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> None:
        sql = f"COPY {connection.ops.quote_name(table)} ({_quoted(columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    def write(self, batch: Sequence[SeedPayment]) -> list[int]:
        ids = self._ids(Payment, len(batch))
        columns = self.payment_columns
        pk = Payment._meta.pk.attname

        def payment_rows() -> Iterator[tuple[Any, ...]]:
            for payment_id, seeded in zip(ids, batch, strict=True):
                fields = seeded.fields
                fields[pk] = payment_id
                yield tuple(
                    convert(fields[attname]) if attname in fields else default
                    for _column, attname, convert, default in columns
                )

        self._copy(Payment._meta.db_table, [column[0] for column in columns], payment_rows())

        def event_rows() -> Iterator[tuple[Any, ...]]:
            for payment_id, seeded in zip(ids, batch, strict=True):
                for event in seeded.events:
                    yield (
                        payment_id,
                        _timestamp(event.occurred_at),
                        event.from_status,
                        event.to_status,
                        event.reason,
                        event.actor_type,
                        event.actor_label,
                        json.dumps(event.details),
                    )

        self._copy(PaymentEvent._meta.db_table, self.event_columns, event_rows())
        if self.with_postings:
            self._postings(ids, batch)
        return ids

    def _postings(self, ids: Sequence[int], batch: Sequence[SeedPayment]) -> None:
        captured = [(pid, seeded) for pid, seeded in zip(ids, batch, strict=True) if seeded.capture]
        posting_ids = self._ids(LedgerPosting, len(captured))
        postings: list[tuple[Any, ...]] = []
        entries: list[tuple[Any, ...]] = []
        for posting_id, (payment_id, seeded) in zip(posting_ids, captured, strict=True):
            assert seeded.capture is not None
            amount, fee = seeded.capture
            public_id = seeded.fields["public_id"]
            lines = payment_capture_lines(
                merchant=seeded.merchant, amount=amount, fee=fee, currency=seeded.fields["currency"]
            )
            postings.append(
                (
                    posting_id,
                    capture_key(public_id),
                    PostingKind.PAYMENT_CAPTURE,
                    SOURCE_TYPE,
                    str(payment_id),
                    capture_memo(public_id),
                )
            )
            entries.extend(
                (posting_id, line.account.pk, line.direction, line.amount, line.currency)
                for line in lines
            )
        self._copy(
            LedgerPosting._meta.db_table,
            _columns(LedgerPosting, "id", "key", "kind", "source_type", "source_id", "memo"),
            iter(postings),
        )
        self._copy(
            LedgerEntry._meta.db_table,
            _columns(LedgerEntry, "posting", "account", "direction", "amount", "currency"),
            iter(entries),
        )


class OrmWriter:
    """bulk_create for payments and events, the ledger's posting_create for captures.

    Slower than COPY; meant for SQLite and small counts. `updated_at` is the time of the
    seed here (auto_now), not the time of the payment's last change.
    """

    def __init__(self, *, with_postings: bool) -> None:
        self.with_postings = with_postings
        self.datetime_names = {
            f.attname for f in Payment._meta.concrete_fields if isinstance(f, models.DateTimeField)
        }

    def write(self, batch: Sequence[SeedPayment]) -> list[int]:
        payments = [
            Payment(
                **{
                    name: _timestamp(value) if name in self.datetime_names else value
                    for name, value in seeded.fields.items()
                }
            )
            for seeded in batch
        ]
        Payment.objects.bulk_create(payments, batch_size=500)
        PaymentEvent.objects.bulk_create(
            [
                PaymentEvent(
                    payment_id=payment.pk,
                    occurred_at=datetime.fromtimestamp(event.occurred_at, UTC),
                    from_status=event.from_status,
                    to_status=event.to_status,
                    reason=event.reason,
                    actor_type=event.actor_type,
                    actor_label=event.actor_label,
                    details=event.details,
                )
                for payment, seeded in zip(payments, batch, strict=True)
                for event in seeded.events
            ],
            batch_size=500,
        )
        if self.with_postings:
            for payment, seeded in zip(payments, batch, strict=True):
                if seeded.capture is None:
                    continue
                amount, fee = seeded.capture
                posting_create(
                    key=capture_key(payment.public_id),
                    kind=PostingKind.PAYMENT_CAPTURE,
                    lines=payment_capture_lines(
                        merchant=seeded.merchant, amount=amount, fee=fee, currency=payment.currency
                    ),
                    source=payment,
                    memo=capture_memo(payment.public_id),
                )
        return [payment.pk for payment in payments]
