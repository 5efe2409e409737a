"""Two-factor setup and verification: codes from pyotp, as a phone computes them.

The wall is tested in test_two_factor_wall.py, device management in
test_two_factor_manage.py.
"""

from base64 import b32encode

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils.translation import override
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent, User
from accounts.twofactor.services import recovery_code_normalize
from tests.accounts.two_factor import (
    SETUP_URL,
    VERIFY_URL,
    merchant_owner,
    password_step_client,
    two_factor_actions,
)
from tests.factories import DEFAULT_PASSWORD
from tests.helpers.twofactor import (
    enrol,
    session_is_verified,
    totp_code,
    unthrottle,
    verified_session_cookie,
    wrong_totp_code,
)

pytestmark = pytest.mark.django_db


# Setup


def test_setup_page_shows_a_qr_code_and_the_secret_of_a_new_unconfirmed_device() -> None:
    owner = merchant_owner()
    client = password_step_client(owner)

    response = client.get(SETUP_URL)

    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=owner)
    assert device.confirmed is False
    content = response.content.decode()
    assert 'src="data:image/svg+xml;base64,' in content
    assert response.context["secret"].replace(" ", "") == _b32(device)
    assert response.context["secret"] in content
    assert response["Cache-Control"].startswith("max-age=0")


def test_setup_page_keeps_the_same_pending_device_when_reloaded() -> None:
    owner = merchant_owner()
    client = password_step_client(owner)

    first = client.get(SETUP_URL).context["device"]
    second = client.get(SETUP_URL).context["device"]

    assert first.pk == second.pk
    assert TOTPDevice.objects.filter(user=owner).count() == 1


def test_setup_with_a_correct_code_confirms_the_device_and_shows_ten_recovery_codes_once() -> None:
    owner = merchant_owner()
    client = password_step_client(owner)
    device = client.get(SETUP_URL, {"next": "/merchants/"}).context["device"]

    response = client.post(
        SETUP_URL, {"code": totp_code(device), "name": "Work phone", "next": "/merchants/"}
    )

    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed is True
    assert device.name == "Work phone"
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    codes = response.context["codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert code in response.content.decode()
    assert response.context["continue_url"] == "/merchants/"
    assert StaticToken.objects.filter(device__user=owner).count() == 10
    assert two_factor_actions(owner) == ["2fa.device_added", "2fa.recovery_codes_generated"]
    assert client.get("/").status_code == 200


def test_recovery_codes_are_stored_only_as_keyed_hashes() -> None:
    owner = merchant_owner()
    _device, codes = enrol(owner)

    stored = set(StaticToken.objects.filter(device__user=owner).values_list("token", flat=True))

    assert len(stored) == 10
    assert not stored & {recovery_code_normalize(code) for code in codes}
    assert not stored & set(codes)


def test_setup_with_a_wrong_code_shows_an_error_and_keeps_the_device_unconfirmed() -> None:
    owner = merchant_owner()
    client = password_step_client(owner)
    device = client.get(SETUP_URL).context["device"]

    response = client.post(SETUP_URL, {"code": wrong_totp_code(device)})

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [
        "That code is not valid or was already used. Wait for your authenticator app to "
        "show a new code and try again."
    ]
    device.refresh_from_db()
    assert device.confirmed is False
    assert not session_is_verified(client)
    assert not StaticDevice.objects.filter(user=owner).exists()
    assert two_factor_actions(owner) == ["2fa.verify_failed"]
    failed = AuditEvent.objects.get(actor=owner, action="2fa.verify_failed")
    assert failed.after == {"purpose": "setup", "method": "totp", "reason": "invalid_code"}


def test_setup_refuses_letters_before_checking_anything() -> None:
    owner = merchant_owner()
    client = password_step_client(owner)
    device = client.get(SETUP_URL).context["device"]

    response = client.post(SETUP_URL, {"code": "abcdef"})

    assert response.context["form"].errors["code"] == [
        "Enter the 6-digit code your authenticator app shows."
    ]
    device.refresh_from_db()
    assert (device.confirmed, device.throttling_failure_count) == (False, 0)


def test_an_unverified_session_cannot_add_a_second_device() -> None:
    owner = merchant_owner()
    enrol(owner)
    client = password_step_client(owner)

    response = client.get(SETUP_URL)

    assert response.status_code == 302
    assert response["Location"] == VERIFY_URL
    assert TOTPDevice.objects.filter(user=owner).count() == 1


# Verification after the password


def test_verify_with_a_correct_code_verifies_the_session_and_follows_next() -> None:
    owner = merchant_owner()
    device, _codes = enrol(owner)
    client = password_step_client(owner)

    response = client.post(
        VERIFY_URL, {"code": totp_code(device, steps_ahead=1), "next": "/merchants/?page=2"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/merchants/?page=2"
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    verified = AuditEvent.objects.get(actor=owner, action="2fa.verified")
    assert verified.after == {"method": "totp", "device": device.persistent_id}
    assert client.get("/").status_code == 200


def test_verify_cycles_the_session_key() -> None:
    owner = merchant_owner()
    device, _codes = enrol(owner)
    client = password_step_client(owner)
    before = client.session.session_key

    client.post(VERIFY_URL, {"code": totp_code(device, steps_ahead=1)})

    assert client.session.session_key != before
    assert session_is_verified(client)


def test_verify_with_a_wrong_code_is_refused_and_audited() -> None:
    owner = merchant_owner()
    device, _codes = enrol(owner)
    client = password_step_client(owner)

    response = client.post(VERIFY_URL, {"code": wrong_totp_code(device)})

    assert response.status_code == 200
    assert "That code is not valid" in response.context["form"].errors["code"][0]
    assert not session_is_verified(client)
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    assert two_factor_actions(owner)[-1] == "2fa.verify_failed"
    assert client.get("/")["Location"] == f"{VERIFY_URL}?next=%2F"


def test_a_code_already_used_is_refused() -> None:
    owner = merchant_owner()
    device, _codes = enrol(owner)
    code = totp_code(device, steps_ahead=1)
    assert password_step_client(owner).post(VERIFY_URL, {"code": code}).status_code == 302
    second = password_step_client(owner)

    response = second.post(VERIFY_URL, {"code": code})

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [
        "That code is not valid or was already used. Wait for your authenticator app to "
        "show a new code and try again."
    ]
    assert not session_is_verified(second)
    assert two_factor_actions(owner)[-2:] == ["2fa.verified", "2fa.verify_failed"]


def test_the_setup_code_cannot_be_used_again_to_verify() -> None:
    owner = merchant_owner()
    client = password_step_client(owner)
    device = client.get(SETUP_URL).context["device"]
    code = totp_code(device)
    client.post(SETUP_URL, {"code": code})
    later = password_step_client(owner)

    response = later.post(VERIFY_URL, {"code": code})

    assert response.status_code == 200
    assert not session_is_verified(later)


def test_verification_is_throttled_after_a_failure() -> None:
    owner = merchant_owner()
    device, _codes = enrol(owner)
    client = password_step_client(owner)
    client.post(VERIFY_URL, {"code": wrong_totp_code(device)})

    throttled = client.post(VERIFY_URL, {"code": totp_code(device, steps_ahead=1)})

    assert throttled.status_code == 200
    assert throttled.context["form"].errors["code"][0].startswith("Too many wrong codes. Wait")
    assert not session_is_verified(client)
    last = AuditEvent.objects.filter(actor=owner).latest("id")
    assert last.after == {"purpose": "login", "method": "totp", "reason": "throttled"}
    unthrottle(device)

    accepted = client.post(VERIFY_URL, {"code": totp_code(device, steps_ahead=1)})

    assert accepted.status_code == 302
    assert session_is_verified(client)


def test_a_recovery_code_works_once() -> None:
    owner = merchant_owner()
    _device, codes = enrol(owner)
    first = password_step_client(owner)

    response = first.post(VERIFY_URL, {"code": codes[0].upper().replace("-", " ")})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert session_is_verified(first)
    assert StaticToken.objects.filter(device__user=owner).count() == 9
    used = AuditEvent.objects.get(actor=owner, action="2fa.recovery_code_used")
    assert used.after == {"purpose": "login", "remaining": 9}
    verified = AuditEvent.objects.get(actor=owner, action="2fa.verified")
    assert verified.after == {"method": "recovery_code", "device": _static_id(owner)}
    second = password_step_client(owner)

    again = second.post(VERIFY_URL, {"code": codes[0]})

    assert again.status_code == 200
    assert again.context["form"].errors["code"] == [
        "That code is not valid. Enter the 6-digit code from your authenticator app, "
        "or an unused recovery code."
    ]
    assert not session_is_verified(second)
    assert StaticToken.objects.filter(device__user=owner).count() == 9


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_verify_does_not_redirect_off_site(next_url: str) -> None:
    owner = merchant_owner()
    device, _codes = enrol(owner)
    client = password_step_client(owner)

    response = client.post(VERIFY_URL, {"code": totp_code(device, steps_ahead=1), "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_verify_sends_a_user_without_a_device_to_setup() -> None:
    client = password_step_client(merchant_owner())

    response = client.get(VERIFY_URL, {"next": "/merchants/"})

    assert response["Location"] == f"{SETUP_URL}?next=%2Fmerchants%2F"


def test_anonymous_visitor_of_the_2fa_pages_is_sent_to_login() -> None:
    response = Client().get(VERIFY_URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# Helpers and the whole sign-in


def test_verified_session_cookie_opens_the_dashboard_in_a_new_client() -> None:
    owner = merchant_owner()

    cookie = verified_session_cookie(Client(), owner, url="http://localhost:8000")

    assert set(cookie) == {"name", "value", "httpOnly", "sameSite", "url"}
    browser = Client()
    browser.cookies[cookie["name"]] = cookie["value"]
    assert browser.get("/").status_code == 200


def test_a_merchant_owner_signs_in_sets_up_totp_and_reaches_the_dashboard() -> None:
    owner = merchant_owner("chen@example.com")
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    client = Client()

    signed_in = client.post(
        "/accounts/login/", {"login": owner.email, "password": DEFAULT_PASSWORD}
    )
    assert signed_in["Location"] == "/"
    walled = client.get(signed_in["Location"])
    assert walled["Location"] == f"{SETUP_URL}?next=%2F"
    setup_page = client.get(walled["Location"])
    device = setup_page.context["device"]

    codes_page = client.post(
        SETUP_URL, {"code": totp_code(device), "next": setup_page.context["next_url"]}
    )

    assert len(codes_page.context["codes"]) == 10
    assert codes_page.context["continue_url"] == "/"
    dashboard = client.get(codes_page.context["continue_url"])
    assert dashboard.status_code == 200
    assert two_factor_actions(owner) == ["2fa.device_added", "2fa.recovery_codes_generated"]


def test_pages_render_in_chinese() -> None:
    owner = merchant_owner()
    client = password_step_client(owner)

    with override("zh-hans"):
        response = client.get("/zh-hans" + SETUP_URL)

    assert response.status_code == 200
    assert response.context["LANGUAGE_CODE"] == "zh-hans"


def _b32(device: TOTPDevice) -> str:
    return b32encode(device.bin_key).decode("ascii")


def _static_id(user: User) -> str:
    return StaticDevice.objects.get(user=user).persistent_id
