"""`manage.py sandbox_acquirer`: starts, refuses bad options, stops cleanly on a signal."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command

from tests.helpers.sandbox_acquirer import (
    BASE_DIR,
    SandboxAcquirer,
    stop_process,
    wait_for_listening,
)


def test_out_of_range_rates_are_refused() -> None:
    with pytest.raises(CommandError, match="decline_rate must be between 0 and 1"):
        call_command("sandbox_acquirer", "--decline-rate", "1.5", "--in-memory")
    with pytest.raises(CommandError, match="must not exceed 1"):
        call_command(
            "sandbox_acquirer", "--decline-rate", "0.6", "--timeout-rate", "0.6", "--in-memory"
        )


def test_a_port_in_use_is_refused(sandbox_acquirer: SandboxAcquirer) -> None:
    port = str(urlsplit(sandbox_acquirer.base_url).port)

    with pytest.raises(CommandError, match=f"Cannot listen on 127.0.0.1:{port}"):
        call_command("sandbox_acquirer", "--port", port, "--in-memory")


def test_ctrl_c_stops_it_cleanly(tmp_path: Path) -> None:
    # given a running sandbox acquirer
    log_path = tmp_path / "acquirer.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "sandbox_acquirer", "--port", "0", "--in-memory"],
            cwd=BASE_DIR,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_listening(process, log_path)

        # when it gets SIGINT, as make run's runner sends
        process.send_signal(signal.SIGINT)

        # then it exits 0 and says so
        assert process.wait(timeout=10) == 0
        assert "Sandbox acquirer stopped" in log_path.read_text()
    finally:
        stop_process(process)
