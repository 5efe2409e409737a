"""HMAC-SHA256 message signing between Paydesk and the sandbox acquirer.

Each direction has its own shared secret: Paydesk signs its requests with the *request*
secret; the acquirer signs its responses and notifications with the *response* secret. A
signature covers a canonical string of the method, the path with its query, the HTTP
status (responses only), a timestamp, a nonce and the SHA-256 of the exact body bytes:

    PAYDESK-SANDBOX-HMAC-SHA256\\nPOST\\n/v1/pay\\n\\n1732520000\\n<nonce>\\n<sha256 hex>

A receiver refuses a timestamp more than five minutes away from its clock and a nonce it
has already seen inside that window, so a captured message cannot be replayed.

This module imports nothing from Django: the sandbox service uses it too.
"""

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Protocol

SCHEME = "PAYDESK-SANDBOX-HMAC-SHA256"
TIMESTAMP_HEADER = "X-Sandbox-Timestamp"
NONCE_HEADER = "X-Sandbox-Nonce"
SIGNATURE_HEADER = "X-Sandbox-Signature"
MAX_CLOCK_SKEW_SECONDS = 300
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class SignatureError(ValueError):
    """A message failed verification; `reason` is a stable code for logs and errors."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class NonceStore(Protocol):
    def remember(self, nonce: str, ttl_seconds: int) -> bool:
        """Record `nonce`; return False if it was already recorded within its ttl."""
        ...


class MemoryNonceStore:
    """Nonces seen by this process, forgotten after their ttl (thread-safe)."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self._expiries: dict[str, float] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def remember(self, nonce: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        with self._lock:
            expiry = self._expiries.get(nonce)
            if expiry is not None and expiry > now:
                return False
            if len(self._expiries) >= self._max_entries:
                self._expiries = {n: e for n, e in self._expiries.items() if e > now}
            self._expiries[nonce] = now + ttl_seconds
            return True


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_string(
    *, method: str, path: str, timestamp: str, nonce: str, body: bytes, status: int | None = None
) -> bytes:
    """Return the bytes that are signed; `status` is given for responses only."""
    parts = [
        SCHEME,
        method.upper(),
        path,
        "" if status is None else str(status),
        timestamp,
        nonce,
        body_digest(body),
    ]
    return "\n".join(parts).encode()


def compute_signature(
    secret: str,
    *,
    method: str,
    path: str,
    timestamp: str,
    nonce: str,
    body: bytes,
    status: int | None = None,
) -> str:
    if not secret:
        # An empty key would make every signature forgeable: refuse to sign or verify.
        raise ValueError("the signing secret is empty")
    message = canonical_string(
        method=method, path=path, timestamp=timestamp, nonce=nonce, body=body, status=status
    )
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_headers(
    secret: str,
    *,
    method: str,
    path: str,
    body: bytes,
    status: int | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """Return the three headers that sign this message with a fresh timestamp and nonce."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(16)
    signature = compute_signature(
        secret,
        method=method,
        path=path,
        timestamp=timestamp,
        nonce=nonce,
        body=body,
        status=status,
    )
    return {TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce, SIGNATURE_HEADER: signature}


def _header(headers: Mapping[str, str], name: str) -> str:
    # Header names are case-insensitive; Django, httpx and http.server each spell them apart.
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return str(value).strip()
    return ""


def verify_signature(
    secret: str,
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    nonces: NonceStore,
    status: int | None = None,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless the headers sign this exact message, freshly and once.

    The nonce is remembered only after the signature and timestamp hold, so forged
    messages cannot use up genuine nonces.
    """
    timestamp = _header(headers, TIMESTAMP_HEADER)
    nonce = _header(headers, NONCE_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not (timestamp and nonce and signature):
        raise SignatureError("missing_signature", "the signature headers are missing")
    if not timestamp.isdigit() or not NONCE_PATTERN.match(nonce):
        raise SignatureError("malformed_signature", "the timestamp or nonce is malformed")
    expected = compute_signature(
        secret,
        method=method,
        path=path,
        timestamp=timestamp,
        nonce=nonce,
        body=body,
        status=status,
    )
    if not hmac.compare_digest(expected, signature.lower()):
        raise SignatureError("invalid_signature", "the signature does not match the message")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureError("stale_timestamp", "the timestamp is more than 5 minutes off")
    # Twice the skew: a nonce must stay known for as long as its timestamp is acceptable.
    if not nonces.remember(nonce, 2 * MAX_CLOCK_SKEW_SECONDS):
        raise SignatureError("replayed_nonce", "this nonce was already used")
