"""`manage.py sandbox_acquirer`: run the sandbox acquirer in the foreground.

    python manage.py sandbox_acquirer --port 8100 --decline-rate 0.03 --seed 7

Ctrl-C or SIGTERM stops it cleanly (exit 0). Secrets come from settings only, never from
the command line, where `ps` would show them. Guide: docs/sandbox-acquirer.md.
"""

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.gateways.sandbox_acquirer import SandboxConfig, build_server
from payments.gateways.sandbox_acquirer.config import ConfigInvalid


class Command(BaseCommand):
    help = "Run the sandbox acquirer (a fake bank over signed HTTP) in the foreground."
    # It uses no database and no other app: start fast, whatever their state.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        configured = urlsplit(settings.SANDBOX_ACQUIRER_URL)
        parser.add_argument("--host", default=configured.hostname or "127.0.0.1")
        parser.add_argument(
            "--port", type=int, default=configured.port or 8100, help="0 picks a free port"
        )
        parser.add_argument(
            "--notify-url",
            default=settings.SANDBOX_ACQUIRER_NOTIFY_URL,
            help="where to post notifications when a request names no notify_url",
        )
        parser.add_argument("--decline-rate", type=float, default=0.0)
        parser.add_argument("--timeout-rate", type=float, default=0.0)
        parser.add_argument("--async-rate", type=float, default=0.0)
        parser.add_argument("--latency-ms", type=int, default=0, help="mean added latency")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--hang-seconds",
            type=float,
            default=settings.PAYMENT_GATEWAY_READ_TIMEOUT + 2.0,
            help="how long a time-out outcome waits (default: the client's read timeout + 2 s)",
        )
        parser.add_argument("--async-delay-ms", type=int, default=1000)
        parser.add_argument("--notify-repeats", type=int, default=3)
        parser.add_argument("--notify-interval-ms", type=int, default=500)
        parser.add_argument(
            "--state-dir",
            type=Path,
            default=Path(settings.VAR_DIR) / "sandbox",
            help="SQLite state and daily bill files (default: var/sandbox)",
        )
        parser.add_argument(
            "--in-memory", action="store_true", help="keep no state on disk (forget on stop)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = SandboxConfig(
                request_secret=settings.SANDBOX_ACQUIRER_REQUEST_SECRET,
                response_secret=settings.SANDBOX_ACQUIRER_RESPONSE_SECRET,
                decline_rate=options["decline_rate"],
                timeout_rate=options["timeout_rate"],
                async_rate=options["async_rate"],
                latency_ms=options["latency_ms"],
                seed=options["seed"],
                hang_seconds=options["hang_seconds"],
                async_delay_ms=options["async_delay_ms"],
                notify_url=options["notify_url"],
                notify_repeats=options["notify_repeats"],
                notify_interval_ms=options["notify_interval_ms"],
                state_dir=None if options["in_memory"] else options["state_dir"],
                timezone=settings.TIME_ZONE,
            )
        except ConfigInvalid as error:
            raise CommandError(str(error)) from error
        try:
            server = build_server(config, options["host"], options["port"])
        except OSError as error:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {error}"
            ) from error

        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        # serve_forever in a thread: shutdown() must come from another thread than the loop.
        loop = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        loop.start()
        where = "memory" if config.state_dir is None else str(config.state_dir)
        self.stdout.write(f"Sandbox acquirer listening on {server.base_url} (state: {where})")
        self.stdout.flush()
        try:
            while not stop.wait(0.1):
                if not loop.is_alive():
                    raise CommandError("The sandbox acquirer's server loop stopped unexpectedly")
        finally:
            server.shutdown()
            server.server_close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Sandbox acquirer stopped")
        self.stdout.flush()
