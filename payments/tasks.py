"""Celery tasks of the payments app. The worker discovers this module only, so each
sub-package's tasks are imported here; add yours below."""

from payments.ledger.tasks import ledger_check, ledger_check_alert_send, balance_checkpoints_create

__all__ = ["ledger_check", "ledger_check_alert_send", "balance_checkpoints_create"]
