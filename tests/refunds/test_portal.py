"""Refunds portal pages: list and filters, a refund's page, the refund panel and form of the
payment page, the delayed queue, and the staff pages. Decisions: test_portal_decisions.py."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.context_processors import navigation
from accounts.roles import Role
from merchants.models import ApiMode, Merchant, TeamRole
from merchants.services.webhooks import webhook_endpoint_create
from payments.domain.models import Payment
from payments.services import Actor, payment_mark_failed
from refunds.forms import submission_token_new
from refunds.models import Refund, RefundStatus
from refunds.services.janitor import refund_sla_sweep
from refunds.views import request as request_views
from tests.merchants.platform import merchant, portal_client, user
from tests.payments.payment_support import confirmed, payment_of
from tests.refunds.portal_support import (
    BIG,
    QUEUE_ITEM,
    member_client,
    refund_post,
    rows,
    text,
    well_funded_payment,
)
from tests.refunds.support import footprint, fund, refund_of, succeeded_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def big_payment(shop: Merchant) -> Payment:
    return well_funded_payment(shop)


# --- the list ---


def test_the_list_shows_own_refunds_of_the_mode_newest_first(shop: Merchant, queued: Any) -> None:
    payment = succeeded_payment(shop)
    first = refund_of(payment, amount=1_000)
    second = refund_of(payment, amount=2_000)
    test_refund = refund_of(succeeded_payment(shop, mode=ApiMode.TEST), amount=500)
    refund_of(succeeded_payment(merchant()), amount=700)
    client, _member = member_client(shop, TeamRole.READ_ONLY)

    live = rows(client.get(reverse("refund_list")))
    test = rows(client.get(reverse("refund_list"), {"mode": "test"}))

    assert live == [second.public_id, first.public_id]
    assert test == [test_refund.public_id]


def test_the_list_filters_by_status_reason_payment_amount_dates_and_delay(
    shop: Merchant, big_payment: Payment, queued: Any
) -> None:
    small = refund_of(big_payment, amount=1_000, reason="duplicate")
    waiting = refund_of(big_payment, amount=BIG)
    other_payment = succeeded_payment(shop)
    other = refund_of(other_payment, amount=3_000, reason="other", reason_text="Broken")
    Refund.objects.filter(pk=other.pk).update(is_delayed=True)
    Refund.objects.filter(pk=small.pk).update(created_at=timezone.now() - timedelta(days=10))
    client, _member = member_client(shop, TeamRole.READ_ONLY)
    url = reverse("refund_list")
    today = timezone.localdate()

    assert rows(client.get(url, {"status": "requested"})) == [waiting.public_id]
    assert rows(client.get(url, {"reason": "duplicate"})) == [small.public_id]
    assert rows(client.get(url, {"q": other_payment.public_id})) == [other.public_id]
    assert rows(client.get(url, {"q": small.public_id.upper()})) == [small.public_id]
    assert rows(client.get(url, {"amount_min": "10.01", "amount_max": "1500"})) == [
        other.public_id,
        waiting.public_id,
    ]
    assert rows(client.get(url, {"delayed": "on"})) == [other.public_id]
    assert rows(client.get(url, {"created_to": str(today - timedelta(days=5))})) == [
        small.public_id
    ]
    assert rows(client.get(url, {"created_from": str(today)})) == [
        other.public_id,
        waiting.public_id,
    ]


def test_an_invalid_filter_shows_its_error_and_no_rows(shop: Merchant, queued: Any) -> None:
    refund_of(succeeded_payment(shop))
    client, _member = member_client(shop)

    response = client.get(reverse("refund_list"), {"q": "order-42", "amount_min": "-1"})

    assert rows(response) == []
    assert "Some filters are not valid" in text(response)
    assert "Enter a refund id (re_…) or a payment id (pay_…)." in text(response)


# --- a refund's page ---


def test_the_refund_page_shows_timeline_postings_and_webhooks(shop: Merchant, queued: Any) -> None:
    webhook_endpoint_create(
        merchant=shop,
        mode=ApiMode.LIVE,
        url="https://shop.example.com/hooks",
        events=["refund.created"],
    )
    refund = refund_of(succeeded_payment(shop), amount=1_000)
    client, _member = member_client(shop, TeamRole.READ_ONLY)

    response = client.get(reverse("refund_detail", args=[refund.public_id]))

    body = text(response)
    assert response.status_code == 200
    assert re.findall(r'data-to-status="(\w+)"', body) == ["requested", "approved", "processing"]
    postings = body[body.index('data-testid="refund-postings"') :]
    assert "Merchant pending balance" in postings
    assert "Refunds in transit" in postings
    assert "refund.created" in body
    assert "https://shop.example.com/hooks" in body
    assert 'data-testid="refund-decision"' not in body


def test_another_merchants_refund_is_a_404_everywhere(shop: Merchant, queued: Any) -> None:
    other = merchant()
    fund(other, 1_000_000)
    foreign = refund_of(succeeded_payment(other, amount=200_000), amount=BIG)
    client, _member = member_client(shop)

    pages = [
        client.get(reverse("refund_detail", args=[foreign.public_id])),
        client.post(reverse("refund_approve", args=[foreign.public_id])),
        client.post(reverse("refund_reject", args=[foreign.public_id]), {"reason": "No"}),
        client.post(reverse("refund_cancel", args=[foreign.public_id])),
        client.get(reverse("refund_create", args=[foreign.payment.public_id])),
        client.get(reverse("refund_detail", args=["re_nonsense"])),
    ]

    assert [page.status_code for page in pages] == [404] * 6
    foreign.refresh_from_db()
    assert foreign.status == RefundStatus.REQUESTED


# --- the payment page's panel and the refund form ---


def test_the_payment_page_shows_the_refund_panel_with_what_is_refundable(
    shop: Merchant, queued: Any
) -> None:
    payment = succeeded_payment(shop, amount=10_000)
    refund_of(payment, amount=2_500)
    client, _member = member_client(shop)

    response = client.get(reverse("payment_detail", args=[payment.public_id]))

    body = text(response)
    assert response.status_code == 200
    assert re.search(r'data-testid="refundable-amount">¥75.00<', body)
    assert re.search(r'data-testid="in-progress-amount">¥25.00<', body)
    assert 'data-testid="refund-form"' in body
    assert f'action="{reverse("refund_create", args=[payment.public_id])}"' in body
    assert 'max="75.00"' in body


def test_who_sees_the_refund_form_on_the_payment_page(shop: Merchant) -> None:
    payment = succeeded_payment(shop)
    failed = payment_of(shop)
    confirmed(failed)
    payment_mark_failed(
        payment=failed,
        actor=Actor.for_acquirer("sandbox"),
        reason="gateway_rejected",
        failure_code="declined",
        failure_message="Declined",
    )
    read_only, _member = member_client(shop, TeamRole.READ_ONLY)
    owner, _owner = member_client(shop)
    staff = portal_client(user(roles=[Role.SUPPORT_AGENT]))

    as_read_only = text(read_only.get(reverse("payment_detail", args=[payment.public_id])))
    as_staff = text(staff.get(reverse("staff_payment_detail", args=[payment.public_id])))
    on_failed = text(owner.get(reverse("payment_detail", args=[failed.public_id])))

    assert 'data-testid="refund-panel"' in as_read_only
    assert 'data-testid="refund-form"' not in as_read_only
    assert "Your team role cannot refund payments." in as_read_only
    assert 'data-testid="refund-panel"' in as_staff
    assert 'data-testid="refund-form"' not in as_staff
    assert 'data-testid="refund-panel"' not in on_failed


def test_a_member_refunds_part_of_a_payment_as_the_requester(shop: Merchant, queued: Any) -> None:
    payment = succeeded_payment(shop, amount=10_000)
    client, member = member_client(shop, TeamRole.FINANCE)

    response = client.post(
        reverse("refund_create", args=[payment.public_id]),
        refund_post(payment, amount="12.34", reason="duplicate"),
        follow=True,
    )

    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.reason, refund.requested_by, refund.requested_via) == (
        1_234,
        "duplicate",
        member,
        "portal",
    )
    assert refund.status == RefundStatus.PROCESSING
    assert response.redirect_chain == [(reverse("payment_detail", args=[payment.public_id]), 302)]
    assert "Refund of ¥12.34 sent to the acquirer." in text(response)
    assert re.search(r'data-testid="refundable-amount">¥87.66<', text(response))


def test_a_big_refund_waits_for_approval_and_says_so(
    shop: Merchant, big_payment: Payment, queued: Any
) -> None:
    client, _member = member_client(shop)

    response = client.post(
        reverse("refund_create", args=[big_payment.public_id]),
        refund_post(big_payment, amount="1500"),
        follow=True,
    )

    refund = Refund.objects.get(payment=big_payment)
    assert refund.status == RefundStatus.REQUESTED
    assert "waits for approval" in text(response)
    assert queued == []


def test_the_same_form_sent_twice_refunds_once(shop: Merchant, queued: Any) -> None:
    payment = succeeded_payment(shop, amount=10_000)
    client, _member = member_client(shop)
    data = refund_post(payment, amount="10.00")
    url = reverse("refund_create", args=[payment.public_id])

    first = client.post(url, data)
    second = client.post(url, data, follow=True)

    refund = Refund.objects.get(payment=payment)
    assert first.status_code == 302
    assert second.redirect_chain == [(reverse("refund_detail", args=[refund.public_id]), 302)]
    assert "already requested" in text(second)
    assert Refund.objects.filter(payment=payment).count() == 1


def test_a_crash_releases_the_form_so_it_can_be_sent_again(
    shop: Merchant, queued: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment = succeeded_payment(shop, amount=10_000)
    client, _member = member_client(shop)
    data = refund_post(payment, amount="10.00")
    url = reverse("refund_create", args=[payment.public_id])

    def crash(**kwargs: Any) -> None:
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(request_views, "refund_create", crash)
        with pytest.raises(RuntimeError):
            client.post(url, data)
    client.post(url, data)

    assert Refund.objects.filter(payment=payment).count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": "100.01"}, "amount", "At most 100.00 CNY is left to refund."),
        ({"amount": "0"}, "amount", "Enter an amount above zero."),
        ({"amount": "1.234"}, "amount", "Use at most 2 decimal places for CNY."),
        ({"amount": "ten"}, "amount", "Enter a number."),
        ({"reason": "other", "reason_text": " "}, "reason_text", "Say why when the reason is"),
        ({"reason": "bored"}, "reason", "Select a valid choice."),
        ({"token": "forged"}, "token", "This form has expired."),
        ({"reason_text": "card 4242 4242 4242 4242"}, "reason_text", "looks like a card number"),
    ],
)
def test_bad_refund_input_is_refused_and_nothing_is_created(
    shop: Merchant, queued: Any, overrides: dict[str, str], field: str, message: str
) -> None:
    payment = succeeded_payment(shop, amount=10_000)
    client, _member = member_client(shop)
    before = footprint()

    response = client.post(
        reverse("refund_create", args=[payment.public_id]), refund_post(payment, **overrides)
    )

    assert response.status_code in (400, 422)
    assert message in text(response)
    assert footprint() == before
    assert queued == []
    # What was typed is kept, except a card number, which is never shown again.
    if field == "amount":
        assert f'value="{overrides["amount"]}"' in text(response)
    assert "4242 4242 4242 4242" not in text(response)


def test_a_token_of_another_payment_is_refused(shop: Merchant, queued: Any) -> None:
    payment, other = succeeded_payment(shop), succeeded_payment(shop)
    client, _member = member_client(shop)

    response = client.post(
        reverse("refund_create", args=[payment.public_id]),
        refund_post(payment, token=submission_token_new(other)),
    )

    assert response.status_code == 400
    assert "This form belongs to another payment." in text(response)
    assert Refund.objects.count() == 0


def test_a_refund_over_what_another_tab_left_is_refused_by_the_service(
    shop: Merchant, queued: Any
) -> None:
    # The form was shown when ¥100.00 was refundable; meanwhile ¥95.00 was refunded.
    payment = succeeded_payment(shop, amount=10_000)
    client, _member = member_client(shop)
    data = refund_post(payment, amount="10.00")
    refund_of(payment, amount=9_500)

    response = client.post(reverse("refund_create", args=[payment.public_id]), data)

    assert response.status_code == 400
    assert "At most 5.00 CNY is left to refund." in text(response)
    assert Refund.objects.filter(payment=payment).count() == 1


def test_members_who_may_not_refund_are_refused(shop: Merchant, queued: Any) -> None:
    payment = succeeded_payment(shop)
    client, _member = member_client(shop, TeamRole.DEVELOPER)

    response = client.post(reverse("refund_create", args=[payment.public_id]), refund_post(payment))

    assert response.status_code == 403
    assert Refund.objects.count() == 0


# --- the delayed queue ---


def _delayed(shop: Merchant, *, hours_ago: int, amount: int = 1_000) -> Refund:
    refund = refund_of(succeeded_payment(shop), amount=amount)
    approved = timezone.now() - timedelta(hours=hours_ago)
    Refund.objects.filter(pk=refund.pk).update(
        approved_at=approved, sla_due_at=approved + timedelta(hours=24)
    )
    return refund


def test_the_delayed_queue_sorts_by_age_and_shows_the_rate(shop: Merchant, queued: Any) -> None:
    younger = _delayed(shop, hours_ago=30)
    older = _delayed(shop, hours_ago=80)
    _delayed(shop, hours_ago=2)  # within its SLA
    _delayed(merchant(), hours_ago=50)
    refund_sla_sweep()
    client, _member = member_client(shop, TeamRole.FINANCE)

    oldest_first = client.get(reverse("refund_delayed"))
    newest_first = client.get(reverse("refund_delayed"), {"sort": "newest"})

    assert rows(oldest_first) == [older.public_id, younger.public_id]
    assert rows(newest_first) == [younger.public_id, older.public_id]
    body = text(oldest_first)
    assert "3 days 8 h" in body
    # 2 of this merchant's 3 live refunds requested in the last 30 days are delayed.
    assert re.search(r'data-testid="delayed-rate-value">66.67%<', body)


def test_the_delayed_queue_is_for_owners_and_finance(shop: Merchant) -> None:
    client, _member = member_client(shop, TeamRole.ADMIN)

    assert client.get(reverse("refund_delayed")).status_code == 403


# --- staff ---


def test_staff_see_every_merchants_refunds_and_can_filter_by_merchant(
    shop: Merchant, queued: Any
) -> None:
    other = merchant(name="Other Shop")
    mine = refund_of(succeeded_payment(shop), amount=1_000)
    theirs = refund_of(succeeded_payment(other), amount=2_000)
    staff = portal_client(user(roles=[Role.SUPPORT_AGENT]))

    everyone = rows(staff.get(reverse("staff_refund_list")))
    one = rows(staff.get(reverse("staff_refund_list"), {"merchant": str(other.public_id)}))
    page = staff.get(reverse("staff_refund_detail", args=[mine.public_id]))

    assert everyone == [theirs.public_id, mine.public_id]
    assert one == [theirs.public_id]
    assert page.status_code == 200
    assert 'data-testid="refund-decision"' not in text(page)


def test_staff_pages_need_their_permissions(shop: Merchant, queued: Any) -> None:
    owner, _member = member_client(shop)
    support = portal_client(user(roles=[Role.SUPPORT_AGENT]))
    finance = portal_client(user(roles=[Role.FINANCE_OPERATOR]))
    _delayed(shop, hours_ago=30)
    _delayed(merchant(), hours_ago=40)
    refund_sla_sweep()

    assert owner.get(reverse("staff_refund_list")).status_code == 403
    assert owner.get(reverse("staff_refund_approvals")).status_code == 403
    assert support.get(reverse("staff_refund_delayed")).status_code == 403
    assert len(rows(finance.get(reverse("staff_refund_delayed")))) == 2


def test_staff_approval_view_lists_every_merchants_waiting_refunds_read_only(
    big_payment: Payment, queued: Any
) -> None:
    waiting = refund_of(big_payment, amount=BIG)
    staff = portal_client(user(roles=[Role.FINANCE_OPERATOR]))

    body = text(staff.get(reverse("staff_refund_approvals")))

    assert QUEUE_ITEM.findall(body) == [waiting.public_id]
    assert 'data-testid="refund-decision"' not in body


def test_navigation_offers_the_staff_refund_pages_to_refund_roles_only() -> None:
    def keys(roles: list[Role]) -> list[str]:
        request = Client().get("/").wsgi_request
        request.user = user(roles=roles)
        return [item.key for item in navigation(request)["nav_items"]]

    assert {"staff_refunds", "staff_refund_delayed"} <= set(keys([Role.FINANCE_OPERATOR]))
    assert "staff_refunds" in keys([Role.SUPPORT_AGENT])
    assert "staff_refund_delayed" not in keys([Role.SUPPORT_AGENT])
    assert not {"staff_refunds", "staff_refund_delayed"} & set(keys([Role.KYC_REVIEWER]))
