"""Webhook endpoints over the API and in the portal: secrets, validation, rotation, scope."""

import base64
import datetime
import json

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.request import Request

from accounts.models import AuditEvent
from config.api.pagination import CursorPagination
from merchants.models import ApiMode, TeamRole, WebhookEndpoint, WebhookSecret
from merchants.selectors.webhooks import webhook_endpoint_signing_secrets
from merchants.services.webhooks import webhook_endpoint_create
from tests.merchants.platform import api_client, member, merchant, new_key, portal_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhook-endpoints"
EVENTS = ["payment.succeeded", "refund.succeeded"]


def post(client, path, data):
    return client.post(path, json.dumps(data), content_type="application/json")


def patch(client, path, data):
    return client.patch(path, json.dumps(data), content_type="application/json")


@pytest.fixture
def shop_key():
    shop = merchant()
    api_key, raw_key = new_key(shop)
    return shop, api_key, api_client(raw_key)


def test_registering_an_endpoint_returns_its_secret_once(shop_key):
    shop, api_key, client = shop_key
    # when an endpoint is registered
    response = post(client, URL, {"url": "https://shop.example.com/hooks", "events": EVENTS})
    # then it is created in the key's mode with a Standard Webhooks secret
    assert response.status_code == 201
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    endpoint = WebhookEndpoint.objects.get()
    assert body["id"] == str(endpoint.public_id)
    assert body["mode"] == "test"
    assert body["enabled"] is True
    assert body["events"] == ["payment.succeeded", "refund.succeeded"]
    assert endpoint.merchant == shop
    # the secret is stored encrypted, recoverable for signing only
    stored = WebhookSecret.objects.get(endpoint=endpoint)
    assert secret not in stored.secret_encrypted
    assert webhook_endpoint_signing_secrets(endpoint) == [secret]
    # and never shown again
    again = client.get(f"{URL}/{endpoint.public_id}")
    assert again.status_code == 200
    assert "secret" not in again.json()
    assert secret not in again.content.decode()
    # the creation is audited with the key, not the secret
    event = AuditEvent.objects.get(action="webhook_endpoint.create")
    assert event.after is not None
    assert event.after["api_key"] == api_key.masked
    assert secret not in json.dumps(event.after)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "http://shop.example.com/hooks", "events": EVENTS}, "url"),
        ({"url": "not a url", "events": EVENTS}, "url"),
        ({"url": "https://user:pw@shop.example.com/", "events": EVENTS}, "url"),
        ({"url": "https://shop.example.com/", "events": []}, "events"),
        ({"url": "https://shop.example.com/", "events": ["payment.exploded"]}, "events"),
        ({"url": "https://shop.example.com/", "events": EVENTS, "colour": "red"}, "colour"),
        ({"events": EVENTS}, "url"),
    ],
)
def test_invalid_endpoints_are_refused_with_field_details(shop_key, data, field):
    _shop, _key, client = shop_key
    response = post(client, URL, data)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]
    assert WebhookEndpoint.objects.count() == 0


def test_plain_http_is_accepted_for_localhost_in_test_mode_only():
    shop = merchant()
    _test, test_raw = new_key(shop, ApiMode.TEST)
    _live, live_raw = new_key(shop, ApiMode.LIVE)
    local = {"url": "http://localhost:8000/hooks", "events": EVENTS}
    assert post(api_client(test_raw), URL, local).status_code == 201
    refused = post(api_client(live_raw), URL, local)
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["url"]
    private = post(api_client(live_raw), URL, {"url": "https://10.0.0.8/hooks", "events": EVENTS})
    assert private.status_code == 400
    assert WebhookEndpoint.objects.filter(mode="live").count() == 0


def test_the_list_is_cursor_paginated_newest_first(shop_key):
    _shop, _key, client = shop_key
    for n in range(3):
        post(client, URL, {"url": f"https://shop.example.com/{n}", "events": EVENTS})
    first = client.get(URL, {"page_size": 2}).json()
    assert [e["url"] for e in first["results"]] == [
        "https://shop.example.com/2",
        "https://shop.example.com/1",
    ]
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert [e["url"] for e in second["results"]] == ["https://shop.example.com/0"]
    assert second["next"] is None


def test_page_size_is_capped_at_100():
    request = Request(RequestFactory().get("/api/v1/webhook-endpoints", {"page_size": 5000}))
    assert CursorPagination().get_page_size(request) == 100
    default = Request(RequestFactory().get("/api/v1/webhook-endpoints"))
    assert CursorPagination().get_page_size(default) == 25


def test_patch_changes_only_the_given_fields_and_is_audited(shop_key):
    _shop, _key, client = shop_key
    created = post(client, URL, {"url": "https://a.example.com/", "events": EVENTS}).json()
    response = patch(
        client, f"{URL}/{created['id']}", {"enabled": False, "events": ["refund.failed"]}
    )
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    assert response.json()["events"] == ["refund.failed"]
    assert response.json()["url"] == "https://a.example.com/"
    event = AuditEvent.objects.get(action="webhook_endpoint.update")
    assert event.before is not None
    assert event.after is not None
    assert event.before["enabled"] is True
    assert event.after["enabled"] is False


def test_an_empty_or_invalid_patch_changes_nothing(shop_key):
    _shop, _key, client = shop_key
    created = post(client, URL, {"url": "https://a.example.com/", "events": EVENTS}).json()
    assert patch(client, f"{URL}/{created['id']}", {}).status_code == 400
    bad = patch(client, f"{URL}/{created['id']}", {"url": "http://a.example.com/"})
    assert bad.status_code == 400
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == "https://a.example.com/"
    assert not AuditEvent.objects.filter(action="webhook_endpoint.update").exists()


def test_delete_removes_the_endpoint(shop_key):
    _shop, _key, client = shop_key
    created = post(client, URL, {"url": "https://a.example.com/", "events": EVENTS}).json()
    assert client.delete(f"{URL}/{created['id']}").status_code == 204
    assert client.get(f"{URL}/{created['id']}").status_code == 404
    assert WebhookSecret.objects.count() == 0
    assert AuditEvent.objects.filter(action="webhook_endpoint.delete").count() == 1


def test_rotation_keeps_the_old_secret_valid_for_the_overlap(shop_key):
    _shop, _key, client = shop_key
    created = post(client, URL, {"url": "https://a.example.com/", "events": EVENTS}).json()
    old_secret = created["secret"]
    before = timezone.now()
    response = post(client, f"{URL}/{created['id']}/rotate-secret", {})
    assert response.status_code == 200
    new_secret = response.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != old_secret
    endpoint = WebhookEndpoint.objects.get()
    # both sign now, newest first
    assert webhook_endpoint_signing_secrets(endpoint) == [new_secret, old_secret]
    # the old one ends after 24 hours
    expiry = WebhookSecret.objects.get(expires_at__isnull=False).expires_at
    assert expiry is not None
    assert before + datetime.timedelta(hours=24) <= expiry
    assert expiry <= timezone.now() + datetime.timedelta(hours=24)
    later = timezone.now() + datetime.timedelta(hours=25)
    assert webhook_endpoint_signing_secrets(endpoint, at=later) == [new_secret]
    assert AuditEvent.objects.filter(action="webhook_endpoint.rotate_secret").count() == 1


def test_rotation_with_no_overlap_ends_the_old_secret_now(shop_key):
    _shop, _key, client = shop_key
    created = post(client, URL, {"url": "https://a.example.com/", "events": EVENTS}).json()
    response = post(client, f"{URL}/{created['id']}/rotate-secret", {"overlap_hours": 0})
    endpoint = WebhookEndpoint.objects.get()
    assert webhook_endpoint_signing_secrets(endpoint) == [response.json()["secret"]]
    too_long = post(client, f"{URL}/{created['id']}/rotate-secret", {"overlap_hours": 1000})
    assert too_long.status_code == 400
    assert WebhookSecret.objects.filter(endpoint=endpoint).count() == 2


def test_secrets_survive_a_secret_key_rotation_with_fallback():
    shop = merchant()
    endpoint, secret = webhook_endpoint_create(
        merchant=shop, mode="test", url="https://a.example.com/", events=EVENTS
    )
    with override_settings(
        SECRET_KEY="rotated-secret-key", SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]
    ):
        assert webhook_endpoint_signing_secrets(endpoint) == [secret]


def test_one_merchants_key_never_reads_or_changes_another_merchants_endpoints():
    # given merchant B's endpoint
    shop_b = merchant()
    endpoint_b, _secret = webhook_endpoint_create(
        merchant=shop_b, mode="test", url="https://b.example.com/", events=EVENTS
    )
    # and merchant A's key
    _key, raw_a = new_key(merchant())
    client_a = api_client(raw_a)
    path = f"{URL}/{endpoint_b.public_id}"
    # then every access is 404, not 403
    assert client_a.get(path).status_code == 404
    assert client_a.get(path).json()["error"]["code"] == "not_found"
    assert patch(client_a, path, {"enabled": False}).status_code == 404
    assert post(client_a, f"{path}/rotate-secret", {}).status_code == 404
    assert client_a.delete(path).status_code == 404
    assert client_a.get(URL).json()["results"] == []
    # and nothing of B's changed
    endpoint_b.refresh_from_db()
    assert endpoint_b.is_enabled is True
    assert WebhookSecret.objects.filter(endpoint=endpoint_b).count() == 1


def test_a_test_key_does_not_see_live_endpoints():
    shop = merchant()
    live, _secret = webhook_endpoint_create(
        merchant=shop, mode="live", url="https://a.example.com/", events=EVENTS
    )
    _key, raw = new_key(shop, ApiMode.TEST)
    assert api_client(raw).get(f"{URL}/{live.public_id}").status_code == 404
    assert api_client(raw).get(URL).json()["results"] == []


# --- the portal ---


def test_the_portal_registers_an_endpoint_and_shows_its_secret_once():
    owner = member()
    client = portal_client(owner.user)
    response = client.post(
        reverse("webhook_endpoint_create"),
        {"url": "https://shop.example.com/hooks", "mode": "test", "events": EVENTS},
    )
    assert response.status_code == 200
    secret = response.context["new_secret"]
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.created_by == owner.user
    assert secret not in client.get(reverse("developers")).content.decode()
    assert (
        secret
        not in client.get(
            reverse("webhook_endpoint_edit", args=[endpoint.public_id])
        ).content.decode()
    )


def test_the_portal_shows_a_bad_url_as_a_field_error():
    owner = member()
    response = portal_client(owner.user).post(
        reverse("webhook_endpoint_create"),
        {"url": "http://shop.example.com/hooks", "mode": "test", "events": EVENTS},
    )
    assert response.status_code == 400
    assert response.context["endpoint_form"].errors["url"] == [
        "Use an https:// URL. Plain http:// is only allowed for localhost in test mode."
    ]
    assert WebhookEndpoint.objects.count() == 0


def test_the_portal_edits_rotates_and_deletes_an_endpoint():
    owner = member()
    endpoint, old_secret = webhook_endpoint_create(
        merchant=owner.merchant, mode="test", url="https://a.example.com/", events=EVENTS
    )
    client = portal_client(owner.user)
    edit = reverse("webhook_endpoint_edit", args=[endpoint.public_id])
    saved = client.post(edit, {"url": "https://b.example.com/", "events": ["refund.created"]})
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.is_enabled) == (
        "https://b.example.com/",
        ["refund.created"],
        False,
    )
    rotated = client.post(
        reverse("webhook_endpoint_rotate", args=[endpoint.public_id]), {"overlap_hours": 2}
    )
    assert rotated.status_code == 200
    assert webhook_endpoint_signing_secrets(endpoint) == [rotated.context["new_secret"], old_secret]
    deleted = client.post(reverse("webhook_endpoint_delete", args=[endpoint.public_id]))
    assert deleted.status_code == 302
    assert WebhookEndpoint.objects.count() == 0


def test_the_portal_404s_another_merchants_endpoint():
    owner = member()
    other, _secret = webhook_endpoint_create(
        merchant=merchant(), mode="test", url="https://b.example.com/", events=EVENTS
    )
    client = portal_client(owner.user)
    assert client.get(reverse("webhook_endpoint_edit", args=[other.public_id])).status_code == 404
    assert (
        client.post(reverse("webhook_endpoint_delete", args=[other.public_id])).status_code == 404
    )
    assert WebhookEndpoint.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (TeamRole.OWNER, True),
        (TeamRole.ADMIN, True),
        (TeamRole.DEVELOPER, True),
        (TeamRole.FINANCE, False),
        (TeamRole.SUPPORT, False),
        (TeamRole.READ_ONLY, False),
    ],
)
def test_webhook_actions_follow_the_team_role(role, allowed):
    membership = member(role=role)
    response = portal_client(membership.user).post(
        reverse("webhook_endpoint_create"),
        {"url": "https://shop.example.com/hooks", "mode": "test", "events": EVENTS},
    )
    assert response.status_code == (200 if allowed else 403)
    assert WebhookEndpoint.objects.count() == (1 if allowed else 0)
