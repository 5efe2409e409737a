"""A real Celery worker for integration tests, on the Redis broker and the pytest database.

    def test_x(transactional_db, celery_worker_process):
        transaction.on_commit(lambda: some_task.delay(row.pk))
        wait_until(lambda: Row.objects.filter(done=True).exists())

Every task the test process sends goes to one queue named for this test session (the
autouse `celery_test_queue` fixture), deleted at the end; the worker consumes only that
queue. So two suites running at once on the same Redis never take each other's tasks, and
no stale message from an earlier run is ever executed. Tests need `transactional_db`: the
worker is another process and sees committed rows only.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent.parent
READY_TIMEOUT_SECONDS = 40.0
STOP_TIMEOUT_SECONDS = 15.0

T = TypeVar("T")


@dataclass(frozen=True)
class CeleryWorker:
    queue: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until(
    predicate: Callable[[], T], timeout: float = 20.0, interval: float = 0.1, message: str = ""
) -> T:
    """Poll `predicate` until it returns something truthy, and return that; fail on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout} s")
        time.sleep(interval)


def database_url_for_current_connection() -> str:
    """Return a DATABASE_URL naming the database this process is connected to (the test DB)."""
    config = connection.settings_dict
    user = quote(config.get("USER") or "", safe="")
    password = quote(config.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = config.get("HOST") or "127.0.0.1"
    port = config.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{quote(config['NAME'], safe='')}"


def _route_to(queue: str) -> Callable[..., dict[str, str]]:
    def route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> Any:
        return {"queue": queue}

    return route


def parked_queue(queue: str) -> str:
    """Return the queue for tasks of tests that use no worker: nothing consumes it."""
    return f"{queue}-parked"


def route_tasks_to(queue: str) -> None:
    """Send every task this process sends from now on to `queue`."""
    from config.celery import app

    app.conf.task_routes = (_route_to(queue),)
    app.amqp.flush_routes()
    # Celery caches the router built from the old routes: build it again.
    app.amqp.router = app.amqp.Router()  # type: ignore[misc]  # a cached property


@contextmanager
def session_queue() -> Iterator[str]:
    """Route every task this process sends to a queue of its own; drop that queue at the end.

    Tasks queued by tests without a worker land there (or in its parked twin, see
    `route_tasks_to`) instead of piling up in the shared default queue, where a later
    worker (of any suite on the same Redis) would run them.
    """
    from config.celery import app

    queue = f"paydesk-test-{uuid.uuid4().hex[:12]}"
    previous_routes = app.conf.task_routes
    route_tasks_to(queue)
    try:
        yield queue
    finally:
        app.conf.task_routes = previous_routes
        app.amqp.flush_routes()
        app.amqp.router = app.amqp.Router()  # type: ignore[misc]  # a cached property
        _delete_queue(app, queue)
        _delete_queue(app, parked_queue(queue))


@contextmanager
def running_celery_worker(queue: str) -> Iterator[CeleryWorker]:
    """Start `celery -A config worker` consuming `queue`, yield it, then stop it.

    Messages already in the queue are purged first: they come from earlier tests of this
    session, whose rows are gone.
    """
    from config.celery import app

    _purge_queue(app, queue)
    log_dir = Path(tempfile.mkdtemp(prefix="paydesk-celery-"))
    log_path = log_dir / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url_for_current_connection(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # Tasks the worker itself sends (a retry's delayed task) stay on this session's queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    argv = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool=solo", "--loglevel=INFO", "--queues", queue, "--hostname", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            argv,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = CeleryWorker(queue=queue, process=process, log_path=log_path)
    try:
        wait_until(
            lambda: process.poll() is not None or " ready." in worker.log(),
            timeout=READY_TIMEOUT_SECONDS,
            interval=0.2,
            message=f"the Celery worker did not start:\n{worker.log()[-4000:]}",
        )
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited at start:\n{worker.log()[-4000:]}")
        yield worker
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # warm shutdown
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _declared_channel(broker: Any, app: Any, queue: str) -> Any:
    channel = broker.default_channel
    # Declaring teaches this channel the queue's bindings, so that delete drops them too.
    app.amqp.queues[queue].bind(channel).declare()
    return channel


def _purge_queue(app: Any, queue: str) -> None:
    with app.connection_for_write() as broker:
        _declared_channel(broker, app, queue).queue_purge(queue)


def _delete_queue(app: Any, queue: str) -> None:
    """Leave nothing behind on the shared Redis; best effort, Redis may be down."""
    from kombu import Connection

    with Connection(app.conf.broker_url, connect_timeout=2) as broker:
        try:
            broker.ensure_connection(max_retries=0)
        except broker.connection_errors:
            return  # never used, or Redis is down: there is nothing to clean
        _declared_channel(broker, app, queue).queue_delete(queue)
