"""What one request costs inside the app: SQL statements, commits, cache calls, CPU.

    .venv/bin/python -m bench.create_profile                 # statements and CPU per request
    .venv/bin/python -m bench.create_profile --show-sql      # and every statement of each
    .venv/bin/python -m bench.create_profile --cprofile 25   # and the top 25 functions

No server and no network: the WSGI application is called in a loop in this process, with
the production settings of bench.settings, on the throwaway database
`paydesk_bench_profile` (dropped at the end unless --keep-database). For each request kind
(the TPC-B reference, POST /api/v1/payments with and without an Idempotency-Key, GET of
one payment) it prints the SQL statements, commits, savepoints and cache calls of one
request, then the process's CPU per request over a loop. CPU per request is far steadier
than req/s on a shared machine: compare the kinds with each other, in the same run.
"""

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from bench import harness
from bench.payments_create import SERVER_URL, _environment, _merchants_with_keys

KINDS = ("reference", "payments_key", "payments_no_key", "payment_get")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="Measured requests per kind.")
    parser.add_argument("--warmup", type=int, default=50, help="Warm-up requests per kind.")
    parser.add_argument("--rounds", type=int, default=3, help="Loops per kind (best kept).")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--show-sql", action="store_true", help="Print every statement.")
    parser.add_argument("--cprofile", type=int, default=0, help="Top N functions by CPU.")
    parser.add_argument("--sort", choices=("cumulative", "tottime"), default="cumulative")
    parser.add_argument("--database", default="paydesk_bench_profile")
    parser.add_argument("--server-url", default=os.environ.get("BENCH_SERVER_URL", SERVER_URL))
    parser.add_argument(
        "--cache-url", default=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/14")
    )
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 20_000 or not 0 <= args.warmup <= 2_000:
        parser.error("--requests is 1 to 20000, --warmup 0 to 2000")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds is 1 to 10")
    args.kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    if not args.kinds or any(kind not in KINDS for kind in args.kinds):
        parser.error(f"--kinds is a list of {', '.join(KINDS)}")
    harness.loopback_url(args.server_url)
    harness.loopback_url(args.cache_url)
    # The same environment as the gunicorn of bench.payments_create.
    args.workers, args.threads, args.merchants = 1, 1, 3
    return args


class Requests:
    """Build WSGI environs for each kind, every one unique (order id, key)."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.counter = 0
        self.run = f"p{time.time_ns():x}"
        self.payment_id = ""

    def environ(self, kind: str) -> dict[str, Any]:
        self.counter += 1
        request_id = f"{self.run}-{self.counter}"
        key = self.keys[self.counter % len(self.keys)]
        method, path, body, headers = "POST", "/api/v1/payments", b"", {}
        if kind == "reference":
            path = "/api/bench/tpcb"
            body = json.dumps({"delta": self.counter % 10001 - 5000}).encode()
        elif kind in ("payments_key", "payments_no_key"):
            body = json.dumps(
                {
                    "amount": 100 + (self.counter * 7919) % 50000,
                    "currency": "CNY",
                    "channel": "alipay",
                    "merchant_order_id": request_id,
                    "region": "CN-ZJ",
                    "description": "Benchmark order",
                }
            ).encode()
            if kind == "payments_key":
                headers["HTTP_IDEMPOTENCY_KEY"] = request_id
        else:
            method, path, key = "GET", f"/api/v1/payments/{self.payment_id}", self.keys[0]
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": harness.HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": harness.HOST,
            "HTTP_HOST": harness.HOST,
            "HTTP_AUTHORIZATION": f"Bearer {key}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        environ.update(headers)
        return environ


def _call(application: Callable[..., Any], environ: dict[str, Any]) -> tuple[str, bytes]:
    status: list[str] = []

    def start_response(line: str, headers: list[Any], exc_info: Any = None) -> None:
        status.append(line)

    chunks = application(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return status[0], body


@contextlib.contextmanager
def _counted() -> Iterator[dict[str, Any]]:
    """Capture the SQL statements, commits and cache calls made inside the block."""
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    found: dict[str, Any] = {"commits": 0, "cache": Counter()}
    real_commit = connection.commit

    def commit() -> None:
        found["commits"] += 1
        real_commit()

    cache = caches["default"]
    patched = {}
    for name in ("get", "set", "add", "delete", "incr", "get_many", "set_many", "touch"):
        real = getattr(cache, name)

        def wrapper(*args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            found["cache"][_name] += 1
            return _real(*args, **kwargs)

        patched[name] = wrapper
        setattr(cache, name, wrapper)
    connection.commit = commit  # type: ignore[method-assign]
    try:
        with CaptureQueriesContext(connection) as queries:
            yield found
    finally:
        del connection.commit
        for name in patched:
            delattr(cache, name)
    found["sql"] = [query["sql"] for query in queries.captured_queries]


def _statement_kind(sql: str) -> str:
    words = sql.split()
    if not words:
        return "?"
    first = words[0].upper()
    if first in ("SELECT", "INSERT", "UPDATE", "DELETE") and "pg_try_advisory" in sql:
        return "SELECT (advisory lock)"
    return "SAVEPOINT/RELEASE" if first in ("SAVEPOINT", "RELEASE", "ROLLBACK") else first


def _profile_one(application: Any, requests: Requests, kind: str, show_sql: bool) -> str:
    with _counted() as found:
        status, body = _call(application, requests.environ(kind))
    if kind == "payments_key" and not requests.payment_id:
        requests.payment_id = json.loads(body)["id"]
    kinds = Counter(_statement_kind(sql) for sql in found["sql"])
    savepoints = sum(sql.startswith("SAVEPOINT") for sql in found["sql"])
    lines = [
        f"{kind}: HTTP {status}; {len(found['sql'])} SQL statements "
        f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), "
        f"{found['commits']} commit(s), {savepoints} savepoint(s); cache calls: "
        f"{dict(found['cache']) or 'none'}"
    ]
    if show_sql:
        lines += [f"    {sql[:220]}" for sql in found["sql"]]
    return "\n".join(lines)


def _cpu_per_request(application: Any, requests: Requests, kind: str, count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        status, body = _call(application, requests.environ(kind))
        if not status.startswith(("200", "201")):
            raise SystemExit(f"{kind}: {status} {body[:300]!r}")
    return (time.process_time() - started) / count * 1000


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    env = _environment(args)
    env["DATABASE_URL"] = harness.database_url(args.server_url, args.database)
    database = env["DATABASE_URL"]
    print(f"Load average: {harness.load_average()}")
    harness.database_recreate(args.server_url, args.database)
    try:
        os.environ.update(env)
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        keys = _merchants_with_keys(args.merchants)
        harness.pgbench_tables_create(database, 1)
        harness.database_execute(database, "VACUUM ANALYZE")
        from django.core.wsgi import get_wsgi_application

        application = get_wsgi_application()
        requests = Requests(keys)
        kinds = sorted(args.kinds, key=lambda kind: kind == "payment_get")  # it needs a payment
        if "payment_get" in kinds and "payments_key" not in kinds:
            kinds.insert(0, "payments_key")
        for kind in kinds:
            for _ in range(args.warmup):
                _call(application, requests.environ(kind))
            print(_profile_one(application, requests, kind, args.show_sql))
        print()
        # Kinds take turns, round after round, so that a burst of other work on the machine
        # hits them alike; the best loop of each is kept.
        loops: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind in kinds:
                loops[kind].append(_cpu_per_request(application, requests, kind, args.requests))
        for kind in kinds:
            print(
                f"{kind:<18} {min(loops[kind]):6.2f} ms of CPU per request (best of "
                f"{args.rounds} loops: {', '.join(f'{value:.2f}' for value in loops[kind])})"
            )
        if args.cprofile:
            for kind in kinds:
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                _cpu_per_request(application, requests, kind, args.requests)
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.cprofile)
                print(f"\n--- {kind} ---\n{out.getvalue()}")
        from django.db import connections

        connections.close_all()
    finally:
        if not args.keep_database:
            harness.database_drop(args.server_url, args.database)
    print(f"Load average: {harness.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
