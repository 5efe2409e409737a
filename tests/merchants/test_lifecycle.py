"""Merchant states: the transition table, suspension and reinstatement, and what they change."""

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from config.celery import app as celery_app
from config.errors import InvalidTransition, PermissionDenied
from merchants.models import MerchantEvent, MerchantStatus
from merchants.models.merchant import MERCHANT_TRANSITIONS
from merchants.services.lifecycle import (
    ReasonRequired,
    merchant_reinstate,
    merchant_suspend,
    merchant_transition,
)
from merchants.services.review import application_approve
from tests.factories import MerchantFactory, MerchantMembershipFactory, UserFactory
from tests.helpers.twofactor import verify_client
from tests.merchants.kyc import application_under_review, owner_with_draft

pytestmark = pytest.mark.django_db

ALL_MOVES = [(a, b) for a in MerchantStatus.values for b in MerchantStatus.values if a != b]


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _eager_celery():
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    cache.clear()
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


def administrator():
    return UserFactory(roles=[Role.ADMINISTRATOR])


def approved_merchant():
    owner, application, taker = application_under_review()
    application_approve(application=application, reviewer=taker)
    return owner, application.merchant


def verified(user) -> Client:
    client = Client()
    verify_client(client, user)
    return client


# --- the table ---


def test_the_table_is_the_one_in_the_issue():
    assert {k: set(v) for k, v in MERCHANT_TRANSITIONS.items()} == {
        "draft": {"submitted"},
        "submitted": {"under_review"},
        "under_review": {"approved", "rejected", "needs_information"},
        "needs_information": {"submitted"},
        "approved": {"suspended"},
        "suspended": {"approved"},
        "rejected": set(),
    }


@pytest.mark.parametrize(("from_status", "to_status"), ALL_MOVES)
def test_every_move_is_checked_against_the_table(from_status, to_status):
    merchant = MerchantFactory(status=from_status)
    actor = administrator()
    allowed = to_status in MERCHANT_TRANSITIONS[from_status]

    if allowed:
        event = merchant_transition(merchant=merchant, to_status=to_status, actor=actor, reason="r")
        merchant.refresh_from_db()
        assert merchant.status == to_status
        assert (event.from_status, event.to_status, event.actor, event.reason) == (
            from_status,
            to_status,
            actor,
            "r",
        )
        audit = AuditEvent.objects.get(object_id=str(merchant.pk))
        assert (audit.before, audit.after) == (
            {"status": from_status},
            {"status": to_status, "reason": "r"},
        )
    else:
        with pytest.raises(InvalidTransition) as caught:
            merchant_transition(merchant=merchant, to_status=to_status, actor=actor)
        assert caught.value.details == {"from": from_status, "to": to_status}
        assert caught.value.status == 409
        merchant.refresh_from_db()
        assert merchant.status == from_status
        assert not MerchantEvent.objects.exists()
        assert not AuditEvent.objects.filter(object_id=str(merchant.pk)).exists()


def test_a_stale_instance_cannot_skip_the_lock():
    merchant = MerchantFactory(status=MerchantStatus.SUBMITTED)
    stale = type(merchant).objects.get(pk=merchant.pk)
    merchant_transition(merchant=merchant, to_status=MerchantStatus.UNDER_REVIEW, actor=None)

    # `stale` still says submitted, but the locked row says under review.
    with pytest.raises(InvalidTransition):
        merchant_transition(merchant=stale, to_status=MerchantStatus.UNDER_REVIEW, actor=None)

    assert MerchantEvent.objects.count() == 1


# --- suspend and reinstate ---


def test_an_administrator_suspends_with_a_reason(django_capture_on_commit_callbacks):
    owner, merchant = approved_merchant()
    mail.outbox.clear()
    admin = administrator()

    with django_capture_on_commit_callbacks(execute=True):
        merchant_suspend(merchant=merchant, actor=admin, reason="Chargeback rate 4%.")

    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.SUSPENDED
    assert merchant.status_reason == "Chargeback rate 4%."
    audit = AuditEvent.objects.get(action="merchant.suspend")
    assert audit.after is not None
    assert (audit.actor, audit.after["reason"]) == (admin, "Chargeback rate 4%.")
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert "Chargeback rate 4%." in mail.outbox[0].body


def test_a_superuser_can_suspend():
    _owner, merchant = approved_merchant()
    root = UserFactory(is_superuser=True)

    merchant_suspend(merchant=merchant, actor=root, reason="Court order.")

    assert merchant.status == MerchantStatus.SUSPENDED


@pytest.mark.parametrize(
    "roles", [[Role.KYC_REVIEWER], [Role.RISK_ANALYST], [Role.SUPPORT_AGENT], [Role.MERCHANT_OWNER]]
)
def test_only_administrators_suspend(roles):
    _owner, merchant = approved_merchant()
    events_before = MerchantEvent.objects.count()

    with pytest.raises(PermissionDenied):
        merchant_suspend(merchant=merchant, actor=UserFactory(roles=roles), reason="Because.")

    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.APPROVED
    assert MerchantEvent.objects.count() == events_before


def test_suspension_needs_a_reason():
    _owner, merchant = approved_merchant()

    with pytest.raises(ReasonRequired):
        merchant_suspend(merchant=merchant, actor=administrator(), reason="  ")

    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.APPROVED


def test_only_an_approved_merchant_can_be_suspended():
    merchant = MerchantFactory(status=MerchantStatus.UNDER_REVIEW)

    with pytest.raises(InvalidTransition):
        merchant_suspend(merchant=merchant, actor=administrator(), reason="Suspicious.")

    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.UNDER_REVIEW


def test_reinstating_returns_to_approved_and_keeps_the_first_approval_date(
    django_capture_on_commit_callbacks,
):
    _owner, merchant = approved_merchant()
    approved_at = merchant.approved_at
    admin = administrator()
    merchant_suspend(merchant=merchant, actor=admin, reason="Investigation.")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        merchant_reinstate(merchant=merchant, actor=admin, reason="Investigation closed.")

    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.APPROVED
    assert merchant.approved_at == approved_at
    assert merchant.status_reason == "Investigation closed."
    assert AuditEvent.objects.filter(action="merchant.reinstate").count() == 1
    assert mail.outbox[0].subject == f"{merchant.name} is active again on Paydesk"


@pytest.mark.parametrize(
    "status", [MerchantStatus.APPROVED, MerchantStatus.REJECTED, MerchantStatus.UNDER_REVIEW]
)
def test_reinstating_is_only_for_suspended_merchants(status):
    merchant = MerchantFactory(status=status)

    with pytest.raises(InvalidTransition):
        merchant_reinstate(merchant=merchant, actor=administrator(), reason="Please.")

    merchant.refresh_from_db()
    assert merchant.status == status
    assert not MerchantEvent.objects.exists()


def test_reinstating_needs_an_administrator_and_a_reason():
    merchant = MerchantFactory(status=MerchantStatus.SUSPENDED)

    with pytest.raises(PermissionDenied):
        merchant_reinstate(
            merchant=merchant, actor=UserFactory(roles=[Role.KYC_REVIEWER]), reason="x"
        )
    with pytest.raises(ReasonRequired):
        merchant_reinstate(merchant=merchant, actor=administrator(), reason="")

    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.SUSPENDED


def test_a_suspended_merchants_api_keys_stop_working_at_once():
    from merchants.models import ApiMode
    from merchants.services.api_keys import ApiKeyRefused, api_key_authenticate, api_key_create

    owner, merchant = approved_merchant()
    _key, secret = api_key_create(merchant=merchant, name="Shop", mode=ApiMode.LIVE, actor=owner)
    assert api_key_authenticate(secret).merchant_id == merchant.pk

    merchant_suspend(merchant=merchant, actor=administrator(), reason="Fraud investigation.")

    with pytest.raises(ApiKeyRefused) as caught:
        api_key_authenticate(secret)
    assert (caught.value.code, caught.value.status) == ("merchant_suspended", 401)


# --- pages ---


def test_the_merchant_page_offers_administrators_the_suspend_form():
    _owner, merchant = approved_merchant()

    admin_page = verified(administrator()).get(
        reverse("merchant_staff_detail", kwargs={"public_id": merchant.public_id})
    )
    reviewer_page = verified(UserFactory(roles=[Role.KYC_REVIEWER])).get(
        reverse("merchant_staff_detail", kwargs={"public_id": merchant.public_id})
    )

    assert 'data-testid="suspend-form"' in admin_page.content.decode()
    assert reviewer_page.status_code == 200
    assert 'data-testid="suspend-form"' not in reviewer_page.content.decode()


def test_suspending_from_the_page():
    _owner, merchant = approved_merchant()
    url = reverse("merchant_suspend", kwargs={"public_id": merchant.public_id})

    response = verified(administrator()).post(url, {"reason": "Unlicensed goods."})

    assert response.status_code == 302
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.SUSPENDED


def test_suspending_from_the_page_without_a_reason_shows_the_error():
    _owner, merchant = approved_merchant()
    url = reverse("merchant_suspend", kwargs={"public_id": merchant.public_id})

    response = verified(administrator()).post(url, {"reason": ""})

    assert response.status_code == 400
    assert 'data-testid="reason-errors"' in response.content.decode()
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.APPROVED


@pytest.mark.parametrize("roles", [[Role.KYC_REVIEWER], [Role.SUPPORT_AGENT]])
def test_non_administrators_cannot_suspend_from_the_page(roles):
    _owner, merchant = approved_merchant()
    url = reverse("merchant_suspend", kwargs={"public_id": merchant.public_id})

    response = verified(UserFactory(roles=roles)).post(url, {"reason": "Try."})

    assert response.status_code == 403
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.APPROVED


def test_merchant_pages_are_for_operations_staff_only():
    _owner, merchant = approved_merchant()
    client = verified(UserFactory(roles=[Role.MERCHANT_OWNER]))

    assert client.get(reverse("merchant_list")).status_code == 403
    detail = reverse("merchant_staff_detail", kwargs={"public_id": merchant.public_id})
    assert client.get(detail).status_code == 403


def test_the_merchant_list_filters_by_status_and_name():
    _owner, merchant = approved_merchant()
    owner_with_draft(legal_name="Draft Dumplings Ltd.")
    client = verified(UserFactory(roles=[Role.SUPPORT_AGENT]))

    approved = client.get(reverse("merchant_list"), {"status": "approved"})
    by_name = client.get(reverse("merchant_list"), {"q": "dumplings"})

    assert [m.pk for m in approved.context["page"].object_list] == [merchant.pk]
    assert [m.application.legal_name for m in by_name.context["page"].object_list] == [
        "Draft Dumplings Ltd."
    ]


def test_a_suspended_merchants_portal_shows_why():
    owner, merchant = approved_merchant()
    merchant_suspend(merchant=merchant, actor=administrator(), reason="Unpaid chargebacks.")

    content = verified(owner).get(reverse("merchant_onboarding")).content.decode()

    assert 'data-status="suspended"' in content
    assert "Unpaid chargebacks." in content
    assert "API keys are refused" in content


def test_the_owner_of_an_approved_merchant_sees_the_approval():
    owner, _merchant = approved_merchant()

    content = verified(owner).get(reverse("merchant_onboarding")).content.decode()

    assert 'data-status="approved"' in content


def test_a_merchant_without_application_still_has_a_staff_page():
    merchant = MerchantFactory()
    MerchantMembershipFactory(merchant=merchant)

    response = verified(administrator()).get(
        reverse("merchant_staff_detail", kwargs={"public_id": merchant.public_id})
    )

    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_serialise_on_the_row_lock():
    import threading

    from django.db import connection

    merchant = MerchantFactory(status=MerchantStatus.SUBMITTED)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move() -> None:
        try:
            barrier.wait()
            merchant_transition(
                merchant=type(merchant).objects.get(pk=merchant.pk),
                to_status=MerchantStatus.UNDER_REVIEW,
                actor=None,
            )
            outcomes.append("moved")
        except InvalidTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=move) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["moved", "refused"]
    assert MerchantEvent.objects.filter(merchant=merchant).count() == 1
