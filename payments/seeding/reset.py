"""Remove seeded payments (`manage.py seed_payments --reset`): what the seed made, only.

The ledger is append-only, so a seeded capture posting is never deleted: it is reversed,
and balances return to what they were without the seed.
"""

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet

from payments.domain.models import ActorType, Payment, PaymentEvent, PaymentStatus
from payments.ledger.models import EntryDirection, LedgerEntry, LedgerPosting, PostingKind
from payments.ledger.services import posting_reverse
from payments.seeding import hooks
from payments.seeding.generate import ORDER_ID_PREFIX, SEED_ACTOR_LABEL
from payments.seeding.writers import SOURCE_TYPE

RESET_KEY_SUFFIX = "seed_reset"
RESET_MEMO = "Seeded data removed (seed_payments --reset)"


def seeded_payments() -> QuerySet[Payment]:
    """Return the payments `payments_seed` made: its order ids, and created by the seed.

    A merchant's API call always records the merchant as the creator, so a merchant's own
    "seed-..." order ids never match.
    """
    created_by_seed = PaymentEvent.objects.filter(
        payment=OuterRef("pk"),
        from_status="",
        to_status=PaymentStatus.REQUIRES_CONFIRMATION,
        actor_type=ActorType.SYSTEM,
        actor_label=SEED_ACTOR_LABEL,
    )
    return Payment.objects.filter(
        Exists(created_by_seed), merchant_order_id__startswith=ORDER_ID_PREFIX
    )


@dataclass
class ResetResult:
    payments: int = 0
    events: int = 0
    reversals: int = 0


def reversal_key(capture_key: str) -> str:
    """The key of the posting that reverses a seeded capture when the seed is reset."""
    return f"{capture_key}:{RESET_KEY_SUFFIX}"


def payments_seed_reset() -> ResetResult:
    """Delete the seeded payments and their events; reverse their capture postings.

    The ledger is append-only, so a seeded capture is never deleted: each gets its
    reversing posting (kind `reversal`, key `<capture key>:seed_reset`) and balances return
    to what they were without the seed. One transaction: all of it, or nothing (a row of
    another app that still points at a seeded payment makes it fail, changing nothing).
    """
    result = ResetResult()
    with transaction.atomic():
        payments = seeded_payments()
        for hook in hooks.seed_reset_hooks():
            hook(payments)
        if connection.vendor == "postgresql":
            _reset_in_database(payments, result)
        else:
            _reset_with_orm(payments, result)
    return result


def _reset_with_orm(payments: QuerySet[Payment], result: ResetResult) -> None:
    ids = list(payments.values_list("pk", flat=True))
    postings = LedgerPosting.objects.filter(
        source_type=SOURCE_TYPE,
        source_id__in=[str(pk) for pk in ids],
        reversed_by__isnull=True,
        reverses__isnull=True,
    )
    for posting in postings:
        posting_reverse(posting=posting, key=reversal_key(posting.key), memo=RESET_MEMO)
        result.reversals += 1
    result.events, _ = PaymentEvent.objects.filter(payment_id__in=ids).delete()
    result.payments, _ = Payment.objects.filter(pk__in=ids).delete()


# Set-based SQL on PostgreSQL: a million reversals through the service would take an hour.
# The ledger's triggers check every reversal exactly as they check the service's.
REVERSE_POSTINGS = """
    INSERT INTO payments_ledger_posting (key, kind, source_type, source_id, reverses_id, memo)
    SELECT captured.key || %(suffix)s, %(kind)s, captured.source_type, captured.source_id,
           captured.id, %(memo)s
    FROM payments_ledger_posting captured
    JOIN seed_reset ON captured.source_id = seed_reset.id::text
    WHERE captured.source_type = %(source_type)s
      AND captured.reverses_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM payments_ledger_posting done
                      WHERE done.reverses_id = captured.id)
"""
REVERSE_ENTRIES = """
    INSERT INTO payments_ledger_entry (posting_id, account_id, direction, amount, currency)
    SELECT reversal.id, line.account_id,
           CASE line.direction WHEN %(debit)s THEN %(credit)s ELSE %(debit)s END,
           line.amount, line.currency
    FROM payments_ledger_posting reversal
    JOIN payments_ledger_entry line ON line.posting_id = reversal.reverses_id
    WHERE reversal.created_at = transaction_timestamp()
      AND reversal.kind = %(kind)s AND reversal.memo = %(memo)s
    ORDER BY line.id
"""
DELETE_EVENTS = "DELETE FROM payments_paymentevent WHERE payment_id IN (SELECT id FROM seed_reset)"
DELETE_PAYMENTS = "DELETE FROM payments_payment WHERE id IN (SELECT id FROM seed_reset)"


def _reset_in_database(payments: QuerySet[Payment], result: ResetResult) -> None:
    assert LedgerPosting._meta.db_table == "payments_ledger_posting"
    assert LedgerEntry._meta.db_table == "payments_ledger_entry"
    assert (Payment._meta.db_table, PaymentEvent._meta.db_table) == (
        "payments_payment",
        "payments_paymentevent",
    )
    selected, params = payments.values("pk").query.sql_with_params()
    parameters = {
        "suffix": f":{RESET_KEY_SUFFIX}",
        "kind": PostingKind.REVERSAL,
        "memo": RESET_MEMO,
        "source_type": SOURCE_TYPE,
        "debit": EntryDirection.DEBIT,
        "credit": EntryDirection.CREDIT,
    }
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE seed_reset (id bigint PRIMARY KEY) ON COMMIT DROP")
        cursor.execute(f"INSERT INTO seed_reset (id) {selected}", params)
        cursor.execute(REVERSE_POSTINGS, parameters)
        result.reversals = cursor.rowcount
        cursor.execute(REVERSE_ENTRIES, parameters)
        cursor.execute(DELETE_EVENTS)
        result.events = cursor.rowcount
        cursor.execute(DELETE_PAYMENTS)
        result.payments = cursor.rowcount
        # Also when the caller's transaction goes on (ON COMMIT would wait for its end).
        cursor.execute("DROP TABLE seed_reset")
