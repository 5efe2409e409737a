"""get_gateway(): the adapter is chosen by settings."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from payments.gateways import GatewayStatus, get_gateway
from payments.gateways.sandbox import SandboxGateway
from tests.helpers.sandbox_acquirer import SandboxAcquirer
from tests.payments.gateways.support import pay_request


def test_the_sandbox_adapter_is_built_from_settings(settings: Settings) -> None:
    settings.PAYMENT_GATEWAY = "sandbox"
    settings.SANDBOX_ACQUIRER_URL = "http://acquirer.test:9000"
    settings.PAYMENT_GATEWAY_CONNECT_TIMEOUT = 0.5
    settings.PAYMENT_GATEWAY_READ_TIMEOUT = 2.5

    gateway = get_gateway()

    assert isinstance(gateway, SandboxGateway)
    assert (gateway.base_url, gateway.connect_timeout, gateway.read_timeout) == (
        "http://acquirer.test:9000",
        0.5,
        2.5,
    )
    assert "secret" not in repr(gateway)


def test_an_unknown_gateway_name_is_a_configuration_error(settings: Settings) -> None:
    settings.PAYMENT_GATEWAY = "no-such-bank"

    with pytest.raises(ImproperlyConfigured, match="no-such-bank"):
        get_gateway()
    with pytest.raises(ImproperlyConfigured, match="other-bank"):
        get_gateway("other-bank")


def test_get_gateway_talks_to_the_running_sandbox(
    sandbox_acquirer: SandboxAcquirer, settings: Settings
) -> None:
    sandbox_acquirer.use_in(settings)

    result = get_gateway().pay(pay_request(1000))

    assert result.status is GatewayStatus.SUCCEEDED
