"""Admin of the payments app: each sub-package registers its own; add yours below."""

import payments.ledger.admin  # noqa: F401
