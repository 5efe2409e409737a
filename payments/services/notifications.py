"""Notifications the acquirer posts to Paydesk: verified, matched, applied at most once.

The adapter's `parse_notification` proves the message comes from the acquirer (signature,
timestamp, nonce). Paydesk then checks it against the payment it holds (reference, amount,
currency) and applies it through `payment_gateway_result_apply`, under the payment's lock,
so that repeated and out-of-order notifications change nothing.

Payments know nothing of refunds: the refunds app registers its handler for refund
notifications with `notification_handler_register` in its AppConfig.ready.
"""

import logging
from collections.abc import Callable, Mapping

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import ApplicationError, NotFound
from payments.domain.models import Payment
from payments.gateways import GatewayMismatch, Notification, NotificationKind, get_gateway
from payments.selectors import payment_get_by_reference
from payments.services.acquirer import payment_gateway_name
from payments.services.transitions import Actor, payment_gateway_result_apply

logger = logging.getLogger("payments")

NotificationHandler = Callable[[Notification, str], object]
_HANDLERS: dict[str, NotificationHandler] = {}


class NotificationNotHandled(ApplicationError):  # noqa: N818
    code = "notification_not_handled"
    status = 422
    default_message = gettext_lazy("Paydesk does not handle this kind of notification.")


def notification_handler_register(kind: str, handler: NotificationHandler) -> None:
    """Let a higher app handle notifications of `kind` (e.g. refunds): `handler(notification,
    gateway_name)` is called with a verified notification; it raises ApplicationError to
    refuse one."""
    _HANDLERS[kind] = handler


def acquirer_notification_receive(
    *, gateway_name: str, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> Notification:
    """Verify a notification posted by the acquirer `gateway_name` and apply it.

    Raise InvalidSignature for a forged, stale or replayed message, GatewayError for a
    malformed one, NotFound for an unknown payment, GatewayMismatch when it does not match
    the payment (nothing changes in each case). Return the verified notification.
    """
    try:
        gateway = get_gateway(gateway_name)
    except ImproperlyConfigured:
        raise NotFound(_("No such acquirer."), code="acquirer_not_found") from None
    notification = gateway.parse_notification(method=method, path=path, headers=headers, body=body)
    if notification.kind == NotificationKind.PAYMENT:
        payment_notification_apply(notification=notification, gateway_name=gateway_name)
        return notification
    handler = _HANDLERS.get(notification.kind)
    if handler is None:
        logger.warning("acquirer notification of kind %s has no handler", notification.kind)
        raise NotificationNotHandled(details={"kind": str(notification.kind)})
    handler(notification, gateway_name)
    return notification


def payment_notification_apply(*, notification: Notification, gateway_name: str) -> Payment:
    """Apply a verified payment notification from `gateway_name` to its payment.

    A payment that another acquirer handles is refused like a mismatch: a sandbox-signed
    message must never settle a live payment.
    """
    payment = payment_get_by_reference(notification.reference)
    if payment is None:
        logger.warning("acquirer notification for unknown payment %r", notification.reference)
        raise NotFound(_("No such payment."), code="payment_not_found")
    if payment_gateway_name(payment) != gateway_name:
        logger.error(
            "payment %s handled by %s got a notification from %s",
            payment.public_id,
            payment_gateway_name(payment),
            gateway_name,
        )
        raise GatewayMismatch(reason="wrong_acquirer")
    return payment_gateway_result_apply(
        payment=payment,
        result=notification,
        actor=Actor.for_acquirer(gateway_name),
        reason="acquirer_notification",
        details={"notification_id": notification.notification_id},
    )
