"""Idempotency-Key: replays are exact, a reused key with another body is a 422, a twin in
flight is a 409, concurrent requests with one key create exactly one payment."""

import json
import threading
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from merchants.models import ApiMode
from payments.domain.models import IdempotencyRecord, IdempotencyStatus, Payment
from payments.idempotency import idempotency_lock_id, request_fingerprint
from payments.services import payments as payment_services
from payments.services.janitor import idempotency_record_purge
from tests.merchants.platform import api_client
from tests.payments.payment_support import PAYMENTS_URL, ApiShop, api_shop, payment_body, post


@pytest.mark.django_db
def test_the_same_key_and_body_replay_the_first_response_exactly(live_shop: ApiShop) -> None:
    # given a first request with a key
    body = payment_body()
    first = live_shop.create(body, key="order-1001-attempt")

    # when the merchant retries it (say, after a network error)
    second = live_shop.create(body, key="order-1001-attempt")

    # then the same status and the same bytes come back, and there is one payment
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Payment.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.status, record.response_status) == (IdempotencyStatus.COMPLETED, 201)


@pytest.mark.django_db
def test_the_replay_is_the_first_response_even_after_the_payment_changed(
    live_shop: ApiShop,
) -> None:
    body = payment_body()
    first = live_shop.create(body, key="k-1")
    Payment.objects.update(status="canceled")

    replay = live_shop.create(body, key="k-1")

    assert replay.content == first.content
    assert replay.json()["status"] == "requires_confirmation"


@pytest.mark.django_db
def test_key_order_and_white_space_do_not_make_another_request(live_shop: ApiShop) -> None:
    body = payment_body()
    first = post(live_shop.client, PAYMENTS_URL, json.dumps(body), key="k-2")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)

    second = post(live_shop.client, PAYMENTS_URL, reordered, key="k-2")

    assert second.status_code == 201
    assert second.content == first.content
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422_and_changes_nothing(live_shop: ApiShop) -> None:
    body = payment_body(amount=1_000)
    live_shop.create(body, key="k-3")

    response = live_shop.create({**body, "amount": 2_000}, key="k-3")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Payment.objects.values_list("amount", flat=True)) == [1_000]


@pytest.mark.django_db
def test_the_same_key_on_another_endpoint_is_a_422(live_shop: ApiShop) -> None:
    payment = live_shop.payment()
    live_shop.create(payment_body(), key="k-4")

    response = post(live_shop.client, f"{PAYMENTS_URL}/{payment.public_id}/cancel", {}, key="k-4")

    assert response.status_code == 422
    payment.refresh_from_db()
    assert payment.status == "requires_confirmation"


@pytest.mark.django_db
def test_a_twin_still_in_flight_gets_a_409(live_shop: ApiShop) -> None:
    # given a request with the key that is still being worked on
    body = payment_body()
    first = live_shop.create(body, key="k-5")
    IdempotencyRecord.objects.update(
        status=IdempotencyStatus.IN_FLIGHT,
        response_status=None,
        response_body=None,
        locked_until=timezone.now() + timedelta(seconds=30),
    )

    # when its twin arrives
    response = live_shop.create(body, key="k-5")

    # then it is told to retry later, and nothing new is created
    assert first.status_code == 201
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_request_in_progress"
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_request_that_died_in_flight_is_taken_over_by_its_retry(live_shop: ApiShop) -> None:
    # given an in-flight record whose lock ran out (its request died; its work rolled back)
    body = payment_body()
    IdempotencyRecord.objects.create(
        merchant=live_shop.merchant,
        mode=live_shop.mode,
        key="k-6",
        request_fingerprint=_fingerprint_of(body),
        locked_until=timezone.now() - timedelta(seconds=1),
    )

    # when the merchant retries
    response = live_shop.create(body, key="k-6")

    # then the retry does the work once
    assert response.status_code == 201
    assert Payment.objects.count() == 1
    assert IdempotencyRecord.objects.get().status == IdempotencyStatus.COMPLETED


def _fingerprint_of(body: dict[str, Any]) -> str:
    """Return the fingerprint the API computes for POST /api/v1/payments with `body`."""
    django_request = APIRequestFactory().post(
        PAYMENTS_URL, data=json.dumps(body), content_type="application/json"
    )
    return request_fingerprint(Request(django_request))


@pytest.mark.django_db
def test_a_refusal_is_stored_and_replayed_too(live_shop: ApiShop) -> None:
    # given a first request refused for bad input
    body = payment_body(amount=0)
    first = live_shop.create(body, key="k-7")

    # when the same request is retried, and then fixed under the same key
    again = live_shop.create(body, key="k-7")
    fixed = live_shop.create({**body, "amount": 100}, key="k-7")

    # then the refusal is replayed byte for byte, and the key stays tied to the first body
    assert first.status_code == again.status_code == 400
    assert again.content == first.content
    assert fixed.status_code == 422
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_a_crash_releases_the_key_so_that_a_retry_can_proceed(
    live_shop: ApiShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the service crashes unexpectedly on the first attempt
    body = payment_body()
    real_create = payment_services.payment_create
    calls: list[int] = []

    def crash_once(**kwargs: Any) -> Payment:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real_create(**kwargs)

    monkeypatch.setattr("payments.api.payment_create", crash_once)
    with pytest.raises(RuntimeError):
        live_shop.create(body, key="k-8")
    assert not IdempotencyRecord.objects.exists()
    assert Payment.objects.count() == 0

    # when the merchant retries with the same key
    response = live_shop.create(body, key="k-8")

    # then it goes through
    assert response.status_code == 201
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_one_merchant_and_one_mode(live_shop: ApiShop) -> None:
    other_merchant = api_shop(ApiMode.LIVE)
    same_merchant_test_mode = api_shop(ApiMode.TEST, of=live_shop.merchant)
    body = payment_body()

    responses = [
        shop.create(body, key="shared-key")
        for shop in (live_shop, other_merchant, same_merchant_test_mode)
    ]

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert len({r.json()["id"] for r in responses}) == 3


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "k" * 256, "clé-1", "two words"])
def test_a_malformed_key_is_a_400(live_shop: ApiShop, key: str) -> None:
    response = live_shop.client.post(
        PAYMENTS_URL,
        data=json.dumps(payment_body()),
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_a_cancel_with_a_key_is_replayed(live_shop: ApiShop) -> None:
    payment = live_shop.payment()
    url = f"{PAYMENTS_URL}/{payment.public_id}/cancel"

    first = post(live_shop.client, url, {"reason": "duplicate order"}, key="cancel-1")
    second = post(live_shop.client, url, {"reason": "duplicate order"}, key="cancel-1")
    without_key = post(live_shop.client, url, {"reason": "duplicate order"})

    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert without_key.status_code == 409  # a new request: already canceled
    assert payment.events.filter(to_status="canceled").count() == 1


@pytest.mark.django_db
def test_records_are_kept_24_hours_then_purged(live_shop: ApiShop) -> None:
    live_shop.create(payment_body(), key="old")
    live_shop.create(payment_body(), key="recent")
    now = timezone.now()
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=now - timedelta(hours=24, minutes=1)
    )
    IdempotencyRecord.objects.filter(key="recent").update(created_at=now - timedelta(hours=23))

    purged = idempotency_record_purge(now=now)

    assert purged == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_with_one_key_create_exactly_one_payment(
    live_server: Any,
) -> None:
    # given a merchant and one request body, sent 20 times at once with the same key,
    # each by its own thread (the live server gives each its own database connection)
    shop = api_shop(ApiMode.LIVE)
    body = json.dumps(payment_body()).encode()
    headers = {
        "Authorization": f"Bearer {shop.raw_key}",
        "Content-Type": "application/json",
        "Idempotency-Key": "burst-1",
    }
    start = threading.Barrier(20)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        start.wait()
        response = httpx.post(
            f"{live_server.url}{PAYMENTS_URL}", content=body, headers=headers, timeout=30
        )
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then exactly one payment exists, every success is the same 201, the others are 409s
    assert Payment.objects.filter(merchant=shop.merchant).count() == 1
    created = [r for r in responses if r.status_code == 201]
    assert len(responses) == 20
    assert len(created) >= 1
    assert {r.content for r in created} == {created[0].content}
    assert {r.status_code for r in responses} <= {201, 409}
    for conflict in (r for r in responses if r.status_code == 409):
        assert conflict.json()["error"]["code"] == "idempotency_request_in_progress"
    payment_id = json.loads(created[0].content)["id"]
    assert Payment.objects.get(merchant=shop.merchant).public_id == payment_id
    connection.close()


# --- one transaction under an advisory lock (PostgreSQL) ---


def _second_connection() -> psycopg.Connection[Any]:
    """Open another session on the test database (a twin request's own connection)."""
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    )


@pytest.mark.django_db(transaction=True)
def test_a_twin_arriving_while_the_first_request_works_gets_a_409_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a first request that is inside its transaction, its payment made but not
    # committed, on its own connection (its own thread)
    shop = api_shop(ApiMode.LIVE)
    body = payment_body()
    inside, release = threading.Event(), threading.Event()
    real_create = payment_services.payment_create

    def create_then_wait(**kwargs: Any) -> Payment:
        payment = real_create(**kwargs)
        inside.set()
        assert release.wait(10)
        return payment

    monkeypatch.setattr("payments.api.payment_create", create_then_wait)
    first: list[Any] = []

    def send_first() -> None:
        try:
            first.append(post(api_client(shop.raw_key), PAYMENTS_URL, body, key="twin-1"))
        finally:
            connection.close()

    thread = threading.Thread(target=send_first)
    thread.start()
    try:
        assert inside.wait(10)
        # when its twin arrives on another connection
        twin = post(api_client(shop.raw_key), PAYMENTS_URL, body, key="twin-1")
        # then it is told at once that the key is in flight, and nothing of it is stored
        assert twin.status_code == 409
        assert twin.json()["error"]["code"] == "idempotency_request_in_progress"
        assert not IdempotencyRecord.objects.exists()
        assert not Payment.objects.exists()  # the first one is not committed yet
    finally:
        release.set()
        thread.join(20)

    # and the first request commits its payment, its event and its record together
    assert first[0].status_code == 201
    payment = Payment.objects.get(merchant=shop.merchant)
    assert payment.events.count() == 1
    record = IdempotencyRecord.objects.get()
    assert record.status == IdempotencyStatus.COMPLETED
    assert bytes(record.response_body or b"") == first[0].content
    # and a retry replays it
    retry = post(api_client(shop.raw_key), PAYMENTS_URL, body, key="twin-1")
    assert (retry.status_code, retry.content) == (201, first[0].content)
    connection.close()


@pytest.mark.django_db
def test_the_lock_is_per_merchant_mode_and_key(live_shop: ApiShop) -> None:
    # given another session holding the advisory lock of one key, as a request in flight does
    lock_id = idempotency_lock_id(merchant_id=live_shop.merchant.pk, mode=live_shop.mode, key="k-a")
    with _second_connection() as other, other.transaction():
        acquired = other.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id]).fetchone()
        assert acquired == (True,)

        # when requests come with that key, and with another one
        held = live_shop.create(payment_body(), key="k-a")
        free = live_shop.create(payment_body(), key="k-b")

    # then only the held key is refused, and nothing is stored for it
    assert held.status_code == 409
    assert held.json()["error"]["code"] == "idempotency_request_in_progress"
    assert free.status_code == 201
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k-b"]
    assert Payment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_keyed_payment_commits_once_with_its_event_and_record() -> None:
    # given a merchant
    shop = api_shop(ApiMode.LIVE)

    # when it creates a payment with a key
    with CaptureQueriesContext(connection) as queries:
        response = shop.create(payment_body(), key="one-commit")

    # then one transaction holds the payment, its event and the stored response
    statements = [query["sql"] for query in queries.captured_queries]
    assert response.status_code == 201
    assert statements.count("COMMIT") == 1
    assert sum("pg_try_advisory_xact_lock" in sql for sql in statements) == 1
    assert not any("FOR UPDATE" in sql for sql in statements)
    assert bytes(IdempotencyRecord.objects.get().response_body or b"") == response.content
    assert Payment.objects.get().events.count() == 1


@pytest.mark.django_db
def test_a_refusal_after_a_write_is_rolled_back_stored_and_replayed(live_shop: ApiShop) -> None:
    # given a payment for an order, made with one key
    body = payment_body()
    live_shop.create(body, key="order-first")

    # when another key asks for the same order id (the service refuses after its INSERT)
    refused = live_shop.create(body, key="order-again")
    replay = live_shop.create(body, key="order-again")

    # then the refusal is stored and replayed, and there is still one payment
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "duplicate_merchant_order_id"
    assert (replay.status_code, replay.content) == (409, refused.content)
    assert replay["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    assert IdempotencyRecord.objects.get(key="order-again").response_status == 409


@pytest.mark.django_db
def test_a_record_the_lock_did_not_keep_out_is_answered_from(
    live_shop: ApiShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a completed key, and a read under the lock that misses it (the backstop case)
    body = payment_body()
    first = live_shop.create(body, key="k-backstop")
    monkeypatch.setattr("payments.idempotency._record_read", lambda *args: None)

    # when the request is retried
    retry = live_shop.create(body, key="k-backstop")

    # then the unique constraint stops the second record and the stored answer is replayed
    assert (retry.status_code, retry.content) == (201, first.content)
    assert retry["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_without_advisory_locks_the_in_flight_record_path_still_holds(
    live_shop: ApiShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a database without advisory locks (SQLite for `make run`)
    monkeypatch.setattr("payments.idempotency._has_advisory_locks", lambda: False)
    body = payment_body()

    # when a request is made, retried, and its key reused for another body
    first = live_shop.create(body, key="k-sqlite")
    replay = live_shop.create(body, key="k-sqlite")
    reused = live_shop.create({**body, "amount": 1}, key="k-sqlite")
    IdempotencyRecord.objects.update(
        status=IdempotencyStatus.IN_FLIGHT, locked_until=timezone.now() + timedelta(seconds=30)
    )
    in_flight = live_shop.create(body, key="k-sqlite")

    # then it behaves as on PostgreSQL
    assert first.status_code == 201
    assert (replay.status_code, replay.content) == (201, first.content)
    assert reused.status_code == 422
    assert in_flight.status_code == 409
    assert Payment.objects.count() == 1
