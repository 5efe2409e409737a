"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is "{webhook-id}.{webhook-timestamp}.{body}"; the signature is the
base64 HMAC-SHA256 of it, keyed by the base64-decoded part of the secret after "whsec_",
sent as "v1,<signature>". During a secret rotation's overlap a delivery carries one
signature per valid secret, separated by spaces, so a receiver holding either verifies.
"""

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
USER_AGENT = "Paydesk-Webhooks/1"


def webhook_secret_key(secret: str) -> bytes:
    """Return the HMAC key of a "whsec_..." secret (its base64 part, decoded)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded, validate=True)


def webhook_signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the "v1,<base64>" signature of one message with one secret."""
    signed_content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_secret_key(secret), signed_content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def webhook_headers(
    *, secrets: list[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Return the HTTP headers of a delivery: content type, ids, timestamp and signatures.

    `secrets` are every secret valid now (newest first); there must be at least one.
    """
    if not secrets:
        raise ValueError("a webhook delivery needs at least one signing secret")
    signatures = " ".join(
        webhook_signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body)
        for secret in secrets
    )
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }
