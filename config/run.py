"""`make run`: prepare the database, then run web, Celery worker and beat, and the sandbox bank.

Run as `.venv/bin/python -m config.run`. With no environment set it needs no server:
SQLite and the filesystem broker under var/ (PAYDESK_VAR_DIR). With DATABASE_URL and
CELERY_BROKER_URL it runs on PostgreSQL and Redis, creating the database when missing.

Each child runs in its own process group, so that stopping it also stops what it forked
(the autoreloader's server, the worker's pool). Ctrl-C or SIGTERM stops every group and
exits 0; when one child dies on its own, the others are stopped and the exit is non-zero.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS = "config.settings.local"
STOP_GRACE_SECONDS = 10.0
READY_TIMEOUT_SECONDS = 90.0
COLOURS = {"setup": "35", "web": "32", "worker": "34", "beat": "36", "bank": "90", "run": "33"}

_output_lock = threading.Lock()


def say(name: str, line: str) -> None:
    """Print one line with a padded, coloured process-name prefix."""
    prefix = f"{name:<6} |"
    if sys.stdout.isatty():
        prefix = f"\033[{COLOURS.get(name, '0')}m{prefix}\033[0m"
    with _output_lock:
        sys.stdout.write(f"{prefix} {line.rstrip()}\n")
        sys.stdout.flush()


def _pump(name: str, stream: IO[str]) -> None:
    for line in stream:
        say(name, line)


class StopRequestedError(Exception):
    """Ctrl-C or SIGTERM arrived while the database was being prepared."""


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[str] | None = None
    pumps: list[threading.Thread] = field(default_factory=list)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
            self.argv,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            # Its own group: the terminal's Ctrl-C reaches only this runner, which then
            # stops each group in order, grandchildren included.
            start_new_session=True,
        )
        assert self.process.stdout is not None
        pump = threading.Thread(target=_pump, args=(self.name, self.process.stdout), daemon=True)
        pump.start()
        self.pumps.append(pump)
        say("run", f"started {self.name} (pid {self.pid})")

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def group_alive(self) -> bool:
        """Whether any process of this child's group is still there (reaping the leader)."""
        assert self.process is not None
        self.process.poll()
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def children_for(host: str, port: int) -> list[Child]:
    python = sys.executable
    return [
        Child("web", [python, "manage.py", "runserver", f"{host}:{port}"]),
        Child(
            "worker",
            [python, "-m", "celery", "-A", "config", "worker", "-l", "INFO", "--concurrency=2"],
        ),
        Child("beat", [python, "-m", "celery", "-A", "config", "beat", "-l", "INFO"]),
        # The sandbox acquirer (a fake bank); its address comes from SANDBOX_ACQUIRER_URL.
        Child("bank", [python, "manage.py", "sandbox_acquirer"]),
    ]


def run_step(argv: Sequence[str], env: dict[str, str]) -> None:
    """Run one preparation command with prefixed output; raise SystemExit when it fails."""
    with subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
        list(argv),
        cwd=BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
    ) as process:
        assert process.stdout is not None
        try:
            _pump("setup", process.stdout)
            code = process.wait()
        except StopRequestedError:
            process.terminate()
            process.wait()
            raise
    if code != 0:
        say("setup", f"`{' '.join(argv[1:])}` failed with exit code {code}")
        raise SystemExit(code)


def prepare_services() -> None:
    """Create what the first start needs: var/ folders and a missing PostgreSQL database.

    Stop at once, naming the URL, when the database server or the broker is unreachable.
    """
    import django
    from django.conf import settings

    django.setup()
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    elif database["ENGINE"] == "django.db.backends.postgresql":
        _ensure_postgres_database(database)
    # WhiteNoise warns on every request while STATIC_ROOT is missing (runserver serves static).
    for folder in (settings.STATIC_ROOT, settings.MEDIA_ROOT):
        Path(folder).mkdir(parents=True, exist_ok=True)
    broker_options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in broker_options and settings.CELERY_BROKER_URL.startswith("filesystem://"):
            Path(broker_options[key]).mkdir(parents=True, exist_ok=True)

    from kombu import Connection

    from config.health import check_broker

    try:
        check_broker()
    except Exception as error:  # any failure: explain and stop
        where = Connection(settings.CELERY_BROKER_URL).as_uri()  # password masked
        say("setup", f"The Celery broker is unreachable at {where}: {error}")
        raise SystemExit(1) from error


def _ensure_postgres_database(database: dict[str, object]) -> None:
    import psycopg
    from psycopg import sql
    from psycopg.abc import ConnParam
    from psycopg.conninfo import make_conninfo

    def param(key: str) -> str | None:
        value = database.get(key)
        return str(value) if value else None

    params: dict[str, ConnParam] = {
        "host": param("HOST"),
        "port": param("PORT"),
        "user": param("USER"),
        "password": param("PASSWORD"),
        "connect_timeout": 5,
    }
    name = str(database["NAME"])
    user = f"{params['user']}@" if params["user"] else ""
    where = f"postgres://{user}{params['host'] or 'localhost'}:{params['port'] or 5432}/{name}"
    try:
        conninfo = make_conninfo("", **params)  # leaves out the parameters that are None
        with psycopg.connect(conninfo, dbname="postgres", autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if exists.fetchone() is None:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                say("setup", f"created database {name}")
    except psycopg.OperationalError as error:
        say("setup", f"PostgreSQL is unreachable at {where}: {str(error).strip()}")
        raise SystemExit(1) from error


def wait_until_ready(url: str, stop: threading.Event, public_url: str) -> None:
    """Tell the user where to go once the web server answers /healthz."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  (our own URL)
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, OSError):
            stop.wait(0.5)
            continue
        if status == 200:
            say("run", f"Paydesk is ready. Open {public_url}  (Ctrl-C stops everything)")
        else:
            say("run", f"Open {public_url}  ({url} reports a failing dependency: {status})")
        return
    if not stop.is_set():
        say("run", f"The web server did not answer within {READY_TIMEOUT_SECONDS:.0f} s.")


def stop_children(children: list[Child]) -> None:
    """Stop every child's process group as a terminal's Ctrl-C would; SIGKILL after a grace.

    SIGINT to the whole group is what runserver and Celery expect from Ctrl-C: the worker
    shuts down warmly (finishing its current tasks), its pool processes ignore the signal.
    """
    started = [child for child in children if child.process is not None]
    for child in reversed(started):
        child.signal_group(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(child.group_alive() for child in started):
        time.sleep(0.1)
    for child in started:
        if child.group_alive():
            say("run", f"{child.name} did not stop in {STOP_GRACE_SECONDS:.0f} s; killing it")
            child.signal_group(signal.SIGKILL)
    for child in started:
        assert child.process is not None
        child.process.wait()
        for pump in child.pumps:
            pump.join(timeout=2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Not $HOST: some shells set it to the machine's name.
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--skip-setup", action="store_true", help="no migrate, no seed_demo")
    options = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # The sandbox acquirer listens 100 above the web port (8100 for 8000), so two runners on
    # different ports never clash; web, worker and bank all read it from this variable.
    env.setdefault("SANDBOX_ACQUIRER_URL", f"http://127.0.0.1:{options.port + 100}")
    public_url = f"http://localhost:{options.port}"

    stop = threading.Event()
    preparing = True

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if preparing:
            raise StopRequestedError

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)

    try:
        prepare_services()
        if not options.skip_setup:
            run_step([sys.executable, "manage.py", "migrate", "--noinput"], env)
            run_step([sys.executable, "manage.py", "seed_demo"], env)
    except StopRequestedError:
        say("run", "stopped before start")
        return 0
    preparing = False
    if stop.is_set():
        return 0

    children = children_for(options.host, options.port)
    exit_code = 0
    try:
        for child in children:
            child.start(env)
        health_url = f"http://{options.host}:{options.port}/healthz"
        threading.Thread(
            target=wait_until_ready, args=(health_url, stop, public_url), daemon=True
        ).start()
        while not stop.wait(0.2):
            dead = [c for c in children if c.process is not None and c.process.poll() is not None]
            if dead:
                child = dead[0]
                assert child.process is not None
                say("run", f"{child.name} exited with code {child.process.returncode}; stopping")
                code = child.process.returncode
                exit_code = code if code > 0 else 1  # killed by a signal, or a clean exit
                break
    finally:
        stop.set()
        say("run", "stopping web, worker, beat and bank")
        stop_children(children)
        say("run", "stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
