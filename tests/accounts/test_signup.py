"""Sign-up, email verification, password reset and sign-in limits, through allauth's pages."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent, User
from accounts.roles import Role
from merchants.models import Merchant, MerchantMembership
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


NEW_PASSWORD = "violet-kettle-harbour-42"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Build URLs in English: a request to a /zh-hans/ page elsewhere leaves Chinese active."""
    with translation.override("en"):
        yield


def _signup(client: Client, **fields: str) -> Any:
    data = {
        "email": "new.person@example.com",
        "password1": DEFAULT_PASSWORD,
        "password2": DEFAULT_PASSWORD,
        "full_name": "New Person",
        "account_type": "payer",
        "business_name": "",
    }
    data.update(fields)
    return client.post(reverse("account_signup"), data)


def _login(client: Client, email: str, password: str) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": password})


def _link_in_last_mail(pattern: str) -> str:
    body = str(mail.outbox[-1].body)
    match = re.search(pattern, body)
    assert match, body
    return match.group(0)


def _verified_user(**kwargs: Any) -> User:
    user = UserFactory(**kwargs)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def _is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_signup_as_merchant_gives_owner_role_and_a_draft_merchant(client: Client) -> None:
    response = _signup(
        client, email="Owner@Example.com", account_type="merchant", business_name="Tea House"
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="owner@example.com")
    assert user.full_name == "New Person"
    assert user.roles == frozenset({Role.MERCHANT_OWNER})
    merchant = Merchant.objects.get()
    assert (merchant.name, merchant.status) == ("Tea House", "draft")
    membership = MerchantMembership.objects.get()
    assert (membership.merchant, membership.user, membership.role) == (merchant, user, "owner")
    signup = AuditEvent.objects.get(action="auth.signup")
    assert (signup.actor, signup.object_id, signup.ip_address) == (user, str(user.pk), "127.0.0.1")
    assert signup.after == {
        "email": "owner@example.com",
        "account_type": "merchant",
        "business_name": "Tea House",
    }
    created = AuditEvent.objects.get(action="merchant.created")
    assert (created.actor, created.object_id) == (user, str(merchant.pk))
    assert created.after == {"name": "Tea House", "status": "draft", "owner": "owner@example.com"}


def test_signup_as_payer_gives_payer_role_and_no_merchant(client: Client) -> None:
    response = _signup(client, account_type="payer", business_name="Ignored Ltd")

    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.roles == frozenset({Role.PAYER})
    assert not Merchant.objects.exists()
    assert AuditEvent.objects.get(action="auth.signup").after == {
        "email": "new.person@example.com",
        "account_type": "payer",
    }


def test_merchant_signup_without_business_name_is_refused_and_creates_nothing(
    client: Client,
) -> None:
    response = _signup(client, account_type="merchant", business_name="   ")

    assert response.status_code == 200
    assert response.context["form"].errors == {"business_name": ["Enter your business name."]}
    assert not User.objects.exists()
    assert not Merchant.objects.exists()
    assert not AuditEvent.objects.filter(action="auth.signup").exists()


def test_signup_without_account_type_is_refused(client: Client) -> None:
    response = _signup(client, account_type="")

    assert response.status_code == 200
    assert "account_type" in response.context["form"].errors
    assert not User.objects.exists()


def test_a_failing_merchant_hook_undoes_the_whole_signup(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the merchant side fails while creating the draft merchant
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("merchant creation failed")

    monkeypatch.setattr(MerchantMembership.objects, "create", explode)

    # when a merchant signs up, then no half-made account is left behind
    with pytest.raises(RuntimeError):
        _signup(client, account_type="merchant", business_name="Tea House")
    assert not User.objects.exists()
    assert not EmailAddress.objects.exists()
    assert not Merchant.objects.exists()
    assert not AuditEvent.objects.filter(action="auth.signup").exists()


def test_email_must_be_verified_before_login_works(client: Client) -> None:
    # given a fresh sign-up, which mails a confirmation link
    _signup(client)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    link = _link_in_last_mail(r"http://testserver(/accounts/confirm-email/[^/\s]+/)")
    client.logout()

    # when the user signs in before confirming, then they are not let in
    response = _login(client, "new.person@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not _is_signed_in(client)
    assert not EmailAddress.objects.get(email="new.person@example.com").verified

    # when they follow the link and confirm
    path = link.removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    response = client.post(path)
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="new.person@example.com").verified
    confirmed = AuditEvent.objects.get(action="auth.email_confirmed")
    assert confirmed.after == {"email": "new.person@example.com"}

    # then signing in works
    client.logout()
    response = _login(client, "new.person@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(User.objects.get().pk)


def test_password_reset_end_to_end(client: Client) -> None:
    # given a payer who forgot their password
    user = _verified_user(email="forgetful@example.com", roles=[Role.PAYER])

    # when they ask for a reset and follow the mailed link
    response = client.post(reverse("account_reset_password"), {"email": "forgetful@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = _link_in_last_mail(r"http://testserver(/accounts/password/reset/key/[^/\s]+/)")
    response = client.get(link.removeprefix("http://testserver"))
    assert response.status_code == 302  # allauth moves the key out of the URL into the session
    set_password_url = response["Location"]
    response = client.post(set_password_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")

    # then the old password no longer works and the new one does
    user.refresh_from_db()
    assert not user.check_password(DEFAULT_PASSWORD)
    assert user.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert (event.actor, event.object_id, event.ip_address) == (user, str(user.pk), "127.0.0.1")
    assert event.before is None and event.after is None
    response = _login(client, "forgetful@example.com", NEW_PASSWORD)
    assert response["Location"] == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_password_reset_with_a_bad_key_changes_nothing(client: Client) -> None:
    user = _verified_user(email="target@example.com", roles=[Role.PAYER])

    response = client.get("/accounts/password/reset/key/1-not-a-real-key/", follow=True)

    assert response.status_code == 200
    assert response.context["token_fail"] is True
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert not AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_repeated_failed_logins_lock_the_email_even_with_the_right_password(
    client: Client,
) -> None:
    # given a verified payer whose email had 5 wrong passwords (limit "5/5m/key")
    user = _verified_user(email="victim@example.com", roles=[Role.PAYER])
    for _attempt in range(5):
        response = _login(client, "victim@example.com", "wrong-password-123")
        assert response.status_code == 200
        assert not _is_signed_in(client)

    # when the right password comes next
    response = _login(client, "victim@example.com", DEFAULT_PASSWORD)

    # then allauth refuses it without checking the password, and the refusal is audited
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Too many failed login attempts. Try again later."
    ]
    assert not _is_signed_in(client)
    assert not AuditEvent.objects.filter(action="auth.login").exists()
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 5
    limited = AuditEvent.objects.get(action="auth.login_rate_limited")
    assert (limited.after, limited.ip_address) == ({"login": "victim@example.com"}, "127.0.0.1")
    assert limited.actor is None
    # another account from elsewhere is unaffected by this email's lock
    other = _verified_user(email="bystander@example.com", roles=[Role.PAYER])
    other_client = Client(REMOTE_ADDR="10.0.0.9")
    _login(other_client, "bystander@example.com", DEFAULT_PASSWORD)
    assert other_client.session["_auth_user_id"] == str(other.pk)
    assert user.pk != other.pk


def test_flooding_the_login_page_from_one_ip_gets_http_429(client: Client) -> None:
    # given 30 sign-in posts from one address in a minute (limit "30/m/ip")
    for index in range(30):
        response = _login(client, f"nobody{index}@example.com", "wrong-password-123")
        assert response.status_code == 200

    # when a 31st comes, then allauth answers 429 Too Many Requests
    response = _login(client, "nobody@example.com", "wrong-password-123")
    assert response.status_code == 429
