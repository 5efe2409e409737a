"""Keyed hashing of API keys and encryption of webhook secrets, both derived from SECRET_KEY.

Every derived key is computed for SECRET_KEY and each of SECRET_KEY_FALLBACKS, so rotating
SECRET_KEY the Django way (old key moved to the fallbacks) keeps existing API keys and
webhook secrets working until they are reissued.
"""

import base64
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

_API_KEY_SALT = "paydesk.merchants.api-key-hash"
_WEBHOOK_SECRET_SALT = "paydesk.merchants.webhook-secret-encryption"


def _secret_keys() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def api_key_hashes(raw_key: str) -> list[str]:
    """Return the HMAC-SHA256 hex digests of `raw_key`, current SECRET_KEY first.

    API keys are 256-bit random values, so a fast keyed hash is enough: there is nothing to
    guess. The pepper (a key derived from SECRET_KEY) means a stolen database alone cannot
    even confirm a candidate key.
    """
    return [
        salted_hmac(_API_KEY_SALT, raw_key, secret=secret, algorithm="sha256").hexdigest()
        for secret in _secret_keys()
    ]


def api_key_hash(raw_key: str) -> str:
    """Return the hash stored for a new key (current SECRET_KEY)."""
    return api_key_hashes(raw_key)[0]


def hashes_match(stored: str, candidate: str) -> bool:
    """Compare two hex digests in constant time."""
    return hmac.compare_digest(stored.encode(), candidate.encode())


def _fernet_for(secret: str) -> Fernet:
    digest = salted_hmac(_WEBHOOK_SECRET_SALT, "fernet", secret=secret, algorithm="sha256")
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def _multi_fernet() -> MultiFernet:
    return MultiFernet([_fernet_for(secret) for secret in _secret_keys()])


def secret_encrypt(plaintext: str) -> str:
    """Encrypt a secret that must be recovered later (Fernet: AES-128-CBC + HMAC)."""
    return _multi_fernet().encrypt(plaintext.encode()).decode()


class SecretDecryptionError(Exception):
    """The ciphertext was made with a key that is no longer configured, or was altered."""


def secret_decrypt(ciphertext: str) -> str:
    """Decrypt a value made by `secret_encrypt`, trying SECRET_KEY then its fallbacks."""
    try:
        return _multi_fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError(str(exc) or "invalid token") from exc
