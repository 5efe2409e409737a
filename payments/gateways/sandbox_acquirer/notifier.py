"""Delayed work and signed asynchronous notifications to Paydesk's notify endpoint.

Like a real payment channel, the sandbox delivers every notification several times
(`notify_repeats`), each delivery freshly signed (new timestamp and nonce) but with the
same `notification_id`, whatever the receiver answered: the receiver must be idempotent.
"""

import functools
import hashlib
import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from payments.gateways.sandbox_acquirer.store import Transaction, timestamp, utc_now
from payments.gateways.signing import signature_headers

logger = logging.getLogger("payments.sandbox_acquirer")


class Scheduler:
    """Run callables after a delay: one timer thread, a small pool to run them."""

    def __init__(self, workers: int = 8) -> None:
        self._queue: list[tuple[float, int, Callable[[], object]]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._stopped = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-job")
        self._thread = threading.Thread(target=self._run, name="sandbox-timer", daemon=True)
        self._thread.start()

    def after(self, delay_seconds: float, job: Callable[[], object]) -> None:
        with self._condition:
            if self._stopped:
                return
            due = time.monotonic() + max(delay_seconds, 0.0)
            heapq.heappush(self._queue, (due, next(self._order), job))
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._condition.wait(timeout)
                if self._stopped:
                    return
                _, _, job = heapq.heappop(self._queue)
            self._pool.submit(self._guarded, job)

    @staticmethod
    def _guarded(job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:  # a failing job must not kill the pool; log it whole
            logger.exception("sandbox background job failed")

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._queue.clear()
            self._condition.notify_all()
        self._thread.join(timeout=2)
        self._pool.shutdown(wait=False, cancel_futures=True)


def notification_id(kind: str, reference: str, status: str) -> str:
    """The same event always has the same id, however often it is delivered."""
    digest = hashlib.sha256(f"{kind}:{reference}:{status}".encode()).hexdigest()
    return f"ntf_{digest[:24]}"


def notification_payload(
    transaction: Transaction, *, status: str | None = None, attempt: int = 1
) -> dict[str, Any]:
    payload = transaction.as_payload(status)
    return {
        "notification_id": notification_id(
            transaction.kind, transaction.reference, payload["status"]
        ),
        **payload,
        "attempt": attempt,
        "sent_at": timestamp(utc_now()),
    }


class Notifier:
    def __init__(self, secret: str, scheduler: Scheduler, timeout_seconds: float = 3.0) -> None:
        self._secret = secret
        self._scheduler = scheduler
        self._timeout = httpx.Timeout(timeout_seconds, connect=1.0)

    def announce(
        self, transaction: Transaction, *, url: str, repeats: int, interval_seconds: float
    ) -> None:
        """Schedule `repeats` deliveries of the transaction's current state to `url`."""
        if not url:
            return
        for attempt in range(1, repeats + 1):
            self._scheduler.after(
                interval_seconds * attempt,
                functools.partial(self.deliver, transaction, url, attempt=attempt),
            )

    def deliver(
        self, transaction: Transaction, url: str, *, attempt: int = 1, status: str | None = None
    ) -> int | None:
        """Post one signed notification now; return the receiver's HTTP status, or None."""
        payload = notification_payload(transaction, status=status, attempt=attempt)
        body = json.dumps(payload, separators=(",", ":")).encode()
        try:
            target = httpx.URL(url)
            path = target.raw_path.decode("ascii")
            headers = {
                "Content-Type": "application/json",
                **signature_headers(self._secret, method="POST", path=path, body=body),
            }
            response = httpx.post(target, content=body, headers=headers, timeout=self._timeout)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            logger.warning(
                "notification %s #%s to %s failed: %s",
                payload["notification_id"],
                attempt,
                url,
                error,
            )
            return None
        logger.info(
            "notification %s (%s %s %s) #%s to %s -> %s",
            payload["notification_id"],
            transaction.kind,
            transaction.reference,
            payload["status"],
            attempt,
            url,
            response.status_code,
        )
        return response.status_code
