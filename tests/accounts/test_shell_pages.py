"""The portal shell: layout, language switcher, flash messages and error pages."""

import re

import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from accounts.roles import Role
from config import views as config_views
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The CSP forbids inline scripts, inline event handlers and style attributes.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
INLINE_HANDLER = re.compile(r"\son[a-z]+=\"", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle=\"", re.IGNORECASE)


def _assert_csp_clean(html: str) -> None:
    assert INLINE_SCRIPT.findall(html) == []
    assert INLINE_HANDLER.findall(html) == []
    assert STYLE_ATTRIBUTE.findall(html) == []


def broken_context_processor(request):
    raise RuntimeError("context processor failed")


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/confirm-email/",
        "/zh-hans/accounts/login/",
    ],
)
def test_anonymous_pages_use_the_auth_layout_without_inline_code(client: Client, url: str) -> None:
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="layout-auth"' in html
    assert 'class="auth-card card"' in html
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in html
    _assert_csp_clean(html)


def test_the_login_page_is_english_by_default_and_chinese_under_the_prefix(client: Client) -> None:
    english = client.get("/accounts/login/").content.decode()
    chinese = client.get("/zh-hans/accounts/login/").content.decode()
    assert '<html lang="en"' in english
    assert "Sign In" in english
    assert '<html lang="zh-hans"' in chinese
    # allauth's own catalogue already translates its strings.
    assert "登录" in chinese


def test_the_language_switcher_posts_this_page_in_each_language(client: Client) -> None:
    html = client.get("/accounts/login/?next=/").content.decode()
    assert html.count(f'<form action="{reverse("set_language")}" method="post">') == 2
    assert 'name="next" value="/accounts/login/?next=/"' in html
    assert 'name="next" value="/zh-hans/accounts/login/?next=/"' in html
    assert 'name="language" value="zh-hans"' in html


def test_switching_back_to_english_from_a_chinese_page_lands_on_the_english_page(
    client: Client,
) -> None:
    html = client.get("/zh-hans/accounts/login/").content.decode()
    assert 'name="next" value="/accounts/login/"' in html
    client.cookies["django_language"] = "zh-hans"
    response = client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert '<html lang="en"' in client.get(response["Location"]).content.decode()


def test_switching_language_redirects_to_the_same_page_in_chinese(client: Client) -> None:
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": "/accounts/login/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/zh-hans/accounts/login/"


def test_the_dashboard_has_the_app_layout_with_htmx_csrf_header(client: Client) -> None:
    user = UserFactory.create(roles=[Role.PAYER], email="payer@example.com")
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    token = response.context["csrf_token"]
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in html
    assert 'id="sidebar"' in html
    assert 'data-nav="dashboard"' in html
    assert 'data-role="payer"' in html
    assert f'action="{reverse("account_logout")}"' in html
    _assert_csp_clean(html)


def test_an_administrator_dashboard_offers_shortcuts_to_existing_areas(verified_client) -> None:
    admin = UserFactory.create(roles=[Role.ADMINISTRATOR])
    html = verified_client(admin).get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("audit_log")}" data-shortcut="audit_log"' in html
    assert f'href="{reverse("user_list")}" data-shortcut="users"' in html


def test_flash_messages_are_shown_and_dismissable(client: Client) -> None:
    client.force_login(UserFactory.create(roles=[Role.PAYER]))
    response = client.post(reverse("account_logout"), follow=True)
    html = response.content.decode()
    assert 'class="alert alert-success" data-dismissable' in html
    assert "data-dismiss" in html


def test_the_404_page_has_status_404_and_the_layout(client: Client) -> None:
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'class="topbar"' in html
    assert 'class="error-code">404<' in html
    assert "We could not find that page" in html
    _assert_csp_clean(html)


def test_the_404_page_is_translated(client: Client) -> None:
    response = client.get("/zh-hans/no-such-page/")
    assert response.status_code == 404
    assert '<html lang="zh-hans"' in response.content.decode()


def test_the_403_page_has_status_403(client: Client) -> None:
    payer = UserFactory.create(roles=[Role.PAYER])
    client.force_login(payer)
    response = client.get(reverse("audit_log"))
    assert response.status_code == 403
    assert "You do not have access to this page" in response.content.decode()


def test_the_400_handler_renders_its_page() -> None:
    request = RequestFactory().get("/")
    request.user = UserFactory.create()
    response = config_views.bad_request(request)
    assert response.status_code == 400
    assert "We could not understand that request" in response.content.decode()


def test_the_500_page_renders_when_context_processors_fail() -> None:
    failing = {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [config_views.__file__.rsplit("/config/", 1)[0] + "/templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "tests.accounts.test_shell_pages.broken_context_processor",
            ]
        },
    }
    with override_settings(TEMPLATES=[failing]):
        response = config_views.server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert '<link rel="stylesheet" href="/static/css/paydesk.css">' in html
    _assert_csp_clean(html)
