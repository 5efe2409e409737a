"""The 2FA wall: no portal page opens for a 2FA role until the session is verified."""

import re
from urllib.parse import quote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import LocalePrefixPattern, RoutePattern

from accounts.middleware import WALL_EXEMPT_VIEW_NAMES
from accounts.roles import ROLES_REQUIRING_2FA, Role
from tests.accounts.two_factor import (
    MANAGE_URL,
    SETUP_URL,
    VERIFY_URL,
    merchant_owner,
    password_step_client,
    user_with_roles,
)
from tests.helpers.twofactor import (
    confirmed_totp_device,
    totp_code,
    verify_client,
)

pytestmark = pytest.mark.django_db


# The wall


def _portal_paths() -> list[str]:
    """Return a concrete path for every page in the URL configuration that the wall covers.

    Built from the live URL patterns, so pages added later are covered without editing
    this test; path converters get sample values (the wall acts before the view runs).
    """
    samples = {"int": "1", "uuid": "00000000-0000-0000-0000-000000000001"}
    paths: list[str] = []

    def fill(route: str) -> str:
        return re.sub(r"<(?:(\w+):)?\w+>", lambda m: samples.get(m.group(1) or "str", "x"), route)

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for entry in patterns:
            pattern = entry.pattern
            if isinstance(pattern, LocalePrefixPattern):
                part = pattern.language_prefix
            elif isinstance(pattern, RoutePattern):
                part = fill(str(pattern))
            else:
                part = pattern.regex.pattern.removeprefix("^").removesuffix("$")
                if re.search(r"[\\()\[\]?*+|]", part):
                    continue  # a regular expression with groups: no sample for it
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + part)
            else:
                paths.append("/" + prefix + part)

    walk(get_resolver().url_patterns, "")
    covered = []
    for path in sorted(set(paths)):
        match = resolve(path)
        if match.view_name in WALL_EXEMPT_VIEW_NAMES or match.route.startswith("api/"):
            continue
        covered.append(path)
    return covered


def test_the_page_list_covers_the_portal() -> None:
    paths = _portal_paths()

    for expected in (
        "/",
        "/admin/",
        "/accounts/email/",
        MANAGE_URL,
        "/account/2fa/recovery-codes/",
    ):
        assert expected in paths
    assert SETUP_URL not in paths
    assert "/healthz" not in paths


@pytest.mark.parametrize("role", sorted(ROLES_REQUIRING_2FA))
def test_every_2fa_role_without_a_device_is_sent_to_setup_from_every_portal_page(
    role: Role,
) -> None:
    client = password_step_client(user_with_roles(role))

    for path in _portal_paths():
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == f"{SETUP_URL}?next={_quoted(path)}", path


@pytest.mark.parametrize("role", sorted(ROLES_REQUIRING_2FA))
def test_every_2fa_role_with_a_device_is_sent_to_verify(role: Role) -> None:
    user = user_with_roles(role)
    confirmed_totp_device(user)
    client = password_step_client(user)

    assert client.get("/")["Location"] == f"{VERIFY_URL}?next=%2F"
    assert client.get("/admin/")["Location"] == f"{VERIFY_URL}?next=%2Fadmin%2F"
    assert client.post("/admin/")["Location"] == VERIFY_URL


def test_a_superuser_without_roles_is_walled() -> None:
    client = password_step_client(user_with_roles(is_superuser=True, is_staff=True))

    assert client.get("/admin/")["Location"] == f"{SETUP_URL}?next=%2Fadmin%2F"


def test_the_wall_keeps_the_language_prefix_and_the_query_string() -> None:
    client = password_step_client(merchant_owner())

    response = client.get("/zh-hans/?tab=payments")

    assert response["Location"] == "/zh-hans/account/2fa/setup/?next=%2Fzh-hans%2F%3Ftab%3Dpayments"
    assert client.get(response["Location"]).status_code == 200


def test_htmx_requests_are_redirected_as_a_whole_page() -> None:
    client = password_step_client(merchant_owner())

    response = client.get("/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{SETUP_URL}?next=%2F"


def test_exempt_pages_stay_reachable_behind_the_wall() -> None:
    client = password_step_client(merchant_owner())

    assert client.get(SETUP_URL).status_code == 200
    assert client.get("/accounts/logout/").status_code == 200
    assert client.get("/healthz").status_code == 200
    switched = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert switched.status_code == 302
    assert switched["Location"] == "/zh-hans/"
    signed_out = client.post("/accounts/logout/")
    assert signed_out.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", [Role.PAYER, Role.MERCHANT_STAFF])
def test_roles_without_2fa_are_not_walled(role: Role) -> None:
    client = password_step_client(user_with_roles(role))

    assert client.get("/").status_code == 200
    assert client.get(MANAGE_URL).status_code == 200


def test_a_payer_who_opted_in_must_verify() -> None:
    payer = user_with_roles(Role.PAYER)
    client = password_step_client(payer)
    device = client.get(SETUP_URL).context["device"]
    client.post(SETUP_URL, {"code": totp_code(device)})
    later = password_step_client(payer)

    assert later.get("/")["Location"] == f"{VERIFY_URL}?next=%2F"
    assert later.get(MANAGE_URL)["Location"] == f"{VERIFY_URL}?next={_quoted(MANAGE_URL)}"


def test_a_verified_session_of_a_2fa_role_reaches_the_dashboard_and_admin() -> None:
    admin = user_with_roles(Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    client = password_step_client(admin)
    verify_client(client, admin)

    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200


def _quoted(path: str) -> str:
    return quote(path, safe="")
