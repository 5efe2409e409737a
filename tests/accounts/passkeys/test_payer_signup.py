"""A payer signs up (or back in) with an emailed code, no password; the payer area."""

from collections.abc import Iterator

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from accounts.models import AuditEvent, EmailCode, User
from accounts.passkeys import payer_area
from accounts.roles import Role
from tests.accounts.passkeys.support import (
    audit_actions,
    code_from_last_email,
    register_passkey,
)
from tests.factories import UserFactory
from tests.helpers.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Return `send(client, email, next="")`: post the sign-up form; return the emailed code."""

    def _send(client: Client, email: str, next_url: str = "") -> str:
        data = {"email": email}
        if next_url:
            data["next"] = next_url
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/passkeys/sign-up/", data)
        assert response.status_code == 302, response.content
        assert response["Location"] == "/passkeys/sign-up/code/"
        return code_from_last_email()

    return _send


def _signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def test_a_new_payer_signs_up_with_a_code_and_is_asked_for_a_passkey(send):
    client = Client()
    code = send(client, "New.Payer@Example.com")

    page = client.get("/passkeys/sign-up/code/")
    response = client.post("/passkeys/sign-up/code/", {"code": code})

    assert "new.payer@example.com" in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == "/passkeys/welcome/"
    user = User.objects.get(email="new.payer@example.com")
    assert user.roles == frozenset({Role.PAYER})
    assert user.has_usable_password() is False
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == (
        "new.payer@example.com",
        True,
        True,
    )
    assert _signed_in_user_id(client) == str(user.pk)
    assert audit_actions("auth.", "email_code.") == [
        "email_code.sent",
        "auth.signup",
        "auth.email_confirmed",
        "auth.login",
    ]
    welcome = client.get("/passkeys/welcome/")
    assert 'data-testid="passkey-register"' in welcome.content.decode()


def test_the_next_page_survives_the_sign_up(send):
    client = Client()
    code = send(client, "checkout.payer@example.com", next_url="/payer/")

    response = client.post("/passkeys/sign-up/code/", {"code": code})

    assert response["Location"] == "/passkeys/welcome/?next=%2Fpayer%2F"


def test_an_existing_payer_is_signed_in_by_the_code(send):
    payer = UserFactory(email="known@example.com", roles=[Role.PAYER])
    register_passkey(payer, SoftAuthenticator())
    client = Client()
    code = send(client, "known@example.com")

    response = client.post("/passkeys/sign-up/code/", {"code": code})

    assert response["Location"] == "/payer/"
    assert User.objects.filter(email="known@example.com").count() == 1
    assert _signed_in_user_id(client) == str(payer.pk)
    assert EmailAddress.objects.get(user=payer).verified is True
    assert audit_actions("auth.signup") == []


@pytest.mark.parametrize(
    "roles", [[Role.MERCHANT_OWNER], [Role.PAYER, Role.RISK_ANALYST], [Role.MERCHANT_STAFF]]
)
def test_an_account_that_is_not_payer_only_is_not_signed_in_by_a_code(send, roles):
    user = UserFactory(email="staff@example.com", roles=roles)
    client = Client()
    code = send(client, "staff@example.com")

    response = client.post("/passkeys/sign-up/code/", {"code": code})

    assert response.status_code == 200
    assert "signs in with a password" in response.content.decode()
    assert _signed_in_user_id(client) is None
    assert audit_actions("auth.login") == []
    event = AuditEvent.objects.get(action="auth.email_code_login_refused")
    assert event.object_id == str(user.pk)
    assert event.after == {"reason": "not_payer_only"}


def test_a_wrong_code_creates_nothing(send):
    client = Client()
    code = send(client, "new.payer@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    response = client.post("/passkeys/sign-up/code/", {"code": wrong})

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert not User.objects.filter(email="new.payer@example.com").exists()
    assert _signed_in_user_id(client) is None
    assert EmailCode.objects.get().attempts == 1


def test_a_code_that_is_not_six_digits_is_refused_before_counting(send):
    client = Client()
    send(client, "new.payer@example.com")

    response = client.post("/passkeys/sign-up/code/", {"code": "12ab"})

    assert "Enter the 6 digits" in response.content.decode()
    assert EmailCode.objects.get().attempts == 0


def test_the_code_page_needs_an_address_first():
    response = Client().get("/passkeys/sign-up/code/")

    assert response["Location"] == "/passkeys/sign-up/"


def test_resend_is_rate_limited(send, django_capture_on_commit_callbacks):
    client = Client()
    send(client, "new.payer@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/passkeys/sign-up/code/", {"resend": "1"}, follow=True)

    assert "Wait a minute" in response.content.decode()
    assert EmailCode.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_sign_up_page_offers_the_passkey_autofill():
    html = Client().get("/passkeys/sign-up/").content.decode()

    assert 'autocomplete="username webauthn"' in html


# ----------------------------------------------------------------- payer area


@pytest.fixture
def _no_payments_section() -> Iterator[None]:
    saved = payer_area._section
    payer_area._section = None
    yield
    payer_area._section = saved


def test_the_payer_area_shows_an_empty_list(payer, _no_payments_section):
    client = Client()
    client.force_login(payer)

    response = client.get("/payer/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="payer-payments-empty"' in html
    assert "Create a passkey" in html


def test_the_payments_app_fills_the_payer_area_through_the_hook(
    payer, _no_payments_section, tmp_path, settings
):
    (tmp_path / "payments_list.html").write_text(
        "<ul data-testid='filled'>{% for p in payments %}<li>{{ p }}</li>{% endfor %}</ul>"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
    ]
    payer_area.payer_payments_register(
        template_name="payments_list.html",
        get_context=lambda request: {"payments": [f"paid by {request.user}"]},
    )
    client = Client()
    client.force_login(payer)

    html = client.get("/payer/").content.decode()

    assert "<li>paid by payer@example.com</li>" in html
    assert "payer-payments-empty" not in html


def test_the_payer_area_is_for_payers(verified_client):
    owner = UserFactory(roles=[Role.MERCHANT_OWNER])

    assert verified_client(owner).get("/payer/").status_code == 403
    assert Client().get("/payer/").status_code == 302
