"""The ledger check: proof, run nightly, that every posting, every account and the whole
ledger balance. It trusts nothing the database triggers are meant to guarantee, so it
also catches a trigger that was disabled, a row written around the services, or a wrong
balance checkpoint.

What is checked (each a named check in `LedgerCheckRun.problems`):

- `unbalanced_postings`: a posting whose debits differ from its credits in a currency;
- `short_postings`: a posting with fewer than two entries;
- `currency_mismatches`: an entry whose currency is not its account's;
- `time_mismatches`: an entry not stamped with its posting's time (checkpoints need it);
- `account_totals`: an account whose balance as the selectors derive it (checkpoint plus
  later entries) differs from the sum of all its entries;
- `trial_balance`: a currency in which all debits minus all credits is not zero.
"""

import logging
from datetime import datetime
from functools import partial
from typing import Any

from django.db import models, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.services.audit import audit_event_record
from payments.ledger.models import (
    CheckStatus,
    EntryDirection,
    LedgerAccount,
    LedgerCheckRun,
    LedgerEntry,
    LedgerPosting,
)
from payments.ledger.selectors import accounts_with_totals

logger = logging.getLogger(__name__)

EXAMPLES_PER_CHECK = 50


def _problem(check: str, rows: list[dict[str, Any]], count: int) -> dict[str, Any]:
    return {"check": check, "count": count, "examples": rows[:EXAMPLES_PER_CHECK]}


def _unbalanced_postings(entries: models.QuerySet[LedgerEntry]) -> dict[str, Any] | None:
    big = models.BigIntegerField()
    groups = (
        entries.order_by()
        .values("posting_id", "posting__key", "currency")
        .annotate(
            debits=Coalesce(
                Sum("amount", filter=Q(direction=EntryDirection.DEBIT)), Value(0), output_field=big
            ),
            credits=Coalesce(
                Sum("amount", filter=Q(direction=EntryDirection.CREDIT)),
                Value(0),
                output_field=big,
            ),
        )
        .exclude(debits=F("credits"))
        .order_by("posting_id", "currency")
    )
    count = groups.count()
    if not count:
        return None
    rows = [
        {
            "posting_id": row["posting_id"],
            "posting": row["posting__key"],
            "currency": row["currency"],
            "debits": row["debits"],
            "credits": row["credits"],
        }
        for row in groups[:EXAMPLES_PER_CHECK]
    ]
    return _problem("unbalanced_postings", rows, count)


def _short_postings(postings: models.QuerySet[LedgerPosting]) -> dict[str, Any] | None:
    short = (
        postings.order_by()
        .annotate(lines=Count("entries"))
        .filter(lines__lt=2)
        .values("id", "key", "lines")
        .order_by("id")
    )
    count = short.count()
    if not count:
        return None
    rows = [
        {"posting_id": r["id"], "posting": r["key"], "entries": r["lines"]}
        for r in short[:EXAMPLES_PER_CHECK]
    ]
    return _problem("short_postings", rows, count)


def _entry_mismatches(
    check: str, entries: models.QuerySet[LedgerEntry], mismatch: Q
) -> dict[str, Any] | None:
    wrong = entries.filter(mismatch).order_by("id")
    count = wrong.count()
    if not count:
        return None
    rows = [
        {"entry_id": r["id"], "posting": r["posting__key"], "account_id": r["account_id"]}
        for r in wrong.values("id", "posting__key", "account_id")[:EXAMPLES_PER_CHECK]
    ]
    return _problem(check, rows, count)


def _full_sum(direction: str | None) -> Coalesce:
    every = LedgerEntry.objects.filter(account=OuterRef("pk")).order_by().values("account")
    if direction is None:
        aggregate = every.annotate(value=Count("id")).values("value")[:1]
    else:
        aggregate = (
            every.filter(direction=direction).annotate(value=Sum("amount")).values("value")[:1]
        )
    return Coalesce(Subquery(aggregate), Value(0), output_field=models.BigIntegerField())


def _account_checks() -> tuple[list[dict[str, Any]], int]:
    """Compare derived and full totals of every account; sum the trial balance.

    One statement, so one snapshot: an entry committed while the check runs is either in
    both sides or in neither.
    """
    accounts: models.QuerySet[Any] = accounts_with_totals(LedgerAccount.objects.all()).annotate(
        full_debits=_full_sum(EntryDirection.DEBIT),
        full_credits=_full_sum(EntryDirection.CREDIT),
        full_entries=_full_sum(None),
    )
    wrong_accounts: list[dict[str, Any]] = []
    trial: dict[str, int] = {}
    checked = 0
    for account in accounts.order_by("id").iterator(chunk_size=2000):
        checked += 1
        trial[account.currency] = (
            trial.get(account.currency, 0) + account.full_debits - account.full_credits
        )
        derived = (account.debits, account.credits, account.entry_count)
        full = (account.full_debits, account.full_credits, account.full_entries)
        if derived != full:
            wrong_accounts.append(
                {
                    "account_id": account.pk,
                    "account": str(account),
                    "derived": list(derived),
                    "entries": list(full),
                }
            )
    problems = []
    if wrong_accounts:
        problems.append(_problem("account_totals", wrong_accounts, len(wrong_accounts)))
    off = [
        {"currency": currency, "debits_minus_credits": total}
        for currency, total in sorted(trial.items())
        if total != 0
    ]
    if off:
        problems.append(_problem("trial_balance", off, len(off)))
    return problems, checked


def ledger_check(*, since: datetime | None = None) -> LedgerCheckRun:
    """Check the ledger, record a `LedgerCheckRun`, and alert the administrators on failure.

    Posting-level checks cover postings created from `since` on (all postings when None);
    account totals and the trial balance always cover the whole ledger. On failure: an
    ERROR log line, a `ledger.check_failed` audit event, and an email to the
    administrators queued after commit. Safe to run twice: each run is one more record.
    """
    started_at = timezone.now()
    postings = LedgerPosting.objects.all()
    entries = LedgerEntry.objects.all()
    if since is not None:
        postings = postings.filter(created_at__gte=since)
        entries = entries.filter(posting__created_at__gte=since)

    problems = [
        _unbalanced_postings(entries),
        _short_postings(postings),
        _entry_mismatches("currency_mismatches", entries, ~Q(currency=F("account__currency"))),
        _entry_mismatches("time_mismatches", entries, ~Q(created_at=F("posting__created_at"))),
    ]
    account_problems, account_count = _account_checks()
    found = [p for p in problems if p is not None] + account_problems

    with transaction.atomic():
        run = LedgerCheckRun.objects.create(
            started_at=started_at,
            finished_at=timezone.now(),
            status=CheckStatus.FAILED if found else CheckStatus.PASSED,
            checked_from=since,
            posting_count=postings.count(),
            entry_count=entries.count(),
            account_count=account_count,
            problems=found,
        )
        if found:
            summary = {p["check"]: p["count"] for p in found}
            logger.error(
                "Ledger check failed: %s",
                ", ".join(f"{name}={count}" for name, count in summary.items()),
                extra={"ledger_check_run": run.pk, "problems": found},
            )
            audit_event_record(
                action="ledger.check_failed", target=run, after={"problems": summary}
            )
            from payments.ledger.tasks import ledger_check_alert_send

            transaction.on_commit(partial(ledger_check_alert_send.delay, run.pk))
        else:
            logger.info(
                "Ledger check passed",
                extra={"ledger_check_run": run.pk, "accounts": account_count},
            )
    return run
