"""Extension points of the seed, for apps above payments (refunds, support, risk).

payments never imports a higher app. An app that wants seeded data of its own (refunds
for about `profile.REFUND_RATE` of the succeeded payments, complaints, risk scores)
registers a batch hook in its `AppConfig.ready`; `payments_seed` calls it inside each
batch's transaction, after the batch's payments are written. A reset hook removes what a
batch hook made, before the seeded payments are deleted (their foreign keys would refuse).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from random import Random
from typing import TYPE_CHECKING

from django.db.models import QuerySet

if TYPE_CHECKING:
    from payments.domain.models import Payment
    from payments.seeding.generate import SeedPayment


@dataclass(frozen=True)
class SeedBatch:
    """One written batch: primary keys and drawn payments in the same order, and the seed's
    random generator (draw from it so that a seed stays reproducible)."""

    payment_ids: Sequence[int]
    payments: "Sequence[SeedPayment]"
    rng: Random


SeedBatchHook = Callable[[SeedBatch], None]
SeedResetHook = Callable[["QuerySet[Payment]"], None]

_batch_hooks: list[SeedBatchHook] = []
_reset_hooks: list[SeedResetHook] = []


def seed_batch_hook_register(hook: SeedBatchHook) -> None:
    """Call `hook` for every batch the seed writes (once, however often registered)."""
    if hook not in _batch_hooks:
        _batch_hooks.append(hook)


def seed_reset_hook_register(hook: SeedResetHook) -> None:
    """Call `hook` with the seeded payments before a reset deletes them."""
    if hook not in _reset_hooks:
        _reset_hooks.append(hook)


def seed_batch_hooks() -> tuple[SeedBatchHook, ...]:
    return tuple(_batch_hooks)


def seed_reset_hooks() -> tuple[SeedResetHook, ...]:
    return tuple(_reset_hooks)
