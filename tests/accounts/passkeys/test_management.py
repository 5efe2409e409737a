"""Listing, renaming and removing passkeys; each change audited, scoped to the owner."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, EmailCode, PasskeyCredential, WebAuthnChallenge
from accounts.passkeys import webauthn
from accounts.passkeys.ceremonies import challenge_issue
from accounts.passkeys.models import ChallengePurpose
from accounts.passkeys.selectors import passkey_descriptors_for_user
from accounts.passkeys.services import passkey_records_purge
from accounts.roles import Role
from tests.accounts.passkeys.support import register_passkey
from tests.factories import UserFactory
from tests.helpers.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_shows_each_passkey_with_when_it_was_last_used(payer, authenticator):
    used = register_passkey(payer, authenticator, name="Phone")
    register_passkey(payer, SoftAuthenticator(), name="Laptop")
    PasskeyCredential.objects.filter(pk=used.pk).update(last_used_at="2026-03-01T10:00:00+08:00")

    response = _client(payer).get("/passkeys/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Phone") < html.index("Laptop")
    assert '<time datetime="2026-03-01T10:00:00+08:00">2026-03-01 10:00</time>' in html
    assert html.count("never") == 1
    assert 'data-testid="passkey-register"' in html
    assert "js/webauthn.js" in html and "js/passkeys.js" in html


def test_the_list_shows_only_the_users_own_passkeys(payer, other_payer):
    register_passkey(other_payer, SoftAuthenticator(), name="Someone else's key")

    html = _client(payer).get("/passkeys/").content.decode()

    assert "Someone else&#x27;s key" not in html
    assert 'data-testid="passkey-empty"' in html


def test_a_blocked_passkey_is_marked(payer, authenticator):
    credential = register_passkey(payer, authenticator)
    PasskeyCredential.objects.filter(pk=credential.pk).update(
        is_flagged=True, flagged_at="2026-03-01T10:00:00+08:00", flagged_reason="counter"
    )

    html = _client(payer).get("/passkeys/").content.decode()

    assert "data-passkey-blocked" in html


def test_the_list_needs_sign_in():
    response = Client().get("/passkeys/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_rename_a_passkey(payer, authenticator):
    credential = register_passkey(payer, authenticator, name="Phone")

    response = _client(payer).post(f"/passkeys/{credential.pk}/rename/", {"name": " Work  phone "})

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.name == "Work phone"
    event = AuditEvent.objects.get(action="passkey.renamed")
    assert (event.before, event.after) == ({"name": "Phone"}, {"name": "Work phone"})


def test_an_empty_name_is_refused(payer, authenticator):
    credential = register_passkey(payer, authenticator, name="Phone")

    response = _client(payer).post(f"/passkeys/{credential.pk}/rename/", {"name": "   "})

    assert response.status_code == 200
    credential.refresh_from_db()
    assert credential.name == "Phone"
    assert not AuditEvent.objects.filter(action="passkey.renamed").exists()


def test_remove_a_passkey(payer, authenticator):
    credential = register_passkey(payer, authenticator, name="Phone")
    credential_id = webauthn.b64url_encode(bytes(credential.credential_id))
    client = _client(payer)

    confirm = client.get(f"/passkeys/{credential.pk}/remove/")
    response = client.post(f"/passkeys/{credential.pk}/remove/")

    assert confirm.status_code == 200
    assert "This is your only passkey" in confirm.content.decode()
    assert response.status_code == 302
    assert response["Location"] == "/passkeys/"
    assert not PasskeyCredential.objects.filter(pk=credential.pk).exists()
    event = AuditEvent.objects.get(action="passkey.removed")
    assert event.actor_id == payer.pk
    assert event.object_id == str(credential.pk)
    assert event.before and event.before["name"] == "Phone"
    assert event.before and event.before["credential_id"] == credential_id


def test_another_users_passkey_can_be_neither_renamed_nor_removed(payer, other_payer):
    credential = register_passkey(other_payer, SoftAuthenticator(), name="Theirs")
    client = _client(payer)

    rename = client.post(f"/passkeys/{credential.pk}/rename/", {"name": "Mine"})
    remove_page = client.get(f"/passkeys/{credential.pk}/remove/")
    remove = client.post(f"/passkeys/{credential.pk}/remove/")

    assert (rename.status_code, remove_page.status_code, remove.status_code) == (404, 404, 404)
    credential.refresh_from_db()
    assert credential.name == "Theirs"
    assert not AuditEvent.objects.filter(action__in=["passkey.renamed", "passkey.removed"]).exists()


def test_a_user_who_needs_two_factor_is_told_passkeys_do_not_sign_them_in(verified_client):
    owner = UserFactory(roles=[Role.MERCHANT_OWNER])

    html = verified_client(owner).get("/passkeys/").content.decode()

    assert "your passkeys confirm payments but do not sign you in" in html


def test_purge_deletes_only_challenges_and_codes_expired_for_over_a_day(payer):
    now = timezone.now()
    old = challenge_issue(purpose=ChallengePurpose.AUTHENTICATION)
    recent = challenge_issue(purpose=ChallengePurpose.AUTHENTICATION)
    WebAuthnChallenge.objects.filter(pk=old.pk).update(
        created_at=now - timedelta(days=2),
        expires_at=now - timedelta(days=2) + timedelta(minutes=5),
    )
    EmailCode.objects.create(
        email="a@example.com",
        purpose="payer_signup",
        code_hash="x",
        created_at=now - timedelta(days=3),
        expires_at=now - timedelta(days=3) + timedelta(minutes=10),
    )

    assert passkey_records_purge() == {"challenges": 1, "email_codes": 1}
    assert list(WebAuthnChallenge.objects.values_list("pk", flat=True)) == [recent.pk]
    assert passkey_records_purge() == {"challenges": 0, "email_codes": 0}


def test_the_allow_list_of_a_payer_leaves_out_blocked_and_other_passkeys(payer, other_payer):
    usable = register_passkey(payer, SoftAuthenticator())
    blocked = register_passkey(payer, SoftAuthenticator())
    PasskeyCredential.objects.filter(pk=blocked.pk).update(
        is_flagged=True, flagged_at=timezone.now()
    )
    register_passkey(other_payer, SoftAuthenticator())

    assert passkey_descriptors_for_user(user=payer) == [(bytes(usable.credential_id), ["internal"])]
