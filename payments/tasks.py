"""Celery tasks of the payments app. The worker discovers this module only, so each
sub-package's tasks are imported here; add yours below."""

from payments.ledger.tasks import balance_checkpoints_create, ledger_check, ledger_check_alert_send

__all__ = ["balance_checkpoints_create", "ledger_check", "ledger_check_alert_send"]

from payments.webhooks.tasks import (
    webhook_delivery_attempt,
    webhook_delivery_sweep,
    webhook_endpoint_disabled_notify,
)

__all__ += [
    "webhook_delivery_attempt",
    "webhook_delivery_sweep",
    "webhook_endpoint_disabled_notify",
]
