"""Balance checkpoints: the totals of an account's entries before a cutoff.

Without them a balance would sum every entry the account ever had, and a merchant taking
millions of payments would read ever more slowly. A checkpoint is derived data, written by
the `balance_checkpoints_create` task; the nightly `ledger_check` recomputes every latest
checkpoint from the entries.

The one rule that makes a checkpoint correct: no entry created before its cutoff may
commit after it is computed. An entry's `created_at` is its transaction's start (the
database sets it), so the cutoff is held back to the start of the oldest transaction
still open on the database, and a little more (`LEDGER_CHECKPOINT_LAG_SECONDS`).
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from payments.ledger.models import LedgerAccount, LedgerBalanceCheckpoint, LedgerEntry
from payments.ledger.selectors import BEGINNING, accounts_with_totals

logger = logging.getLogger(__name__)

DEFAULT_LAG_SECONDS = 300

# Every client session on this database that is inside a transaction, ours included: an
# entry our own transaction writes later is stamped with our start too.
OLDEST_OPEN_TRANSACTION_SQL = """
SELECT min(xact_start) FROM pg_stat_activity
WHERE datname = current_database()
  AND backend_type = 'client backend'
  AND xact_start IS NOT NULL
"""


def checkpoint_cutoff_safe(*, now: datetime | None = None) -> datetime:
    """Return the latest cutoff under which no entry can still appear.

    That is `now` less the lag, held back on PostgreSQL to the start of the oldest open
    transaction (sessions of this database's users; see docs/ledger.md).
    """
    lag = timedelta(seconds=getattr(settings, "LEDGER_CHECKPOINT_LAG_SECONDS", DEFAULT_LAG_SECONDS))
    cutoff = (now or timezone.now()) - lag
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(OLDEST_OPEN_TRANSACTION_SQL)
            (oldest,) = cursor.fetchone()
        if oldest is not None:
            cutoff = min(cutoff, oldest)
    return cutoff


def balance_checkpoints_create(*, cutoff: datetime | None = None) -> int:
    """Checkpoint every account that had entries since the last checkpoint run.

    `cutoff` defaults to `checkpoint_cutoff_safe()`; pass one only when you know that no
    transaction older than it is still writing. Safe to run twice and concurrently: a
    checkpoint is unique per (account, cutoff). Return the number of accounts checkpointed.
    """
    with transaction.atomic():
        if cutoff is None:
            cutoff = checkpoint_cutoff_safe()
        since = LedgerBalanceCheckpoint.objects.aggregate(latest=Max("cutoff"))["latest"]
        since = since or BEGINNING
        if since >= cutoff:
            return 0
        # Accounts with entries in [since, cutoff), found through the posting time index.
        active = LedgerEntry.objects.filter(
            posting__created_at__gte=since, posting__created_at__lt=cutoff
        ).values("account_id")
        # Annotations: beyond what the type checker's Django plugin can resolve.
        accounts: Iterable[Any] = accounts_with_totals(
            LedgerAccount.objects.filter(pk__in=active), as_of=cutoff
        ).filter(checkpoint_cutoff__lt=cutoff, recent_entries__gt=0)  # type: ignore[misc]
        checkpoints = [
            LedgerBalanceCheckpoint(
                account=account,
                cutoff=cutoff,
                debit_total=account.debits,
                credit_total=account.credits,
                entry_count=account.entry_count,
            )
            for account in accounts
        ]
        LedgerBalanceCheckpoint.objects.bulk_create(checkpoints, ignore_conflicts=True)
    logger.info(
        "ledger checkpoints written",
        extra={"accounts": len(checkpoints), "cutoff": cutoff.isoformat()},
    )
    return len(checkpoints)
