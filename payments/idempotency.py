"""Idempotency-Key for the API's POSTs, with the semantics payment APIs use.

    return idempotent_response(request, merchant=m, mode=mode, work=lambda: (201, data))

What a client sees, whatever the database:

- The first request with a key does the work; its response (a 4xx refusal too) is stored
  with the key, in the transaction of the work: a crash rolls back the work and the
  response together, so a retry can never find a payment without its response.
- A later request with the same key: same fingerprint and completed -> the stored status
  and body bytes, replayed exactly; different fingerprint -> 422 idempotency_key_reused;
  its twin still in flight -> 409 idempotency_request_in_progress at once (no waiting).
- An unexpected crash or a 5xx stores nothing, so that a retry can proceed.
- Records are kept at least IDEMPOTENCY_KEY_RETENTION_HOURS (24 h), then purged.

How, on PostgreSQL: one transaction, one commit. It takes the transaction-level advisory
lock of (merchant, mode, key) with `pg_try_advisory_xact_lock`; a twin holding it is in
flight (409). Under the lock it reads the record (replay or 422), or does the work and
INSERTs the completed record. A refusal rolls the work back and is then stored the same
way in a second, short transaction. The unique constraint (merchant, mode, key) stays the
backstop: if a record appears that the lock did not keep out, the INSERT fails, everything
rolls back and the request answers from that record. An in-flight record (written by the
path below) is a twin in flight until its `locked_until`, then a retry takes it over.

Elsewhere (SQLite for `make run`, which has no advisory locks): the first request INSERTs
an in-flight record in its own committed transaction, does the work with the record locked
and stores the response there (two commits).
"""

import functools
import hashlib
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from config.api.errors import api_exception_handler
from config.errors import ApplicationError, Conflict
from merchants.models import Merchant
from payments.domain.models import IdempotencyRecord, IdempotencyStatus

logger = logging.getLogger("payments")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII
LOCK_SECONDS = 60
# Personalises the lock ids' hash, so that they do not meet another use of advisory locks.
_LOCK_PERSON = b"paydesk.idem"

Work = Callable[[], tuple[int, Any]]


class InvalidIdempotencyKey(ApplicationError):  # noqa: N818
    code = "invalid_idempotency_key"
    status = 400
    default_message = _("An Idempotency-Key is 1 to 255 visible ASCII characters.")


class IdempotencyKeyReused(ApplicationError):  # noqa: N818
    code = "idempotency_key_reused"
    status = 422
    default_message = _(
        "This Idempotency-Key was already used for a different request. Use a new key."
    )


class IdempotencyRequestInProgress(Conflict):
    code = "idempotency_request_in_progress"
    default_message = _(
        "A request with this Idempotency-Key is still in progress. Retry in a moment."
    )


class _Refused(Exception):  # noqa: N818
    """The work was refused: leave the transaction (rolling the work back) with its answer."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status, self.body = status, body


class _KeyTaken(Exception):  # noqa: N818
    """The record's INSERT met the unique constraint: leave the transaction, then read it."""


def request_fingerprint(request: Request) -> str:
    """Return sha256 of the method, the path and the canonical JSON body.

    Key order and white space do not matter; any other difference in the body does.
    """
    raw = request.body
    try:
        canonical = json.dumps(
            json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        ).encode()
    except ValueError:  # not JSON: the parser refuses it anyway; compare the bytes
        canonical = raw
    digest = hashlib.sha256()
    digest.update(f"{request.method}\n{request.path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def idempotency_lock_id(*, merchant_id: int, mode: str, key: str) -> int:
    """Return the 64-bit advisory lock id of (merchant, mode, key) for PostgreSQL.

    Mode and key are visible ASCII, so the line breaks cannot be forged. Two keys sharing
    an id (one chance in 2**64) would only make one of them wait for the other's 409.
    """
    digest = hashlib.blake2b(
        f"{merchant_id}\n{mode}\n{key}".encode(), digest_size=8, person=_LOCK_PERSON
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def _rendered(status: int, data: Any) -> bytes:
    return JSONRenderer().render(data)


def _response(status: int, body: bytes, *, replayed: bool = False) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def _refusal(error: Exception, request: Request) -> tuple[int, bytes]:
    """Render a refusal of the work as its API error response; re-raise anything else."""
    handled = api_exception_handler(error, {"request": request, "view": None})
    if handled is None:
        raise error
    return handled.status_code, _rendered(handled.status_code, handled.data)


def _run(work: Work, request: Request) -> tuple[int, bytes]:
    """Do the work in a savepoint; a refusal becomes its error response (to be stored)."""
    try:
        with transaction.atomic():
            status, data = work()
    except (ApplicationError, APIException) as error:
        return _refusal(error, request)
    return status, _rendered(status, data)


def _stored_response(record: IdempotencyRecord, fingerprint: str) -> HttpResponse | None:
    """Answer from a record with this key: a replay, or raise 422 / 409.

    None for an in-flight record whose lock ran out (its request died): the caller may
    take it over.
    """
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if record.status == IdempotencyStatus.COMPLETED:
        assert record.response_status is not None and record.response_body is not None
        return _response(record.response_status, bytes(record.response_body), replayed=True)
    if record.locked_until >= timezone.now():
        raise IdempotencyRequestInProgress()
    return None


def _record_of(merchant: Merchant, mode: str, key: str) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(merchant=merchant, mode=mode, key=key).first()


# --- PostgreSQL: one transaction under an advisory lock ---


def _advisory_lock_try(lock_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        row = cursor.fetchone()
    return bool(row and row[0])


@functools.cache
def _record_sql() -> str:
    meta = IdempotencyRecord._meta
    column = {field.name: str(field.column) for field in meta.concrete_fields}
    columns = ", ".join(column[name] for name in _RECORD_FIELDS)
    where = " AND ".join(f"{column[name]} = %s" for name in ("merchant", "mode", "key"))
    return f"SELECT {columns} FROM {meta.db_table} WHERE {where}"  # noqa: S608 (names only)


_RECORD_FIELDS = (
    "id",
    "request_fingerprint",
    "status",
    "response_status",
    "response_body",
    "locked_until",
)


def _record_read(merchant: Merchant, mode: str, key: str) -> IdempotencyRecord | None:
    """Return the record of the key: `_record_of` without the ORM's cost of building the
    query, on the path every keyed request takes (where there is usually none)."""
    with connection.cursor() as cursor:
        cursor.execute(_record_sql(), [merchant.pk, mode, key])
        row = cursor.fetchone()
    if row is None:
        return None
    return IdempotencyRecord(
        merchant=merchant, mode=mode, key=key, **dict(zip(_RECORD_FIELDS, row, strict=True))
    )


def _record_store(
    *,
    merchant: Merchant,
    mode: str,
    key: str,
    fingerprint: str,
    status: int,
    body: bytes,
    taken_over: IdempotencyRecord | None,
) -> None:
    """INSERT the completed record (or complete the in-flight one taken over)."""
    now = timezone.now()
    if taken_over is not None:
        completed = IdempotencyRecord.objects.filter(
            pk=taken_over.pk,
            status=IdempotencyStatus.IN_FLIGHT,
            locked_until=taken_over.locked_until,
        ).update(
            status=IdempotencyStatus.COMPLETED,
            response_status=status,
            response_body=body,
            completed_at=now,
        )
        if not completed:  # taken over meanwhile by a request of the other path
            raise IdempotencyRequestInProgress()
        return
    try:
        IdempotencyRecord.objects.create(
            merchant=merchant,
            mode=mode,
            key=key,
            request_fingerprint=fingerprint,
            status=IdempotencyStatus.COMPLETED,
            response_status=status,
            response_body=body,
            created_at=now,
            locked_until=now,
            completed_at=now,
        )
    except IntegrityError as error:
        raise _KeyTaken() from error


def _locked_attempt(
    *,
    merchant: Merchant,
    mode: str,
    key: str,
    fingerprint: str,
    run: Callable[[], tuple[int, bytes]],
) -> HttpResponse:
    """One transaction: the lock, the record, then `run` and its record. `run` returns the
    rendered (status, body) or raises _Refused."""
    with transaction.atomic():
        if not _advisory_lock_try(idempotency_lock_id(merchant_id=merchant.pk, mode=mode, key=key)):
            raise IdempotencyRequestInProgress()
        record = _record_read(merchant, mode, key)
        taken_over = None
        if record is not None:
            stored = _stored_response(record, fingerprint)
            if stored is not None:
                return stored
            logger.warning("idempotency key %s: taking over a request that died", record.pk)
            taken_over = record
        status, body = run()
        if status < 500:  # a 5xx is not an answer to keep: a retry does the work again
            _record_store(
                merchant=merchant,
                mode=mode,
                key=key,
                fingerprint=fingerprint,
                status=status,
                body=body,
                taken_over=taken_over,
            )
    return _response(status, body)


def _locked_response(
    request: Request, *, merchant: Merchant, mode: str, key: str, fingerprint: str, work: Work
) -> HttpResponse:
    def first_run() -> tuple[int, bytes]:
        # No savepoint of our own: a refusal leaves the whole transaction instead.
        try:
            status, data = work()
        except (ApplicationError, APIException) as error:
            raise _Refused(*_refusal(error, request)) from error
        return status, _rendered(status, data)

    arguments: dict[str, Any] = {
        "merchant": merchant,
        "mode": mode,
        "key": key,
        "fingerprint": fingerprint,
    }
    try:
        try:
            return _locked_attempt(run=first_run, **arguments)
        except _Refused as refused:
            if refused.status >= 500:
                return _response(refused.status, refused.body)
            # Store the refusal like any answer, in its own short transaction, under the
            # lock again: if a twin took the key in between, this request gets its 409 or
            # its stored answer instead, so that every answer given for a key is the same.
            answer = (refused.status, refused.body)
            return _locked_attempt(run=lambda: answer, **arguments)
    except _KeyTaken:
        record = _record_of(merchant, mode, key)
        stored = _stored_response(record, fingerprint) if record is not None else None
        if stored is None:
            raise IdempotencyRequestInProgress() from None
        return stored


# --- Other databases: an in-flight record committed first ---


def _claim(
    *, merchant: Merchant, mode: str, key: str, fingerprint: str
) -> tuple[IdempotencyRecord, bool]:
    """INSERT the in-flight record (committed at once) or return the existing one."""
    locked_until = timezone.now() + timedelta(seconds=LOCK_SECONDS)
    try:
        # Its own transaction (a savepoint when the caller is already in one, as in tests),
        # so that concurrent twins see it as soon as the INSERT returns.
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                merchant=merchant,
                mode=mode,
                key=key,
                request_fingerprint=fingerprint,
                locked_until=locked_until,
            )
        return record, True
    except IntegrityError:
        existing = _record_of(merchant, mode, key)
        if existing is None:  # purged in between: start again
            return _claim(merchant=merchant, mode=mode, key=key, fingerprint=fingerprint)
        return existing, False


def _take_over(record: IdempotencyRecord) -> bool:
    """Claim an in-flight record whose request died (its lock ran out); True if claimed."""
    now = timezone.now()
    new_lock: datetime = now + timedelta(seconds=LOCK_SECONDS)
    claimed = IdempotencyRecord.objects.filter(
        pk=record.pk, status=IdempotencyStatus.IN_FLIGHT, locked_until__lt=now
    ).update(locked_until=new_lock)
    if claimed:
        record.locked_until = new_lock
        logger.warning("idempotency key %s: taking over a request that died", record.pk)
    return bool(claimed)


def _release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(
        pk=record.pk, status=IdempotencyStatus.IN_FLIGHT, locked_until=record.locked_until
    ).delete()


def _claimed_response(
    request: Request, *, merchant: Merchant, mode: str, key: str, fingerprint: str, work: Work
) -> HttpResponse:
    record, created = _claim(merchant=merchant, mode=mode, key=key, fingerprint=fingerprint)
    if not created:
        existing = _stored_response(record, fingerprint)
        if existing is not None:
            return existing
        if not _take_over(record):
            raise IdempotencyRequestInProgress()

    try:
        with transaction.atomic():
            locked = IdempotencyRecord.objects.select_for_update().filter(pk=record.pk).first()
            if (
                locked is None
                or locked.status != IdempotencyStatus.IN_FLIGHT
                or locked.locked_until != record.locked_until
            ):
                raise IdempotencyRequestInProgress()  # another request took it over
            status, body = _run(work, request)
            if status < 500:
                locked.status = IdempotencyStatus.COMPLETED
                locked.response_status = status
                locked.response_body = body
                locked.completed_at = timezone.now()
                locked.save(
                    update_fields=["status", "response_status", "response_body", "completed_at"]
                )
    except IdempotencyRequestInProgress:
        raise
    except BaseException:
        _release(record)
        raise
    if status >= 500:
        _release(record)
    return _response(status, body)


def _has_advisory_locks() -> bool:
    return connection.vendor == "postgresql"


def idempotent_response(
    request: Request, *, merchant: Merchant, mode: str, work: Work
) -> HttpResponse:
    """Run `work` (returning `(status, data)`) at most once per Idempotency-Key.

    Without the header the work simply runs, in a transaction. ApplicationError and DRF
    errors raised by the work become their error responses, stored like successes (so
    replays match). Raise InvalidIdempotencyKey, IdempotencyKeyReused or
    IdempotencyRequestInProgress.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return _response(*_run(work, request))
    if not KEY_PATTERN.match(key):
        raise InvalidIdempotencyKey()
    fingerprint = request_fingerprint(request)
    respond = _locked_response if _has_advisory_locks() else _claimed_response
    return respond(
        request, merchant=merchant, mode=mode, key=key, fingerprint=fingerprint, work=work
    )
