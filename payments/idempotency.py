"""Idempotency-Key for the API's POSTs, with the semantics payment APIs use.

    return idempotent_response(request, merchant=m, mode=mode, work=lambda: (201, data))

- The first request with a key INSERTs an in-flight record in its own committed
  transaction: the unique constraint (merchant, mode, key) decides which of two concurrent
  requests does the work.
- The work then runs in one transaction with the record locked, and its response (a 4xx
  refusal too) is stored in that same transaction: a crash rolls back the work and the
  response together, so a retry can never find a payment without its response.
- A later request with the same key: same fingerprint and completed -> the stored status
  and body bytes, replayed exactly; different fingerprint -> 422 idempotency_key_reused;
  still in flight -> 409 idempotency_request_in_progress (an in-flight record older than
  its lock belongs to a request that died, and the retry takes it over).
- An unexpected crash or a 5xx deletes the in-flight record so that a retry can proceed.
- Records are kept at least IDEMPOTENCY_KEY_RETENTION_HOURS (24 h), then purged.
"""

import hashlib
import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
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


def _rendered(status: int, data: Any) -> bytes:
    return JSONRenderer().render(data)


def _response(status: int, body: bytes, *, replayed: bool = False) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def _run(work: Work, request: Request) -> tuple[int, bytes]:
    """Do the work in a savepoint; a refusal becomes its error response (to be stored)."""
    try:
        with transaction.atomic():
            status, data = work()
    except (ApplicationError, APIException) as error:
        handled = api_exception_handler(error, {"request": request, "view": None})
        if handled is None:
            raise
        return handled.status_code, _rendered(handled.status_code, handled.data)
    return status, _rendered(status, data)


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
        existing = IdempotencyRecord.objects.filter(merchant=merchant, mode=mode, key=key).first()
        if existing is None:  # purged in between: start again
            return _claim(merchant=merchant, mode=mode, key=key, fingerprint=fingerprint)
        return existing, False


def _take_over(record: IdempotencyRecord) -> bool:
    """Claim an in-flight record whose request died (its lock ran out); True if claimed."""
    now = timezone.now()
    new_lock = now + timedelta(seconds=LOCK_SECONDS)
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


def _existing_response(record: IdempotencyRecord, fingerprint: str) -> HttpResponse | None:
    """Answer a request whose key is taken; None when this request may take it over."""
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if record.status == IdempotencyStatus.COMPLETED:
        assert record.response_status is not None and record.response_body is not None
        return _response(record.response_status, bytes(record.response_body), replayed=True)
    if record.locked_until >= timezone.now() or not _take_over(record):
        raise IdempotencyRequestInProgress()
    return None


def idempotent_response(
    request: Request, *, merchant: Merchant, mode: str, work: Work
) -> HttpResponse:
    """Run `work` (returning `(status, data)`) at most once per Idempotency-Key.

    Without the header the work simply runs. ApplicationError and DRF errors raised by the
    work become their error responses, stored like successes (so replays match). Raise
    InvalidIdempotencyKey, IdempotencyKeyReused or IdempotencyRequestInProgress.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return _response(*_run(work, request))
    if not KEY_PATTERN.match(key):
        raise InvalidIdempotencyKey()
    fingerprint = request_fingerprint(request)
    record, created = _claim(merchant=merchant, mode=mode, key=key, fingerprint=fingerprint)
    if not created:
        existing = _existing_response(record, fingerprint)
        if existing is not None:
            return existing

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
