"""The nightly ledger check: passes on a sound ledger, reports and alerts on a broken one."""

import datetime
import logging

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from config.celery import app as celery_app
from payments.ledger.alerts import ledger_check_alert_send
from payments.ledger.checks import ledger_check
from payments.ledger.models import CheckStatus, LedgerBalanceCheckpoint, LedgerCheckRun
from payments.ledger.services import posting_reverse
from tests.factories import UserFactory
from tests.payments.ledger.support import accounts, capture, new_merchant, raw_posting


@pytest.fixture(autouse=True)
def _eager_celery():
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


def set_triggers(enabled: bool, *names: str) -> None:
    """Switch ledger triggers off or on (the test user is the tables' owner)."""
    action = "ENABLE" if enabled else "DISABLE"
    with connection.cursor() as cursor:
        for name in names:
            table = "payments_ledger_posting" if "posting" in name else "payments_ledger_entry"
            cursor.execute(f"ALTER TABLE {table} {action} TRIGGER {name}")


def problem_names(run: LedgerCheckRun) -> list[str]:
    return [problem["check"] for problem in run.problems]


@pytest.mark.django_db
def test_the_check_passes_on_a_sound_ledger(django_capture_on_commit_callbacks):
    UserFactory(roles=[Role.ADMINISTRATOR])
    merchant = new_merchant()
    first = capture(merchant, amount=10_000, fee=60)
    capture(merchant, amount=3_000, fee=18)
    posting_reverse(posting=first, key="reverse:first")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = ledger_check()

    assert run.status == CheckStatus.PASSED
    assert run.problems == []
    assert (run.posting_count, run.entry_count, run.account_count) == (3, 9, 3)
    assert run.checked_from is None
    assert callbacks == []
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action="ledger.check_failed").exists()


@pytest.mark.django_db(transaction=True)
def test_a_posting_written_while_the_trigger_was_off_is_reported_and_alerted(caplog):
    administrator = UserFactory(roles=[Role.ADMINISTRATOR], email="admin@example.com")
    UserFactory(roles=[Role.FINANCE_OPERATOR], email="finance@example.com")
    merchant = new_merchant()
    capture(merchant, amount=10_000, fee=60)
    book = accounts(merchant)
    set_triggers(False, "ledger_entry_balanced", "ledger_posting_balanced")
    try:
        with transaction.atomic():
            posting_id = raw_posting(
                "seeded:unbalanced",
                [
                    (book["receivable"].pk, "debit", 100, "CNY"),
                    (book["pending"].pk, "credit", 90, "CNY"),
                ],
            )
    finally:
        set_triggers(True, "ledger_entry_balanced", "ledger_posting_balanced")

    with caplog.at_level(logging.ERROR, logger="payments.ledger.checks"):
        run = ledger_check()

    run.refresh_from_db()
    assert run.status == CheckStatus.FAILED
    assert run.problems == [
        {
            "check": "unbalanced_postings",
            "count": 1,
            "examples": [
                {
                    "posting_id": posting_id,
                    "posting": "seeded:unbalanced",
                    "currency": "CNY",
                    "debits": 100,
                    "credits": 90,
                }
            ],
        },
        {
            "check": "trial_balance",
            "count": 1,
            "examples": [{"currency": "CNY", "debits_minus_credits": 10}],
        },
    ]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "Ledger check failed: unbalanced_postings=1, trial_balance=1"
    ]
    assert AuditEvent.objects.get(action="ledger.check_failed").after == {
        "problems": {"unbalanced_postings": 1, "trial_balance": 1}
    }
    assert [message.to for message in mail.outbox] == [[administrator.email]]
    assert mail.outbox[0].subject == "[Paydesk] Ledger check failed: 2 problem(s)"
    assert "- unbalanced_postings: 1" in mail.outbox[0].body
    assert "seeded:unbalanced" in mail.outbox[0].body
    assert run.alerted_at is not None


@pytest.mark.django_db
def test_an_entry_in_the_wrong_currency_is_reported(django_capture_on_commit_callbacks):
    administrator = UserFactory(roles=[Role.ADMINISTRATOR])
    merchant = new_merchant()
    book = accounts(merchant)
    # Switched off inside the test's transaction: the rollback at the end switches it back.
    set_triggers(False, "ledger_entry_prepare")
    raw_posting(
        "seeded:currency",
        [(book["receivable"].pk, "debit", 100, "USD"), (book["pending"].pk, "credit", 100, "USD")],
    )

    with django_capture_on_commit_callbacks(execute=True):
        run = ledger_check()

    # With the trigger off the entries also missed the posting's time stamp.
    assert problem_names(run) == ["currency_mismatches", "time_mismatches"]
    assert run.problems[0]["count"] == 2
    assert {e["posting"] for e in run.problems[0]["examples"]} == {"seeded:currency"}
    assert [message.to for message in mail.outbox] == [[administrator.email]]


@pytest.mark.django_db
def test_a_wrong_balance_checkpoint_is_reported_for_its_account():
    merchant = new_merchant()
    posting = capture(merchant, amount=10_000, fee=60)
    pending = accounts(merchant)["pending"]
    LedgerBalanceCheckpoint.objects.create(
        account=pending,
        cutoff=posting.created_at - datetime.timedelta(hours=1),
        debit_total=0,
        credit_total=1_000_000,
        entry_count=3,
    )

    run = ledger_check()

    assert problem_names(run) == ["account_totals"]
    (example,) = run.problems[0]["examples"]
    assert example["account_id"] == pending.pk
    assert example["derived"] == [0, 1_009_940, 4]
    assert example["entries"] == [0, 9_940, 1]


@pytest.mark.django_db
def test_a_windowed_check_skips_older_postings_but_still_sums_the_whole_ledger():
    merchant = new_merchant()
    book = accounts(merchant)
    # Switched off inside the test's transaction (its rollback switches them back on).
    set_triggers(False, "ledger_entry_balanced", "ledger_posting_balanced")
    raw_posting(
        "seeded:old",
        [(book["receivable"].pk, "debit", 100, "CNY"), (book["pending"].pk, "credit", 90, "CNY")],
    )

    run = ledger_check(since=timezone.now() + datetime.timedelta(seconds=1))

    assert problem_names(run) == ["trial_balance"]
    assert run.posting_count == 0
    assert run.checked_from is not None


@pytest.mark.django_db
def test_the_alert_is_sent_once_per_failed_run():
    UserFactory(roles=[Role.ADMINISTRATOR])
    superuser = UserFactory(is_superuser=True, email="root@example.com")
    UserFactory(roles=[Role.ADMINISTRATOR], is_active=False)
    run = LedgerCheckRun.objects.create(
        finished_at=timezone.now(),
        status=CheckStatus.FAILED,
        problems=[{"check": "trial_balance", "count": 1, "examples": []}],
    )

    first = ledger_check_alert_send(run=run)
    second = ledger_check_alert_send(run=run)

    assert (first, second) == (2, 0)
    assert superuser.email in [message.to[0] for message in mail.outbox]
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_passed_run_alerts_nobody():
    UserFactory(roles=[Role.ADMINISTRATOR])
    run = LedgerCheckRun.objects.create(finished_at=timezone.now(), status=CheckStatus.PASSED)

    assert ledger_check_alert_send(run=run) == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_check_is_a_nightly_task_the_worker_knows():
    celery_app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["payments.ledger.ledger_check"]

    run_id = celery_app.tasks[entry["task"]].apply().get()

    assert entry["schedule"] == crontab(hour=2, minute=30)
    assert LedgerCheckRun.objects.get(pk=run_id).status == CheckStatus.PASSED
    checkpoint_entry = settings.CELERY_BEAT_SCHEDULE["payments.ledger.balance_checkpoints_create"]
    assert checkpoint_entry["task"] in celery_app.tasks
