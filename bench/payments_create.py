"""Benchmark: POST /api/v1/payments against pgbench's TPC-B through Django, under gunicorn.

    .venv/bin/python -m bench.payments_create            # or: make bench
    .venv/bin/python -m bench.payments_create --duration 20 --warmup 5 --rounds 2 --markdown

It creates the throwaway database `paydesk_bench` (dropped at the end unless
--keep-database), migrates it, makes approved merchants with live API keys through the
merchants services, fills pgbench's TPC-B tables (`pgbench -i`), starts gunicorn with
bench.settings (production settings plus the reference endpoint) and loads it, scenario
after scenario. Closed loop (wrk, 16 connections each sending its next request when the
previous answer came: the capacity, req/s at saturation):

- reference: POST /api/bench/tpcb, pgbench's TPC-B transaction behind the same API-key
  authentication and rate limits (bench/reference.py), keys rotated over every merchant;
- many: POST /api/v1/payments, keys rotated over every merchant;
- one: the same, every request with the first merchant's key.

Open loop (bench/loadgen.py, a fixed rate below saturation, at most 16 in flight, latency
counted from each request's due time: the latency a client sees at a given load):

- reference-open, many-open, one-open: the same requests at --open-rate req/s, by default
  --open-fraction (0.5) of the reference's closed-loop req/s measured in the first round.

Each scenario gets a warm-up, then a measured run; figures are req/s, latency (mean, p50,
p95, p99), errors, and the CPU used by the client, gunicorn and PostgreSQL. The targets
(docs/benchmarks.md): payments >= 0.7 x the reference's req/s (closed loop), p99 < 50 ms
(open loop), one merchant within 10% of many (closed loop). It prints figures and passes
or fails nothing.
"""

import argparse
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness

SERVER_URL = "postgres://postgres@127.0.0.1:5432"
TARGET_RATIO = 0.7
TARGET_P99_MS = 50.0
TARGET_ONE_VS_MANY = 0.10
SCENARIOS = {
    "reference": ("reference", "many", "reference: TPC-B via DRF"),
    "many": ("payments", "many", "payments, {merchants} merchants"),
    "one": ("payments", "one", "payments, 1 merchant"),
    "reference-open": ("reference", "many", "reference @ {rate:.0f}/s"),
    "many-open": ("payments", "many", "payments, {merchants} m. @ {rate:.0f}/s"),
    "one-open": ("payments", "one", "payments, 1 m. @ {rate:.0f}/s"),
}
OPEN_SUFFIX = "-open"
DEFAULT_SCENARIOS = "reference,many,one,reference-open,many-open"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="Measured seconds per run.")
    parser.add_argument("--warmup", type=int, default=5, help="Warm-up seconds per run.")
    parser.add_argument("--rounds", type=int, default=1, help="Runs per scenario (median kept).")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes.")
    parser.add_argument("--threads", type=int, default=4, help="Threads per worker (gthread).")
    parser.add_argument("--merchants", type=int, default=50)
    parser.add_argument("--scale", type=int, default=16, help="pgbench scale (branches).")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS)
    parser.add_argument(
        "--open-rate", type=float, default=None, help="req/s of the open-loop scenarios."
    )
    parser.add_argument(
        "--open-fraction",
        type=float,
        default=0.5,
        help="Without --open-rate: this share of the reference's closed-loop req/s.",
    )
    parser.add_argument("--loadgen", choices=("wrk", "python"), default=None)
    parser.add_argument("--database", default="paydesk_bench")
    parser.add_argument("--server-url", default=os.environ.get("BENCH_SERVER_URL", SERVER_URL))
    parser.add_argument(
        "--cache-url", default=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/14")
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="Also print a Markdown table.")
    args = parser.parse_args(argv)
    limits = {
        "duration": (1, 300),
        "warmup": (0, 60),
        "rounds": (1, 10),
        "concurrency": (1, 256),
        "workers": (1, 32),
        "threads": (1, 64),
        "merchants": (1, 200),
        "scale": (1, 100),
    }
    for name, (low, high) in limits.items():
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name} must be between {low} and {high}")
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    if not args.scenarios or any(name not in SCENARIOS for name in args.scenarios):
        parser.error(f"--scenarios is a list of {', '.join(SCENARIOS)}")
    if args.open_rate is not None and not 1 <= args.open_rate <= 5000:
        parser.error("--open-rate must be between 1 and 5000 req/s")
    if not 0.05 <= args.open_fraction <= 1.5:
        parser.error("--open-fraction must be between 0.05 and 1.5")
    has_open = any(name.endswith(OPEN_SUFFIX) for name in args.scenarios)
    if has_open and args.open_rate is None:
        if "reference" not in args.scenarios:
            parser.error("open-loop scenarios need --open-rate or the reference scenario")
        # The rate comes from the reference's closed-loop run: run it first.
        args.scenarios.remove("reference")
        args.scenarios.insert(0, "reference")
    harness.loopback_url(args.server_url)
    harness.loopback_url(args.cache_url)
    if args.loadgen is None:
        args.loadgen = "wrk" if harness.shutil.which("wrk") else "python"
    return args


def _environment(args: argparse.Namespace) -> dict[str, str]:
    """The environment of every Django process of the run: production settings' needs."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=harness.database_url(args.server_url, args.database),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=harness.HOST,
        CONN_MAX_AGE="600",
        CACHE_URL=args.cache_url,
        # Tasks queued while making the merchants (approval emails) die with the process.
        CELERY_BROKER_URL="memory://localhost/",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _merchants_with_keys(count: int) -> list[str]:
    """Make `count` approved merchants through the merchants services; return live keys."""
    import io

    from django.core.management import call_command

    from merchants.models import ApiMode, Merchant
    from merchants.services.api_keys import api_key_create

    keys = []
    for number in range(1, count + 1):
        name = f"Bench merchant {number:03d}"
        call_command(
            "merchant_create",
            name=name,
            email=f"bench-{number:03d}@example.com",
            approve=True,
            stdout=io.StringIO(),
        )
        merchant = Merchant.objects.get(name=name)
        _key, raw_key = api_key_create(
            merchant=merchant, name="benchmark", mode=ApiMode.LIVE, actor=None
        )
        keys.append(raw_key)
    return keys


def _prepare(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> dict[str, Path]:
    harness.database_recreate(args.server_url, args.database)
    os.environ.update(env)
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    call_command("migrate", verbosity=0)
    keys = _merchants_with_keys(args.merchants)
    connections.close_all()
    files = {"many": workdir / "keys-many.txt", "one": workdir / "keys-one.txt"}
    files["many"].write_text("\n".join(keys) + "\n")
    files["one"].write_text(keys[0] + "\n")
    for path in files.values():
        path.chmod(0o600)
    return files


def _load(
    args: argparse.Namespace,
    port: int,
    target: str,
    keys_file: Path,
    seconds: int,
    rate: float | None = None,
) -> dict[str, Any]:
    run_id = f"b{time.time_ns():x}"
    if rate is not None:
        from bench import loadgen

        spec = loadgen.LoadSpec(
            host=harness.HOST,
            port=port,
            target=target,
            keys=(),
            run_id=run_id,
            duration=seconds,
        )
        return loadgen.open_loop_subprocess(
            spec, keys_file=keys_file, rate=rate, concurrency=args.concurrency
        )
    if args.loadgen == "wrk":
        return harness.wrk_run(
            port=port,
            target=target,
            keys_file=keys_file,
            run_id=run_id,
            duration=seconds,
            concurrency=args.concurrency,
        )
    from bench import loadgen

    spec = loadgen.LoadSpec(
        host=harness.HOST,
        port=port,
        target=target,
        keys=tuple(keys_file.read_text().split()),
        run_id=run_id,
        duration=seconds,
    )
    return loadgen.run(spec, concurrency=args.concurrency)


def _scenario(
    args: argparse.Namespace,
    server: harness.Gunicorn,
    name: str,
    keys: dict[str, Path],
    rate: float | None = None,
) -> dict[str, Any]:
    target, key_set, _label = SCENARIOS[name]
    database = harness.database_url(args.server_url, args.database)
    harness.database_execute(database, "CHECKPOINT")
    if args.warmup:
        _load(args, server.port, target, keys[key_set], args.warmup, rate)
    with harness.cpu_measured(server, args.database) as cpu:
        figures = _load(args, server.port, target, keys[key_set], args.duration, rate)
    seconds = figures["duration_us"] / 1_000_000
    errors = sum(
        figures[kind]
        for kind in (
            "unexpected_status",
            "connect_errors",
            "read_errors",
            "write_errors",
            "timeouts",
        )
    )
    return {
        "scenario": name,
        "rate": rate,
        "scheduled": figures.get("scheduled", figures["requests"]),
        "service_p99_ms": figures.get("service_p99_us", 0) / 1000,
        "rps": figures["requests"] / seconds if seconds else 0.0,
        "requests": figures["requests"],
        "errors": errors,
        "first_error": figures["first_error"],
        "mean_ms": figures["mean_us"] / 1000,
        "p50_ms": figures["p50_us"] / 1000,
        "p95_ms": figures["p95_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "max_ms": figures["max_us"] / 1000,
        "cpu_client": cpu.client,
        "cpu_app": cpu.app,
        "cpu_database": cpu.database,
        "machine_busy": cpu.machine_busy,
        # CPU seconds our processes spent per request: unlike req/s, hardly moved by other
        # work on the machine, and on a saturated machine req/s ratios tend to its inverse.
        "cpu_ms_per_request": (cpu.app + cpu.database)
        / max(figures["requests"] / seconds, 1e-9)
        * 1000
        if seconds
        else 0.0,
        # Whatever else ran meanwhile: figures taken next to other work are not comparable.
        "cpu_other": max(
            0.0, cpu.machine_busy * (os.cpu_count() or 1) - cpu.client - cpu.app - cpu.database
        ),
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median req/s (a real run, not a blend of several); for an open
    loop, whose req/s is the rate, the run with the median p99."""
    is_open = runs[0]["rate"] is not None
    ordered = sorted(runs, key=lambda run: run["p99_ms"] if is_open else run["rps"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rps_all"] = [round(run["rps"], 1) for run in runs]
    chosen["rps_spread"] = statistics.pstdev(run["rps"] for run in runs) if len(runs) > 1 else 0.0
    return chosen


def _label(name: str, args: argparse.Namespace) -> str:
    return SCENARIOS[name][2].format(merchants=args.merchants, rate=args.open_rate or 0)


def _report(args: argparse.Namespace, results: dict[str, dict[str, Any]], facts: list[str]) -> None:
    header = (
        f"{'scenario':<28}{'req/s':>8}{'mean':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}"
        f"{'errors':>8}{'cpu/req':>9}  cpu client/app/db/other (cores), busy"
    )
    print("\n" + "\n".join(facts) + "\n\n" + header)
    for name, run in results.items():
        print(
            f"{_label(name, args):<28}{run['rps']:>8.1f}{run['mean_ms']:>8.2f}{run['p50_ms']:>8.2f}"
            f"{run['p95_ms']:>8.2f}{run['p99_ms']:>8.2f}{run['max_ms']:>8.1f}{run['errors']:>8d}"
            f"{run['cpu_ms_per_request']:>9.2f}  "
            f"{run['cpu_client']:.2f}/{run['cpu_app']:.2f}/{run['cpu_database']:.2f}/"
            f"{run['cpu_other']:.2f}, {run['machine_busy']:.0%}"
        )
        if run["errors"]:
            print(f"    first error: {run['first_error']}")
        if run["rate"] is not None:
            print(
                f"    open loop at {run['rate']:.0f} req/s: {run['requests']} of "
                f"{run['scheduled']} due requests answered; latency from each one's due time "
                f"(p99 from its send alone {run['service_p99_ms']:.2f} ms)"
            )
        if len(run["rps_all"]) > 1:
            print(f"    req/s of each round: {run['rps_all']}")
    print("(latencies and cpu/req, the app's and PostgreSQL's CPU per request, in ms)")
    for line in _verdicts(results):
        print(line)
    if args.markdown:
        print("\n| scenario | req/s | mean ms | p50 ms | p95 ms | p99 ms | errors | CPU ms/req |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, run in results.items():
            print(
                f"| {_label(name, args)} | {run['rps']:.0f} | {run['mean_ms']:.1f} | "
                f"{run['p50_ms']:.1f} | {run['p95_ms']:.1f} | {run['p99_ms']:.1f} | {run['errors']} | "
                f"{run['cpu_ms_per_request']:.2f} |"
            )


def _verdicts(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    reference, many, one = (results.get(name) for name in ("reference", "many", "one"))
    if reference and many and reference["rps"]:
        ratio = many["rps"] / reference["rps"]
        lines.append(
            f"payments / reference req/s: {ratio:.2f} (target >= {TARGET_RATIO}: "
            f"{'met' if ratio >= TARGET_RATIO else 'MISSED'})"
        )
    if reference and many and many["cpu_ms_per_request"]:
        lines.append(
            f"reference / payments CPU per request: "
            f"{reference['cpu_ms_per_request'] / many['cpu_ms_per_request']:.2f} (the req/s ratio "
            "a saturated machine running nothing else tends to)"
        )
    for name in ("reference-open", "many-open", "one-open"):
        run = results.get(name)
        if run:
            what = "the reference" if name.startswith("reference") else f"payments ({name})"
            target = (
                ""
                if name.startswith("reference")
                else (
                    f" (target < {TARGET_P99_MS:.0f} ms: "
                    f"{'met' if run['p99_ms'] < TARGET_P99_MS and not run['errors'] else 'MISSED'})"
                )
            )
            lines.append(
                f"p99 of {what} at {run['rate']:.0f} req/s, open loop: {run['p99_ms']:.1f} ms"
                f"{target}"
            )
    if (many or one) and not any(name.endswith(OPEN_SUFFIX) for name in results):
        lines.append(
            "p99: not judged without an open-loop scenario (a closed loop at saturation "
            "measures queueing: mean latency = connections / throughput)"
        )
    if many and one and many["rps"]:
        difference = (one["rps"] - many["rps"]) / many["rps"]
        lines.append(
            f"one merchant vs many, req/s: {difference:+.1%} (target within "
            f"{TARGET_ONE_VS_MANY:.0%}: {'met' if abs(difference) <= TARGET_ONE_VS_MANY else 'MISSED'})"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    env = _environment(args)
    database = harness.database_url(args.server_url, args.database)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="paydesk-bench-") as tmp:
        workdir = Path(tmp)
        print(f"Load average before the run: {harness.load_average()}")
        print(f"Preparing {args.database}: migrate, {args.merchants} merchants, pgbench tables…")
        keys = _prepare(args, env, workdir)
        pgbench = harness.pgbench_tables_create(database, args.scale)
        harness.database_execute(database, "VACUUM ANALYZE")
        server = harness.gunicorn_start(
            env=env, workers=args.workers, threads=args.threads, log=workdir / "gunicorn.log"
        )
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in args.scenarios}
        try:
            for round_number in range(1, args.rounds + 1):
                for name in args.scenarios:
                    is_open = name.endswith(OPEN_SUFFIX)
                    if is_open and args.open_rate is None:
                        # Fixed for every round: one rate for every open-loop figure.
                        args.open_rate = round(runs["reference"][0]["rps"] * args.open_fraction)
                    print(f"round {round_number}/{args.rounds}: {_label(name, args)}…", flush=True)
                    rate = args.open_rate if is_open else None
                    runs[name].append(_scenario(args, server, name, keys, rate))
        finally:
            harness.gunicorn_stop(server)
            log_tail = (workdir / "gunicorn.log").read_text(errors="replace")[-2000:]
        facts = [
            f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}",
            f"database: {harness.server_version(database)}; TPC-B tables by {pgbench}",
            f"server: gunicorn, {args.workers} workers x {args.threads} threads "
            f"({'gthread' if args.threads > 1 else 'sync'}), bench.settings (production + reference)",
            f"load: closed loop {args.loadgen}, {args.concurrency} connections; open loop "
            f"bench/loadgen.py at {args.open_rate or 0:.0f} req/s, at most {args.concurrency} "
            f"in flight; {args.warmup} s warm-up + "
            f"{args.duration} s measured, {args.rounds} round(s); run took "
            f"{time.monotonic() - started:.0f} s",
            f"load average after the run: {harness.load_average()}",
            f"command: {' '.join([Path(sys.executable).name, '-m', 'bench.payments_create', *(argv if argv is not None else sys.argv[1:])])}",
        ]
        results = {name: _median(found) for name, found in runs.items()}
        _report(args, results, facts)
        if log_tail.strip():
            print(f"\ngunicorn's log (end):\n{log_tail}")
    if not args.keep_database:
        harness.database_drop(args.server_url, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
