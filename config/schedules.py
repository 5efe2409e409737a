"""Every periodic task of Paydesk, in one place.

Celery beat reads `CELERY_BEAT_SCHEDULE` (imported by the base settings); the
django-celery-beat database scheduler copies these entries into its tables at start, so
operators can see them in the admin. Add an entry here when an app needs a schedule;
never create periodic tasks from code elsewhere.
"""

from typing import Any

from celery.schedules import crontab

CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Janitor: expired sessions would otherwise pile up in the database forever.
    "accounts.session_cleanup": {
        "task": "accounts.tasks.session_cleanup",
        "schedule": crontab(minute=17),
    },
    # ...and passkey sign-in challenges and emailed codes, one row per abandoned page load.
    "accounts.passkey_records_purge": {
        "task": "accounts.tasks.passkey_records_purge",
        "schedule": crontab(minute=23),
    },
    # Webhooks: start due retries and recover deliveries whose task was lost.
    "payments.webhooks.webhook_delivery_sweep": {
        "task": "payments.webhooks.tasks.webhook_delivery_sweep",
        "schedule": 60.0,
    },
    # Payments janitor (docs/payments.md): expire payments not confirmed in time...
    "payments.payment_expiry_sweep": {
        "task": "payments.tasks.payment_expiry_sweep",
        "schedule": 60.0,
    },
    # ...ask the acquirer about unknown payments whose next_query_at has passed (back-off:
    # 1 min, 5 min, 1 h, then daily)...
    "payments.payment_query_sweep": {
        "task": "payments.tasks.payment_query_sweep",
        "schedule": 60.0,
    },
    # ...close checkout verification attempts left open (VERIFICATION_ABANDON_MINUTES) or
    # whose payment expired, as abandoned: the funnel's last stage (docs/checkout.md)...
    "payments.verification_attempt_abandon_sweep": {
        "task": "payments.tasks.verification_attempt_abandon_sweep",
        "schedule": 60.0,
    },
    # ...and purge Idempotency-Key records past their retention (kept at least 24 h).
    "payments.idempotency_record_purge": {
        "task": "payments.tasks.idempotency_record_purge",
        "schedule": crontab(minute=41),
    },
    # Refunds janitor (docs/refunds.md): ask the acquirer about refunds whose result is
    # unknown or overdue (same back-off as payments)...
    "refunds.refund_query_sweep": {
        "task": "refunds.tasks.refund_query_sweep",
        "schedule": 60.0,
    },
    # ...and mark approved refunds still open past their SLA (REFUND_SLA_HOURS) as delayed.
    "refunds.refund_sla_sweep": {
        "task": "refunds.tasks.refund_sla_sweep",
        "schedule": 300.0,
    },
    # Ledger: balance checkpoints keep balance reads short (docs/ledger.md).
    "payments.ledger.balance_checkpoints_create": {
        "task": "payments.ledger.tasks.balance_checkpoints_create",
        "schedule": crontab(minute=5),
    },
    # Ledger: nightly proof that every posting, every account and the whole ledger balance;
    # alerts the administrators when not. 02:30 in CELERY_TIMEZONE (Asia/Shanghai).
    "payments.ledger.ledger_check": {
        "task": "payments.ledger.tasks.ledger_check",
        "schedule": crontab(hour=2, minute=30),
    },
}
