"""A signed-in payer registers passkeys through the JSON endpoints."""

import pytest
from django.test import Client

from accounts.models import AuditEvent, PasskeyCredential, PasskeyUserHandle, WebAuthnChallenge
from accounts.passkeys import webauthn
from accounts.passkeys.errors import PasskeyLimitReached
from accounts.passkeys.services import MAX_PASSKEYS_PER_USER
from tests.accounts.passkeys.support import audit_actions, post_json, register_passkey
from tests.helpers.soft_authenticator import CredentialExcluded, SoftAuthenticator

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_of(payer) -> Client:
    client = Client()
    client.force_login(payer)
    return client


def _options(client: Client) -> dict:
    response = post_json(client, "passkey_register_options")
    assert response.status_code == 200
    return response.json()["publicKey"]


def test_registration_options_ask_for_a_discoverable_verified_passkey(client_of, payer):
    options = _options(client_of)

    handle = bytes(PasskeyUserHandle.objects.get(user=payer).handle)
    assert len(handle) == 32
    assert options["rp"] == {"name": "Paydesk", "id": "localhost"}
    assert options["user"] == {
        "id": webauthn.b64url_encode(handle),
        "name": "payer@example.com",
        "displayName": payer.full_name,
    }
    assert options["authenticatorSelection"] == {
        "residentKey": "required",
        "requireResidentKey": True,
        "userVerification": "required",
    }
    assert options["attestation"] == "none"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -257, -8]
    assert options["hints"] == ["client-device", "hybrid"]
    assert options["excludeCredentials"] == []
    assert options["timeout"] == 300_000
    challenge = WebAuthnChallenge.objects.get(user=payer)
    assert webauthn.b64url_decode(options["challenge"]) == bytes(challenge.challenge)
    assert challenge.purpose == "registration"


def test_the_user_handle_is_stable_and_is_neither_the_id_nor_the_email(client_of, payer):
    first = _options(client_of)["user"]["id"]
    second = _options(client_of)["user"]["id"]

    assert first == second
    assert webauthn.b64url_decode(first) not in (str(payer.pk).encode(), payer.email.encode())


def test_existing_passkeys_are_excluded(client_of, payer, authenticator):
    credential = register_passkey(payer, authenticator)

    options = _options(client_of)

    assert options["excludeCredentials"] == [
        {
            "id": webauthn.b64url_encode(bytes(credential.credential_id)),
            "type": "public-key",
            "transports": ["internal"],
        }
    ]
    with pytest.raises(CredentialExcluded):
        authenticator.create(options)


def test_a_payer_registers_a_passkey(client_of, payer, authenticator):
    options = _options(client_of)

    response = post_json(
        client_of,
        "passkey_register",
        {"credential": authenticator.create(options), "name": "  My   phone "},
    )

    assert response.status_code == 200
    credential = PasskeyCredential.objects.get(user=payer)
    assert response.json() == {
        "passkey": {"id": credential.pk, "name": "My phone"},
        "redirect": "/passkeys/",
    }
    soft = authenticator.credentials[0]
    assert bytes(credential.credential_id) == soft.credential_id
    assert bytes(credential.public_key) == soft.cose_public_key()
    assert credential.transports == ["internal"]
    assert credential.aaguid == "00000000-0000-0000-0000-000000000000"
    assert (credential.sign_count, credential.last_used_at, credential.is_flagged) == (
        0,
        None,
        False,
    )
    event = AuditEvent.objects.get(action="passkey.registered")
    assert event.actor_id == payer.pk
    assert event.object_id == str(credential.pk)
    assert event.after and event.after["name"] == "My phone"
    assert event.after and event.after["credential_id"] == soft.id_b64


def test_a_passkey_without_a_name_gets_a_numbered_one(payer):
    register_passkey(payer, SoftAuthenticator(), name="")
    second = register_passkey(payer, SoftAuthenticator(), name="")

    assert second.name == "Passkey 2"


def test_the_next_page_is_where_registration_returns(client_of, authenticator):
    options = _options(client_of)

    response = post_json(
        client_of,
        "passkey_register",
        {"credential": authenticator.create(options), "next": "/payer/"},
    )
    assert response.json()["redirect"] == "/payer/"


def test_an_outside_next_page_is_ignored(client_of, authenticator):
    options = _options(client_of)

    response = post_json(
        client_of,
        "passkey_register",
        {"credential": authenticator.create(options), "next": "https://evil.example/"},
    )
    assert response.json()["redirect"] == "/passkeys/"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"user_verified": False}, "user_not_verified"),
        ({"user_present": False}, "user_not_present"),
        ({"origin": "https://evil.example"}, "origin_mismatch"),
        ({"rp_id": "evil.example"}, "rp_id_mismatch"),
        ({"challenge": b"\x00" * 32}, "challenge_mismatch"),
        ({"ceremony": "webauthn.get"}, "wrong_ceremony"),
        ({"algorithm": -35}, "unsupported_algorithm"),
    ],
)
def test_a_bad_registration_is_refused_and_stores_nothing(
    client_of, payer, authenticator, tamper, reason
):
    options = _options(client_of)

    response = post_json(
        client_of, "passkey_register", {"credential": authenticator.create(options, **tamper)}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == reason
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert PasskeyCredential.objects.count() == 0
    event = AuditEvent.objects.get(action="passkey.registration_failed")
    assert event.after == {"reason": reason}


def test_a_replayed_registration_is_refused(client_of, payer, authenticator):
    options = _options(client_of)
    registration = authenticator.create(options)
    post_json(client_of, "passkey_register", {"credential": registration})

    response = post_json(client_of, "passkey_register", {"credential": registration})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "challenge_invalid"
    assert PasskeyCredential.objects.filter(user=payer).count() == 1


def test_a_credential_registered_elsewhere_is_refused(client_of, payer, other_payer):
    others = register_passkey(other_payer, SoftAuthenticator())
    authenticator = SoftAuthenticator()
    registration = authenticator.create(_options(client_of))
    # The same credential id already belongs to another account.
    PasskeyCredential.objects.filter(pk=others.pk).update(
        credential_id=authenticator.credentials[0].credential_id
    )

    response = post_json(client_of, "passkey_register", {"credential": registration})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "passkey_exists"
    assert PasskeyCredential.objects.filter(user=payer).count() == 0
    assert audit_actions("passkey.registered") == ["passkey.registered"]  # the other's only


def test_a_name_too_long_is_refused_before_the_challenge_is_spent(client_of, authenticator):
    options = _options(client_of)
    registration = authenticator.create(options)

    refused = post_json(
        client_of, "passkey_register", {"credential": registration, "name": "x" * 65}
    )

    assert refused.json()["error"]["code"] == "validation_error"
    assert WebAuthnChallenge.objects.get().used_at is None
    assert PasskeyCredential.objects.count() == 0


def test_the_number_of_passkeys_is_capped(payer):
    authenticator = SoftAuthenticator()
    for _ in range(MAX_PASSKEYS_PER_USER):
        register_passkey(payer, SoftAuthenticator())

    with pytest.raises(PasskeyLimitReached):
        register_passkey(payer, authenticator)
    assert PasskeyCredential.objects.filter(user=payer).count() == MAX_PASSKEYS_PER_USER


def test_registration_endpoints_need_a_signed_in_user(authenticator):
    client = Client()

    options = post_json(client, "passkey_register_options")
    register = post_json(client, "passkey_register", {"credential": {}})

    assert options.status_code == 401
    assert options.json()["error"]["code"] == "not_authenticated"
    assert register.status_code == 401
    assert WebAuthnChallenge.objects.count() == 0


def test_registration_endpoints_refuse_get(client_of):
    assert client_of.get("/passkeys/register/options/").status_code == 405


def test_a_body_that_is_not_json_gets_the_error_shape(client_of):
    response = client_of.post(
        "/passkeys/register/", data="not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
