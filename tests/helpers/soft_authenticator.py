"""A software WebAuthn authenticator for tests: real EC keys, real signatures, no browser.

It answers the server's JSON options (the `publicKey` object, py_webauthn's shape) with
the JSON a browser would post back: registrations with attestation "none", assertions
whose flags (UP, UV, BE, BS), signature counter, origin, RP ID and challenge the test
controls.

    authenticator = SoftAuthenticator()          # RP ID "localhost", origin http://localhost:8000
    registration = authenticator.create(options["publicKey"])
    assertion = authenticator.get(options["publicKey"])
    assertion = authenticator.get(options["publicKey"], user_verified=False)
    assertion = authenticator.get(options["publicKey"], sign_count=1)   # a counter going back
    assertion = authenticator.get(options["publicKey"], origin="https://evil.example")

Each credential keeps its own counter, advanced by one per assertion unless `sign_count`
is given. `counter_step=0` imitates authenticators that always report 0 (iCloud Keychain).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

DEFAULT_RP_ID = "localhost"
DEFAULT_ORIGIN = "http://localhost:8000"

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_BE = 0x08
FLAG_BS = 0x10
FLAG_AT = 0x40

# COSE algorithm -> (curve, hash, coordinate size, COSE curve id)
_ALGORITHMS: dict[int, tuple[ec.EllipticCurve, hashes.HashAlgorithm, int, int]] = {
    -7: (ec.SECP256R1(), hashes.SHA256(), 32, 1),  # ES256
    -35: (ec.SECP384R1(), hashes.SHA384(), 48, 2),  # ES384: valid, but Paydesk refuses it
}

_UNSET: Any = object()


class CredentialExcluded(Exception):  # noqa: N818
    """The options' excludeCredentials names a credential this authenticator holds
    (a browser raises InvalidStateError)."""


@dataclass
class SoftCredential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    algorithm: int
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    @property
    def id_b64(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def cose_public_key(self) -> bytes:
        curve_id, size = _ALGORITHMS[self.algorithm][3], _ALGORITHMS[self.algorithm][2]
        numbers = self.private_key.public_key().public_numbers()
        return encode_cbor(
            {
                1: 2,  # kty: EC2
                3: self.algorithm,
                -1: curve_id,
                -2: numbers.x.to_bytes(size, "big"),
                -3: numbers.y.to_bytes(size, "big"),
            }
        )

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data, ec.ECDSA(_ALGORITHMS[self.algorithm][1]))


def flags_byte(
    *, up: bool = True, uv: bool = True, be: bool = False, bs: bool = False, at: bool = False
) -> int:
    return (
        (FLAG_UP if up else 0)
        | (FLAG_UV if uv else 0)
        | (FLAG_BE if be else 0)
        | (FLAG_BS if bs else 0)
        | (FLAG_AT if at else 0)
    )


def _client_data(ceremony: str, challenge: bytes, origin: str) -> bytes:
    return json.dumps(
        {
            "type": ceremony,
            "challenge": bytes_to_base64url(challenge),
            "origin": origin,
            "crossOrigin": False,
        },
        separators=(",", ":"),
    ).encode("utf-8")


class SoftAuthenticator:
    """A platform authenticator in memory (transport "internal")."""

    def __init__(
        self,
        *,
        rp_id: str = DEFAULT_RP_ID,
        origin: str = DEFAULT_ORIGIN,
        aaguid: bytes = bytes(16),
        backup_eligible: bool = False,
        backup_state: bool = False,
        counter_step: int = 1,
    ) -> None:
        self.rp_id = rp_id
        self.origin = origin
        self.aaguid = aaguid
        self.backup_eligible = backup_eligible
        self.backup_state = backup_state
        self.counter_step = counter_step
        self.credentials: list[SoftCredential] = []

    # ------------------------------------------------------------ registration

    def create(
        self,
        options: Mapping[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
        user_present: bool = True,
        user_verified: bool = True,
        algorithm: int = -7,
        ceremony: str = "webauthn.create",
        transports: Sequence[str] = ("internal",),
    ) -> dict[str, Any]:
        """Make a new credential for `options` and return the registration JSON."""
        excluded = {base64url_to_bytes(c["id"]) for c in options.get("excludeCredentials", [])}
        if any(c.credential_id in excluded for c in self.credentials):
            raise CredentialExcluded("this authenticator already holds an excluded credential")
        rp = rp_id or options.get("rp", {}).get("id") or self.rp_id
        credential = SoftCredential(
            credential_id=secrets.token_bytes(32),
            private_key=ec.generate_private_key(_ALGORITHMS[algorithm][0]),
            algorithm=algorithm,
            rp_id=rp,
            user_handle=base64url_to_bytes(options["user"]["id"]),
        )
        self.credentials.append(credential)
        auth_data = (
            hashlib.sha256(rp.encode("utf-8")).digest()
            + bytes(
                [
                    flags_byte(
                        up=user_present,
                        uv=user_verified,
                        be=self.backup_eligible,
                        bs=self.backup_state,
                        at=True,
                    )
                ]
            )
            + credential.sign_count.to_bytes(4, "big")
            + self.aaguid
            + len(credential.credential_id).to_bytes(2, "big")
            + credential.credential_id
            + credential.cose_public_key()
        )
        client_data = _client_data(
            ceremony,
            challenge if challenge is not None else base64url_to_bytes(options["challenge"]),
            origin or self.origin,
        )
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": credential.id_b64,
            "rawId": credential.id_b64,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": list(transports),
            },
        }

    # ------------------------------------------------------------ authentication

    def _pick(self, options: Mapping[str, Any], rp_id: str) -> SoftCredential:
        allowed = {base64url_to_bytes(c["id"]) for c in options.get("allowCredentials", [])}
        for credential in self.credentials:
            if allowed and credential.credential_id not in allowed:
                continue
            if credential.rp_id == rp_id or not allowed:
                return credential
        raise LookupError("no credential of this authenticator fits the options")

    def get(
        self,
        options: Mapping[str, Any],
        *,
        credential: SoftCredential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
        user_present: bool = True,
        user_verified: bool = True,
        sign_count: int | None = None,
        user_handle: bytes | None = _UNSET,
        ceremony: str = "webauthn.get",
        tamper_signature: bool = False,
    ) -> dict[str, Any]:
        """Sign an assertion for `options` and return the authentication JSON.

        `rp_id` changes the RP ID hash in the authenticator data (a credential made for
        another site); `user_handle=None` leaves the user handle out.
        """
        rp = rp_id or options.get("rpId") or self.rp_id
        chosen = credential or self._pick(options, options.get("rpId") or self.rp_id)
        if sign_count is None:
            chosen.sign_count += self.counter_step
        else:
            chosen.sign_count = sign_count
        auth_data = (
            hashlib.sha256(rp.encode("utf-8")).digest()
            + bytes(
                [
                    flags_byte(
                        up=user_present,
                        uv=user_verified,
                        be=self.backup_eligible,
                        bs=self.backup_state,
                    )
                ]
            )
            + chosen.sign_count.to_bytes(4, "big")
        )
        client_data = _client_data(
            ceremony,
            challenge if challenge is not None else base64url_to_bytes(options["challenge"]),
            origin or self.origin,
        )
        signed = auth_data + hashlib.sha256(client_data).digest()
        # A tampered signature is a real signature over other data.
        signature = chosen.sign(signed + b"tampered" if tamper_signature else signed)
        handle = chosen.user_handle if user_handle is _UNSET else user_handle
        return {
            "id": chosen.id_b64,
            "rawId": chosen.id_b64,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(handle) if handle is not None else None,
            },
        }
