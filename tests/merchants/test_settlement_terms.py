"""Settlement terms: versioned rows effective from the next settlement, T+0 by approval."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from config.errors import Conflict, PermissionDenied, ValidationFailed
from merchants.models import (
    CycleRequestStatus,
    MerchantStatus,
    SettlementCycle,
    SettlementCycleRequest,
    SettlementTerms,
    TeamRole,
)
from merchants.selectors.settlement import settlement_terms_effective
from merchants.services.settlement_terms import (
    next_settlement_date,
    settlement_cycle_request_approve,
    settlement_cycle_request_reject,
    settlement_cycle_t0_request,
    settlement_cycle_t1_set,
    settlement_terms_fees_set,
    settlement_terms_minimum_payout_set,
)
from tests.merchants.platform import member, merchant, portal_client, user

pytestmark = pytest.mark.django_db


def today() -> datetime.date:
    return timezone.localdate()


def tomorrow() -> datetime.date:
    return today() + datetime.timedelta(days=1)


@pytest.fixture
def finance():
    return user(roles=[Role.FINANCE_OPERATOR])


def test_a_merchant_without_versions_gets_the_platform_defaults():
    terms = settlement_terms_effective(merchant(), today())
    assert terms.pk is None
    assert terms.cycle == SettlementCycle.T1
    assert (terms.wallet_fee_bps, terms.bank_card_fee_bps, terms.other_fee_bps) == (60, 55, 80)
    assert terms.fee_bps_for_channel("alipay") == 60
    assert terms.fee_bps_for_channel("wechat_pay") == 60
    assert terms.fee_bps_for_channel("bank_card") == 55
    assert terms.fee_bps_for_channel("unionpay_qr") == 80


def test_a_change_adds_a_version_effective_from_the_next_settlement():
    owner = member()
    shop = owner.merchant
    terms = settlement_terms_minimum_payout_set(merchant=shop, amount=500_00, actor=owner.user)
    assert (terms.version, terms.effective_from) == (1, tomorrow())
    assert next_settlement_date() == tomorrow()
    # today still settles on the old terms, tomorrow on the new
    assert settlement_terms_effective(shop, today()).minimum_payout_amount == 100_00
    assert settlement_terms_effective(shop, tomorrow()).minimum_payout_amount == 500_00
    event = AuditEvent.objects.get(action="settlement_terms.minimum_payout_set")
    assert event.before is not None
    assert event.after is not None
    assert event.before["minimum_payout_amount"] == 100_00
    assert event.after["minimum_payout_amount"] == 500_00


def test_versions_are_never_edited_and_later_changes_build_on_the_latest():
    owner = member()
    shop = owner.merchant
    first = settlement_terms_minimum_payout_set(merchant=shop, amount=200_00, actor=owner.user)
    finance_user = user(roles=[Role.FINANCE_OPERATOR])
    fees = settlement_terms_fees_set(
        merchant=shop,
        wallet_fee_bps=45,
        bank_card_fee_bps=50,
        other_fee_bps=70,
        reason="Volume discount",
        actor=finance_user,
    )
    assert fees.version == 2
    assert fees.minimum_payout_amount == 200_00  # kept from version 1
    first.refresh_from_db()
    assert (first.wallet_fee_bps, first.minimum_payout_amount) == (60, 200_00)
    assert SettlementTerms.objects.filter(merchant=shop).count() == 2
    # on a date after both, the newest version wins
    assert settlement_terms_effective(shop, tomorrow()).wallet_fee_bps == 45


def test_the_effective_version_is_the_newest_started_one():
    shop = merchant()
    for version, (start, amount) in enumerate(
        [
            (today() - datetime.timedelta(days=10), 1),
            (today() - datetime.timedelta(days=3), 2),
            (tomorrow(), 3),
        ],
        start=1,
    ):
        SettlementTerms.objects.create(
            merchant=shop, version=version, effective_from=start, minimum_payout_amount=amount
        )
    assert settlement_terms_effective(shop, today() - datetime.timedelta(days=5)).version == 1
    assert settlement_terms_effective(shop, today()).version == 2
    assert settlement_terms_effective(shop, tomorrow()).version == 3
    assert settlement_terms_effective(shop, today() - datetime.timedelta(days=30)).version == 0


def test_a_no_op_change_or_a_bad_amount_adds_nothing():
    owner = member()
    with pytest.raises(ValidationFailed):
        settlement_terms_minimum_payout_set(
            merchant=owner.merchant, amount=100_00, actor=owner.user
        )
    with pytest.raises(ValidationFailed):
        settlement_terms_minimum_payout_set(merchant=owner.merchant, amount=-1, actor=owner.user)
    assert SettlementTerms.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="settlement_terms").exists()


def test_only_finance_operators_set_fees_with_a_reason(finance):
    owner = member()
    with pytest.raises(PermissionDenied):
        settlement_terms_fees_set(
            merchant=owner.merchant,
            wallet_fee_bps=1,
            bank_card_fee_bps=1,
            other_fee_bps=1,
            reason="cheap",
            actor=owner.user,
        )
    with pytest.raises(ValidationFailed) as invalid:
        settlement_terms_fees_set(
            merchant=owner.merchant,
            wallet_fee_bps=5000,
            bank_card_fee_bps=55,
            other_fee_bps=80,
            reason="",
            actor=finance,
        )
    assert set(invalid.value.details) == {"wallet_fee_bps", "reason"}
    assert SettlementTerms.objects.count() == 0


def test_t0_needs_a_finance_approval_and_then_starts_at_the_next_settlement(finance):
    owner = member()
    shop = owner.merchant
    cycle_request = settlement_cycle_t0_request(merchant=shop, actor=owner.user, note="Daily cash")
    # nothing changes until finance decides
    assert settlement_terms_effective(shop, tomorrow()).cycle == SettlementCycle.T1
    settlement_cycle_request_approve(
        cycle_request=cycle_request, actor=finance, reason="Good history"
    )
    cycle_request.refresh_from_db()
    assert cycle_request.status == CycleRequestStatus.APPROVED
    assert cycle_request.decided_by == finance
    assert settlement_terms_effective(shop, today()).cycle == SettlementCycle.T1
    assert settlement_terms_effective(shop, tomorrow()).cycle == SettlementCycle.T0
    assert cycle_request.resulting_terms is not None
    assert cycle_request.resulting_terms.effective_from == tomorrow()
    assert AuditEvent.objects.filter(action="settlement_terms.t0_approve").count() == 1
    # going back to T+1 needs nobody's approval
    settlement_cycle_t1_set(merchant=shop, actor=owner.user)
    assert settlement_terms_effective(shop, tomorrow()).cycle == SettlementCycle.T1


def test_a_rejection_needs_a_reason_and_leaves_the_terms_alone(finance):
    owner = member()
    cycle_request = settlement_cycle_t0_request(merchant=owner.merchant, actor=owner.user)
    with pytest.raises(ValidationFailed):
        settlement_cycle_request_reject(cycle_request=cycle_request, actor=finance, reason=" ")
    settlement_cycle_request_reject(cycle_request=cycle_request, actor=finance, reason="Too new")
    cycle_request.refresh_from_db()
    assert (cycle_request.status, cycle_request.decision_reason) == ("rejected", "Too new")
    assert SettlementTerms.objects.count() == 0
    with pytest.raises(Conflict):
        settlement_cycle_request_approve(cycle_request=cycle_request, actor=finance)
    assert SettlementTerms.objects.count() == 0


def test_one_open_request_at_a_time_and_only_for_approved_merchants():
    owner = member()
    settlement_cycle_t0_request(merchant=owner.merchant, actor=owner.user)
    with pytest.raises(Conflict) as twice:
        settlement_cycle_t0_request(merchant=owner.merchant, actor=owner.user)
    assert twice.value.code == "request_pending"
    onboarding = member(merchant(status=MerchantStatus.SUBMITTED))
    with pytest.raises(Conflict) as early:
        settlement_cycle_t0_request(merchant=onboarding.merchant, actor=onboarding.user)
    assert early.value.code == "merchant_not_approved"
    assert SettlementCycleRequest.objects.count() == 1


def test_merchant_members_cannot_approve_their_own_request():
    owner = member()
    owner.user.groups.add(*user(roles=[Role.FINANCE_OPERATOR]).groups.all())
    cycle_request = settlement_cycle_t0_request(merchant=owner.merchant, actor=owner.user)
    with pytest.raises(PermissionDenied):
        settlement_cycle_request_approve(cycle_request=cycle_request, actor=owner.user)
    cycle_request.refresh_from_db()
    assert cycle_request.status == CycleRequestStatus.PENDING


def test_non_finance_users_cannot_decide():
    owner = member()
    cycle_request = settlement_cycle_t0_request(merchant=owner.merchant, actor=owner.user)
    with pytest.raises(PermissionDenied):
        settlement_cycle_request_approve(cycle_request=cycle_request, actor=user())
    assert SettlementCycleRequest.objects.get().status == CycleRequestStatus.PENDING


# --- the portal ---


def test_the_merchant_page_sets_the_minimum_payout_and_requests_t0():
    owner = member()
    client = portal_client(owner.user)
    page = client.get(reverse("settlement_terms"))
    assert page.status_code == 200
    assert page.context["current"].version == 0
    saved = client.post(reverse("settlement_minimum_payout"), {"amount": "250.50"})
    assert saved.status_code == 302
    assert SettlementTerms.objects.get().minimum_payout_amount == 250_50
    asked = client.post(reverse("settlement_t0_request"), {"note": "Need daily payouts"})
    assert asked.status_code == 302
    assert SettlementCycleRequest.objects.get().note == "Need daily payouts"
    withdrawn = client.post(reverse("settlement_t0_withdraw"))
    assert withdrawn.status_code == 302
    assert SettlementCycleRequest.objects.get().status == CycleRequestStatus.WITHDRAWN


def test_finance_members_see_the_terms_but_cannot_change_them():
    finance_member = member(role=TeamRole.FINANCE)
    client = portal_client(finance_member.user)
    assert client.get(reverse("settlement_terms")).status_code == 200
    assert client.post(reverse("settlement_minimum_payout"), {"amount": "1"}).status_code == 403
    assert client.post(reverse("settlement_t0_request")).status_code == 403
    assert SettlementTerms.objects.count() == 0
    assert SettlementCycleRequest.objects.count() == 0


def test_the_finance_queue_approves_and_sets_fees(finance):
    owner = member()
    settlement_cycle_t0_request(merchant=owner.merchant, actor=owner.user)
    client = portal_client(finance)
    queue = client.get(reverse("settlement_term_requests"))
    assert queue.status_code == 200
    assert list(queue.context["queue"]) == list(SettlementCycleRequest.objects.all())
    cycle_request = SettlementCycleRequest.objects.get()
    response = client.post(
        reverse("settlement_term_request_approve", args=[cycle_request.pk]), {"reason": "ok"}
    )
    assert response.status_code == 302
    assert SettlementCycleRequest.objects.get().status == CycleRequestStatus.APPROVED
    fees = reverse("settlement_terms_fees", args=[owner.merchant.public_id])
    assert client.get(fees).status_code == 200
    saved = client.post(
        fees,
        {"wallet_fee_bps": 50, "bank_card_fee_bps": 55, "other_fee_bps": 80, "reason": "Renewal"},
    )
    assert saved.status_code == 302
    latest = SettlementTerms.objects.order_by("-version")[0]
    assert (latest.version, latest.cycle, latest.wallet_fee_bps) == (2, "T+0", 50)


def test_the_finance_queue_is_for_finance_operators_only():
    owner = member()
    client = portal_client(owner.user)
    assert client.get(reverse("settlement_term_requests")).status_code == 403
    fees = reverse("settlement_terms_fees", args=[owner.merchant.public_id])
    assert client.get(fees).status_code == 403
