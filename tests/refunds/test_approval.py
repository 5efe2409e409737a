"""Maker-checker: who may approve, reject and cancel a refund awaiting approval, and what
a refusal leaves behind (nothing)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from config.errors import ApplicationError, InvalidTransition, ValidationFailed
from merchants.models import ApiMode, Merchant, TeamRole
from payments.domain.models import Payment
from refunds.errors import (
    ApprovalRequiresPerson,
    ApproverIsRequester,
    RefundExceedsBalance,
    RefundNotAllowed,
    RefundNotFound,
    RefundWindowClosed,
)
from refunds.models import Refund, RefundStatus
from refunds.services import (
    RefundActor,
    refund_approve,
    refund_cancel,
    refund_policy_set,
    refund_reject,
)
from tests.factories import UserFactory
from tests.merchants.platform import new_key
from tests.refunds.support import (
    footprint,
    fund,
    pending_balance,
    person,
    refund_of,
    refund_postings,
    statuses,
    succeeded_payment,
)

pytestmark = pytest.mark.django_db

BIG = 150_000  # above the default threshold of 100,000


@pytest.fixture
def waiting(shop: Merchant) -> Refund:
    """A refund of 150,000 asked by an admin, awaiting approval (the balance covers it)."""
    fund(shop, 1_000_000)
    payment = succeeded_payment(shop, amount=200_000)
    return refund_of(payment, amount=BIG, by=person(shop, TeamRole.ADMIN))


ErrorT = TypeVar("ErrorT", bound=ApplicationError)


def _unchanged(refund: Refund, error: type[ErrorT], call: Callable[..., object]) -> ErrorT:
    before = footprint()
    with pytest.raises(error) as raised:
        call()
    assert footprint() == before
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED
    return raised.value


@pytest.mark.parametrize("role", [TeamRole.OWNER, TeamRole.FINANCE])
def test_an_owner_or_finance_user_approves_and_the_refund_is_sent(
    shop: Merchant,
    waiting: Refund,
    role: str,
    queued: list[tuple[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    approver = person(shop, role)

    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_approve(
            refund=waiting, actor=RefundActor.for_user(approver), reason="Goods returned"
        )

    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING
    assert (refund.decided_by, refund.approval_reason, refund.decision_reason) == (
        approver,
        "above_threshold",
        "Goods returned",
    )
    assert refund.approved_at is not None
    assert refund.sla_due_at == refund.approved_at + timedelta(hours=24)
    assert statuses(refund)[1:] == [("requested", "approved"), ("approved", "processing")]
    assert queued == [("refund_submit_to_gateway", refund.pk)]
    assert refund_postings(refund) == [(f"refund:{refund.public_id}:initiate", "refund")]
    audit = AuditEvent.objects.get(action="refund.approved", object_id=str(refund.pk))
    assert audit.after is not None
    assert (audit.actor, audit.before, audit.after["status"]) == (
        approver,
        {"status": "requested"},
        "approved",
    )


def test_the_requester_cannot_approve_or_reject_their_own_refund(shop: Merchant) -> None:
    # given an owner who asked for a big refund herself
    fund(shop, 1_000_000)
    owner = person(shop, TeamRole.OWNER)
    refund = refund_of(succeeded_payment(shop, amount=200_000), amount=BIG, by=owner)

    _unchanged(
        refund,
        ApproverIsRequester,
        lambda: refund_approve(refund=refund, actor=RefundActor.for_user(owner)),
    )
    _unchanged(
        refund,
        ApproverIsRequester,
        lambda: refund_reject(refund=refund, actor=RefundActor.for_user(owner), reason="no"),
    )


@pytest.mark.parametrize(
    "role", [TeamRole.ADMIN, TeamRole.DEVELOPER, TeamRole.SUPPORT, TeamRole.READ_ONLY]
)
def test_other_team_roles_cannot_decide(shop: Merchant, waiting: Refund, role: str) -> None:
    user = person(shop, role)

    _unchanged(
        waiting,
        RefundNotAllowed,
        lambda: refund_approve(refund=waiting, actor=RefundActor.for_user(user)),
    )
    _unchanged(
        waiting,
        RefundNotAllowed,
        lambda: refund_reject(refund=waiting, actor=RefundActor.for_user(user), reason="no"),
    )


def test_paydesk_staff_and_other_merchants_owners_cannot_decide(waiting: Refund) -> None:
    staff = UserFactory(roles=[Role.ADMINISTRATOR, Role.FINANCE_OPERATOR])
    stranger = person(Merchant.objects.create(name="Other"), TeamRole.OWNER)

    for user in (staff, stranger):
        _unchanged(
            waiting,
            RefundNotAllowed,
            lambda u=user: refund_approve(refund=waiting, actor=RefundActor.for_user(u)),
        )


def test_a_support_agents_proposal_is_approved_by_finance(shop: Merchant, queued: Any) -> None:
    payment = succeeded_payment(shop, amount=10_000)
    refund = refund_of(payment, amount=500, by=person(shop, TeamRole.SUPPORT))

    refund_approve(refund=refund, actor=RefundActor.for_user(person(shop, TeamRole.FINANCE)))

    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING


def test_approving_twice_is_refused_and_posts_once(
    shop: Merchant, waiting: Refund, queued: Any
) -> None:
    approver = RefundActor.for_user(person(shop, TeamRole.FINANCE))
    refund_approve(refund=waiting, actor=approver)
    before = footprint()

    with pytest.raises(InvalidTransition):
        refund_approve(refund=waiting, actor=approver)

    assert footprint() == before
    assert len(refund_postings(waiting)) == 1


def test_approval_is_refused_when_the_balance_does_not_cover_it_and_nothing_changes(
    shop: Merchant, queued: Any
) -> None:
    # given a payment whose fee leaves 198,800 and a refund of all 200,000 awaiting approval
    payment = succeeded_payment(shop, amount=200_000)
    refund = refund_of(payment, amount=200_000, by=person(shop, TeamRole.SUPPORT))

    error = _unchanged(
        refund,
        RefundExceedsBalance,
        lambda: refund_approve(
            refund=refund, actor=RefundActor.for_user(person(shop, TeamRole.FINANCE))
        ),
    )

    assert error.details["balance"] == 198_800
    assert pending_balance(shop) == (198_800, 0, 0)
    assert queued == []


def test_approval_is_refused_once_the_payment_is_past_the_window(
    shop: Merchant, waiting: Refund
) -> None:
    Payment.objects.filter(pk=waiting.payment_id).update(
        succeeded_at=timezone.now() - timedelta(days=366)
    )

    _unchanged(
        waiting,
        RefundWindowClosed,
        lambda: refund_approve(
            refund=waiting, actor=RefundActor.for_user(person(shop, TeamRole.OWNER))
        ),
    )


def test_a_rejection_needs_a_reason_and_records_it(shop: Merchant, waiting: Refund) -> None:
    finance = RefundActor.for_user(person(shop, TeamRole.FINANCE))
    _unchanged(
        waiting, ValidationFailed, lambda: refund_reject(refund=waiting, actor=finance, reason=" ")
    )

    refund = refund_reject(refund=waiting, actor=finance, reason="Goods were never returned")

    assert (refund.status, refund.decision_reason) == (
        RefundStatus.REJECTED,
        "Goods were never returned",
    )
    assert refund.rejected_at is not None
    assert statuses(refund)[-1] == ("requested", "rejected")
    assert refund_postings(refund) == []
    # and it no longer counts against the payment
    assert refund_of(refund.payment, amount=BIG, by=person(shop)).status == RefundStatus.REQUESTED


def test_only_the_requester_cancels_their_request(shop: Merchant) -> None:
    fund(shop, 1_000_000)
    admin = person(shop, TeamRole.ADMIN)
    refund = refund_of(succeeded_payment(shop, amount=200_000), amount=BIG, by=admin)
    owner = person(shop, TeamRole.OWNER)

    _unchanged(
        refund,
        RefundNotAllowed,
        lambda: refund_cancel(refund=refund, actor=RefundActor.for_user(owner)),
    )
    canceled = refund_cancel(refund=refund, actor=RefundActor.for_user(admin), reason="Typo")

    assert (canceled.status, canceled.decision_reason) == (RefundStatus.CANCELED, "Typo")
    with pytest.raises(InvalidTransition):
        refund_approve(refund=canceled, actor=RefundActor.for_user(owner))


def test_an_api_key_approves_only_in_test_mode(shop: Merchant, queued: Any) -> None:
    # given a big refund awaiting approval in each mode
    fund(shop, 1_000_000)
    admin = person(shop, TeamRole.ADMIN)
    live = refund_of(succeeded_payment(shop, amount=200_000), amount=BIG, by=admin)
    test = refund_of(
        succeeded_payment(shop, amount=200_000, mode=ApiMode.TEST), amount=BIG, by=admin
    )
    live_key, _raw = new_key(shop, ApiMode.LIVE)
    test_key, _raw = new_key(shop, ApiMode.TEST)

    # then a live key is not a person
    _unchanged(
        live,
        ApprovalRequiresPerson,
        lambda: refund_approve(refund=live, actor=RefundActor.for_api_key(live_key)),
    )
    # and a test key may run the whole flow
    approved = refund_approve(refund=test, actor=RefundActor.for_api_key(test_key))
    assert approved.status == RefundStatus.PROCESSING
    assert approved.decision_label == test_key.masked
    # and a key never reaches the other mode's refunds
    _unchanged(
        live,
        RefundNotFound,
        lambda: refund_approve(refund=live, actor=RefundActor.for_api_key(test_key)),
    )


def test_only_an_owner_sets_the_threshold(shop: Merchant) -> None:
    for role in (TeamRole.ADMIN, TeamRole.FINANCE):
        with pytest.raises(RefundNotAllowed):
            refund_policy_set(merchant=shop, approval_threshold=1, actor=person(shop, role))
    with pytest.raises(ValidationFailed):
        refund_policy_set(merchant=shop, approval_threshold=-1, actor=person(shop))

    policy = refund_policy_set(merchant=shop, approval_threshold=0, actor=person(shop))

    assert policy.approval_threshold == 0
    assert AuditEvent.objects.filter(action="refund.policy_change").count() == 1
