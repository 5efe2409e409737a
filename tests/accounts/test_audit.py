"""The audit trail of sign-ins, and the audit log page in the portal."""

import datetime as dt
import zoneinfo
from collections.abc import Iterator

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent, User
from accounts.roles import Role
from accounts.selectors import audit_event_diff, audit_event_list
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers.twofactor import verify_client

pytestmark = pytest.mark.django_db


SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Build URLs in English: a request to a /zh-hans/ page elsewhere leaves Chinese active."""
    with translation.override("en"):
        yield


@pytest.fixture
def administrator() -> User:
    return UserFactory(email="admin@example.com", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def staff_client(client: Client, administrator: User) -> Client:
    verify_client(client, administrator)
    return client


def _verified_payer(email: str) -> User:
    user = UserFactory(email=email, roles=[Role.PAYER])
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def _event(action: str, at: dt.datetime, **fields: object) -> AuditEvent:
    return AuditEvent.objects.create(action=action, occurred_at=at, **fields)


def _local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# The audit trail of a sign-in


def test_login_is_audited_with_actor_and_ip(client: Client) -> None:
    user = _verified_payer("payer@example.com")

    response = client.post(
        reverse("account_login"),
        {"login": "payer@example.com", "password": DEFAULT_PASSWORD},
        HTTP_USER_AGENT="pytest-browser/1.0",
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor == user
    assert event.actor_email == "payer@example.com"
    assert (event.object_type, event.object_id) == ("accounts.user", str(user.pk))
    assert event.ip_address == "127.0.0.1"
    assert event.user_agent == "pytest-browser/1.0"
    assert not AuditEvent.objects.filter(action="auth.login_failed").exists()


def test_failed_login_is_audited_without_the_password(client: Client) -> None:
    _verified_payer("payer@example.com")
    guess = "Hunter2-secret-guess"

    response = client.post(
        reverse("account_login"), {"login": "payer@example.com", "password": guess}
    )

    assert response.status_code == 200
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor is None
    assert event.after == {"login": "payer@example.com"}
    assert event.ip_address == "127.0.0.1"
    stored = [str(value) for value in AuditEvent.objects.values().get(pk=event.pk).values()]
    assert not any(guess in value for value in stored)
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_logout_is_audited(client: Client) -> None:
    user = _verified_payer("payer@example.com")
    client.post(
        reverse("account_login"), {"login": "payer@example.com", "password": DEFAULT_PASSWORD}
    )

    client.post(reverse("account_logout"))

    event = AuditEvent.objects.get(action="auth.logout")
    assert (event.actor, event.ip_address) == (user, "127.0.0.1")


# Who may open the audit log


def test_anonymous_visitor_is_sent_to_login() -> None:
    response = Client().get(reverse("audit_log"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={reverse('audit_log')}"


def test_merchant_owner_gets_403(client: Client) -> None:
    owner = UserFactory(roles=[Role.MERCHANT_OWNER])
    verify_client(client, owner)

    assert client.get(reverse("audit_log")).status_code == 403
    event = _event("auth.login", _local(2025, 3, 1, 10))
    assert client.get(reverse("audit_event", args=[event.pk])).status_code == 403


def test_administrator_sees_the_log_and_viewing_is_not_audited(staff_client: Client) -> None:
    event = _event("merchant.approve", _local(2025, 3, 1, 10), actor_email="kyc@example.com")
    count_before = AuditEvent.objects.count()

    response = staff_client.get(reverse("audit_log"))

    assert response.status_code == 200
    assert event in response.context["page"].object_list
    assert AuditEvent.objects.count() == count_before


# Filters, ordering, pagination


@pytest.fixture
def events() -> dict[str, AuditEvent]:
    alice = UserFactory(email="alice@example.com")
    return {
        "approve": _event(
            "merchant.approve",
            _local(2025, 3, 1, 10, 0),
            actor=alice,
            actor_email="alice@example.com",
            object_type="merchants.merchant",
            object_id="7",
            ip_address="10.0.0.1",
        ),
        "reject": _event(
            "merchant.reject",
            _local(2025, 3, 1, 23, 59),
            actor_email="bob@example.com",
            object_type="merchants.merchant",
            object_id="8",
            ip_address="10.0.0.2",
        ),
        "late_night": _event(
            "auth.login_failed",
            _local(2025, 3, 2, 23, 30),  # 15:30 UTC: still 2 March in the portal's time zone
            ip_address="10.0.0.1",
        ),
        "next_day": _event(
            "merchant.approve",
            _local(2025, 3, 3, 0, 10),
            actor_email="ALICE@example.com",
            object_type="merchants.merchant",
            object_id="70",
            ip_address="2001:db8::1",
        ),
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"actor": "alice"}, ["next_day", "approve"]),
        ({"action": "merchant.approve"}, ["next_day", "approve"]),
        ({"object_type": "merchants.merchant", "object_id": "7"}, ["approve"]),
        ({"ip": "10.0.0.1"}, ["late_night", "approve"]),
        ({"ip": "2001:db8::1"}, ["next_day"]),
        ({"date_from": "2025-03-02", "date_to": "2025-03-02"}, ["late_night"]),
        ({"date_from": "2025-03-02"}, ["next_day", "late_night"]),
        ({"date_to": "2025-03-01"}, ["reject", "approve"]),
        ({"actor": "alice", "date_to": "2025-03-02"}, ["approve"]),
        ({"action": "merchant.reject", "ip": "10.0.0.1"}, []),
    ],
)
def test_filters_return_exactly_the_matching_events_newest_first(
    events: dict[str, AuditEvent], filters: dict[str, str], expected: list[str]
) -> None:
    result = audit_event_list(filters=filters)

    assert list(result) == [events[name] for name in expected]


def test_invalid_filters_are_refused_not_ignored(events: dict[str, AuditEvent]) -> None:
    with pytest.raises(ValidationError):
        audit_event_list(filters={"ip": "10.0.0.999"})
    with pytest.raises(ValidationError):
        audit_event_list(filters={"action": "no.such.action"})
    with pytest.raises(ValidationError):
        audit_event_list(filters={"date_from": "2025-03-03", "date_to": "2025-03-01"})


def test_page_filters_and_shows_errors(staff_client: Client, events: dict[str, AuditEvent]) -> None:
    response = staff_client.get(reverse("audit_log"), {"actor": "alice", "date_to": "2025-03-02"})
    assert list(response.context["page"].object_list) == [events["approve"]]
    assert f'data-event-id="{events["approve"].pk}"' in response.content.decode()

    response = staff_client.get(reverse("audit_log"), {"ip": "not-an-ip"})
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []
    assert response.context["form"].errors == {"ip": ["Enter a valid IPv4 or IPv6 address."]}


def test_htmx_request_gets_only_the_results_partial(
    staff_client: Client, events: dict[str, AuditEvent]
) -> None:
    response = staff_client.get(
        reverse("audit_log"),
        {"action": "merchant.reject"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="audit-results",
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="audit-results"')
    assert "<html" not in body
    assert list(response.context["page"].object_list) == [events["reject"]]
    assert "HX-Request" in response["Vary"]


def test_log_is_paginated_by_50(staff_client: Client) -> None:
    start = _local(2025, 1, 1, 8)
    made = [_event("test.bulk", start + dt.timedelta(minutes=i)) for i in range(51)]

    first = staff_client.get(reverse("audit_log"), {"action": "test.bulk"})
    second = staff_client.get(reverse("audit_log"), {"action": "test.bulk", "page": "2"})

    assert list(first.context["page"].object_list) == made[::-1][:50]
    assert list(second.context["page"].object_list) == [made[0]]
    assert "?action=test.bulk&amp;page=2" in first.content.decode()


# One event, before and after


def test_event_detail_shows_which_keys_changed(staff_client: Client) -> None:
    event = _event(
        "user.roles_changed",
        _local(2025, 3, 1, 10),
        before={"roles": ["payer"], "note": "kept", "gone": 1},
        after={"roles": ["payer", "risk_analyst"], "note": "kept", "new": True},
    )

    response = staff_client.get(reverse("audit_event", args=[event.pk]))

    assert response.status_code == 200
    rows = [(c.key, c.before, c.after, c.is_changed) for c in response.context["changes"]]
    assert rows == [
        ("gone", "1", "", True),
        ("new", "", "true", True),
        ("roles", '["payer"]', '["payer", "risk_analyst"]', True),
        ("note", '"kept"', '"kept"', False),
    ]


def test_diff_of_an_event_without_before_and_after_is_empty() -> None:
    event = _event("auth.login", _local(2025, 3, 1, 10))

    assert audit_event_diff(event) == []
