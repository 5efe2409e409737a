"""Decisions in the refunds portal: the approval queue (maker-checker), approve, reject,
withdraw, and resolving a refund in manual review."""

from typing import Any

import pytest
from django.urls import reverse

from accounts.roles import Role
from merchants.models import Merchant, TeamRole
from payments.domain.models import Payment
from refunds.models import Refund, RefundStatus
from refunds.services import RefundActor
from refunds.services.processing import refund_to_manual_review
from tests.merchants.platform import merchant, portal_client, user
from tests.refunds.portal_support import (
    BIG,
    QUEUE_ITEM,
    member_client,
    text,
    well_funded_payment,
)
from tests.refunds.support import footprint, person, refund_of, succeeded_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def big_payment(shop: Merchant) -> Payment:
    return well_funded_payment(shop)


# --- the approval queue ---


def test_the_queue_lists_waiting_refunds_oldest_first_with_decisions_for_others(
    shop: Merchant, big_payment: Payment, queued: Any
) -> None:
    requester = person(shop, TeamRole.ADMIN)
    first = refund_of(big_payment, amount=BIG, by=requester)
    approver = person(shop, TeamRole.FINANCE)
    second = refund_of(succeeded_payment(shop, amount=200_000), amount=BIG, by=approver)
    refund_of(succeeded_payment(shop), amount=1_000)  # auto-approved: not in the queue
    refund_of(succeeded_payment(merchant(), amount=200_000), amount=BIG)

    response = portal_client(approver).get(reverse("refund_approvals"))

    body = text(response)
    assert QUEUE_ITEM.findall(body) == [first.public_id, second.public_id]
    assert body.count('data-testid="refund-decision"') == 1
    assert "You requested this refund: another owner or finance user approves it." in body


def test_another_owner_approves_and_the_refund_is_sent(
    shop: Merchant, big_payment: Payment, queued: Any
) -> None:
    waiting = refund_of(big_payment, amount=BIG, by=person(shop, TeamRole.ADMIN))
    client, approver = member_client(shop, TeamRole.FINANCE)

    response = client.post(
        reverse("refund_approve", args=[waiting.public_id]),
        {"next": reverse("refund_approvals")},
        follow=True,
    )

    waiting.refresh_from_db()
    assert waiting.status == RefundStatus.PROCESSING
    assert waiting.decided_by == approver
    assert response.redirect_chain == [(reverse("refund_approvals"), 302)]
    assert "Refund of ¥1,500.00 approved and sent to the acquirer." in text(response)
    assert QUEUE_ITEM.findall(text(response)) == []


def test_the_requester_cannot_approve_their_own_refund(
    shop: Merchant, big_payment: Payment, queued: Any
) -> None:
    client, owner = member_client(shop)
    waiting = refund_of(big_payment, amount=BIG, by=owner)
    before = footprint()

    response = client.post(reverse("refund_approve", args=[waiting.public_id]), follow=True)

    waiting.refresh_from_db()
    assert waiting.status == RefundStatus.REQUESTED
    assert footprint() == before
    assert queued == []
    assert "A refund must be approved or rejected by someone other than its requester." in text(
        response
    )


def test_members_without_approve_refunds_cannot_open_the_queue_or_decide(
    shop: Merchant, big_payment: Payment, queued: Any
) -> None:
    waiting = refund_of(big_payment, amount=BIG)
    client, _member = member_client(shop, TeamRole.SUPPORT)

    queue = client.get(reverse("refund_approvals"))
    approve = client.post(reverse("refund_approve", args=[waiting.public_id]))
    reject = client.post(reverse("refund_reject", args=[waiting.public_id]), {"reason": "No"})

    assert [queue.status_code, approve.status_code, reject.status_code] == [403, 403, 403]
    waiting.refresh_from_db()
    assert waiting.status == RefundStatus.REQUESTED


def test_a_reject_needs_a_reason_and_records_it(
    shop: Merchant, big_payment: Payment, queued: Any
) -> None:
    waiting = refund_of(big_payment, amount=BIG)
    client, approver = member_client(shop, TeamRole.FINANCE)
    url = reverse("refund_reject", args=[waiting.public_id])

    refused = client.post(url, {"reason": "   "})
    waiting.refresh_from_db()
    assert refused.status_code == 400
    assert "Say why." in text(refused)
    assert waiting.status == RefundStatus.REQUESTED

    done = client.post(url, {"reason": "Goods came back damaged"}, follow=True)

    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by, waiting.decision_reason) == (
        RefundStatus.REJECTED,
        approver,
        "Goods came back damaged",
    )
    assert "rejected. No money moved." in text(done)
    assert "“Goods came back damaged”" in text(done)


def test_a_decision_on_a_refund_decided_meanwhile_says_what_it_is_now(
    shop: Merchant, big_payment: Payment, queued: Any
) -> None:
    waiting = refund_of(big_payment, amount=BIG)
    client, _approver = member_client(shop, TeamRole.FINANCE)
    client.post(reverse("refund_reject", args=[waiting.public_id]), {"reason": "Duplicate"})

    response = client.post(reverse("refund_approve", args=[waiting.public_id]), follow=True)

    waiting.refresh_from_db()
    assert waiting.status == RefundStatus.REJECTED
    assert "Nothing was changed: this refund is now Rejected." in text(response)


def test_the_requester_withdraws_a_waiting_refund(
    shop: Merchant, big_payment: Payment, queued: Any
) -> None:
    client, requester = member_client(shop, TeamRole.SUPPORT)
    waiting = refund_of(big_payment, amount=BIG, by=requester)
    page = text(client.get(reverse("refund_detail", args=[waiting.public_id])))
    assert 'data-testid="cancel-refund"' in page

    client.post(reverse("refund_cancel", args=[waiting.public_id]), {"reason": "Typo"})

    waiting.refresh_from_db()
    assert waiting.status == RefundStatus.CANCELED


# --- manual review ---


def _in_manual_review(shop: Merchant) -> Refund:
    refund = refund_of(succeeded_payment(shop), amount=1_000)
    return refund_to_manual_review(
        refund=refund,
        actor=RefundActor.for_acquirer("sandbox"),
        reason="gateway_rejected",
        failure_code="account_closed",
        message="The payer's account is closed",
    )


def test_finance_retries_a_refund_in_manual_review(shop: Merchant, queued: Any) -> None:
    refund = _in_manual_review(shop)
    client, _member = member_client(shop, TeamRole.FINANCE)
    page = text(client.get(reverse("refund_detail", args=[refund.public_id])))
    assert 'data-testid="manual-review"' in page
    assert "account_closed" in page

    response = client.post(reverse("refund_review", args=[refund.public_id, "retry"]), follow=True)

    refund.refresh_from_db()
    assert (refund.status, refund.attempt) == (RefundStatus.PROCESSING, 2)
    assert "Refund sent to the acquirer again." in text(response)


def test_closing_a_refund_in_review_needs_a_reason(shop: Merchant, queued: Any) -> None:
    refund = _in_manual_review(shop)
    client, _member = member_client(shop, TeamRole.OWNER)
    url = reverse("refund_review", args=[refund.public_id, "close"])

    refused = client.post(url, {"reason": ""})
    refund.refresh_from_db()
    assert (refused.status_code, refund.status) == (400, RefundStatus.MANUAL_REVIEW)
    assert "Say why." in text(refused)

    client.post(url, {"reason": "Payer paid back in cash at the shop"})

    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED


def test_only_finance_resolves_manual_review(shop: Merchant, queued: Any) -> None:
    refund = _in_manual_review(shop)
    admin, _member = member_client(shop, TeamRole.ADMIN)
    support = portal_client(user(roles=[Role.SUPPORT_AGENT]))
    finance = portal_client(user(roles=[Role.FINANCE_OPERATOR]))

    as_admin = admin.post(reverse("refund_review", args=[refund.public_id, "retry"]))
    as_support = support.post(reverse("staff_refund_review", args=[refund.public_id, "retry"]))
    unknown = finance.post(reverse("staff_refund_review", args=[refund.public_id, "undo"]))
    refund.refresh_from_db()
    assert [as_admin.status_code, as_support.status_code, unknown.status_code] == [403, 403, 404]
    assert refund.status == RefundStatus.MANUAL_REVIEW

    finance.post(reverse("staff_refund_review", args=[refund.public_id, "retry"]))

    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING
