"""A Python load generator for machines without wrk: the same requests as bench/wrk/post.lua.

Closed loop, like wrk: `concurrency` connections (kept alive) spread over worker processes,
each sending its next request when the previous answer arrived, for `duration` seconds.
It needs far more CPU per request than wrk; on a 2-core machine it competes with the
server, so prefer wrk (`apt-get install wrk`) for figures you publish.
"""

import http.client
import json
import math
import multiprocessing
import threading
import time
from dataclasses import dataclass
from typing import Any

PATHS = {"payments": "/api/v1/payments", "reference": "/api/bench/tpcb"}


@dataclass(frozen=True)
class LoadSpec:
    host: str
    port: int
    target: str
    keys: tuple[str, ...]
    run_id: str
    duration: float


def _body(target: str, request_id: str, counter: int) -> bytes:
    if target == "payments":
        data: dict[str, Any] = {
            "amount": 100 + (counter * 7919) % 50000,
            "currency": "CNY",
            "channel": "alipay",
            "merchant_order_id": request_id,
            "region": "CN-ZJ",
            "description": "Benchmark order",
        }
    else:
        data = {"delta": (counter * 7919) % 10001 - 5000}
    return json.dumps(data).encode()


def _connection_loop(spec: LoadSpec, number: int, deadline: float, out: dict[str, Any]) -> None:
    connection = http.client.HTTPConnection(spec.host, spec.port, timeout=5)
    latencies: list[float] = []
    unexpected, failures, first_error, counter = 0, 0, "", 0
    while time.monotonic() < deadline:
        counter += 1
        request_id = f"{spec.run_id}-{number}-{counter}"
        headers = {
            "Authorization": f"Bearer {spec.keys[(counter + number) % len(spec.keys)]}",
            "Content-Type": "application/json",
            "Idempotency-Key": request_id,
        }
        started = time.perf_counter()
        try:
            connection.request(
                "POST", PATHS[spec.target], body=_body(spec.target, request_id, counter),
                headers=headers,
            )  # fmt: skip
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            failures += 1
            connection.close()
            connection = http.client.HTTPConnection(spec.host, spec.port, timeout=5)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status != 201:
            unexpected += 1
            first_error = first_error or f"{response.status} {body[:200].decode(errors='replace')}"
    connection.close()
    out.update(latencies=latencies, unexpected=unexpected, failures=failures, first=first_error)


def _process(spec: LoadSpec, first_number: int, threads: int) -> dict[str, Any]:
    deadline = time.monotonic() + spec.duration
    results: list[dict[str, Any]] = [{} for _ in range(threads)]
    workers = [
        threading.Thread(target=_connection_loop, args=(spec, first_number + i, deadline, out))
        for i, out in enumerate(results)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(spec.duration + 10)
    return {
        "latencies": [value for out in results for value in out.get("latencies", [])],
        "unexpected": sum(out.get("unexpected", 0) for out in results),
        "failures": sum(out.get("failures", 0) for out in results),
        "first": next((out["first"] for out in results if out.get("first")), ""),
    }


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def run(spec: LoadSpec, *, concurrency: int, processes: int = 2) -> dict[str, Any]:
    """Load the server for `spec.duration` seconds; return wrk's BENCH_JSON figures."""
    processes = max(1, min(processes, concurrency))
    per_process = [
        concurrency // processes + (i < concurrency % processes) for i in range(processes)
    ]
    firsts = [sum(per_process[:i]) for i in range(processes)]
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.starmap(
            _process,
            [(spec, first, count) for first, count in zip(firsts, per_process, strict=True)],
        )
    elapsed = time.monotonic() - started
    ordered = sorted(value for part in parts for value in part["latencies"])
    micro = 1_000_000
    return {
        "requests": len(ordered),
        "duration_us": int(min(elapsed, spec.duration) * micro),
        "unexpected_status": sum(part["unexpected"] for part in parts),
        "connect_errors": sum(part["failures"] for part in parts),
        "read_errors": 0,
        "write_errors": 0,
        "timeouts": 0,
        "mean_us": (sum(ordered) / len(ordered) * micro) if ordered else 0.0,
        "p50_us": int(_percentile(ordered, 0.50) * micro),
        "p95_us": int(_percentile(ordered, 0.95) * micro),
        "p99_us": int(_percentile(ordered, 0.99) * micro),
        "max_us": int((ordered[-1] if ordered else 0) * micro),
        "first_error": next((part["first"] for part in parts if part["first"]), ""),
    }
