"""Health checks behind /healthz: database, Celery broker and cache, each timed.

Every check is short-bounded, so a load balancer polling /healthz gets an answer even
when a dependency hangs. Failures are logged with their cause; the response names only
the exception class, because /healthz is public.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from kombu import Connection

logger = logging.getLogger("paydesk.health")

BROKER_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    ms: float
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "ms": self.ms}
        if self.error:
            data["error"] = self.error
        return data


def check_database() -> None:
    """Run `SELECT 1` on the default database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 returned an unexpected row")


def check_broker() -> None:
    """Open (and close) a connection to the Celery broker, giving up after a short timeout."""
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {})
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=BROKER_TIMEOUT_SECONDS,
        transport_options=options,
    ) as broker:
        # kombu takes a float timeout; its stubs say int.
        broker.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)  # type: ignore[arg-type]
        if broker.transport_cls == "filesystem":
            # Connecting to the filesystem transport touches no file: check the queue folder.
            folder = Path(options.get("data_folder_out", "data_out"))
            if not folder.is_dir():
                raise FileNotFoundError(f"broker queue folder {folder} is missing")


def check_cache() -> None:
    """Write a short-lived key to the default cache and read it back."""
    key = f"paydesk:healthz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    try:
        if cache.get(key) != "ok":
            raise RuntimeError("the cache did not return the value just written")
    finally:
        cache.delete(key)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
}


def _timed(name: str, check: Callable[[], None]) -> CheckResult:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # any failure means unhealthy, never a 500
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        logger.warning("Health check %s failed: %r", name, error)
        return CheckResult(ok=False, ms=elapsed, error=type(error).__name__)
    return CheckResult(ok=True, ms=round((time.perf_counter() - started) * 1000, 1))


def run_checks() -> dict[str, CheckResult]:
    """Run every check and return its result by name."""
    return {name: _timed(name, check) for name, check in CHECKS.items()}
