"""Why a refund request or decision is refused: ApplicationErrors with stable codes.

The API renders them in the one error shape; portal views show `message` as a form error.
"""

from django.utils.translation import gettext_lazy as _

from config.errors import Conflict, NotFound, PermissionDenied


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    default_message = _("Only a succeeded payment can be refunded.")


class RefundWindowClosed(Conflict):
    code = "refund_window_closed"
    default_message = _("This payment is too old to be refunded.")


class RefundLimitReached(Conflict):
    code = "refund_limit_reached"
    default_message = _("This payment already has the most refunds allowed.")


class RefundExceedsRefundable(Conflict):
    code = "refund_exceeds_refundable"
    default_message = _("The amount is more than what is left to refund on this payment.")


class RefundExceedsBalance(Conflict):
    code = "refund_exceeds_balance"
    default_message = _(
        "The merchant's balance does not cover this refund now. Try again after more "
        "payments have come in."
    )


class RefundNotFound(NotFound):
    code = "refund_not_found"
    default_message = _("No such refund.")


class RefundNotAllowed(PermissionDenied):
    code = "refund_not_allowed"
    default_message = _("You may not do this to this refund.")


class ApproverIsRequester(PermissionDenied):
    code = "approver_is_requester"
    default_message = _(
        "A refund must be approved or rejected by someone other than its requester."
    )


class ApprovalRequiresPerson(PermissionDenied):
    code = "approval_requires_person"
    default_message = _(
        "An API key cannot approve a live refund: an owner or finance user approves it in "
        "the portal."
    )
