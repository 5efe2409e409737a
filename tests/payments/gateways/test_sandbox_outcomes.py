"""How the sandbox decides outcomes: deterministic per reference, rates as configured."""

import pytest

from payments.gateways.sandbox_acquirer.config import (
    ConfigInvalid,
    Outcome,
    SandboxConfig,
    plan_payment,
    plan_refund,
)


def config(**changes: object) -> SandboxConfig:
    return SandboxConfig(request_secret="a", response_secret="b").updated(changes)


def test_the_same_seed_and_reference_always_give_the_same_outcome() -> None:
    rates = config(decline_rate=0.5, timeout_rate=0.2, async_rate=0.2)
    references = [f"pay_{n}" for n in range(200)]

    first = [plan_payment(rates, reference, 1234) for reference in references]
    again = [plan_payment(rates, reference, 1234) for reference in reversed(references)]

    assert first == list(reversed(again))
    reseeded = SandboxConfig(request_secret="a", response_secret="b", seed=99, decline_rate=0.5)
    assert [plan_payment(reseeded, r, 1234) for r in references] != [
        plan_payment(config(decline_rate=0.5), r, 1234) for r in references
    ]


def test_ordinary_amounts_follow_the_rates() -> None:
    rates = config(decline_rate=0.3, timeout_rate=0.1, async_rate=0.2)

    outcomes = [plan_payment(rates, f"pay_{n}", 1234).outcome for n in range(4000)]

    shares = {o: outcomes.count(o) / len(outcomes) for o in set(outcomes)}
    assert set(shares) == {
        Outcome.DECLINE,
        Outcome.HANG_APPROVE,
        Outcome.ASYNC_APPROVE,
        Outcome.APPROVE,
    }
    assert shares[Outcome.DECLINE] == pytest.approx(0.3, abs=0.03)
    assert shares[Outcome.HANG_APPROVE] == pytest.approx(0.1, abs=0.02)
    assert shares[Outcome.ASYNC_APPROVE] == pytest.approx(0.2, abs=0.03)


def test_magic_amounts_ignore_the_rates() -> None:
    rates = config(decline_rate=1.0)

    assert plan_payment(rates, "pay_1", 40800).outcome is Outcome.HANG_APPROVE
    assert plan_payment(rates, "pay_1", 20200).outcome is Outcome.ASYNC_APPROVE
    assert plan_refund(rates, "rf_1", 40001).decline_code == "insufficient_merchant_balance"
    # refunds are never declined at random
    assert plan_refund(rates, "rf_1", 1234).outcome is Outcome.APPROVE


@pytest.mark.parametrize(
    "changes",
    [
        {"decline_rate": -0.1},
        {"decline_rate": 0.7, "async_rate": 0.4},
        {"notify_repeats": 0},
        {"latency_ms": 1.5},
        {"latency_ms": True},
        {"notify_url": 5},
        {"request_secret": "x"},
        {"no_such_setting": 1},
    ],
)
def test_invalid_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigInvalid):
        config(**changes)
