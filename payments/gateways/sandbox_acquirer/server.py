"""The sandbox acquirer's HTTP face: a threaded http.server, signed both ways.

Every request except GET /healthz must carry Paydesk's signature (request secret); every
response, errors included, carries the acquirer's (response secret). Endpoints, bodies and
magic amounts: docs/sandbox-acquirer.md.
"""

import json
import logging
import re
from collections.abc import Callable
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from payments.gateways.sandbox_acquirer.acquirer import Acquirer, ApiError
from payments.gateways.sandbox_acquirer.config import SandboxConfig
from payments.gateways.signing import (
    MemoryNonceStore,
    SignatureError,
    signature_headers,
    verify_signature,
)

logger = logging.getLogger("payments.sandbox_acquirer")

MAX_BODY_BYTES = 64 * 1024
Route = tuple[str, re.Pattern[str], Callable[[Acquirer, dict[str, Any], str], Any]]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise ApiError(400, "invalid_request", "the bill date must be YYYY-MM-DD") from error


ROUTES: list[Route] = [
    ("POST", re.compile(r"^/v1/pay$"), lambda a, body, _: a.pay(body)),
    ("GET", re.compile(r"^/v1/payments/([^/]+)$"), lambda a, _, ref: a.payment(ref)),
    ("POST", re.compile(r"^/v1/refunds$"), lambda a, body, _: a.refund(body)),
    ("GET", re.compile(r"^/v1/refunds/([^/]+)$"), lambda a, _, ref: a.refund_status(ref)),
    ("GET", re.compile(r"^/v1/bills/([^/]+)$"), lambda a, _, day: a.bill_csv(_day(day))),
    ("GET", re.compile(r"^/v1/admin/config$"), lambda a, _, __: a.config.public()),
    ("POST", re.compile(r"^/v1/admin/config$"), lambda a, body, _: a.configure(body)),
    ("POST", re.compile(r"^/v1/admin/notify$"), lambda a, body, _: a.renotify(body)),
]


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True  # a hanging "time out" answer must not hold up shutdown
    allow_reuse_port = False  # a second instance on a busy port must fail, not share it

    def __init__(self, address: tuple[str, int], acquirer: Acquirer) -> None:
        self.acquirer = acquirer
        self.nonces = MemoryNonceStore()
        super().__init__(address, SandboxHandler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def server_close(self) -> None:
        super().server_close()
        self.acquirer.close()


class SandboxHandler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    server_version = "PaydeskSandboxAcquirer/1.0"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def _handle(self, method: str) -> None:
        try:
            status, body, content_type = self._respond(method)
        except ApiError as error:
            status, body = error.status, json.dumps(error.as_dict()).encode()
            content_type = "application/json"
        except Exception:  # answer 500 rather than drop the connection; keep the trace
            logger.exception("sandbox acquirer failed on %s %s", method, self.path)
            failure = ApiError(500, "internal_error", "the sandbox acquirer failed")
            status, body = 500, json.dumps(failure.as_dict()).encode()
            content_type = "application/json"
        self._send(method, status, body, content_type)

    def _respond(self, method: str) -> tuple[int, bytes, str]:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body must not be parsed as a request
            raise ApiError(
                413, "payload_too_large", f"bodies are limited to {MAX_BODY_BYTES} bytes"
            )
        raw = self.rfile.read(length) if length else b""
        if method == "GET" and path == "/healthz":
            return 200, b'{"status":"ok"}', "application/json"
        acquirer = self.server.acquirer
        try:
            verify_signature(
                acquirer.config.request_secret,
                method=method,
                path=self.path,
                headers=dict(self.headers.items()),
                body=raw,
                nonces=self.server.nonces,
            )
        except SignatureError as error:
            logger.warning("refused %s %s: %s", method, self.path, error.reason)
            raise ApiError(401, error.reason, str(error)) from error
        data: dict[str, Any] = {}
        if method == "POST":
            try:
                data = json.loads(raw or b"{}")
            except ValueError as error:
                raise ApiError(400, "invalid_json", "the body is not JSON") from error
            if not isinstance(data, dict):
                raise ApiError(400, "invalid_json", "the body must be a JSON object")
        allowed = False
        for route_method, pattern, action in ROUTES:
            match = pattern.match(path)
            if not match:
                continue
            allowed = True
            if route_method == method:
                result = action(acquirer, data, unquote(match.group(1)) if match.groups() else "")
                if isinstance(result, str):  # the bill
                    return 200, result.encode(), "text/csv; charset=utf-8"
                return 200, json.dumps(result).encode(), "application/json"
        if allowed:
            raise ApiError(405, "method_not_allowed", f"{method} is not allowed here")
        raise ApiError(404, "route_not_found", "no such endpoint")

    def _send(self, method: str, status: int, body: bytes, content_type: str) -> None:
        headers = signature_headers(
            self.server.acquirer.config.response_secret,
            method=method,
            path=self.path,
            body=body,
            status=status,
        )
        try:
            self.send_response(status, HTTPStatus(status).phrase)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a "time out" outcome): the transaction stands regardless.
            self.close_connection = True


def build_server(config: SandboxConfig, host: str, port: int) -> SandboxServer:
    """Bind the sandbox acquirer to host:port (0 picks a free port); serve_forever() runs it."""
    return SandboxServer((host, port), Acquirer(config))
