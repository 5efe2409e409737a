"""The janitor task that purges expired WebAuthn challenges and email codes, and its schedule."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from accounts import tasks
from accounts.models import EmailCode, WebAuthnChallenge
from accounts.passkeys.ceremonies import challenge_issue
from accounts.passkeys.models import ChallengePurpose
from config.celery import app

pytestmark = pytest.mark.django_db


def _challenge(*, expired_ago: timedelta | None) -> WebAuthnChallenge:
    challenge = challenge_issue(purpose=ChallengePurpose.AUTHENTICATION)
    if expired_ago is not None:
        expires_at = timezone.now() - expired_ago
        WebAuthnChallenge.objects.filter(pk=challenge.pk).update(
            created_at=expires_at - timedelta(minutes=5), expires_at=expires_at
        )
    return challenge


def _code(email: str, *, expires_in: timedelta) -> EmailCode:
    expires_at = timezone.now() + expires_in
    return EmailCode.objects.create(
        email=email,
        purpose="payer_signup",
        code_hash="x" * 64,
        created_at=expires_at - timedelta(minutes=10),
        expires_at=expires_at,
    )


def test_the_task_deletes_records_expired_over_a_day_ago_and_keeps_the_others() -> None:
    # given records expired long ago, expired only just (kept a day), and still live
    old_challenge = _challenge(expired_ago=timedelta(days=2))
    recent_challenge = _challenge(expired_ago=timedelta(hours=1))
    live_challenge = _challenge(expired_ago=None)
    _code("old@example.com", expires_in=-timedelta(days=3))
    _code("recent@example.com", expires_in=-timedelta(minutes=30))
    _code("live@example.com", expires_in=timedelta(minutes=8))

    # when the scheduled task runs (as the worker would run it)
    deleted = tasks.passkey_records_purge.apply().get()

    # then only the records expired over a day ago are gone
    assert deleted == {"challenges": 1, "email_codes": 1}
    assert not WebAuthnChallenge.objects.filter(pk=old_challenge.pk).exists()
    assert sorted(WebAuthnChallenge.objects.values_list("pk", flat=True)) == sorted(
        [recent_challenge.pk, live_challenge.pk]
    )
    assert sorted(EmailCode.objects.values_list("email", flat=True)) == [
        "live@example.com",
        "recent@example.com",
    ]


def test_the_task_run_twice_deletes_nothing_the_second_time() -> None:
    _challenge(expired_ago=timedelta(days=2))
    tasks.passkey_records_purge.apply().get()

    assert tasks.passkey_records_purge.apply().get() == {"challenges": 0, "email_codes": 0}
    assert WebAuthnChallenge.objects.count() == 0


def test_the_purge_is_scheduled_hourly_in_the_one_schedule_table() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["accounts.passkey_records_purge"]

    assert entry["task"] == "accounts.tasks.passkey_records_purge"
    assert entry["schedule"] == crontab(minute=23)
    assert app.conf.beat_schedule["accounts.passkey_records_purge"]["task"] == entry["task"]
    assert tasks.passkey_records_purge.name == entry["task"]
