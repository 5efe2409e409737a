"""Template helpers of refund pages: badge tones and labels of statuses and events."""

from datetime import timedelta

from django import template
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from refunds.models import RefundStatus

register = template.Library()

STATUS_TONES: dict[str, str] = {
    RefundStatus.REQUESTED: "info",
    RefundStatus.APPROVED: "info",
    RefundStatus.PROCESSING: "info",
    RefundStatus.UNKNOWN: "warning",
    RefundStatus.MANUAL_REVIEW: "warning",
    RefundStatus.SUCCEEDED: "success",
    RefundStatus.FAILED: "danger",
    RefundStatus.REJECTED: "danger",
    RefundStatus.CANCELED: "muted",
}

# The reason codes the services write on a refund's timeline, in words.
EVENT_REASONS = {
    "requested": _("Requested"),
    "above_threshold": _("Above the approval threshold: waits for an owner or finance user"),
    "support_agent": _("Proposed by a support agent: waits for an owner or finance user"),
    "within_threshold": _("Within the approval threshold: approved automatically"),
    "approved": _("Approved"),
    "rejected": _("Rejected"),
    "canceled": _("Withdrawn by the requester"),
    "sent_to_acquirer": _("Sent to the acquirer"),
    "sla_missed": _("Past its SLA: marked delayed"),
    "gateway_response": _("The acquirer answered"),
    "acquirer_notification": _("The acquirer notified Paydesk"),
    "gateway_rejected": _("The acquirer refused it"),
    "retries_exhausted": _("No answer after every retry"),
    "still_processing": _("The acquirer is still working on it"),
    "retried_after_review": _("Sent again after manual review"),
    "closed_after_review": _("Closed after manual review"),
}


@register.filter
def refund_status_tone(status: str) -> str:
    """Return the badge tone (success, warning, danger, info, muted) of a refund status."""
    return STATUS_TONES.get(status, "muted")


@register.filter
def refund_status_label(status: str) -> str:
    """Return the translated label of a refund status value ("" stays "")."""
    if not status:
        return ""
    try:
        return str(RefundStatus(status).label)
    except ValueError:
        return status


@register.filter
def refund_event_reason(reason: str) -> str:
    """Return a timeline reason code in words; an unknown code is shown as it is."""
    return str(EVENT_REASONS.get(reason, reason))


@register.filter
def age(value: timedelta | None) -> str:
    """Return a duration as "3 d 4 h", "5 h 12 min" or "7 min" (the largest two units)."""
    if value is None:
        return "—"
    minutes = max(int(value.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return ngettext("%(d)d day %(h)d h", "%(d)d days %(h)d h", days) % {"d": days, "h": hours}
    if hours:
        return gettext("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if not minutes:
        return gettext("less than a minute")
    return gettext("%(m)d min") % {"m": minutes}


@register.filter
def age_hours(value: timedelta | None) -> int:
    """Return a duration in whole hours (for sorting and data attributes)."""
    return int(value.total_seconds() // 3600) if value is not None else 0
