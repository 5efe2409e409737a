"""What the acquirer says after the send: the janitor's queries and the notifications.

Both end in `refund_gateway_result_apply` (refunds.services.processing), idempotent and
order-proof, so a query and a notification about the same refund can race harmlessly.
"""

import logging

from payments.gateways import (
    GatewayError,
    GatewayMismatch,
    GatewayNotFound,
    GatewayRejected,
    GatewayStatus,
    GatewayTimeout,
    GatewayUnavailable,
    Notification,
)
from payments.services.acquirer import payment_gateway
from refunds.errors import RefundNotFound
from refunds.models import AWAITING_ACQUIRER_STATUSES, Refund
from refunds.services.common import RefundActor
from refunds.services.processing import (
    refund_gateway_name,
    refund_gateway_result_apply,
    refund_query_reschedule,
    refund_request_for,
    refund_to_manual_review,
)

logger = logging.getLogger("refunds")


def refund_requery(*, refund_id: int) -> Refund:
    """Ask the acquirer what happened to a processing or unknown refund, and record it.

    A refund the acquirer never heard of was not made: the same request is sent again
    (same reference); if the acquirer now refuses it, it goes to manual review. No answer
    or "processing" schedules the next query by the back-off. Safe to run twice.
    """
    refund = Refund.objects.select_related("payment", "merchant").get(pk=refund_id)
    if refund.status not in AWAITING_ACQUIRER_STATUSES:
        return refund
    gateway = payment_gateway(refund.payment)
    actor = RefundActor.for_acquirer(refund_gateway_name(refund))
    try:
        try:
            result = gateway.refund_query(refund.reference)
            reason = "gateway_query"
        except GatewayNotFound:
            logger.warning("refund %s: unknown to the acquirer; sending it again", refund.public_id)
            result = gateway.refund(refund_request_for(refund))
            reason = "gateway_resubmission"
    except (GatewayTimeout, GatewayUnavailable) as error:
        return refund_query_reschedule(refund=refund, reason=error.reason or error.code)
    except GatewayRejected as error:  # the re-sent request was refused: nothing was made
        return refund_to_manual_review(
            refund=refund,
            actor=actor,
            reason="gateway_rejected",
            failure_code=error.reason or error.code,
            message=str(error.details.get("acquirer_message") or error.message),
        )
    except GatewayError as error:  # unverifiable or malformed: ask again later
        logger.error("refund %s: query failed (%s)", refund.public_id, error.code)
        return refund_query_reschedule(refund=refund, reason=error.reason or error.code)
    try:
        updated = refund_gateway_result_apply(
            refund=refund, result=result, actor=actor, reason=reason
        )
    except GatewayMismatch:
        return refund_query_reschedule(refund=refund, reason="result_mismatch")
    if result.status == GatewayStatus.PROCESSING:
        return refund_query_reschedule(refund=updated, reason="still_processing")
    return updated


def refund_notification_apply(notification: Notification, gateway_name: str) -> Refund:
    """Apply a verified refund notification from `gateway_name` (registered with payments).

    Raise RefundNotFound for an unknown refund, GatewayMismatch for a refund another
    acquirer handles or a message that does not match it; nothing changes then.
    """
    refund = (
        Refund.objects.select_related("payment", "merchant")
        .filter(public_id=notification.reference)
        .first()
    )
    if refund is None:
        logger.warning("acquirer notification for unknown refund %r", notification.reference)
        raise RefundNotFound()
    if refund_gateway_name(refund) != gateway_name:
        logger.error(
            "refund %s handled by %s got a notification from %s",
            refund.public_id,
            refund_gateway_name(refund),
            gateway_name,
        )
        raise GatewayMismatch(reason="wrong_acquirer")
    return refund_gateway_result_apply(
        refund=refund,
        result=notification,
        actor=RefundActor.for_acquirer(gateway_name),
        reason="acquirer_notification",
        details={"notification_id": notification.notification_id},
    )
