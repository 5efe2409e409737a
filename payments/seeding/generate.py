"""Draw seeded payments: one local hour at a time, with their timelines and captures.

No database access except through the `fee_bps` callable the caller passes in. Times are
POSIX seconds (floats) so that the hot loop builds no datetime objects; the writers
convert them. `random.Random(seed)` drives every figure, so a seed reproduces the mix,
times and amounts; public ids and checkout tokens always come from `secrets`, because
they must not be guessable, even in demo data.
"""

import base64
import bisect
import itertools
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from random import Random
from typing import Any

from merchants.models import ApiMode, Merchant
from payments.domain.models import PUBLIC_ID_PREFIX, ActorType, PaymentChannel, PaymentStatus
from payments.domain.validators import PROVINCE_REGIONS
from payments.seeding import profile
from payments.services.payments import SUBMISSION_SAFETY_NET
from payments.services.transitions import BASIS_POINTS, QUERY_BACKOFF

# Seeded data is recognised by its order ids and by who created it: a merchant's API call
# always records the merchant as the creator, so no merchant can make a payment look
# seeded (and be removed by --reset).
ORDER_ID_PREFIX = "seed-"
SEED_ACTOR_LABEL = "seed_payments"
SANDBOX_LABEL = "sandbox"
JANITOR_LABEL = "janitor"

# RFC 4648 base32 -> the Crockford alphabet of payment_public_id_new(): 15 bytes are 24
# characters exactly, the 10 of the milliseconds followed by the 14 random ones.
_TO_CROCKFORD = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghjkmnpqrstvwxyz"
)
_RANDOM_BITS = 70

USER_AGENTS: dict[tuple[str, str], str] = {
    ("ios", PaymentChannel.ALIPAY): "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
    "AlipayClient/10.6.0",
    ("android", PaymentChannel.ALIPAY): "Mozilla/5.0 (Linux; Android 14) AlipayClient/10.6.0",
    ("ios", PaymentChannel.WECHAT_PAY): "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
    "MicroMessenger/8.0.50",
    ("android", PaymentChannel.WECHAT_PAY): "Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0.50",
    ("ios", ""): "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1",
    ("android", ""): "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36",
}
DESCRIPTIONS = (
    "Coffee beans 500 g",
    "Milk tea x2",
    "Phone case",
    "Running shoes",
    "Online course, one month",
    "Groceries delivery",
    "Movie tickets",
    "Wireless earbuds",
    "Skincare set",
    "Ride fare",
    "Food delivery",
    "Game top-up",
)


def public_id_at(created_at: float) -> str:
    """Return a payment id shaped like `payment_public_id_new()`, dated `created_at`."""
    milliseconds = int(created_at * 1000)
    number = (milliseconds << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
    encoded = base64.b32encode(number.to_bytes(15, "big")).decode("ascii")
    return PUBLIC_ID_PREFIX + encoded.translate(_TO_CROCKFORD)


@dataclass(slots=True)
class SeedEvent:
    occurred_at: float
    from_status: str
    to_status: str
    reason: str
    actor_type: str
    actor_label: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SeedPayment:
    """One payment to write: model field values (times as POSIX seconds) and its events.

    `capture` is `(amount, fee)` when the payment succeeded in live mode: the ledger
    posting to make for it.
    """

    merchant: Merchant
    fields: dict[str, Any]
    events: list[SeedEvent]
    capture: tuple[int, int] | None = None


class _Picker:
    """Weighted choice by bisecting cumulative weights (random.choices costs more per call)."""

    def __init__(self, weights: dict[Any, float]) -> None:
        self.values = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))
        self.total = self.cumulative[-1]

    def __call__(self, uniform: float) -> Any:
        index = bisect.bisect(self.cumulative, uniform * self.total)
        return self.values[min(index, len(self.values) - 1)]


@dataclass(frozen=True)
class _Device:
    fingerprint: str
    ip: str
    province: str
    platform: str


class PaymentGenerator:
    """Draw payments for a list of approved merchants, as of the time `now`.

    A payment whose next step would fall after `now` stays where it is (awaiting the
    payer, processing), exactly like a real one caught in flight.
    """

    def __init__(
        self,
        *,
        rng: Random,
        merchants: Sequence[Merchant],
        now: float,
        run_id: str,
        expiry_seconds: float,
        timezone: tzinfo,
        fee_bps: Callable[[Merchant, date, str], int],
        device_count: int,
    ) -> None:
        self.rng = rng
        self.now = now
        self.run_id = run_id
        self.expiry_seconds = expiry_seconds
        self.timezone = timezone
        self.fee_bps = fee_bps
        self.sequence = 0
        self.merchant = _Picker(
            dict(zip(merchants, profile.merchant_weights(len(merchants)), strict=True))
        )
        self.channel = _Picker(profile.CHANNEL_MIX)
        self.province = _Picker(profile.province_mix())
        self.method = _Picker(profile.CONFIRMATION_METHODS)
        self.decline = _Picker({(code, text): share for code, text, share in profile.DECLINES})
        self.devices = self._devices(device_count)
        self.metadata = {"seed_run": run_id}
        self._dates: dict[int, date] = {}

    def _devices(self, count: int) -> dict[str, list[_Device]]:
        # Payers come back: a pool of devices per province, so that fingerprints and
        # addresses repeat as risk control expects them to.
        rng = self.rng
        shares = profile.province_mix()
        pools: dict[str, list[_Device]] = {}
        for province, share in shares.items():
            pools[province] = [
                _Device(
                    fingerprint=f"{rng.getrandbits(128):032x}",
                    ip=f"{rng.randint(36, 123)}.{rng.randint(0, 255)}."
                    f"{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                    province=province,
                    platform="ios" if rng.random() < 0.45 else "android",
                )
                for _ in range(max(3, round(count * share)))
            ]
        return pools

    def _local_date(self, moment: float) -> date:
        hour = int(moment // 3600)
        cached = self._dates.get(hour)
        if cached is None:
            cached = datetime.fromtimestamp(hour * 3600, self.timezone).date()
            self._dates[hour] = cached
        return cached

    def hour(self, start: float, length: float, count: int) -> list[SeedPayment]:
        """Return `count` payments created between `start` and `start + length`, in order."""
        rnd = self.rng.random
        times = sorted(start + rnd() * length for _ in range(count))
        return [self.payment(created_at) for created_at in times]

    def payment(self, created_at: float) -> SeedPayment:
        """Draw one payment created at `created_at`, with what happened to it until now."""
        rng, rnd = self.rng, self.rng.random
        self.sequence += 1
        merchant = self.merchant(rnd())
        channel = self.channel(rnd())
        province = self.province(rnd())
        pool = self.devices[province]
        device = pool[int(rnd() * len(pool))]
        amount = self._amount(channel)
        expires_at = created_at + self.expiry_seconds
        fields: dict[str, Any] = {
            "public_id": public_id_at(created_at),
            "checkout_token": secrets.token_urlsafe(32),
            "merchant_id": merchant.pk,
            "mode": ApiMode.LIVE,
            "amount": amount,
            "currency": "CNY",
            "channel": channel,
            "merchant_order_id": f"{ORDER_ID_PREFIX}{self.run_id}-{self.sequence:09d}",
            "description": DESCRIPTIONS[int(rnd() * len(DESCRIPTIONS))],
            "metadata": self.metadata,
            "device_fingerprint": device.fingerprint,
            "device_ip": device.ip,
            "device_user_agent": USER_AGENTS.get(
                (device.platform, channel), USER_AGENTS[(device.platform, "")]
            ),
            "region": province,
            "region_group": PROVINCE_REGIONS[province],
            "created_at": created_at,
            "expires_at": expires_at,
        }
        events = [
            SeedEvent(
                created_at,
                "",
                PaymentStatus.REQUIRES_CONFIRMATION,
                "created",
                ActorType.SYSTEM,
                SEED_ACTOR_LABEL,
            )
        ]
        seeded = SeedPayment(merchant=merchant, fields=fields, events=events)
        if rnd() < profile.ABANDON_RATE:
            self._abandon(seeded, created_at, expires_at)
        else:
            confirm_delay = rng.lognormvariate(
                math.log(profile.CONFIRM_DELAY_MEDIAN_SECONDS), profile.CONFIRM_DELAY_SIGMA
            )
            confirmed_at = created_at + min(confirm_delay, self.expiry_seconds - 1)
            if confirmed_at <= self.now:
                self._confirm(seeded, confirmed_at)
        if fields.get("status") is None:
            fields["status"] = PaymentStatus.REQUIRES_CONFIRMATION
        fields["updated_at"] = events[-1].occurred_at
        return seeded

    def _amount(self, channel: str) -> int:
        drawn = self.rng.lognormvariate(
            math.log(profile.AMOUNT_MEDIAN_FEN[channel]), profile.AMOUNT_SIGMA
        )
        amount = min(max(int(drawn), profile.AMOUNT_MIN_FEN), profile.AMOUNT_MAX_FEN)
        if self.rng.random() < profile.WHOLE_YUAN_SHARE:
            amount = max(100, round(amount, -2))
        return amount

    def _abandon(self, seeded: SeedPayment, created_at: float, expires_at: float) -> None:
        rng, fields = self.rng, seeded.fields
        if rng.random() < profile.CANCELED_SHARE_OF_ABANDONED:
            canceled_at = min(created_at + rng.uniform(*profile.CANCEL_DELAY_SECONDS), expires_at)
            if canceled_at <= self.now:
                fields["status"] = PaymentStatus.CANCELED
                fields["canceled_at"] = canceled_at
                seeded.events.append(
                    SeedEvent(
                        canceled_at,
                        PaymentStatus.REQUIRES_CONFIRMATION,
                        PaymentStatus.CANCELED,
                        "canceled",
                        ActorType.MERCHANT,
                        SEED_ACTOR_LABEL,
                    )
                )
            return
        expired_at = expires_at + rng.uniform(*profile.EXPIRY_SWEEP_LAG_SECONDS)
        if expired_at <= self.now:
            fields["status"] = PaymentStatus.EXPIRED
            fields["expired_at"] = expired_at
            seeded.events.append(
                SeedEvent(
                    expired_at,
                    PaymentStatus.REQUIRES_CONFIRMATION,
                    PaymentStatus.EXPIRED,
                    "confirmation_window_passed",
                    ActorType.SYSTEM,
                    JANITOR_LABEL,
                )
            )

    def _confirm(self, seeded: SeedPayment, confirmed_at: float) -> None:
        rng, fields = self.rng, seeded.fields
        method = self.method(rng.random())
        fields.update(
            status=PaymentStatus.PROCESSING,
            confirmed_at=confirmed_at,
            confirmation_method=method,
            payer_token=f"tok_{rng.getrandbits(96):024x}",
            next_query_at=confirmed_at + SUBMISSION_SAFETY_NET.total_seconds(),
            query_attempts=0,
        )
        seeded.events.append(
            SeedEvent(
                confirmed_at,
                PaymentStatus.REQUIRES_CONFIRMATION,
                PaymentStatus.PROCESSING,
                f"confirmed_by_{method}",
                ActorType.PAYER,
                details={"method": method, "evidence": {}},
            )
        )
        if rng.random() < profile.UNKNOWN_RATE:
            self._unknown(seeded, confirmed_at + profile.UNKNOWN_AFTER_SECONDS)
            return
        slow = rng.random() < profile.SLOW_RESULT_RATE
        if slow:
            took = rng.uniform(*profile.SLOW_RESULT_SECONDS)
        else:
            took = rng.lognormvariate(
                math.log(profile.TRANSACTION_MEDIAN_SECONDS), profile.TRANSACTION_SIGMA
            )
        final_at = confirmed_at + took
        if final_at > self.now:
            return  # still with the acquirer
        reference = f"SBXP{rng.getrandbits(80):020X}"
        reason = "acquirer_notification" if slow else "gateway_response"
        details: dict[str, Any] = {"acquirer_reference": reference}
        fields.update(acquirer_reference=reference, next_query_at=None)
        if rng.random() < profile.SUCCESS_RATE_AMONG_FINAL:
            bps = self.fee_bps(seeded.merchant, self._local_date(final_at), fields["channel"])
            # The rule of payments.services.transitions.capture_fee: half up, at most the amount.
            amount = fields["amount"]
            fee = min((amount * bps + BASIS_POINTS // 2) // BASIS_POINTS, amount)
            fields.update(
                status=PaymentStatus.SUCCEEDED, succeeded_at=final_at, fee_bps=bps, fee_amount=fee
            )
            seeded.capture = (amount, fee)
            to_status = PaymentStatus.SUCCEEDED
        else:
            code, text = self.decline(rng.random())
            fields.update(
                status=PaymentStatus.FAILED,
                failed_at=final_at,
                failure_code=code,
                failure_message=text,
            )
            details["decline_code"] = code
            to_status = PaymentStatus.FAILED
        seeded.events.append(
            SeedEvent(
                final_at,
                PaymentStatus.PROCESSING,
                to_status,
                reason,
                ActorType.ACQUIRER,
                SANDBOX_LABEL,
                details,
            )
        )

    def _unknown(self, seeded: SeedPayment, unknown_at: float) -> None:
        if unknown_at > self.now:
            return
        # The janitor's back-off, replayed up to now: how often it asked, when it asks next.
        attempts = 0
        next_query = unknown_at + QUERY_BACKOFF[0].total_seconds()
        while next_query <= self.now:
            attempts += 1
            next_query += QUERY_BACKOFF[min(attempts, len(QUERY_BACKOFF) - 1)].total_seconds()
        seeded.fields.update(
            status=PaymentStatus.UNKNOWN, next_query_at=next_query, query_attempts=attempts
        )
        seeded.events.append(
            SeedEvent(
                unknown_at,
                PaymentStatus.PROCESSING,
                PaymentStatus.UNKNOWN,
                "read_timeout",
                ActorType.ACQUIRER,
                SANDBOX_LABEL,
            )
        )
