"""The shape of the seeded volume: the operations report's mixes, rates and rhythms.

Pure data and small pure functions, no database: `payments.seeding.generate` draws from
them. Every figure that comes from the report (docs/DOMAIN.md, "Operating figures" and
"KPIs") says so; the rest are plausible assumptions, named as such.
"""

from datetime import date, datetime, timedelta, tzinfo

from payments.domain.models import PaymentChannel, RegionGroup
from payments.domain.validators import PROVINCE_REGIONS

# --- channels (report: mobile wallets 78% (Alipay and WeChat Pay), bank card 15%, other 7%)
# The wallet share is split 54/46 between Alipay and WeChat Pay (an assumption).
CHANNEL_MIX: dict[str, float] = {
    PaymentChannel.ALIPAY: 0.78 * 0.54,
    PaymentChannel.WECHAT_PAY: 0.78 * 0.46,
    PaymentChannel.BANK_CARD: 0.15,
    PaymentChannel.OTHER: 0.07,
}

# --- regions (report: East China 35%, North China 28%, South China 22%, the rest 15%)
REGION_MIX: dict[str, float] = {
    RegionGroup.EAST: 0.35,
    RegionGroup.NORTH: 0.28,
    RegionGroup.SOUTH: 0.22,
    RegionGroup.OTHER: 0.15,
}
# Provinces within each region, weighted roughly by online spending (an assumption).
PROVINCE_WEIGHTS: dict[str, float] = {
    # East
    "CN-SH": 18, "CN-JS": 22, "CN-ZJ": 22, "CN-SD": 14, "CN-FJ": 10, "CN-AH": 8, "CN-JX": 6,
    # North
    "CN-BJ": 42, "CN-TJ": 14, "CN-HE": 24, "CN-SX": 11, "CN-NM": 9,
    # South
    "CN-GD": 74, "CN-GX": 14, "CN-HI": 6, "CN-HK": 4, "CN-MO": 2,
    # The rest
    "CN-SC": 16, "CN-HB": 13, "CN-HN": 12, "CN-HA": 12, "CN-CQ": 9, "CN-LN": 9, "CN-SN": 8,
    "CN-YN": 6, "CN-HL": 5, "CN-JL": 4, "CN-GZ": 4, "CN-XJ": 3, "CN-GS": 2, "CN-NX": 1,
    "CN-QH": 1, "CN-XZ": 1,
}  # fmt: skip


def province_mix() -> dict[str, float]:
    """Return each province's share of all payments: its region's share split by weight."""
    totals: dict[str, float] = {}
    for province, weight in PROVINCE_WEIGHTS.items():
        region = PROVINCE_REGIONS[province]
        totals[region] = totals.get(region, 0.0) + weight
    return {
        province: REGION_MIX[PROVINCE_REGIONS[province]]
        * weight
        / totals[PROVINCE_REGIONS[province]]
        for province, weight in PROVINCE_WEIGHTS.items()
    }


# --- outcomes
# Report: 2% of orders are abandoned (expired or canceled before the payer confirmed).
ABANDON_RATE = 0.02
CANCELED_SHARE_OF_ABANDONED = 0.25  # the rest expire (an assumption)
# KPI target: success >= 95% of final payments; the seed aims at 96.5%.
SUCCESS_RATE_AMONG_FINAL = 0.965
# Results the acquirer never gave: they stay unknown, awaiting the janitor's queries.
UNKNOWN_RATE = 0.0005
# The acquirer's decline reasons (the sandbox acquirer's codes), by frequency.
DECLINES: tuple[tuple[str, str, float], ...] = (
    ("insufficient_funds", "Insufficient funds", 0.45),
    ("do_not_honor", "Do not honor", 0.25),
    ("suspected_fraud", "Declined by the issuer's risk control", 0.15),
    ("expired_card", "Expired card", 0.15),
)
# Refunds: no refund model yet. A refunds app registers a batch hook
# (payments.seeding.hooks) and uses this rate (an assumption: ~1.5% of succeeded payments).
REFUND_RATE = 0.015

# --- timing
# How the payer confirms at checkout (payments.confirmation methods): mostly a passkey,
# some by the email-code fallback on devices without a platform authenticator.
CONFIRMATION_METHODS: dict[str, float] = {"passkey": 0.92, "email_code": 0.08}
CONFIRM_DELAY_MEDIAN_SECONDS = 25.0  # created -> confirmed
CONFIRM_DELAY_SIGMA = 0.9
# Transaction time (KPI: average < 3 s): confirmed -> final. Mostly a log-normal around
# one second; a small share settles later by notification (the long tail).
TRANSACTION_MEDIAN_SECONDS = 0.9
TRANSACTION_SIGMA = 0.6
SLOW_RESULT_RATE = 0.01
SLOW_RESULT_SECONDS = (3.0, 30.0)
CANCEL_DELAY_SECONDS = (30.0, 900.0)
EXPIRY_SWEEP_LAG_SECONDS = (0.0, 60.0)  # the janitor's sweep runs every minute
UNKNOWN_AFTER_SECONDS = 3.0  # the gateway's read timeout

# --- amounts: log-normal in fen, about 50 CNY at the median overall (an assumption: the
# report's averages, 1 billion CNY a month over 8 million payments a day, would give about
# 4 CNY, which is not what a merchant portal's demo should show). Cards buy more.
AMOUNT_MEDIAN_FEN: dict[str, float] = {
    PaymentChannel.ALIPAY: 4_600,
    PaymentChannel.WECHAT_PAY: 4_200,
    PaymentChannel.BANK_CARD: 9_800,
    PaymentChannel.OTHER: 5_500,
}
AMOUNT_SIGMA = 1.05
AMOUNT_MIN_FEN = 100  # 1 CNY
AMOUNT_MAX_FEN = 5_000_000  # 50,000 CNY
WHOLE_YUAN_SHARE = 0.4  # prices such as 39.00 CNY

# --- daily and hourly rhythm (assumptions shaped on Chinese e-commerce traffic)
# Relative volume per local hour: night trough at 3-5h, evening peak at 20-22h.
HOURLY_WEIGHTS: tuple[float, ...] = (
    2.6, 1.5, 0.9, 0.6, 0.5, 0.6, 1.2, 2.5, 3.5, 4.2, 4.8, 5.2,
    5.8, 5.0, 4.8, 4.8, 5.0, 5.2, 5.6, 6.4, 7.2, 7.5, 6.5, 4.5,
)  # fmt: skip
WEEKEND_UPLIFT = 1.18  # Saturday and Sunday
# Double 11 (11 November): the year's peak day; its first hour is the rush.
DOUBLE_11_DAY_FACTOR = 6.0
DOUBLE_11_MIDNIGHT_FACTOR = 8.0
# The first days of a sale, and the day after, are busier too.
DOUBLE_11_NEIGHBOURS: dict[tuple[int, int], float] = {(11, 10): 1.6, (11, 12): 1.4}


def day_weight(day: date) -> float:
    """Return the relative volume of a local calendar day."""
    weight = WEEKEND_UPLIFT if day.weekday() >= 5 else 1.0
    if (day.month, day.day) == (11, 11):
        return weight * DOUBLE_11_DAY_FACTOR
    return weight * DOUBLE_11_NEIGHBOURS.get((day.month, day.day), 1.0)


def hour_weights(day: date) -> tuple[float, ...]:
    """Return the relative volume of each local hour of `day` (they sum to 1)."""
    weights = list(HOURLY_WEIGHTS)
    if (day.month, day.day) == (11, 11):
        weights[0] *= DOUBLE_11_MIDNIGHT_FACTOR
    total = sum(weights)
    return tuple(weight / total for weight in weights)


# --- merchants: a few big merchants take most of the volume (Zipf-like, an assumption)
MERCHANT_SKEW = 0.8


def merchant_weights(count: int) -> list[float]:
    """Return the share of the `count` merchants, biggest first."""
    raw = [1.0 / (rank**MERCHANT_SKEW) for rank in range(1, count + 1)]
    total = sum(raw)
    return [weight / total for weight in raw]


def hour_slots(
    *, first_day: date, last_day: date, until: float, timezone: tzinfo, count: int
) -> list[tuple[float, float, int]]:
    """Spread `count` payments over the local hours of `first_day`..`last_day`.

    Return `(start, length, payments)` per hour, in order, with POSIX-second starts; hours
    from `until` on get nothing (the hour that contains it gets its elapsed part). The
    counts add up to `count` exactly (largest remainders), so a seed is reproducible.
    """
    slots: list[tuple[float, float, float]] = []
    day = first_day
    while day <= last_day:
        shares = hour_weights(day)
        weight = day_weight(day)
        for hour in range(24):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=timezone).timestamp()
            length = min(3600.0, until - start)
            if length > 0:
                slots.append((start, length, weight * shares[hour] * length / 3600.0))
        day += timedelta(days=1)
    total = sum(weight for _start, _length, weight in slots)
    if not slots or total <= 0:
        return []
    exact = [weight * count / total for _start, _length, weight in slots]
    counts = [int(value) for value in exact]
    remainders = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
    for index in remainders[: count - sum(counts)]:
        counts[index] += 1
    return [
        (start, length, payments)
        for (start, length, _weight), payments in zip(slots, counts, strict=True)
        if payments
    ]
