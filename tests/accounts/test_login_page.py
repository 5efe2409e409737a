"""The password sign-in page links to the passkey sign-in and to the payer sign-up."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_login_page_links_to_passkey_sign_in_and_payer_sign_up(client: Client) -> None:
    html = client.get(reverse("account_login")).content.decode()

    assert (
        f'<a class="btn btn-secondary btn-block" href="{reverse("passkey_login")}" '
        'data-testid="passkey-login-link">'
    ) in html
    assert "Sign in with a passkey" in html
    assert f'href="{reverse("payer_signup")}" data-testid="payer-signup-link"' in html
    assert "New payer?" in html
    assert "Sign up with your email" in html
    # The merchant sign-up stays.
    assert f'href="{reverse("account_signup")}"' in html


def test_the_links_keep_where_the_user_was_going(client: Client) -> None:
    html = client.get(reverse("account_login") + "?next=/payer/").content.decode()

    assert f'href="{reverse("passkey_login")}?next=/payer/"' in html
    assert f'href="{reverse("payer_signup")}?next=/payer/"' in html


def test_the_login_page_has_no_allauth_passkey_login(client: Client) -> None:
    html = client.get(reverse("account_login")).content.decode()

    assert 'form="mfa_login"' not in html
    assert 'id="passkey_login"' not in html


def test_the_chinese_login_page_links_to_the_chinese_passkey_pages(client: Client) -> None:
    html = client.get("/zh-hans" + reverse("account_login")).content.decode()

    assert 'href="/zh-hans/passkeys/sign-in/"' in html
    assert 'href="/zh-hans/passkeys/sign-up/"' in html
