"""API keys: creation (shown once, stored hashed), authentication, revocation, scope, roles."""

import datetime
import hmac
from hashlib import sha256

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import AuditEvent
from config.errors import ApplicationError, Conflict
from merchants.models import ApiKey, ApiMode, MerchantStatus, TeamRole
from merchants.services.api_keys import api_key_create, api_key_revoke
from merchants.services.lifecycle import merchant_transition
from tests.merchants.platform import api_client, member, merchant, new_key, portal_client

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/merchant"


def test_a_new_key_is_returned_once_and_stored_only_as_a_hash():
    # given an approved merchant
    shop = merchant()
    # when a test key is created
    api_key, raw_key = api_key_create(merchant=shop, name="Backend", mode=ApiMode.TEST, actor=None)
    # then the secret is sk_test_ + 43 url-safe characters (256 random bits)
    assert raw_key.startswith("sk_test_")
    assert len(raw_key) == len("sk_test_") + 43
    # and only a prefix, the last four and a keyed hash are stored
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.prefix == raw_key[:12]
    assert stored.last_four == raw_key[-4:]
    expected = salted_hmac(
        "paydesk.merchants.api-key-hash", raw_key, secret=settings.SECRET_KEY, algorithm="sha256"
    ).hexdigest()
    assert stored.key_hash == expected
    assert stored.key_hash != sha256(raw_key.encode()).hexdigest()
    for field in ApiKey._meta.concrete_fields:
        assert raw_key not in str(field.value_from_object(stored))
    # and the creation is audited without the secret
    event = AuditEvent.objects.get(action="api_key.create")
    assert event.object_id == str(api_key.pk)
    assert event.after == {
        "merchant": str(shop.public_id),
        "name": "Backend",
        "mode": "test",
        "key": stored.masked,
    }
    assert raw_key not in str(event.after)


def test_a_key_works_once_created_and_fails_once_revoked():
    # given a new key
    shop = merchant(name="Tea House")
    api_key, raw_key = new_key(shop)
    client = api_client(raw_key)
    # when it calls the API, then it works and is scoped to its merchant
    response = client.get(ME_URL)
    assert response.status_code == 200
    assert response.json() == {
        "id": str(shop.public_id),
        "name": "Tea House",
        "status": "approved",
        "mode": "test",
    }
    # when the key is revoked
    api_key_revoke(api_key=api_key, actor=None)
    # then the same call is refused with api_key_revoked
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "api_key_revoked",
            "message": "This API key has been revoked.",
            "details": {},
        }
    }
    assert (
        AuditEvent.objects.filter(action="api_key.revoke", object_id=str(api_key.pk)).count() == 1
    )


def test_revoking_twice_is_refused_and_changes_nothing():
    api_key, _raw = new_key(merchant())
    api_key_revoke(api_key=api_key, actor=None)
    revoked_at = ApiKey.objects.get(pk=api_key.pk).revoked_at
    with pytest.raises(Conflict) as refused:
        api_key_revoke(api_key=api_key, actor=None)
    assert refused.value.code == "api_key_already_revoked"
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at == revoked_at
    assert AuditEvent.objects.filter(action="api_key.revoke").count() == 1


@pytest.mark.parametrize("mode", [ApiMode.TEST, ApiMode.LIVE])
def test_a_suspended_merchants_keys_are_refused(mode):
    # given an approved merchant with a working key
    shop = merchant()
    _key, raw_key = new_key(shop, mode)
    assert api_client(raw_key).get(ME_URL).status_code == 200
    # when the merchant is suspended
    merchant_transition(merchant=shop, to_status=MerchantStatus.SUSPENDED, actor=None, reason="x")
    # then its key is refused with merchant_suspended
    response = api_client(raw_key).get(ME_URL)
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "merchant_suspended"
    assert "suspended" in body["error"]["message"]
    # and works again once the merchant is reinstated
    merchant_transition(merchant=shop, to_status=MerchantStatus.APPROVED, actor=None, reason="ok")
    assert api_client(raw_key).get(ME_URL).status_code == 200


def test_a_test_key_of_a_merchant_in_onboarding_works():
    shop = merchant(status=MerchantStatus.DRAFT)
    _key, raw_key = new_key(shop, ApiMode.TEST)
    response = api_client(raw_key).get(ME_URL)
    assert response.status_code == 200
    assert response.json()["status"] == "draft"


@pytest.mark.parametrize(
    "status", [MerchantStatus.DRAFT, MerchantStatus.UNDER_REVIEW, MerchantStatus.SUSPENDED]
)
def test_live_keys_are_only_for_approved_merchants(status):
    shop = merchant(status=status)
    with pytest.raises(ApplicationError) as refused:
        api_key_create(merchant=shop, name="Live", mode=ApiMode.LIVE, actor=None)
    assert refused.value.code in {"merchant_not_approved", "merchant_suspended"}
    assert ApiKey.objects.count() == 0
    assert not AuditEvent.objects.filter(action="api_key.create").exists()


def test_a_live_key_of_an_approved_merchant_starts_with_sk_live():
    _key, raw_key = new_key(merchant(), ApiMode.LIVE)
    assert raw_key.startswith("sk_live_")
    assert api_client(raw_key).get(ME_URL).json()["mode"] == "live"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer sk_test_thiskeydoesnotexist0000000000000000000000000", "invalid_api_key"),
        ("Bearer pk_test_wrongprefix", "invalid_api_key"),
        ("Bearer", "invalid_api_key"),
        ("Bearer two parts", "invalid_api_key"),
    ],
)
def test_unknown_or_malformed_keys_are_refused(header, code):
    new_key(merchant())
    response = Client(headers={"Authorization": header}).get(ME_URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_request_without_a_key_is_401_not_authenticated():
    response = Client().get(ME_URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_last_used_is_written_at_most_once_a_minute():
    api_key, raw_key = new_key(merchant())
    client = api_client(raw_key)
    client.get(ME_URL)
    first = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first is not None
    # a second call within the minute leaves it alone
    client.get(ME_URL)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first
    # a call after more than a minute records the new time
    earlier = timezone.now() - datetime.timedelta(minutes=2)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=earlier)
    client.get(ME_URL)
    last_used = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert last_used is not None
    assert last_used > earlier + datetime.timedelta(minutes=1)


def test_keys_keep_working_when_secret_key_rotates_with_a_fallback():
    _key, raw_key = new_key(merchant())
    with override_settings(
        SECRET_KEY="a-brand-new-secret-key", SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]
    ):
        assert api_client(raw_key).get(ME_URL).status_code == 200
    with override_settings(SECRET_KEY="a-brand-new-secret-key", SECRET_KEY_FALLBACKS=[]):
        assert api_client(raw_key).get(ME_URL).status_code == 401


def test_hashes_are_compared_in_constant_time(monkeypatch):
    # the lookup finds the row by hash; the check itself goes through hmac.compare_digest
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("merchants.crypto.hmac.compare_digest", spy)
    _key, raw_key = new_key(merchant())
    assert api_client(raw_key).get(ME_URL).status_code == 200
    assert len(calls) == 1


def test_rate_limit_per_key_answers_429_with_retry_after():
    rates = {"api_key_burst": "2/m", "api_key_sustained": "1000/m"}
    config = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    _key, raw_key = new_key(merchant())
    _other, other_raw = new_key(merchant())
    with override_settings(REST_FRAMEWORK=config):
        client = api_client(raw_key)
        assert client.get(ME_URL).status_code == 200
        assert client.get(ME_URL).status_code == 200
        response = client.get(ME_URL)
        assert response.status_code == 429
        body = response.json()["error"]
        assert body["code"] == "rate_limited"
        assert int(response["Retry-After"]) >= 1
        assert body["details"] == {"retry_after": int(response["Retry-After"])}
        # another key has its own budget
        assert api_client(other_raw).get(ME_URL).status_code == 200


# --- the portal ---


def test_the_portal_shows_a_new_key_once():
    owner = member()
    client = portal_client(owner.user)
    response = client.post(reverse("api_key_create"), {"name": "Shop backend", "mode": "test"})
    assert response.status_code == 200
    raw_key = response.context["new_key"]
    assert raw_key.startswith("sk_test_")
    assert raw_key in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    # the key works
    assert api_client(raw_key).get(ME_URL).status_code == 200
    # and the page never shows it again
    page = client.get(reverse("developers"))
    assert raw_key not in page.content.decode()
    assert ApiKey.objects.get().masked in page.content.decode()


def test_the_portal_refuses_a_live_key_before_approval_with_a_clear_error():
    owner = member(merchant(status=MerchantStatus.SUBMITTED))
    response = portal_client(owner.user).post(
        reverse("api_key_create"), {"name": "Live", "mode": "live"}
    )
    assert response.status_code == 400
    assert "Live keys are available once the merchant is approved" in response.content.decode()
    assert ApiKey.objects.count() == 0


def test_revoking_from_the_portal_stops_the_key():
    owner = member()
    api_key, raw_key = new_key(owner.merchant)
    response = portal_client(owner.user).post(reverse("api_key_revoke", args=[api_key.public_id]))
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=api_key.pk).revoked_by == owner.user
    assert api_client(raw_key).get(ME_URL).status_code == 401


def test_a_member_cannot_revoke_another_merchants_key():
    owner = member()
    other_key, other_raw = new_key(merchant())
    response = portal_client(owner.user).post(reverse("api_key_revoke", args=[other_key.public_id]))
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=other_key.pk).revoked_at is None
    assert api_client(other_raw).get(ME_URL).status_code == 200


ROLE_CAN_MANAGE_KEYS = {
    TeamRole.OWNER: True,
    TeamRole.ADMIN: True,
    TeamRole.DEVELOPER: True,
    TeamRole.FINANCE: False,
    TeamRole.SUPPORT: False,
    TeamRole.READ_ONLY: False,
}


@pytest.mark.parametrize(("role", "allowed"), ROLE_CAN_MANAGE_KEYS.items())
def test_key_pages_follow_the_team_role(role, allowed):
    membership = member(role=role)
    client = portal_client(membership.user)
    page = client.get(reverse("developers"))
    create = client.post(reverse("api_key_create"), {"name": "k", "mode": "test"})
    if allowed:
        assert page.status_code == 200
        assert create.status_code == 200
        assert ApiKey.objects.filter(merchant=membership.merchant).count() == 1
    else:
        assert page.status_code == 403
        assert create.status_code == 403
        assert ApiKey.objects.count() == 0
