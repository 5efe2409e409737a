"""Fixtures shared by the whole suite. Factories live in tests/factories.py."""

import os
from collections.abc import Iterator
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.utils import translation

from accounts.roles import Role, sync_role_groups


@pytest.fixture(autouse=True)
def _role_groups(db: None) -> None:
    """Keep the role groups present: transactional tests flush them away."""
    if not Group.objects.filter(name=Role.ADMINISTRATOR).exists():
        sync_role_groups()


@pytest.fixture(autouse=True)
def _english_by_default() -> Iterator[None]:
    """Start every test in English: a request to a /zh-hans/ page must not leak into the next."""
    translation.activate("en")
    yield
    translation.activate("en")


# 2FA-verified clients (helpers in tests/helpers/twofactor.py).
from tests.helpers.twofactor import VerifiedClientFactory, verified_client_factory  # noqa: E402


@pytest.fixture
def verified_client(db: None) -> VerifiedClientFactory:
    """Return `make(user) -> Client`: a new test client signed in with a 2FA-verified session.

    Each call gives a separate client, so one test can act as several users.
    """
    return verified_client_factory()


# A real Celery worker on the Redis broker (helpers in tests/helpers/celery_worker.py).
from tests.helpers.celery_worker import (  # noqa: E402
    CeleryWorker,
    parked_queue,
    route_tasks_to,
    running_celery_worker,
    session_queue,
)


@pytest.fixture(scope="session", autouse=True)
def celery_test_queue() -> Iterator[str]:
    """Send every task of this test session to a queue of its own, deleted at the end."""
    with session_queue() as queue:
        yield queue


@pytest.fixture(autouse=True)
def _celery_task_routes(request: pytest.FixtureRequest, celery_test_queue: str) -> None:
    """Let the session's worker run only the tasks of tests that use it.

    Once started, the worker lives for the session; a later test that queues a task (a
    payment confirmed on commit) and does the work itself must not race it, so its tasks
    go to a queue nothing consumes (deleted at the end).
    """
    if "celery_worker_process" in request.fixturenames:
        route_tasks_to(celery_test_queue)
    else:
        route_tasks_to(parked_queue(celery_test_queue))


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, celery_test_queue: str, sandbox_acquirer: "SandboxAcquirer"
) -> Iterator[CeleryWorker]:
    """Start one real `celery -A config worker` for the session, on the test database.

    Tests using it need `transactional_db` (the worker sees committed rows only) and should
    poll with `tests.helpers.celery_worker.wait_until`. The worker's gateway is the
    session's sandbox acquirer (payment submission tasks call it); the acquirer's
    notifications to the worker's notify URL go nowhere.
    """
    acquirer_environment = {
        "SANDBOX_ACQUIRER_URL": sandbox_acquirer.base_url,
        "PAYMENT_NOTIFY_BASE_URL": "http://127.0.0.1:9",
    }
    with (
        mock.patch.dict(os.environ, acquirer_environment),
        running_celery_worker(celery_test_queue) as worker,
    ):
        yield worker


# The real sandbox acquirer service (helpers in tests/helpers/sandbox_acquirer.py).
from tests.helpers.sandbox_acquirer import SandboxAcquirer, running_sandbox_acquirer  # noqa: E402


@pytest.fixture(scope="session")
def sandbox_acquirer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxAcquirer]:
    """Start `manage.py sandbox_acquirer` on a free port for the session; stop it at the end.

    Yields its `base_url`, `adapter()`, `use_in(settings)` (point get_gateway() at it),
    `configured(**rates)` and `notify(...)`. It keeps state for the whole session: use
    unique references (`tests.helpers.sandbox_acquirer.unique_reference`).
    """
    with running_sandbox_acquirer(tmp_path_factory.mktemp("sandbox-acquirer")) as acquirer:
        yield acquirer
