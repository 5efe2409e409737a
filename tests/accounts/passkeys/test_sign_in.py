"""Signing in with a discoverable passkey, through the JSON endpoints."""

import pytest
from django.test import Client

from accounts.models import AuditEvent, PasskeyCredential, User, WebAuthnChallenge
from accounts.passkeys.views import SIGN_IN_OPTIONS_PER_MINUTE
from accounts.roles import Role
from tests.accounts.passkeys.support import audit_actions, post_json, register_passkey
from tests.factories import UserFactory
from tests.helpers.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db


def _options(client: Client) -> dict:
    response = post_json(client, "passkey_login_options")
    assert response.status_code == 200
    return response.json()["publicKey"]


def _signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def test_sign_in_options_ask_for_any_discoverable_passkey_with_user_verification():
    options = _options(Client())

    assert options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    assert options["rpId"] == "localhost"
    assert WebAuthnChallenge.objects.get().purpose == "authentication"


def test_a_payer_signs_in_with_a_passkey(payer, authenticator):
    credential = register_passkey(payer, authenticator)
    client = Client()

    response = post_json(
        client, "passkey_login_verify", {"credential": authenticator.get(_options(client))}
    )

    assert response.status_code == 200
    assert response.json() == {"redirect": "/payer/"}
    assert _signed_in_user_id(client) == str(payer.pk)
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
    credential.refresh_from_db()
    assert credential.sign_count == 1
    assert credential.last_used_at is not None
    login = AuditEvent.objects.get(action="auth.login")
    assert login.actor_id == payer.pk
    assert client.get("/payer/").status_code == 200


def test_sign_in_returns_to_a_safe_next_page(payer, authenticator):
    register_passkey(payer, authenticator)
    client = Client()
    options = _options(client)

    response = post_json(
        client,
        "passkey_login_verify",
        {"credential": authenticator.get(options), "next": "/passkeys/"},
    )
    assert response.json() == {"redirect": "/passkeys/"}


def test_sign_in_ignores_an_outside_next_page(payer, authenticator):
    register_passkey(payer, authenticator)
    client = Client()
    options = _options(client)

    response = post_json(
        client,
        "passkey_login_verify",
        {"credential": authenticator.get(options), "next": "//evil.example/"},
    )
    assert response.json() == {"redirect": "/payer/"}


def test_merchant_staff_without_two_factor_lands_on_the_dashboard(authenticator):
    staff = UserFactory(roles=[Role.MERCHANT_STAFF])
    register_passkey(staff, authenticator)
    client = Client()

    response = post_json(
        client, "passkey_login_verify", {"credential": authenticator.get(_options(client))}
    )

    assert response.json() == {"redirect": "/"}
    assert _signed_in_user_id(client) == str(staff.pk)


def test_a_user_who_needs_two_factor_is_refused(authenticator):
    owner = UserFactory(roles=[Role.MERCHANT_OWNER])
    register_passkey(owner, authenticator)
    client = Client()

    response = post_json(
        client, "passkey_login_verify", {"credential": authenticator.get(_options(client))}
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_required"
    assert _signed_in_user_id(client) is None
    assert audit_actions("auth.login", "passkey.sign_in_refused") == ["passkey.sign_in_refused"]


def test_an_inactive_user_is_refused(payer, authenticator):
    register_passkey(payer, authenticator)
    User.objects.filter(pk=payer.pk).update(is_active=False)
    client = Client()

    response = post_json(
        client, "passkey_login_verify", {"credential": authenticator.get(_options(client))}
    )

    assert response.json()["error"]["code"] == "account_inactive"
    assert _signed_in_user_id(client) is None


def test_a_passkey_without_user_verification_does_not_sign_in(payer, authenticator):
    credential = register_passkey(payer, authenticator)
    client = Client()

    response = post_json(
        client,
        "passkey_login_verify",
        {"credential": authenticator.get(_options(client), user_verified=False)},
    )

    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "user_not_verified"
    assert body["error"]["message"].startswith("Your device did not verify you")
    assert _signed_in_user_id(client) is None
    credential.refresh_from_db()
    assert credential.last_used_at is None
    assert audit_actions("auth.login") == []


def test_a_blocked_passkey_does_not_sign_in(payer, authenticator):
    credential = register_passkey(payer, authenticator)
    PasskeyCredential.objects.filter(pk=credential.pk).update(
        is_flagged=True, flagged_at="2026-03-01T10:00:00+08:00"
    )
    client = Client()

    response = post_json(
        client, "passkey_login_verify", {"credential": authenticator.get(_options(client))}
    )

    assert response.json()["error"]["code"] == "credential_blocked"
    assert _signed_in_user_id(client) is None


def test_an_answer_posted_from_another_browser_session_is_refused(payer, authenticator):
    register_passkey(payer, authenticator)
    asking = Client()
    assertion = authenticator.get(_options(asking))

    response = post_json(Client(), "passkey_login_verify", {"credential": assertion})

    assert response.json()["error"]["code"] == "challenge_invalid"


def test_an_answer_can_be_posted_once(payer, authenticator):
    register_passkey(payer, authenticator)
    client = Client()
    assertion = authenticator.get(_options(client))
    post_json(client, "passkey_login_verify", {"credential": assertion})
    client.logout()

    response = post_json(client, "passkey_login_verify", {"credential": assertion})

    assert response.json()["error"]["code"] == "challenge_invalid"
    assert _signed_in_user_id(client) is None


def test_sign_in_options_are_rate_limited_per_client():
    client = Client()
    for _ in range(SIGN_IN_OPTIONS_PER_MINUTE):
        assert post_json(client, "passkey_login_options").status_code == 200

    response = post_json(client, "passkey_login_options")

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json()["error"]["code"] == "rate_limited"
    assert WebAuthnChallenge.objects.count() == SIGN_IN_OPTIONS_PER_MINUTE


def test_the_sign_in_page_offers_passkeys_in_the_email_autofill():
    response = Client().get("/passkeys/sign-in/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'autocomplete="username webauthn"' in html
    assert 'data-testid="passkey-sign-in"' in html
    assert "<script>" not in html  # the CSP allows no inline script


def test_a_signed_in_user_is_sent_on_from_the_sign_in_page(payer):
    client = Client()
    client.force_login(payer)

    response = client.get("/passkeys/sign-in/")

    assert response.status_code == 302
    assert response["Location"] == "/payer/"


def test_the_relying_party_comes_from_settings(payer, settings):
    other_site = SoftAuthenticator(rp_id="pay.example.com", origin="https://pay.example.com")
    settings.WEBAUTHN_RP_ID = "pay.example.com"
    settings.WEBAUTHN_ORIGINS = ["https://pay.example.com"]
    register_passkey(payer, other_site)
    client = Client()
    options = _options(client)

    response = post_json(client, "passkey_login_verify", {"credential": other_site.get(options)})

    assert options["rpId"] == "pay.example.com"
    assert response.status_code == 200
    assert _signed_in_user_id(client) == str(payer.pk)
