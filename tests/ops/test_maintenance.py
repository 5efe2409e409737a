"""The janitor (session_cleanup), the ping service and the one schedule table."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts import tasks
from accounts.models import AuditEvent
from accounts.services.maintenance import ping, session_cleanup
from config.celery import app

pytestmark = pytest.mark.django_db


def make_session(key: str, expires_in: timedelta) -> None:
    Session.objects.create(
        session_key=key.ljust(32, "x"), session_data="", expire_date=timezone.now() + expires_in
    )


def test_session_cleanup_deletes_expired_sessions_and_keeps_live_ones() -> None:
    make_session("expired-a", timedelta(seconds=-1))
    make_session("expired-b", timedelta(days=-3))
    make_session("live", timedelta(minutes=5))

    deleted = session_cleanup()

    assert deleted == 2
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live".ljust(32, "x")]


def test_session_cleanup_twice_deletes_nothing_the_second_time() -> None:
    make_session("expired", timedelta(seconds=-1))
    session_cleanup()

    assert session_cleanup() == 0


def test_ping_records_an_ops_ping_audit_event() -> None:
    event = ping(token="abc123")

    assert list(AuditEvent.objects.values_list("action", "after", "actor")) == [
        ("ops.ping", {"token": "abc123"}, None)
    ]
    assert event.action == "ops.ping"


def test_session_cleanup_is_scheduled_hourly_in_the_one_schedule_table() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["accounts.session_cleanup"]

    assert entry["task"] == "accounts.tasks.session_cleanup"
    assert entry["schedule"] == crontab(minute=17)
    assert app.conf.beat_schedule["accounts.session_cleanup"]["task"] == entry["task"]
    assert tasks.session_cleanup.name == entry["task"]
