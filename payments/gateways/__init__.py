"""Gateway adapters: how Paydesk asks an acquirer to pay, refund, query and bill.

Import from here; the modules behind it are details:

    from payments.gateways import GatewayTimeout, PayRequest, get_gateway

    result = get_gateway().pay(PayRequest(reference=..., amount=1000, currency="CNY", ...))

The contract is in `base.GatewayAdapter`, the errors and what each means to the caller in
`errors`, the sandbox acquirer (a real HTTP service) in docs/sandbox-acquirer.md.
"""

from payments.gateways.base import (
    Bill,
    BillRow,
    GatewayAdapter,
    GatewayResult,
    GatewayStatus,
    Notification,
    NotificationKind,
    PayRequest,
    RefundRequest,
    RefundResult,
)
from payments.gateways.errors import (
    GatewayError,
    GatewayMismatch,
    GatewayNotFound,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidSignature,
)
from payments.gateways.registry import get_gateway

__all__ = [
    "Bill",
    "BillRow",
    "GatewayAdapter",
    "GatewayError",
    "GatewayMismatch",
    "GatewayNotFound",
    "GatewayRejected",
    "GatewayResult",
    "GatewayStatus",
    "GatewayTimeout",
    "GatewayUnavailable",
    "InvalidSignature",
    "Notification",
    "NotificationKind",
    "PayRequest",
    "RefundRequest",
    "RefundResult",
    "get_gateway",
]
