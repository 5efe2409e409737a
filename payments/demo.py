"""Demo payments for `manage.py seed_demo`: two weeks of Demo Coffee Roasters' payments.

The payments come from the volume seed (`payments.seeding.services.payments_seed`, the
code behind `manage.py seed_payments`) with a small count and a fixed random seed: live
payments in the platform's mix of channels, regions and states, each with its timeline,
and a balanced capture posting in the ledger for every succeeded one. No API key and no
webhook endpoint are made: a key is a secret that would have to be printed, and the
seeded payments publish no webhook events anyway.
"""

from accounts.demo import DemoContext
from merchants.models import Merchant, MerchantStatus
from payments.domain.models import Payment
from payments.seeding.services import payments_seed

DEMO_PAYMENT_COUNT = 200
DEMO_PAYMENT_DAYS = 14
DEMO_RANDOM_SEED = 2025


def seed(context: DemoContext) -> None:
    """Seed the demo merchant's payments once; a second run changes nothing.

    payments_seed spreads payments over the oldest approved merchants: on a database
    where another approved merchant is older than Demo Coffee Roasters, nothing is
    seeded (and the log says why) rather than payments landing on someone else.
    """
    merchant: Merchant | None = context.extra.get("merchant")
    if merchant is None or Payment.objects.filter(merchant=merchant).exists():
        return
    oldest = (
        Merchant.objects.filter(status=MerchantStatus.APPROVED).order_by("created_at", "id").first()
    )
    if oldest is None or oldest.pk != merchant.pk:
        context.created.append(
            f"no demo payments: {oldest} is an older approved merchant than {merchant}"
        )
        return
    # One job: the seed runs inside seed_demo's transaction (threads would not see it).
    result = payments_seed(
        count=DEMO_PAYMENT_COUNT,
        days=DEMO_PAYMENT_DAYS,
        merchant_count=1,
        seed=DEMO_RANDOM_SEED,
        jobs=1,
    )
    context.created.append(
        f"{result.payments} payments of {merchant} over {DEMO_PAYMENT_DAYS} days "
        f"({result.statuses['succeeded']} succeeded, {result.postings} ledger postings)"
    )
