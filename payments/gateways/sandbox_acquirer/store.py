"""The sandbox acquirer's own books: payments and refunds in SQLite (a file or memory).

One connection behind one lock: the sandbox serves a developer or a test suite, not the
production peak, and the lock makes "look up, check, insert" atomic, which is what keeps
a repeated reference from charging or refunding twice.
"""

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROCESSING, SUCCEEDED, FAILED = "processing", "succeeded", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    kind TEXT NOT NULL,                 -- payment | refund
    reference TEXT NOT NULL,
    payment_reference TEXT NOT NULL,    -- the payment itself, or the refunded payment
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    channel TEXT NOT NULL,
    merchant_ref TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    fingerprint TEXT NOT NULL,          -- what a repeat with this reference must match
    status TEXT NOT NULL,
    history TEXT NOT NULL,              -- JSON list of every status it has had
    acquirer_reference TEXT NOT NULL,
    decline_code TEXT NOT NULL,
    decline_message TEXT NOT NULL,
    created_at TEXT NOT NULL,
    completed_at TEXT,
    PRIMARY KEY (kind, reference)
);
CREATE INDEX IF NOT EXISTS transactions_completed_at ON transactions (completed_at);
CREATE INDEX IF NOT EXISTS transactions_payment ON transactions (payment_reference, kind);
CREATE TABLE IF NOT EXISTS unavailable_once (
    kind TEXT NOT NULL, reference TEXT NOT NULL, PRIMARY KEY (kind, reference)
);
"""

_COLUMNS = (
    "kind, reference, payment_reference, amount, currency, channel, merchant_ref, notify_url, "
    "fingerprint, status, history, acquirer_reference, decline_code, decline_message, "
    "created_at, completed_at"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    # One fixed format in UTC, so that text order is time order in SQL.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Transaction:
    kind: str
    reference: str
    payment_reference: str
    amount: int
    currency: str
    channel: str
    merchant_ref: str
    notify_url: str
    fingerprint: str
    status: str
    history: tuple[str, ...]
    acquirer_reference: str
    decline_code: str
    decline_message: str
    created_at: str
    completed_at: str | None

    def as_payload(self, status: str | None = None) -> dict[str, Any]:
        """Return the wire form; `status` renders an earlier state from `history`."""
        shown = status or self.status
        final = shown == self.status and shown != PROCESSING
        return {
            "kind": self.kind,
            "reference": self.reference,
            "payment_reference": self.payment_reference,
            "status": shown,
            "amount": self.amount,
            "currency": self.currency,
            "channel": self.channel,
            "merchant_ref": self.merchant_ref,
            "acquirer_reference": self.acquirer_reference,
            "decline_code": self.decline_code if final else "",
            "decline_message": self.decline_message if final else "",
            "created_at": self.created_at,
            "completed_at": self.completed_at if final else None,
        }


class ReferenceConflict(Exception):  # noqa: N818  (a refusal, named for the domain)
    """The reference is taken by a request with other amounts or parties."""


class Store:
    def __init__(self, state_dir: Path | None) -> None:
        if state_dir is None:
            target = ":memory:"
        else:
            state_dir.mkdir(parents=True, exist_ok=True)
            target = str(state_dir / "acquirer.sqlite3")
        # Autocommit; atomicity of multi-step checks comes from self.lock (one writer).
        self._connection = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        with self.lock:
            self._connection.executescript(_SCHEMA)

    def close(self) -> None:
        with self.lock:
            self._connection.close()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store for a check-then-write sequence."""
        with self.lock:
            yield

    @staticmethod
    def _from_row(row: sqlite3.Row) -> Transaction:
        values = dict(row)
        values["history"] = tuple(json.loads(values["history"]))
        return Transaction(**values)

    def get(self, kind: str, reference: str) -> Transaction | None:
        with self.lock:
            row = self._connection.execute(
                f"SELECT {_COLUMNS} FROM transactions WHERE kind = ? AND reference = ?",  # noqa: S608
                (kind, reference),
            ).fetchone()
        return None if row is None else self._from_row(row)

    def insert_or_get(self, transaction: Transaction) -> tuple[Transaction, bool]:
        """Insert, or return the transaction already under this reference (created False).

        Raise ReferenceConflict when the existing one was asked with other parameters.
        """
        with self.lock:
            existing = self.get(transaction.kind, transaction.reference)
            if existing is not None:
                if existing.fingerprint != transaction.fingerprint:
                    raise ReferenceConflict(transaction.reference)
                return existing, False
            self._insert(transaction)
            return transaction, True

    def _insert(self, transaction: Transaction) -> None:
        values = asdict(transaction)
        values["history"] = json.dumps(list(transaction.history))
        placeholders = ", ".join(f":{name}" for name in values)
        self._connection.execute(
            f"INSERT INTO transactions ({', '.join(values)}) VALUES ({placeholders})",  # noqa: S608
            values,
        )

    def refunded_total(self, payment_reference: str) -> int:
        """Return the refunds of a payment that succeeded or may still succeed."""
        with self.lock:
            row = self._connection.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM transactions "
                "WHERE kind = 'refund' AND payment_reference = ? AND status IN (?, ?)",
                (payment_reference, SUCCEEDED, PROCESSING),
            ).fetchone()
        return int(row[0])

    def finish(
        self, kind: str, reference: str, status: str, decline_code: str = "", message: str = ""
    ) -> Transaction | None:
        """Move a processing transaction to its final status; None if it was already final."""
        with self.lock:
            current = self.get(kind, reference)
            if current is None or current.status != PROCESSING:
                return None
            finished = replace(
                current,
                status=status,
                history=(*current.history, status),
                decline_code=decline_code,
                decline_message=message,
                completed_at=timestamp(utc_now()),
            )
            self._connection.execute(
                "UPDATE transactions SET status = ?, history = ?, decline_code = ?, "
                "decline_message = ?, completed_at = ? WHERE kind = ? AND reference = ?",
                (
                    finished.status,
                    json.dumps(list(finished.history)),
                    decline_code,
                    message,
                    finished.completed_at,
                    kind,
                    reference,
                ),
            )
            return finished

    def first_attempt(self, kind: str, reference: str) -> bool:
        """Return True the first time this reference is seen here, False afterwards."""
        with self.lock:
            cursor = self._connection.execute(
                "INSERT OR IGNORE INTO unavailable_once (kind, reference) VALUES (?, ?)",
                (kind, reference),
            )
            return cursor.rowcount == 1

    def completed_between(self, start: datetime, end: datetime) -> list[Transaction]:
        """Return the final transactions completed in [start, end), oldest first."""
        with self.lock:
            rows = self._connection.execute(
                f"SELECT {_COLUMNS} FROM transactions "  # noqa: S608
                "WHERE completed_at >= ? AND completed_at < ? AND status != ? "
                "ORDER BY completed_at, kind, reference",
                (timestamp(start), timestamp(end), PROCESSING),
            ).fetchall()
        return [self._from_row(row) for row in rows]
