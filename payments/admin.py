"""Admin of the payments app: each sub-package registers its own; add yours below."""

import payments.confirmation.admin
import payments.domain.admin
import payments.ledger.admin
import payments.webhooks.admin  # noqa: F401
