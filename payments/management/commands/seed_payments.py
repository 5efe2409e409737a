"""`manage.py seed_payments`: fill the database with realistic payments, or remove them.

    python manage.py seed_payments --count 1000000 --days 30 [--merchants 20] [--seed 7]
    python manage.py seed_payments --count 50000 --days 30 --end 2025-11-20   # Double 11
    python manage.py seed_payments --reset

It refuses to run with DEBUG off unless --force: these are made-up live payments.

Every run adds payments (order ids `seed-<run>-<n>`, unique per run); `--reset` removes
every seeded payment and its events and reverses its ledger postings (the ledger is
append-only). The mixes and rhythms are in payments/seeding/profile.py; docs/benchmarks.md
says how long a million takes.
"""

import time
from collections import Counter
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from config.errors import ApplicationError
from payments.domain.models import PaymentStatus
from payments.seeding.reset import payments_seed_reset
from payments.seeding.services import DEFAULT_BATCH_SIZE, SeedResult, payments_seed

MAX_COUNT = 20_000_000
MAX_DAYS = 3_660
MAX_MERCHANTS = 1_000


def _share(counter: Counter[str], total: int) -> str:
    return ", ".join(f"{name} {count / total:.1%}" for name, count in counter.most_common())


class Command(BaseCommand):
    help = "Add realistic seeded payments (with events and ledger postings), or --reset them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000, help="Payments to add.")
        parser.add_argument("--days", type=int, default=30, help="Days the payments span.")
        parser.add_argument(
            "--end",
            type=date.fromisoformat,
            default=None,
            help="Last local day of the span, YYYY-MM-DD (default: today; never after now).",
        )
        parser.add_argument(
            "--merchants", type=int, default=10, help="Approved merchants to spread them over."
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed (reproducible).")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Payments per commit."
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=2,
            help="Batches written side by side on PostgreSQL (one per core suits best).",
        )
        parser.add_argument(
            "--skip-postings",
            action="store_true",
            help="Write no ledger postings (faster; the ledger then lacks the seeded captures).",
        )
        parser.add_argument(
            "--reset", action="store_true", help="Remove seeded payments instead of adding."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even when DEBUG is off (only on a throw-away installation).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_payments writes made-up live payments and ledger postings; it runs only "
                "with DEBUG on (use --force on a throw-away installation, e.g. a benchmark)."
            )
        if options["reset"]:
            started = time.monotonic()
            try:
                reset = payments_seed_reset()
            except ApplicationError as error:
                raise CommandError(error.message) from None
            self.stdout.write(
                f"Removed {reset.payments} seeded payments and {reset.events} events; "
                f"reversed {reset.reversals} ledger postings "
                f"({time.monotonic() - started:.1f} s)."
            )
            return
        count, days, merchants = options["count"], options["days"], options["merchants"]
        if not 0 < count <= MAX_COUNT:
            raise CommandError(f"--count must be between 1 and {MAX_COUNT}.")
        if not 0 < days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}.")
        if not 0 < merchants <= MAX_MERCHANTS:
            raise CommandError(f"--merchants must be between 1 and {MAX_MERCHANTS}.")
        if not 0 < options["jobs"] <= 16:
            raise CommandError("--jobs must be between 1 and 16.")
        if not 0 < options["batch_size"] <= 200_000:
            raise CommandError("--batch-size must be between 1 and 200000.")
        self.stdout.write(
            f"Seeding {count} payments over {days} days for {merchants} merchants "
            f"on {connection.vendor}…"
        )
        try:
            result = payments_seed(
                count=count,
                days=days,
                merchant_count=merchants,
                seed=options["seed"],
                last_day=options["end"],
                with_postings=not options["skip_postings"],
                batch_size=options["batch_size"],
                jobs=options["jobs"],
                progress=self._progress,
            )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self._summary(result)

    def _progress(self, result: SeedResult) -> None:
        self.stdout.write(f"  {result.payments} payments written…")

    def _summary(self, result: SeedResult) -> None:
        total = max(result.payments, 1)
        succeeded = result.statuses[PaymentStatus.SUCCEEDED]
        final = succeeded + result.statuses[PaymentStatus.FAILED]
        rows = result.payments + result.events + result.postings
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {result.payments} payments, {result.events} events and "
                f"{result.postings} ledger postings in {result.seconds:.1f} s "
                f"({rows / max(result.seconds, 0.001):,.0f} rows/s; run {result.run_id})."
            )
        )
        self.stdout.write(f"Statuses: {_share(result.statuses, total)}")
        if final:
            self.stdout.write(f"Success rate among final payments: {succeeded / final:.2%}")
        self.stdout.write(f"Channels: {_share(result.channels, total)}")
        self.stdout.write(f"Regions: {_share(result.regions, total)}")
        self.stdout.write(f"Merchants: {', '.join(m.name for m in result.merchants)}")
