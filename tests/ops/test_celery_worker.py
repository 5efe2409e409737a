"""Tasks executed by a real Celery worker on the Redis broker, against the test database."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.tasks import ping, session_cleanup
from tests.helpers.celery_worker import CeleryWorker, wait_until

pytestmark = pytest.mark.celery


def test_ping_queued_on_commit_is_executed_by_the_worker(
    transactional_db: None, celery_worker_process: CeleryWorker
) -> None:
    # given a ping queued when the transaction commits
    token = uuid.uuid4().hex
    with transaction.atomic():
        transaction.on_commit(lambda: ping.delay(token))

    # when the worker has run it
    event = wait_until(
        lambda: AuditEvent.objects.filter(action="ops.ping", after__token=token).first(),
        timeout=20,
        message=f"no ops.ping event; worker log:\n{celery_worker_process.log()[-3000:]}",
    )

    # then its audit event is in the database, written by the worker's process
    assert event is not None
    assert event.after == {"token": token}
    assert event.actor is None
    assert AuditEvent.objects.filter(action="ops.ping").count() == 1


def test_session_cleanup_by_the_worker_deletes_only_expired_sessions(
    transactional_db: None, celery_worker_process: CeleryWorker
) -> None:
    # given one expired and one live session
    now = timezone.now()
    Session.objects.create(
        session_key="expired" + "x" * 25, session_data="", expire_date=now - timedelta(minutes=1)
    )
    Session.objects.create(
        session_key="live" + "x" * 28, session_data="", expire_date=now + timedelta(hours=1)
    )

    # when the janitor task runs on the worker
    session_cleanup.delay()
    wait_until(
        lambda: not Session.objects.filter(session_key__startswith="expired").exists(),
        timeout=20,
        message=f"expired session still there; worker log:\n{celery_worker_process.log()[-3000:]}",
    )

    # then the live session is kept
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live" + "x" * 28]
