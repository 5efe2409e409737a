"""Helpers for the ledger tests: standard postings, raw SQL that bypasses the services,
and threads with their own database connections."""

import threading
import uuid
from collections.abc import Callable
from typing import Any

from django.db import connection, connections

from merchants.models import Merchant
from payments.ledger.models import AccountKind, LedgerAccount, LedgerPosting, PostingKind
from payments.ledger.recipes import payment_capture_lines, posting_key
from payments.ledger.services import account_get_or_create, posting_create
from tests.factories import MerchantFactory


def new_merchant() -> Merchant:
    """Return a new saved merchant (typed: factory-boy's return type is the factory)."""
    return MerchantFactory()


def capture(
    merchant: Merchant,
    *,
    amount: int = 10_000,
    fee: int = 60,
    currency: str = "CNY",
    key: str | None = None,
) -> LedgerPosting:
    """Post a payment capture (gross `amount`, `fee` to the platform) for `merchant`."""
    return posting_create(
        key=key or posting_key("payment", uuid.uuid4().hex, "capture"),
        kind=PostingKind.PAYMENT_CAPTURE,
        lines=payment_capture_lines(merchant=merchant, amount=amount, fee=fee, currency=currency),
    )


def accounts(merchant: Merchant, currency: str = "CNY") -> dict[str, LedgerAccount]:
    """Return the capture accounts: receivable, the merchant's pending, fee revenue."""
    return {
        "receivable": account_get_or_create(
            kind=AccountKind.ACQUIRER_RECEIVABLE, currency=currency
        ),
        "pending": account_get_or_create(
            kind=AccountKind.MERCHANT_PENDING, currency=currency, merchant=merchant
        ),
        "fees": account_get_or_create(kind=AccountKind.FEE_REVENUE, currency=currency),
    }


def raw_posting(key: str, lines: list[tuple[int, str, int, str]]) -> int:
    """INSERT a posting and its entries with plain SQL, around every Python check."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payments_ledger_posting (key, kind, source_type, source_id, memo)"
            " VALUES (%s, 'adjustment', '', '', '') RETURNING id",
            [key],
        )
        (posting_id,) = cursor.fetchone()
        for account_id, direction, amount, currency in lines:
            cursor.execute(
                "INSERT INTO payments_ledger_entry"
                " (posting_id, account_id, direction, amount, currency)"
                " VALUES (%s, %s, %s, %s, %s)",
                [posting_id, account_id, direction, amount, currency],
            )
    return posting_id


def run_in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads, each on its own connection; return the results.

    An exception in a thread is re-raised here, so a failed worker fails the test.
    """
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            results[index] = work(index)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    if errors:
        raise errors[0]
    return results
