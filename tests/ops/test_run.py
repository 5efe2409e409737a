"""`make run`'s process runner (config.run): starts web, worker and beat; stops them all.

It runs as a newcomer would run it, with no environment: SQLite and the filesystem broker
under a temporary var directory (these tests alone use SQLite, because that is the point).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass
class Runner:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> dict[str, int]:
        return {
            name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", self.log())
        }

    def get(self, path: str) -> int:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code
        except (urllib.error.URLError, OSError):
            return 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition: Callable[[], bool], timeout: float, runner: Runner, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if runner.process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} (runner exit {runner.process.poll()}):\n{runner.log()[-5000:]}")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One var directory for the module, so the SQLite database is migrated only once."""
    return tmp_path_factory.mktemp("run") / "var"


@pytest.fixture
def runner(var_dir: Path, tmp_path: Path) -> Iterator[Runner]:
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        PAYDESK_VAR_DIR=str(var_dir),
        PORT=str(free_port()),
    )
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "config.run"],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    runner = Runner(process=process, port=int(env["PORT"]), log_path=log_path)
    try:
        wait_for(
            lambda: "Open http://localhost:" in runner.log() and " ready." in runner.log(),
            START_TIMEOUT_SECONDS,
            runner,
            "web and worker did not come up",
        )
        yield runner
    finally:
        # Whatever happened, leave no process behind.
        for pid in [process.pid, *runner.children().values()]:
            if group_alive(pid):
                os.killpg(pid, signal.SIGKILL)
        process.wait()


def test_runner_serves_the_portal_and_ctrl_c_stops_every_process(runner: Runner) -> None:
    # given the portal is up, with its worker and beat
    assert runner.get("/healthz") == 200
    assert runner.get("/accounts/login/") == 200
    children = runner.children()
    assert sorted(children) == ["bank", "beat", "web", "worker"]
    assert f"Paydesk is ready. Open http://localhost:{runner.port}" in runner.log()

    # when the user presses Ctrl-C
    runner.process.send_signal(signal.SIGINT)

    # then the runner exits cleanly within the grace period, and no child's group survives
    assert runner.process.wait(timeout=STOP_TIMEOUT_SECONDS) == 0
    assert [name for name, pid in children.items() if group_alive(pid)] == []
    assert runner.get("/healthz") == 0


def test_runner_stops_the_others_and_fails_when_one_child_dies(runner: Runner) -> None:
    # given a running portal
    children = runner.children()

    # when beat dies on its own
    os.killpg(children["beat"], signal.SIGKILL)

    # then web and worker are stopped too, and the exit code says something went wrong
    assert runner.process.wait(timeout=STOP_TIMEOUT_SECONDS) != 0
    assert [name for name, pid in children.items() if group_alive(pid)] == []
    assert "beat exited with code -9; stopping" in runner.log()
