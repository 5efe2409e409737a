"""A thin wrapper over py_webauthn: the relying party, options, verification, base64url.

Nothing here touches the database. The checks that py_webauthn makes are repeated first,
one by one, only to tell the caller *which* check failed (a stable reason code for the
person and the audit log); py_webauthn stays the authority and runs every check again.

The signature counter is deliberately not checked here (py_webauthn is given 0 as the
stored count): the caller compares it under a row lock, after the signature is proven,
so that it can flag the credential (ceremonies.authentication_verify).
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    decode_credential_public_key,
    options_to_json_dict,
    parse_attestation_object,
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorData,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    ClientDataType,
    CollectedClientData,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialHint,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.passkeys.errors import PasskeyVerificationFailed

# ES256 first: every platform authenticator has it. RS256 for Windows Hello, EdDSA for
# security keys that prefer it. The order is our preference.
SUPPORTED_ALGORITHMS: list[COSEAlgorithmIdentifier] = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
]
# A hint to the browser, not a limit: the browser's timeout for the ceremony (ms). It
# matches the challenges' lifetime (ceremonies.CHALLENGE_TTL).
CEREMONY_TIMEOUT_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origins: tuple[str, ...]


def relying_party() -> RelyingParty:
    """Return the relying party from settings (WEBAUTHN_RP_ID, _RP_NAME, _ORIGINS)."""
    return RelyingParty(
        id=settings.WEBAUTHN_RP_ID,
        name=settings.WEBAUTHN_RP_NAME,
        origins=tuple(settings.WEBAUTHN_ORIGINS),
    )


# ----------------------------------------------------------------- base64url


def b64url_encode(data: bytes) -> str:
    """Return `data` as unpadded base64url, the encoding WebAuthn's JSON uses."""
    return bytes_to_base64url(bytes(data))


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; raise ValueError on anything else."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64url")
    try:
        return base64url_to_bytes(text)
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url") from exc


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# ----------------------------------------------------------------- options


def _descriptors(credentials: Iterable[tuple[bytes, list[str]]]) -> list[Any]:
    descriptors = []
    for credential_id, transports in credentials:
        known = [
            AuthenticatorTransport(t)
            for t in transports
            if t in AuthenticatorTransport._value2member_map_
        ]
        descriptors.append(
            PublicKeyCredentialDescriptor(id=bytes(credential_id), transports=known or None)
        )
    return descriptors


def registration_options(
    *,
    challenge: bytes,
    user_handle: bytes,
    user_name: str,
    user_display_name: str,
    exclude: Iterable[tuple[bytes, list[str]]] = (),
) -> dict[str, Any]:
    """Return `publicKey` options for navigator.credentials.create(), as JSON-ready data.

    A discoverable credential with user verification is required. The authenticator's
    attachment is not forced: the hints ask the browser to offer this device's own
    authenticator first (fingerprint, face, screen lock) and a phone second, so a payer
    on a desktop without one can still use their phone. Attestation is "none": we do
    not restrict which authenticator models may be used.
    """
    rp = relying_party()
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=bytes(user_handle),
        user_name=user_name,
        user_display_name=user_display_name,
        challenge=bytes(challenge),
        timeout=CEREMONY_TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(exclude),
        supported_pub_key_algs=SUPPORTED_ALGORITHMS,
        hints=[PublicKeyCredentialHint.CLIENT_DEVICE, PublicKeyCredentialHint.HYBRID],
    )
    return options_to_json_dict(options)


def authentication_options(
    *, challenge: bytes, allow: Iterable[tuple[bytes, list[str]]] = ()
) -> dict[str, Any]:
    """Return `publicKey` options for navigator.credentials.get(), as JSON-ready data.

    With no `allow` list the browser offers the discoverable passkeys it holds for this
    site (sign-in, including autofill); a payment confirmation may list the payer's
    passkeys. User verification is required.
    """
    options = generate_authentication_options(
        rp_id=relying_party().id,
        challenge=bytes(challenge),
        timeout=CEREMONY_TIMEOUT_MS,
        allow_credentials=_descriptors(allow),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json_dict(options)


# ----------------------------------------------------------------- shared checks


def _as_mapping(response: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(response, str):
        try:
            response = json.loads(response)
        except ValueError as exc:
            raise PasskeyVerificationFailed("malformed_response") from exc
    if not isinstance(response, Mapping):
        raise PasskeyVerificationFailed("malformed_response")
    return dict(response)


def _check_client_data(
    client_data: CollectedClientData, *, expected_type: str, expected_challenge: bytes
) -> None:
    if client_data.type != expected_type:
        raise PasskeyVerificationFailed("wrong_ceremony")
    if client_data.challenge != bytes(expected_challenge):
        raise PasskeyVerificationFailed("challenge_mismatch")
    # A page embedded in another site's frame is another site (the CSP forbids framing).
    if client_data.origin not in relying_party().origins or client_data.cross_origin:
        raise PasskeyVerificationFailed(
            "origin_mismatch", details={"origin": str(client_data.origin)[:200]}
        )


def _check_authenticator_data(auth_data: AuthenticatorData) -> None:
    if auth_data.rp_id_hash != sha256(relying_party().id.encode("utf-8")):
        raise PasskeyVerificationFailed("rp_id_mismatch")
    if not auth_data.flags.up:
        raise PasskeyVerificationFailed("user_not_present")
    if not auth_data.flags.uv:
        raise PasskeyVerificationFailed("user_not_verified")
    if auth_data.flags.bs and not auth_data.flags.be:
        raise PasskeyVerificationFailed("malformed_response")


# ----------------------------------------------------------------- registration


@dataclass(frozen=True)
class NewCredential:
    """A verified new passkey, ready to be stored."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    transports: list[str]
    backup_eligible: bool
    backup_state: bool


def registration_verify(*, response: Mapping[str, Any] | str, challenge: bytes) -> NewCredential:
    """Verify the browser's answer to navigator.credentials.create().

    Raise PasskeyVerificationFailed with the first failed check as its code.
    """
    data = _as_mapping(response)
    try:
        credential = parse_registration_credential_json(data)
        client_data = parse_client_data_json(credential.response.client_data_json)
        attestation = parse_attestation_object(credential.response.attestation_object)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyVerificationFailed("malformed_response") from exc
    _check_client_data(
        client_data, expected_type=ClientDataType.WEBAUTHN_CREATE, expected_challenge=challenge
    )
    _check_authenticator_data(attestation.auth_data)
    attested = attestation.auth_data.attested_credential_data
    if attested is None:
        raise PasskeyVerificationFailed("invalid_attestation")
    try:
        algorithm = decode_credential_public_key(attested.credential_public_key).alg
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyVerificationFailed("malformed_response") from exc
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise PasskeyVerificationFailed("unsupported_algorithm")
    rp = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            require_user_presence=True,
            require_user_verification=True,
            supported_pub_key_algs=SUPPORTED_ALGORITHMS,
        )
    except Exception as exc:  # any failure inside the library is a refusal, never a 500
        raise PasskeyVerificationFailed("invalid_attestation") from exc
    transports = [t.value for t in (credential.response.transports or [])]
    return NewCredential(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        transports=transports,
        backup_eligible=attestation.auth_data.flags.be,
        backup_state=verified.credential_backed_up,
    )


# ----------------------------------------------------------------- authentication


@dataclass(frozen=True)
class Assertion:
    """A parsed (not yet verified) answer to navigator.credentials.get()."""

    credential: AuthenticationCredential
    credential_id: bytes
    user_handle: bytes | None
    client_data: CollectedClientData
    client_data_bytes: bytes
    authenticator_data: AuthenticatorData
    authenticator_data_bytes: bytes


def assertion_parse(response: Mapping[str, Any] | str) -> Assertion:
    """Parse the browser's answer; raise PasskeyVerificationFailed("malformed_response")."""
    data = _as_mapping(response)
    try:
        credential = parse_authentication_credential_json(data)
        if b64url_encode(credential.raw_id) != credential.id:
            raise ValueError("id and rawId differ")
        client_data_bytes = bytes(credential.response.client_data_json)
        authenticator_data_bytes = bytes(credential.response.authenticator_data)
        client_data = parse_client_data_json(client_data_bytes)
        authenticator_data = parse_authenticator_data(authenticator_data_bytes)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyVerificationFailed("malformed_response") from exc
    user_handle = credential.response.user_handle
    return Assertion(
        credential=credential,
        credential_id=bytes(credential.raw_id),
        user_handle=bytes(user_handle) if user_handle else None,
        client_data=client_data,
        client_data_bytes=client_data_bytes,
        authenticator_data=authenticator_data,
        authenticator_data_bytes=authenticator_data_bytes,
    )


def assertion_verify(*, assertion: Assertion, challenge: bytes, public_key: bytes) -> None:
    """Check origin, RP ID, challenge, flags (UP and UV required) and the signature.

    The signature counter is left to the caller. Raise PasskeyVerificationFailed.
    """
    _check_client_data(
        assertion.client_data,
        expected_type=ClientDataType.WEBAUTHN_GET,
        expected_challenge=challenge,
    )
    _check_authenticator_data(assertion.authenticator_data)
    rp = relying_party()
    try:
        verify_authentication_response(
            credential=assertion.credential,
            expected_challenge=bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=bytes(public_key),
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except Exception as exc:  # any failure inside the library is a refusal, never a 500
        raise PasskeyVerificationFailed("invalid_signature") from exc
