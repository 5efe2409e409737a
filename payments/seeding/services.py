"""Fill the database with realistic payments (`manage.py seed_payments`), or remove them.

Seeded payments are live-mode payments of approved merchants, with their whole timeline
(a PaymentEvent per transition) and, when they succeeded, their balanced capture posting
in the ledger. They publish no webhook event: merchants are never told about demo data.
A second run adds more; `payments.seeding.reset` removes what the seed made
(docs/benchmarks.md, "Volume data").
"""

import io
import logging
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from merchants.models import Merchant, MerchantStatus
from merchants.models.settlement import SettlementTerms
from merchants.selectors.settlement import settlement_terms_effective
from payments.domain.models import Payment, PaymentEvent
from payments.ledger.models import LedgerEntry, LedgerPosting
from payments.ledger.recipes import payment_capture_lines
from payments.ledger.services import merchant_accounts_open
from payments.seeding import hooks
from payments.seeding.generate import (
    PaymentGenerator,
    SeedPayment,
)
from payments.seeding.profile import hour_slots
from payments.seeding.writers import (
    OrmWriter,
    PostgresCopyWriter,
    SeedWriter,
    ledger_accounts_memoized,
)

logger = logging.getLogger("payments")

SEED_MERCHANT_NAME = "Seed merchant {number:02d}"
SEED_MERCHANT_EMAIL = "seed-merchant-{number:02d}@example.com"
DEFAULT_BATCH_SIZE = 20_000
CURRENCY = "CNY"


@dataclass
class SeedResult:
    run_id: str
    payments: int = 0
    events: int = 0
    postings: int = 0
    seconds: float = 0.0
    merchants: list[Merchant] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    regions: Counter[str] = field(default_factory=Counter)


def seed_merchants_ensure(count: int) -> list[Merchant]:
    """Return `count` approved merchants, creating "Seed merchant NN" ones as needed.

    Existing approved merchants come first (oldest first). Missing ones are made by the
    `merchant_create --approve` command, so they go through the real lifecycle services
    and appear in the audit log; a second run finds them again by name.
    """
    approved = list(
        Merchant.objects.filter(status=MerchantStatus.APPROVED).order_by("created_at", "id")[:count]
    )
    number = 0
    while len(approved) < count:
        number += 1
        name = SEED_MERCHANT_NAME.format(number=number)
        if Merchant.objects.filter(name=name).exists():
            continue  # not approved (or already counted above): take the next number
        call_command(
            "merchant_create",
            name=name,
            email=SEED_MERCHANT_EMAIL.format(number=number),
            approve=True,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
        approved.append(Merchant.objects.get(name=name))
    return approved


def _fee_rates() -> Callable[[Merchant, date, str], int]:
    terms: dict[tuple[int, date], SettlementTerms] = {}

    def fee_bps(merchant: Merchant, on_date: date, channel: str) -> int:
        key = (merchant.pk, on_date)
        if key not in terms:
            terms[key] = settlement_terms_effective(merchant, on_date)
        return terms[key].fee_bps_for_channel(channel)

    return fee_bps


def _writer(*, with_postings: bool) -> SeedWriter:
    if connection.vendor == "postgresql":
        return PostgresCopyWriter(with_postings=with_postings)
    return OrmWriter(with_postings=with_postings)


def payments_seed(
    *,
    count: int,
    days: int,
    merchant_count: int,
    seed: int | None = None,
    last_day: date | None = None,
    with_postings: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    jobs: int = 1,
    progress: Callable[[SeedResult], None] | None = None,
) -> SeedResult:
    """Add `count` payments created over the `days` local days ending `last_day` (today).

    Payments are spread over `merchant_count` approved merchants (made if missing), by
    the mixes and rhythms of `payments.seeding.profile`; nothing is created after now.
    Each batch of `batch_size` commits on its own with its events, its ledger postings
    (unless `with_postings` is False) and what the registered seed hooks add; on
    PostgreSQL `jobs` threads write batches side by side (each batch is still one
    transaction; an error stops the seed and leaves the batches committed before it).
    Call it outside a transaction when `jobs` > 1: the threads see committed rows only.
    """
    started = time.monotonic()
    now = timezone.now()
    tz = timezone.get_current_timezone()
    last_day = min(last_day or timezone.localdate(now), timezone.localdate(now))
    result = SeedResult(run_id=secrets.token_hex(4))
    result.merchants = seed_merchants_ensure(merchant_count)
    rng = Random(seed)  # noqa: S311  (demo figures, not secrets: ids use `secrets`)
    generator = PaymentGenerator(
        rng=rng,
        merchants=result.merchants,
        now=now.timestamp(),
        run_id=result.run_id,
        expiry_seconds=settings.PAYMENT_EXPIRY_MINUTES * 60,
        timezone=tz,
        fee_bps=_fee_rates(),
        device_count=max(50, count // 5),
    )
    slots = hour_slots(
        first_day=last_day - timedelta(days=days - 1),
        last_day=last_day,
        until=now.timestamp(),
        timezone=tz,
        count=count,
    )
    writer = _writer(with_postings=with_postings)
    if connection.vendor != "postgresql":
        jobs = 1  # SQLite has one writer at a time anyway
    batch: list[SeedPayment] = []
    with ledger_accounts_memoized():
        if with_postings:
            for merchant in result.merchants:
                merchant_accounts_open(merchant=merchant, currency=CURRENCY)
                # Opens the platform accounts too, and remembers every account a capture
                # uses before any writer thread needs them.
                payment_capture_lines(merchant=merchant, amount=2, fee=1, currency=CURRENCY)
        with _BatchRunner(writer, jobs=jobs, result=result, seed=seed, progress=progress) as runner:
            for start, length, payments in slots:
                batch.extend(generator.hour(start, length, payments))
                if len(batch) >= batch_size:
                    runner.submit(batch)
                    batch = []
            if batch:
                runner.submit(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Fresh statistics, or the first reports plan for empty tables.
            for model in (Payment, PaymentEvent, LedgerPosting, LedgerEntry):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    result.seconds = time.monotonic() - started
    return result


def _flush(writer: SeedWriter, batch: Sequence[SeedPayment], rng: Random) -> None:
    try:
        with transaction.atomic():
            ids = writer.write(batch)
            for hook in hooks.seed_batch_hooks():
                hook(hooks.SeedBatch(payment_ids=ids, payments=batch, rng=rng))
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close()  # each batch thread's own connection


class _BatchRunner:
    """Write batches in the calling thread (`jobs` 1) or in `jobs` threads, each with its
    own database connection: PostgreSQL then checks and indexes on every core while the
    next batch is drawn. At most `jobs` batches wait in memory; the first error stops it.
    """

    def __init__(
        self,
        writer: SeedWriter,
        *,
        jobs: int,
        result: SeedResult,
        seed: int | None,
        progress: Callable[[SeedResult], None] | None,
    ) -> None:
        self.writer, self.jobs, self.result, self.progress = writer, jobs, result, progress
        self.seed = seed
        self.number = 0
        self.pending: deque[tuple[Future[None], Sequence[SeedPayment]]] = deque()
        self.executor = ThreadPoolExecutor(jobs, "seed") if jobs > 1 else None

    def __enter__(self) -> "_BatchRunner":
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            while self.pending:
                self._collect()
        finally:
            if self.executor is not None:
                self.executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, batch: Sequence[SeedPayment]) -> None:
        self.number += 1
        # Hooks draw from their own generator per batch: reproducible whatever the threads.
        rng = Random(f"{self.seed}-{self.number}") if self.seed is not None else Random()  # noqa: S311
        if self.executor is None:
            _flush(self.writer, batch, rng)
            self._account(batch)
            return
        while len(self.pending) >= self.jobs:
            self._collect()
        self.pending.append((self.executor.submit(_flush, self.writer, batch, rng), batch))

    def _collect(self) -> None:
        future, batch = self.pending.popleft()
        future.result()  # re-raises a writer's error here, in the caller's thread
        self._account(batch)

    def _account(self, batch: Sequence[SeedPayment]) -> None:
        result = self.result
        result.payments += len(batch)
        for seeded in batch:
            result.events += len(seeded.events)
            result.postings += seeded.capture is not None and self.writer.with_postings
            result.statuses[seeded.fields["status"]] += 1
            result.channels[seeded.fields["channel"]] += 1
            result.regions[seeded.fields["region_group"]] += 1
        if self.progress:
            self.progress(result)
