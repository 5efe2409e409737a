"""The real sandbox acquirer (`manage.py sandbox_acquirer`) as a subprocess, for tests.

    def test_x(sandbox_acquirer, settings):
        sandbox_acquirer.use_in(settings)          # get_gateway() now talks to it
        result = get_gateway().pay(PayRequest(...))

One instance serves the whole session (state in a temporary directory), so use unique
references (`unique_reference()`). It runs with rates of 0 (only magic amounts misbehave),
no latency, a time-out outcome that waits the read timeout + 1 s, async results after
0.1 s and every notification delivered 3 times, 0.05 s apart. A test that changes the
rates uses `with sandbox_acquirer.configured(decline_rate=...)`, which restores them.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings

from payments.gateways.sandbox import SandboxGateway
from payments.gateways.signing import signature_headers

BASE_DIR = Path(__file__).resolve().parent.parent.parent
READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
ASYNC_DELAY_MS = 100
NOTIFY_REPEATS = 3
NOTIFY_INTERVAL_MS = 50


def unique_reference(prefix: str = "pay") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@dataclass
class SandboxAcquirer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    state_dir: Path
    hang_seconds: float
    async_delay_seconds: float = ASYNC_DELAY_MS / 1000
    notify_repeats: int = NOTIFY_REPEATS
    notify_interval_seconds: float = NOTIFY_INTERVAL_MS / 1000
    notify_url: str = ""  # the service's default; tests pass notify_url per request

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def adapter(self, **overrides: Any) -> SandboxGateway:
        """Return an adapter for this instance, with the settings' secrets and timeouts."""
        options: dict[str, Any] = {
            "base_url": self.base_url,
            "request_secret": settings.SANDBOX_ACQUIRER_REQUEST_SECRET,
            "response_secret": settings.SANDBOX_ACQUIRER_RESPONSE_SECRET,
            "connect_timeout": settings.PAYMENT_GATEWAY_CONNECT_TIMEOUT,
            "read_timeout": settings.PAYMENT_GATEWAY_READ_TIMEOUT,
        }
        return SandboxGateway(**{**options, **overrides})

    def use_in(self, django_settings: Any) -> None:
        """Point get_gateway() at this instance (pass pytest-django's `settings` fixture)."""
        django_settings.PAYMENT_GATEWAY = "sandbox"
        django_settings.SANDBOX_ACQUIRER_URL = self.base_url

    def admin(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        """Call an endpoint with a correctly signed request; return the decoded JSON body."""
        response = self.signed_request(method, path, payload)
        response.raise_for_status()
        return response.json()

    def signed_request(
        self, method: str, path: str, payload: dict[str, Any] | None = None, **sign: Any
    ) -> httpx.Response:
        """Send a request signed with the request secret (`sign` overrides, e.g. `now`)."""
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = signature_headers(
            sign.pop("secret", settings.SANDBOX_ACQUIRER_REQUEST_SECRET),
            method=method,
            path=path,
            body=body,
            **sign,
        )
        return httpx.request(
            method, self.base_url + path, content=body or None, headers=headers, timeout=5.0
        )

    def configure(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("POST", "/v1/admin/config", changes)
        return result

    @contextmanager
    def configured(self, **changes: Any) -> Iterator[dict[str, Any]]:
        """Change the running service's rates for a block, then put them back."""
        current = self.admin("GET", "/v1/admin/config")
        try:
            yield self.configure(**changes)
        finally:
            self.configure(**{name: current[name] for name in changes})

    def notify(
        self, kind: str, reference: str, *, status: str = "", notify_url: str = ""
    ) -> dict[str, Any]:
        """Make the service deliver one notification now (an earlier `status`: out of order)."""
        payload = {"kind": kind, "reference": reference, "status": status, "notify_url": notify_url}
        result: dict[str, Any] = self.admin("POST", "/v1/admin/notify", payload)
        return result


def wait_for_listening(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        found = re.search(r"listening on (http://\S+)", text)
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"the sandbox acquirer exited at start:\n{text[-4000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"the sandbox acquirer did not start:\n{log_path.read_text()[-4000:]}")


def _wait_until_answering(base_url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


@contextmanager
def running_sandbox_acquirer(state_dir: Path) -> Iterator[SandboxAcquirer]:
    """Start `manage.py sandbox_acquirer` on a free port, yield it when it answers, stop it."""
    hang_seconds = settings.PAYMENT_GATEWAY_READ_TIMEOUT + 1.0
    log_path = state_dir / "acquirer.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        # The same secrets as this process, even if a test run overrides them by environment.
        "SANDBOX_ACQUIRER_REQUEST_SECRET": settings.SANDBOX_ACQUIRER_REQUEST_SECRET,
        "SANDBOX_ACQUIRER_RESPONSE_SECRET": settings.SANDBOX_ACQUIRER_RESPONSE_SECRET,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    argv = [
        sys.executable, "manage.py", "sandbox_acquirer", "--host", "127.0.0.1", "--port", "0",
        "--state-dir", str(state_dir), "--seed", "1", "--hang-seconds", str(hang_seconds),
        "--async-delay-ms", str(ASYNC_DELAY_MS), "--notify-repeats", str(NOTIFY_REPEATS),
        "--notify-interval-ms", str(NOTIFY_INTERVAL_MS),
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
    try:
        base_url = wait_for_listening(process, log_path)
        _wait_until_answering(base_url)
        yield SandboxAcquirer(
            base_url=base_url,
            process=process,
            log_path=log_path,
            state_dir=state_dir,
            hang_seconds=hang_seconds,
        )
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM the process group, SIGKILL it after a grace; return the exit code."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode
