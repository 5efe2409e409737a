"""The adapter for the sandbox acquirer (`manage.py sandbox_acquirer`), over signed HTTP.

Wire format and magic amounts: docs/sandbox-acquirer.md. Every call signs its request with
the request secret, verifies the acquirer's signed response with the response secret, and
has explicit connect and read timeouts.
"""

import csv
import io
import json
import logging
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, NoReturn, TypedDict
from urllib.parse import quote

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

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
    _check_reference,
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
from payments.gateways.signing import (
    NonceStore,
    SignatureError,
    signature_headers,
    verify_signature,
)

logger = logging.getLogger(__name__)


class CacheNonceStore:
    """Nonces in Django's cache: with Redis, shared by every web and worker process."""

    def __init__(self, prefix: str = "gateways:sandbox:nonce:") -> None:
        self.prefix = prefix

    def remember(self, nonce: str, ttl_seconds: int) -> bool:
        # cache.add is atomic on Redis: of two processes seeing the same nonce, one wins.
        return bool(cache.add(self.prefix + nonce, 1, timeout=ttl_seconds))


def _malformed(what: str, error: Exception | None = None) -> NoReturn:
    raise GatewayError(reason="malformed_response", details={"what": what}) from error


def _datetime_or_none(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class _Outcome(TypedDict):
    status: GatewayStatus
    amount: int
    currency: str
    acquirer_reference: str
    decline_code: str
    decline_message: str
    completed_at: datetime | None


def _outcome(data: Mapping[str, Any]) -> _Outcome:
    """Read what every answer about a payment or refund says of its outcome.

    Raise KeyError, TypeError or ValueError when `data` is malformed.
    """
    return {
        "status": GatewayStatus(data["status"]),
        "amount": int(data["amount"]),
        "currency": str(data["currency"]),
        "acquirer_reference": str(data.get("acquirer_reference") or ""),
        "decline_code": str(data.get("decline_code") or ""),
        "decline_message": str(data.get("decline_message") or ""),
        "completed_at": _datetime_or_none(data.get("completed_at")),
    }


def _payment_result(data: Mapping[str, Any]) -> GatewayResult:
    try:
        return GatewayResult(
            reference=str(data["reference"]),
            **_outcome(data),
            raw=dict(data),
        )
    except (KeyError, TypeError, ValueError) as error:
        _malformed("payment", error)


def _refund_result(data: Mapping[str, Any]) -> RefundResult:
    try:
        return RefundResult(
            refund_reference=str(data["reference"]),
            payment_reference=str(data["payment_reference"]),
            **_outcome(data),
            raw=dict(data),
        )
    except (KeyError, TypeError, ValueError) as error:
        _malformed("refund", error)


def _bill_rows(text: str) -> tuple[BillRow, ...]:
    try:
        return tuple(
            BillRow(
                record_type=NotificationKind(row["record_type"]),
                reference=row["reference"],
                payment_reference=row["payment_reference"],
                acquirer_reference=row["acquirer_reference"],
                merchant_ref=row["merchant_ref"],
                channel=row["channel"],
                amount=int(row["amount"]),
                currency=row["currency"],
                status=GatewayStatus(row["status"]),
                decline_code=row["decline_code"],
                created_at=datetime.fromisoformat(row["created_at"]),
                completed_at=datetime.fromisoformat(row["completed_at"]),
            )
            for row in csv.DictReader(io.StringIO(text))
        )
    except (KeyError, TypeError, ValueError) as error:
        _malformed("bill", error)


def _expect_same(what: str, expected: Mapping[str, Any], received: Mapping[str, Any]) -> None:
    if dict(expected) != dict(received):
        raise GatewayMismatch(
            reason=f"{what}_mismatch", details={"expected": expected, "received": received}
        )


class SandboxGateway(GatewayAdapter):
    """Talk to the sandbox acquirer at `base_url`; see GatewayAdapter for the contract."""

    name = "sandbox"

    def __init__(
        self,
        *,
        base_url: str,
        request_secret: str,
        response_secret: str,
        connect_timeout: float = 2.0,
        read_timeout: float = 3.0,
        nonces: NonceStore | None = None,
    ) -> None:
        if not request_secret or not response_secret:
            raise ValueError("both sandbox acquirer secrets are required")
        self.base_url = base_url.rstrip("/")
        self._request_secret = request_secret
        self._response_secret = response_secret
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._nonces: NonceStore = nonces if nonces is not None else CacheNonceStore()

    @classmethod
    def from_settings(cls) -> "SandboxGateway":
        return cls(
            base_url=settings.SANDBOX_ACQUIRER_URL,
            request_secret=settings.SANDBOX_ACQUIRER_REQUEST_SECRET,
            response_secret=settings.SANDBOX_ACQUIRER_RESPONSE_SECRET,
            connect_timeout=settings.PAYMENT_GATEWAY_CONNECT_TIMEOUT,
            read_timeout=settings.PAYMENT_GATEWAY_READ_TIMEOUT,
        )

    def __repr__(self) -> str:  # never show the secrets
        return f"SandboxGateway(base_url={self.base_url!r})"

    # -- the interface -------------------------------------------------------------------

    def pay(self, request: PayRequest) -> GatewayResult:
        payload = {
            "reference": request.reference,
            "amount": request.amount,
            "currency": request.currency,
            "channel": request.channel,
            "merchant_ref": request.merchant_ref,
            "payer_token": request.payer_token,
            "notify_url": request.notify_url,
        }
        result = _payment_result(self._call_json("POST", "/v1/pay", payload))
        _expect_same(
            "response",
            {
                "reference": request.reference,
                "amount": request.amount,
                "currency": request.currency,
            },
            {"reference": result.reference, "amount": result.amount, "currency": result.currency},
        )
        return result

    def query(self, reference: str) -> GatewayResult:
        _check_reference("reference", reference)
        result = _payment_result(self._call_json("GET", f"/v1/payments/{quote(reference)}"))
        _expect_same("response", {"reference": reference}, {"reference": result.reference})
        return result

    def refund(self, request: RefundRequest) -> RefundResult:
        payload = {
            "refund_reference": request.refund_reference,
            "payment_reference": request.payment_reference,
            "amount": request.amount,
            "currency": request.currency,
            "notify_url": request.notify_url,
        }
        result = _refund_result(self._call_json("POST", "/v1/refunds", payload))
        _expect_same(
            "response",
            {
                "refund_reference": request.refund_reference,
                "payment_reference": request.payment_reference,
                "amount": request.amount,
                "currency": request.currency,
            },
            {
                "refund_reference": result.refund_reference,
                "payment_reference": result.payment_reference,
                "amount": result.amount,
                "currency": result.currency,
            },
        )
        return result

    def refund_query(self, refund_reference: str) -> RefundResult:
        _check_reference("refund_reference", refund_reference)
        data = self._call_json("GET", f"/v1/refunds/{quote(refund_reference)}")
        result = _refund_result(data)
        _expect_same(
            "response",
            {"refund_reference": refund_reference},
            {"refund_reference": result.refund_reference},
        )
        return result

    def bill(self, day: date) -> Bill:
        response = self._call("GET", f"/v1/bills/{day.isoformat()}")
        text = response.content.decode("utf-8")
        return Bill(day=day, rows=_bill_rows(text), raw=text)

    def parse_notification(
        self, *, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> Notification:
        try:
            verify_signature(
                self._response_secret,
                method=method,
                path=path,
                headers=headers,
                body=body,
                nonces=self._nonces,
            )
        except SignatureError as error:
            logger.warning("sandbox notification refused: %s", error.reason)
            raise InvalidSignature(reason=error.reason) from error
        try:
            data = json.loads(body)
            return Notification(
                notification_id=str(data["notification_id"]),
                kind=NotificationKind(data["kind"]),
                reference=str(data["reference"]),
                payment_reference=str(data["payment_reference"]),
                **_outcome(data),
                raw=data,
            )
        except (KeyError, TypeError, ValueError) as error:
            _malformed("notification", error)

    # -- transport -------------------------------------------------------------------------

    def _call_json(
        self, method: str, path: str, payload: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        response = self._call(method, path, payload)
        try:
            data = response.json()
        except ValueError as error:
            _malformed("json", error)
        if not isinstance(data, dict):
            _malformed("json")
        return data

    def _call(
        self, method: str, path: str, payload: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """Send one signed request and return the verified 2xx response, or raise."""
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        url = httpx.URL(self.base_url + path)
        signed_path = url.raw_path.decode("ascii")
        headers = {
            "Content-Type": "application/json",
            **signature_headers(self._request_secret, method=method, path=signed_path, body=body),
        }
        # Write and pool waits share the read budget; connect has its own, shorter one.
        timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        started = time.monotonic()
        try:
            with httpx.Client(timeout=timeout) as client:
                response = client.request(method, url, content=body or None, headers=headers)
        except (httpx.ConnectTimeout, httpx.ConnectError, httpx.PoolTimeout) as error:
            # The request never left: the acquirer surely did nothing.
            logger.warning("sandbox %s %s: unreachable (%s)", method, path, error)
            raise GatewayUnavailable(reason="unreachable") from error
        except (httpx.TimeoutException, httpx.ReadError, httpx.WriteError) as error:
            logger.warning("sandbox %s %s: no answer in time (%s)", method, path, error)
            raise GatewayTimeout(reason="timeout") from error
        except httpx.RemoteProtocolError as error:
            raise GatewayTimeout(reason="connection_broken") from error
        except httpx.TransportError as error:
            raise GatewayUnavailable(reason="transport_error") from error
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.info(
            "sandbox %s %s -> %s in %.0f ms", method, path, response.status_code, elapsed_ms
        )
        return self._checked(method, signed_path, response)

    def _checked(self, method: str, signed_path: str, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if status == 503:
            raise GatewayUnavailable(reason="acquirer_unavailable", details={"http_status": 503})
        if status >= 500:
            # A 500 may come after the acquirer acted: the outcome is unknown, not refused.
            raise GatewayTimeout(
                _("The payment gateway failed while handling the request; the outcome is unknown."),
                reason="acquirer_error",
                details={"http_status": status},
            )
        try:
            verify_signature(
                self._response_secret,
                method=method,
                path=signed_path,
                headers=response.headers,
                body=response.content,
                nonces=self._nonces,
                status=status,
            )
        except SignatureError as error:
            logger.warning("sandbox response refused: %s", error.reason)
            raise InvalidSignature(reason=error.reason) from error
        if 200 <= status < 300:
            return response
        try:
            error_body = response.json().get("error", {})
            reason = str(error_body.get("code") or f"http_{status}")
            acquirer_message = str(error_body.get("message") or "")
        except (ValueError, AttributeError):
            reason, acquirer_message = f"http_{status}", ""
        details = {"http_status": status, "acquirer_message": acquirer_message}
        if status == 404:
            raise GatewayNotFound(reason=reason, details=details)
        raise GatewayRejected(reason=reason, details=details)
