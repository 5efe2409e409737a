"""The refunds API: create with an Idempotency-Key, get, list with filters, approve /
reject / cancel; merchant and mode isolation on every endpoint; refusals leave nothing."""

import json
from typing import Any

import pytest
from django.test import Client

from merchants.models import ApiMode, TeamRole
from refunds.models import Refund, RefundStatus
from tests.payments.payment_support import ApiShop, api_shop, post
from tests.refunds.support import (
    REFUNDS_URL,
    footprint,
    fund,
    person,
    refund_of,
    statuses,
    succeeded_payment,
)

pytestmark = pytest.mark.django_db


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response.content)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def body_for(of: Any, **fields: Any) -> dict[str, Any]:
    return {"payment": of.public_id, "amount": 1_000, "reason": "duplicate", **fields}


def test_a_refund_is_created_over_the_api_and_read_back(
    live_shop: ApiShop, queued: list[tuple[str, Any]]
) -> None:
    payment = succeeded_payment(live_shop.merchant, amount=10_000)

    response = post(live_shop.client, REFUNDS_URL, body_for(payment), key="refund-1")

    assert response.status_code == 201
    data = response.json()
    refund = Refund.objects.get(public_id=data["id"])
    assert {k: data[k] for k in ("object", "mode", "payment", "status", "amount", "currency")} == {
        "object": "refund",
        "mode": "live",
        "payment": payment.public_id,
        "status": "processing",
        "amount": 1_000,
        "currency": "CNY",
    }
    assert (data["requested_via"], data["approval_required"], data["failure"]) == (
        "api",
        False,
        None,
    )
    assert (refund.requested_by, refund.requester_label) == (None, live_shop.key.masked)
    assert live_shop.client.get(f"{REFUNDS_URL}/{refund.public_id}").json() == data


def test_the_same_idempotency_key_replays_the_first_response_and_refunds_once(
    live_shop: ApiShop, queued: Any
) -> None:
    payment = succeeded_payment(live_shop.merchant, amount=10_000)
    first = post(live_shop.client, REFUNDS_URL, body_for(payment), key="same")

    again = post(live_shop.client, REFUNDS_URL, body_for(payment), key="same")
    reused = post(live_shop.client, REFUNDS_URL, body_for(payment, amount=2), key="same")

    assert (again.status_code, again.content) == (201, first.content)
    assert again["Idempotent-Replayed"] == "true"
    assert (reused.status_code, error_of(reused)["code"]) == (422, "idempotency_key_reused")
    assert Refund.objects.count() == 1


def test_a_refund_above_the_threshold_waits_and_a_live_key_cannot_approve_it(
    live_shop: ApiShop, queued: Any
) -> None:
    fund(live_shop.merchant, 1_000_000)
    payment = succeeded_payment(live_shop.merchant, amount=500_000)
    created = post(live_shop.client, REFUNDS_URL, body_for(payment, amount=200_000)).json()
    assert (created["status"], created["approval_required"], created["approval_reason"]) == (
        "requested",
        True,
        "above_threshold",
    )
    before = footprint()

    response = post(live_shop.client, f"{REFUNDS_URL}/{created['id']}/approve", {})

    assert response.status_code == 403
    assert error_of(response)["code"] == "approval_requires_person"
    assert footprint() == before
    assert Refund.objects.get(public_id=created["id"]).status == RefundStatus.REQUESTED


def test_a_test_key_runs_the_whole_approval_flow(test_shop: ApiShop, queued: Any) -> None:
    payment = succeeded_payment(test_shop.merchant, amount=500_000, mode=ApiMode.TEST)
    created = post(test_shop.client, REFUNDS_URL, body_for(payment, amount=200_000)).json()

    response = test_shop.client.post(
        f"{REFUNDS_URL}/{created['id']}/approve", content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "processing"
    assert response.json()["approved_at"] is not None


def test_a_key_rejects_with_a_reason_and_cancels_only_its_own_requests(
    live_shop: ApiShop, queued: Any
) -> None:
    fund(live_shop.merchant, 1_000_000)
    payment = succeeded_payment(live_shop.merchant, amount=500_000)
    by_api = post(live_shop.client, REFUNDS_URL, body_for(payment, amount=150_000)).json()
    by_support = refund_of(payment, amount=1_000, by=person(live_shop.merchant, TeamRole.SUPPORT))

    no_reason = post(live_shop.client, f"{REFUNDS_URL}/{by_support.public_id}/reject", {})
    rejected = post(
        live_shop.client, f"{REFUNDS_URL}/{by_support.public_id}/reject", {"reason": "Not ours"}
    )
    not_its_own = post(live_shop.client, f"{REFUNDS_URL}/{by_support.public_id}/cancel", {})
    canceled = live_shop.client.post(
        f"{REFUNDS_URL}/{by_api['id']}/cancel", content_type="application/json"
    )

    assert (no_reason.status_code, error_of(no_reason)["code"]) == (400, "validation_error")
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    assert rejected.json()["decision_reason"] == "Not ours"
    assert (not_its_own.status_code, error_of(not_its_own)["code"]) == (403, "refund_not_allowed")
    assert (canceled.status_code, canceled.json()["status"]) == (200, "canceled")
    by_support.refresh_from_db()
    assert statuses(by_support)[-1] == ("requested", "rejected")


def test_a_key_cannot_cancel_a_refund_requested_in_the_portal(
    live_shop: ApiShop, queued: Any
) -> None:
    payment = succeeded_payment(live_shop.merchant, amount=10_000)
    proposal = refund_of(payment, amount=1_000, by=person(live_shop.merchant, TeamRole.SUPPORT))

    response = live_shop.client.post(
        f"{REFUNDS_URL}/{proposal.public_id}/cancel", content_type="application/json"
    )

    assert (response.status_code, error_of(response)["code"]) == (403, "refund_not_allowed")
    proposal.refresh_from_db()
    assert proposal.status == RefundStatus.REQUESTED


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"amount": "100"}, 400, "validation_error", "amount"),
        ({"amount": 0}, 400, "validation_error", "amount"),
        ({"amount": 1.5}, 400, "validation_error", "amount"),
        ({"reason": "bored"}, 400, "validation_error", "reason"),
        ({"reason": "other"}, 400, "validation_error", "reason_text"),
        ({"currency": "USD"}, 400, "validation_error", "currency"),
        ({"payment": "pay_nope"}, 400, "validation_error", "payment"),
        ({"surprise": 1}, 400, "validation_error", "surprise"),
        ({"reason": "other", "reason_text": "4111111111111111"}, 422, "card_number_refused", None),
        ({"amount": 10_001}, 409, "refund_exceeds_refundable", None),
        ({"amount": 10_000}, 409, "refund_exceeds_balance", None),
    ],
)
def test_a_refused_request_answers_in_the_error_shape_and_leaves_nothing(
    live_shop: ApiShop, fields: dict[str, Any], status: int, code: str, field: str | None
) -> None:
    payment = succeeded_payment(live_shop.merchant, amount=10_000)
    before = footprint()

    response = post(live_shop.client, REFUNDS_URL, body_for(payment, **fields), key=f"bad-{code}")

    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code
    if field is not None:
        assert field in error["details"]
    assert footprint() == before


def test_a_refund_of_a_payment_not_succeeded_is_refused(live_shop: ApiShop) -> None:
    payment = live_shop.payment()  # awaiting the payer's confirmation

    response = post(live_shop.client, REFUNDS_URL, body_for(payment))

    assert (response.status_code, error_of(response)["code"]) == (409, "payment_not_refundable")
    assert Refund.objects.count() == 0


def test_every_endpoint_is_isolated_by_merchant_and_mode(live_shop: ApiShop, queued: Any) -> None:
    # given a refund awaiting approval of the live shop
    fund(live_shop.merchant, 1_000_000)
    payment = succeeded_payment(live_shop.merchant, amount=500_000)
    refund = refund_of(payment, amount=150_000, by=person(live_shop.merchant, TeamRole.SUPPORT))
    # and another merchant's live key, and the same merchant's test key
    stranger = api_shop(ApiMode.LIVE)
    same_merchant_test = api_shop(ApiMode.TEST, of=live_shop.merchant)
    before = footprint()

    for other in (stranger, same_merchant_test):
        client: Client = other.client
        answers = [
            client.get(f"{REFUNDS_URL}/{refund.public_id}"),
            post(client, REFUNDS_URL, body_for(payment)),
            post(client, f"{REFUNDS_URL}/{refund.public_id}/approve", {}),
            post(client, f"{REFUNDS_URL}/{refund.public_id}/reject", {"reason": "x"}),
            post(client, f"{REFUNDS_URL}/{refund.public_id}/cancel", {}),
        ]
        # then every one is "not found", never "forbidden"
        assert [(a.status_code, error_of(a)["code"]) for a in answers] == [
            (404, "refund_not_found"),
            (404, "payment_not_found"),
            (404, "refund_not_found"),
            (404, "refund_not_found"),
            (404, "refund_not_found"),
        ]
        # and the lists are empty
        assert client.get(REFUNDS_URL).json()["results"] == []
        assert client.get(f"{REFUNDS_URL}?payment={payment.public_id}").json()["results"] == []

    assert footprint() == before
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED


def test_the_list_filters_and_paginates(live_shop: ApiShop, queued: Any) -> None:
    fund(live_shop.merchant, 1_000_000)
    first = succeeded_payment(live_shop.merchant, amount=50_000)
    second = succeeded_payment(live_shop.merchant, amount=50_000)
    owner = person(live_shop.merchant)
    a = refund_of(first, amount=100, by=owner)
    b = refund_of(first, amount=200, by=person(live_shop.merchant, TeamRole.SUPPORT))
    c = refund_of(second, amount=300, by=owner, reason="fraudulent")

    def ids(query: str) -> list[str]:
        response = live_shop.client.get(f"{REFUNDS_URL}{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [c.public_id, b.public_id, a.public_id]
    assert ids(f"?payment={first.public_id}") == [b.public_id, a.public_id]
    assert ids("?status=requested") == [b.public_id]
    assert ids("?status=requested,processing") == [c.public_id, b.public_id, a.public_id]
    assert ids("?reason=fraudulent") == [c.public_id]
    assert ids("?amount_min=150&amount_max=250") == [b.public_id]
    assert ids("?is_delayed=true") == []
    page = live_shop.client.get(f"{REFUNDS_URL}?page_size=2").json()
    assert [row["id"] for row in page["results"]] == [c.public_id, b.public_id]
    assert [row["id"] for row in live_shop.client.get(page["next"]).json()["results"]] == [
        a.public_id
    ]
    bad = live_shop.client.get(f"{REFUNDS_URL}?status=lost")
    assert (bad.status_code, error_of(bad)["code"]) == (400, "validation_error")


def test_an_unknown_or_malformed_refund_id_is_not_found(live_shop: ApiShop) -> None:
    for refund_id in ("re_nope", "re_0000000000000000000000000z", "pay_1"):
        response = live_shop.client.get(f"{REFUNDS_URL}/{refund_id}")
        assert (response.status_code, error_of(response)["code"]) == (404, "refund_not_found")


def test_the_api_needs_a_key(db: None) -> None:
    response = Client().get(REFUNDS_URL)

    assert (response.status_code, error_of(response)["code"]) == (401, "not_authenticated")
