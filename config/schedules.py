"""Every periodic task of Paydesk, in one place.

Celery beat reads `CELERY_BEAT_SCHEDULE` (imported by the base settings); the
django-celery-beat database scheduler copies these entries into its tables at start, so
operators can see them in the admin. Add an entry here when an app needs a schedule;
never create periodic tasks from code elsewhere.
"""

from typing import Any

from celery.schedules import crontab

CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Janitor: expired sessions would otherwise pile up in the database forever.
    "accounts.session_cleanup": {
        "task": "accounts.tasks.session_cleanup",
        "schedule": crontab(minute=17),
    },
}
