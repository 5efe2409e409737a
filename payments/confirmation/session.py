"""Where a checkout keeps its ceremonies in the payer's session."""

from payments.domain.models import Payment


def session_key(payment: Payment, step: str) -> str:
    """Return the session key holding the ids of `step` ("passkey", "registration",
    "email_code") for `payment`: an answer is accepted only from the session that asked."""
    return f"checkout:{payment.pk}:{step}"
