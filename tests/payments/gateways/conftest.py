"""Fixtures for the gateway tests: an adapter on the session's sandbox acquirer, and a
tiny HTTP receiver standing in for Paydesk's notify endpoint."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from payments.gateways.sandbox import SandboxGateway
from tests.helpers.sandbox_acquirer import SandboxAcquirer
from tests.payments.gateways.support import Delivery, NotifyReceiver


@pytest.fixture
def notify_receiver() -> Iterator[NotifyReceiver]:
    deliveries: list[Delivery] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                deliveries.append(Delivery("POST", self.path, dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "7")
            self.end_headers()
            self.wfile.write(b"success")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    port = server.server_address[1]
    try:
        yield NotifyReceiver(
            url=f"http://127.0.0.1:{port}/notify/sandbox/?merchant=m1",
            deliveries=deliveries,
            lock=lock,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def gateway(sandbox_acquirer: SandboxAcquirer) -> SandboxGateway:
    return sandbox_acquirer.adapter()
