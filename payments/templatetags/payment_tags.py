"""Template helpers of payment pages: the badge tone of a status and of an event."""

from django import template

from payments.domain.models import PaymentStatus

register = template.Library()

STATUS_TONES: dict[str, str] = {
    PaymentStatus.REQUIRES_CONFIRMATION: "info",
    PaymentStatus.PROCESSING: "info",
    PaymentStatus.UNKNOWN: "warning",
    PaymentStatus.SUCCEEDED: "success",
    PaymentStatus.FAILED: "danger",
    PaymentStatus.CANCELED: "muted",
    PaymentStatus.EXPIRED: "muted",
}


@register.filter
def payment_status_tone(status: str) -> str:
    """Return the badge tone (success, warning, danger, info, muted) of a payment status."""
    return STATUS_TONES.get(status, "muted")


@register.filter
def payment_status_label(status: str) -> str:
    """Return the translated label of a payment status value ("" stays "")."""
    if not status:
        return ""
    try:
        return str(PaymentStatus(status).label)
    except ValueError:
        return status
