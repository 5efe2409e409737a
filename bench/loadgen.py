"""Python load generators: the same requests as bench/wrk/post.lua, in two shapes.

`run`: closed loop, like wrk, for machines without wrk: `concurrency` connections (kept
alive) spread over worker processes, each sending its next request when the previous
answer arrived, for `duration` seconds. It measures capacity (req/s at saturation); its
latencies are queueing at saturation (Little's law: mean = concurrency / throughput). It
needs far more CPU per request than wrk; on a 2-core machine it competes with the server,
so prefer wrk (`apt-get install wrk`) for the closed-loop figures you publish.

`run_open`: open loop at a fixed rate, what wrk2's `-R` does (wrk2 is not packaged for
Debian). Request i is due at start + i / rate, whatever happened to the others; up to
`concurrency` requests are in flight (one keep-alive connection each) and a due request
waits in the client for a free connection. Its latency is counted from the time it was
due, not from when it could be sent: a slow answer delays the requests behind it, and
they count that delay (no coordinated omission). That is how a p99 target is checked
meaningfully: at a rate below capacity. One asyncio process, run as a child
(`python -m bench.loadgen`) so that its CPU is measured like wrk's.
"""

import argparse
import asyncio
import contextlib
import http.client
import json
import math
import multiprocessing
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
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


# --- open loop at a fixed rate ---

# After the last request was due, how long answers are awaited before the rest count as
# unfinished (a rate above capacity never drains).
DRAIN_SECONDS = 10.0


@dataclass
class _OpenState:
    latencies: list[float] = field(default_factory=list)  # from due time to full answer
    service: list[float] = field(default_factory=list)  # from send to full answer
    unexpected: int = 0
    failures: int = 0
    first_error: str = ""
    last_done: float = 0.0


def _request_bytes(spec: LoadSpec, number: int) -> bytes:
    request_id = f"{spec.run_id}-o-{number}"
    body = _body(spec.target, request_id, number)
    head = (
        f"POST {PATHS[spec.target]} HTTP/1.1\r\n"
        f"Host: {spec.host}:{spec.port}\r\n"
        f"Authorization: Bearer {spec.keys[number % len(spec.keys)]}\r\n"
        "Content-Type: application/json\r\n"
        f"Idempotency-Key: {request_id}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Read one HTTP/1.1 response; return status, body and whether the server keeps it open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _sep, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunks.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(chunk[:-2] for chunk in chunks)
    else:
        body = await reader.read()
        return status, body, False
    return status, body, headers.get("connection", "").lower() != "close"


async def _open_connection_worker(
    spec: LoadSpec, due: "asyncio.Queue[tuple[int, float] | None]", state: _OpenState
) -> None:
    loop = asyncio.get_running_loop()
    stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while (item := await due.get()) is not None:
        number, due_at = item
        sent_at = loop.time()
        try:
            if stream is None:
                stream = await asyncio.wait_for(
                    asyncio.open_connection(spec.host, spec.port), timeout=5
                )
            reader, writer = stream
            writer.write(_request_bytes(spec, number))
            status, body, keep_open = await asyncio.wait_for(_read_response(reader), timeout=5)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            state.failures += 1
            if stream is not None:
                stream[1].close()
            stream = None
            continue
        done = state.last_done = loop.time()
        state.latencies.append(done - due_at)
        state.service.append(done - sent_at)
        if status != 201:
            state.unexpected += 1
            state.first_error = state.first_error or (
                f"{status} {body[:200].decode(errors='replace')}"
            )
        if not keep_open:
            writer.close()
            stream = None
    if stream is not None:
        stream[1].close()


async def _open_loop(spec: LoadSpec, *, rate: float, concurrency: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    state = _OpenState()
    due: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    workers = [
        asyncio.create_task(_open_connection_worker(spec, due, state)) for _ in range(concurrency)
    ]
    total = max(1, int(rate * spec.duration))
    started = loop.time()
    for number in range(total):
        due_at = started + number / rate
        delay = due_at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait((number, due_at))
    for _ in workers:
        due.put_nowait(None)
    drained = True
    try:
        await asyncio.wait_for(asyncio.gather(*workers), timeout=DRAIN_SECONDS)
    except TimeoutError:
        drained = False
    elapsed = max(state.last_done, started + 1e-6) - started
    unfinished = total - len(state.latencies) - state.failures
    return _open_figures(state, total, elapsed, rate, unfinished if not drained else 0)


def _open_figures(
    state: _OpenState, total: int, elapsed: float, rate: float, unfinished: int
) -> dict[str, Any]:
    ordered = sorted(state.latencies)
    service = sorted(state.service)
    micro = 1_000_000
    return {
        "requests": len(ordered),
        "scheduled": total,
        "rate": rate,
        "duration_us": int(elapsed * micro),
        "unexpected_status": state.unexpected,
        "connect_errors": state.failures,
        "read_errors": 0,
        "write_errors": 0,
        # Due but never answered before the drain ended: the rate is above capacity.
        "timeouts": unfinished,
        "mean_us": (sum(ordered) / len(ordered) * micro) if ordered else 0.0,
        "p50_us": int(_percentile(ordered, 0.50) * micro),
        "p95_us": int(_percentile(ordered, 0.95) * micro),
        "p99_us": int(_percentile(ordered, 0.99) * micro),
        "max_us": int((ordered[-1] if ordered else 0) * micro),
        "service_p99_us": int(_percentile(service, 0.99) * micro),
        "first_error": state.first_error,
    }


def run_open(spec: LoadSpec, *, rate: float, concurrency: int) -> dict[str, Any]:
    """Send `rate` requests a second for `spec.duration` seconds, at most `concurrency` in
    flight; return wrk's BENCH_JSON figures, latencies counted from each request's due time."""
    if not 0 < rate <= 10_000:
        raise ValueError("rate must be between 0 and 10,000 requests a second")
    return asyncio.run(_open_loop(spec, rate=rate, concurrency=concurrency))


def open_loop_subprocess(
    spec: LoadSpec, *, keys_file: Path, rate: float, concurrency: int
) -> dict[str, Any]:
    """Run `run_open` in a child process (its CPU then counts as the client's, like wrk's)."""
    import subprocess

    command = [
        sys.executable, "-m", "bench.loadgen", "--host", spec.host, "--port", str(spec.port),
        "--target", spec.target, "--keys-file", str(keys_file), "--run-id", spec.run_id,
        "--duration", str(spec.duration), "--rate", f"{rate:.3f}",
        "--concurrency", str(concurrency),
    ]  # fmt: skip
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=spec.duration + DRAIN_SECONDS + 60,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return dict(json.loads(line.removeprefix("BENCH_JSON ")))
    raise SystemExit(f"the open-loop generator printed no figures:\n{completed.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.loadgen`: one open-loop run, printed as a BENCH_JSON line."""
    parser = argparse.ArgumentParser(description="Open-loop load at a fixed rate (127.0.0.1).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", choices=sorted(PATHS), required=True)
    parser.add_argument("--keys-file", type=Path, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--rate", type=float, required=True, help="Requests a second.")
    parser.add_argument("--concurrency", type=int, default=16, help="Most in flight.")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the load only ever goes to this machine (127.0.0.1)")
    if not 0 < args.duration <= 300 or not 1 <= args.concurrency <= 256:
        parser.error("--duration is at most 300 s, --concurrency 1 to 256")
    spec = LoadSpec(
        host=args.host,
        port=args.port,
        target=args.target,
        keys=tuple(args.keys_file.read_text().split()),
        run_id=args.run_id,
        duration=args.duration,
    )
    figures = run_open(spec, rate=args.rate, concurrency=args.concurrency)
    print("BENCH_JSON " + json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
