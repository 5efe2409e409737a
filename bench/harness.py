"""Plumbing of the benchmarks: the throwaway database, gunicorn, the load generator, CPU use.

Everything here talks to 127.0.0.1 only, and every loop is bounded in time.
"""

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

HOST = "127.0.0.1"  # the only address a benchmark ever sends traffic to
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def loopback_url(url: str) -> str:
    """Return `url` if its host is this machine; refuse anything else."""
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK_NAMES:
        raise SystemExit(f"Refusing {url!r}: benchmarks only use servers on 127.0.0.1.")
    return url


def database_url(server_url: str, name: str) -> str:
    return server_url.rstrip("/") + "/" + name


def database_recreate(server_url: str, name: str) -> None:
    """Drop (if present) and create the database `name` on the server at `server_url`."""
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop(server_url: str, name: str) -> None:
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_execute(url: str, *statements: str) -> None:
    """Run maintenance statements (CHECKPOINT, VACUUM) outside any transaction."""
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def server_version(url: str) -> str:
    with psycopg.connect(url) as connection:
        row = connection.execute("SHOW server_version").fetchone()
        settings = connection.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('shared_buffers', 'synchronous_commit', 'fsync', 'max_connections')"
        ).fetchall()
    return f"PostgreSQL {row[0] if row else '?'} ({', '.join(f'{n}={v}' for n, v in settings)})"


def pgbench_tables_create(url: str, scale: int) -> str:
    """Create and fill pgbench's TPC-B tables with `pgbench -i`; return what was used."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise SystemExit(
            "pgbench is missing: install PostgreSQL's client programs "
            "(apt-get install postgresql-client)."
        )
    subprocess.run(
        [pgbench, "--initialize", "--quiet", f"--scale={scale}", url],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return f"pgbench -i -s {scale}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Gunicorn:
    """One gunicorn master started by the benchmark (and stopped by it, by pid)."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid)


def gunicorn_start(
    *, env: dict[str, str], workers: int, threads: int, log: Path, timeout: float = 60
) -> Gunicorn:
    """Start gunicorn on a free loopback port and wait until it answers HTTP."""
    port = free_port()
    worker_class = "gthread" if threads > 1 else "sync"
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"{HOST}:{port}",
        "--workers", str(workers), "--threads", str(threads),
        "--worker-class", worker_class,
        "--backlog", "2048", "--keep-alive", "5", "--timeout", "30",
        "--graceful-timeout", "5", "--log-level", "warning", "--error-logfile", "-",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    server = Gunicorn(process=process, port=port, log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            if s.recv(12).startswith(b"HTTP/") and len(server.worker_pids()) >= workers:
                return server
        time.sleep(0.3)
    gunicorn_stop(server)
    raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s; see {log}")


def gunicorn_stop(server: Gunicorn) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


# --- CPU accounting, from /proc ---


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    return text[text.rindex(")") + 2 :].split()


def children_of(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[1]) == parent:
                pids.append(int(entry.name))
    return pids


def _postgres_pids(database: str) -> list[int]:
    """PostgreSQL's own processes, and the backends connected to `database` only.

    Backends of other databases (another engineer's test run) are someone else's load.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            is_backend = "(" in title or "[local]" in title
            if not is_backend or f" {database} " in title:
                pids.append(int(entry.name))
    return pids


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: more than a few tenths means a noisy run."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _machine() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


@dataclass
class CpuUse:
    """CPU seconds per second of wall time ("cores") used while a load ran."""

    client: float = 0.0
    app: float = 0.0
    database: float = 0.0
    machine_busy: float = 0.0  # share of all cores
    extra: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def cpu_measured(server: Gunicorn, database: str) -> Iterator[CpuUse]:
    """Measure the CPU used by the load generator, gunicorn's workers and PostgreSQL
    (its own processes and the backends of `database`)."""
    use = CpuUse()
    started = time.monotonic()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = server.worker_pids()
    app, db = _cpu_seconds(workers), _cpu_seconds(_postgres_pids(database))
    busy, total = _machine()
    yield use
    wall = max(time.monotonic() - started, 1e-6)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    use.client = (
        after_children.ru_utime + after_children.ru_stime - children.ru_utime - children.ru_stime
    ) / wall
    app_after = _cpu_seconds(workers)
    use.app = sum(app_after[p] - app.get(p, 0.0) for p in app_after) / wall
    database_after = _cpu_seconds(_postgres_pids(database))
    use.database = sum(database_after[p] - db.get(p, 0.0) for p in database_after) / wall
    busy_after, total_after = _machine()
    use.machine_busy = (busy_after - busy) / max(total_after - total, 1e-6)


# --- load generation ---


def wrk_run(
    *, port: int, target: str, keys_file: Path, run_id: str, duration: int, concurrency: int
) -> dict[str, Any]:
    """Run wrk for `duration` seconds; return the figures its script prints (BENCH_JSON)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is missing: apt-get install wrk, or pass --loadgen python.")
    command = [
        wrk, "--threads", "2", "--connections", str(concurrency),
        "--duration", f"{duration}s", "--timeout", "5s",
        "--script", str(ROOT / "bench" / "wrk" / "post.lua"),
        f"http://{HOST}:{port}", "--", target, str(keys_file), run_id,
    ]  # fmt: skip
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return dict(json.loads(line.removeprefix("BENCH_JSON ")))
    raise SystemExit(f"wrk printed no figures:\n{completed.stdout}\n{completed.stderr}")
