"""The sandbox acquirer's settings and how it decides each outcome.

Outcomes are deterministic: a magic amount (below, and in docs/sandbox-acquirer.md)
always gives the same outcome; any other amount draws from the configured rates with a
random generator seeded by (seed, reference), so the same reference always gets the same
outcome whatever the order of requests.
"""

import dataclasses
import random
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class Outcome(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    HANG_APPROVE = "hang_approve"  # no answer within the client's timeout; then succeeded
    HANG_DECLINE = "hang_decline"  # no answer within the client's timeout; then failed
    ASYNC_APPROVE = "async_approve"  # "processing" now; a notification says succeeded later
    ASYNC_DECLINE = "async_decline"  # "processing" now; a notification says failed later
    UNAVAILABLE = "unavailable"  # 503 every time; nothing recorded
    UNAVAILABLE_ONCE = "unavailable_once"  # 503 on the first attempt, then approve


@dataclass(frozen=True)
class Plan:
    outcome: Outcome
    decline_code: str = ""
    decline_message: str = ""


PAYMENT_MAGIC_AMOUNTS: dict[int, Plan] = {
    40001: Plan(Outcome.DECLINE, "insufficient_funds", "Insufficient funds"),
    40002: Plan(Outcome.DECLINE, "do_not_honor", "Do not honor"),
    40003: Plan(Outcome.DECLINE, "suspected_fraud", "Declined by the issuer's risk control"),
    40004: Plan(Outcome.DECLINE, "expired_card", "Expired card"),
    40800: Plan(Outcome.HANG_APPROVE),
    40801: Plan(Outcome.HANG_DECLINE, "issuer_unavailable", "The issuer did not answer"),
    20200: Plan(Outcome.ASYNC_APPROVE),
    20201: Plan(Outcome.ASYNC_DECLINE, "insufficient_funds", "Insufficient funds"),
    50300: Plan(Outcome.UNAVAILABLE),
    50301: Plan(Outcome.UNAVAILABLE_ONCE),
}

REFUND_MAGIC_AMOUNTS: dict[int, Plan] = {
    40001: Plan(
        Outcome.DECLINE,
        "insufficient_merchant_balance",
        "The merchant's balance does not cover the refund",
    ),
    40800: Plan(Outcome.HANG_APPROVE),
    40801: Plan(Outcome.HANG_DECLINE, "issuer_unavailable", "The issuer did not answer"),
    20200: Plan(Outcome.ASYNC_APPROVE),
    20201: Plan(
        Outcome.ASYNC_DECLINE,
        "insufficient_merchant_balance",
        "The merchant's balance does not cover the refund",
    ),
    50300: Plan(Outcome.UNAVAILABLE),
    50301: Plan(Outcome.UNAVAILABLE_ONCE),
}

RANDOM_DECLINES = (
    ("insufficient_funds", "Insufficient funds"),
    ("do_not_honor", "Do not honor"),
    ("expired_card", "Expired card"),
    ("suspected_fraud", "Declined by the issuer's risk control"),
)

RATE_FIELDS = ("decline_rate", "timeout_rate", "async_rate")
# What POST /v1/admin/config may change while running; secrets and storage never.
ADJUSTABLE_FIELDS = (
    *RATE_FIELDS,
    "latency_ms",
    "hang_seconds",
    "async_delay_ms",
    "notify_url",
    "notify_repeats",
    "notify_interval_ms",
)


class ConfigInvalid(ValueError):  # noqa: N818  (a refusal, named for the domain)
    """A configuration value out of range; the message names it."""


@dataclass(frozen=True)
class SandboxConfig:
    request_secret: str  # verifies Paydesk's requests
    response_secret: str  # signs responses and notifications
    decline_rate: float = 0.0
    timeout_rate: float = 0.0
    async_rate: float = 0.0
    latency_ms: int = 0  # mean added latency of a synchronous answer
    seed: int = 0
    hang_seconds: float = 5.0  # how long a "time out" outcome keeps the client waiting
    async_delay_ms: int = 1000  # from "processing" to the final result
    notify_url: str = ""  # used when a request names none
    notify_repeats: int = 3  # deliveries of every notification, as real channels repeat
    notify_interval_ms: int = 500
    state_dir: Path | None = None  # SQLite state and bill files; None keeps all in memory
    timezone: str = "Asia/Shanghai"  # the bill's day boundaries

    def __post_init__(self) -> None:
        if not self.request_secret or not self.response_secret:
            raise ConfigInvalid("both signing secrets are required")
        for name in RATE_FIELDS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigInvalid(f"{name} must be between 0 and 1, got {value}")
        if sum(getattr(self, name) for name in RATE_FIELDS) > 1.0:
            raise ConfigInvalid("decline_rate + timeout_rate + async_rate must not exceed 1")
        for name in ("latency_ms", "async_delay_ms", "notify_interval_ms", "hang_seconds"):
            if getattr(self, name) < 0:
                raise ConfigInvalid(f"{name} must not be negative")
        if not 1 <= self.notify_repeats <= 10:
            raise ConfigInvalid("notify_repeats must be between 1 and 10")

    def updated(self, changes: dict[str, Any]) -> "SandboxConfig":
        """Return a copy with `changes` applied; raise ConfigInvalid for unknown fields."""
        unknown = sorted(set(changes) - set(ADJUSTABLE_FIELDS))
        if unknown:
            raise ConfigInvalid(f"cannot change: {', '.join(unknown)}")
        converted: dict[str, Any] = {}
        for name, value in changes.items():
            kind = type(getattr(self, name))
            if kind is str:
                valid = isinstance(value, str)
            else:  # a number; JSON has no int/float split, but true/false is never one
                valid = isinstance(value, int | float) and not isinstance(value, bool)
                valid = valid and (kind is float or float(value).is_integer())
            if not valid:
                raise ConfigInvalid(f"{name} must be a {kind.__name__}")
            converted[name] = kind(value)
        return dataclasses.replace(self, **converted)

    def public(self) -> dict[str, Any]:
        """Return the adjustable settings (never the secrets)."""
        return {name: getattr(self, name) for name in ("seed", *ADJUSTABLE_FIELDS)}


def plan_payment(config: SandboxConfig, reference: str, amount: int) -> Plan:
    """Decide a payment's outcome: its magic amount, else a draw from the rates."""
    if amount in PAYMENT_MAGIC_AMOUNTS:
        return PAYMENT_MAGIC_AMOUNTS[amount]
    rng = random.Random(f"{config.seed}:payment:{reference}")  # noqa: S311  (not crypto)
    roll = rng.random()
    if roll < config.decline_rate:
        return Plan(Outcome.DECLINE, *rng.choice(RANDOM_DECLINES))
    roll -= config.decline_rate
    if roll < config.timeout_rate:
        return Plan(Outcome.HANG_APPROVE)
    roll -= config.timeout_rate
    if roll < config.async_rate:
        return Plan(Outcome.ASYNC_APPROVE)
    return Plan(Outcome.APPROVE)


def plan_refund(config: SandboxConfig, reference: str, amount: int) -> Plan:
    """Decide a refund's outcome: its magic amount, else the time-out and async rates.

    Refunds are not declined at random: a refund of a captured payment within its balance
    succeeds at a real acquirer unless the merchant's balance is short (magic 40001).
    """
    if amount in REFUND_MAGIC_AMOUNTS:
        return REFUND_MAGIC_AMOUNTS[amount]
    rng = random.Random(f"{config.seed}:refund:{reference}")  # noqa: S311  (not crypto)
    roll = rng.random()
    if roll < config.timeout_rate:
        return Plan(Outcome.HANG_APPROVE)
    if roll < config.timeout_rate + config.async_rate:
        return Plan(Outcome.ASYNC_APPROVE)
    return Plan(Outcome.APPROVE)


def latency_seconds(config: SandboxConfig, reference: str) -> float:
    """Return this answer's added latency: 0.5x to 1.5x the mean, fixed per reference."""
    if not config.latency_ms:
        return 0.0
    rng = random.Random(f"{config.seed}:latency:{reference}")  # noqa: S311  (not crypto)
    return rng.uniform(0.5, 1.5) * config.latency_ms / 1000
