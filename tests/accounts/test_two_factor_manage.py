"""Managing 2FA: recovery-code regeneration and device removal, each behind a code."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent
from tests.accounts.two_factor import (
    MANAGE_URL,
    SETUP_URL,
    VERIFY_URL,
    merchant_owner,
    password_step_client,
    two_factor_actions,
)
from tests.helpers.twofactor import (
    VerifiedClientFactory,
    confirmed_totp_device,
    enrol,
    session_is_verified,
    totp_code,
    unthrottle,
    wrong_totp_code,
)

pytestmark = pytest.mark.django_db


# Managing devices and recovery codes


def test_regenerating_recovery_codes_needs_a_current_code_and_cancels_the_old_ones() -> None:
    owner = merchant_owner()
    device, old_codes = enrol(owner)
    client = password_step_client(owner)
    client.post(VERIFY_URL, {"code": totp_code(device, steps_ahead=1)})
    before = set(StaticToken.objects.filter(device__user=owner).values_list("token", flat=True))

    refused = client.post(reverse("twofactor:recovery_codes"), {"code": wrong_totp_code(device)})

    assert refused.status_code == 200
    assert "That code is not valid" in refused.context["form"].errors["code"][0]
    assert (
        set(StaticToken.objects.filter(device__user=owner).values_list("token", flat=True))
        == before
    )
    assert two_factor_actions(owner).count("2fa.recovery_codes_generated") == 1
    unthrottle(device)

    response = client.post(
        reverse("twofactor:recovery_codes"), {"code": totp_code(device, steps_ahead=2)}
    )

    assert response.status_code == 200
    new_codes = response.context["codes"]
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    assert two_factor_actions(owner)[-1] == "2fa.recovery_codes_generated"
    regenerated = AuditEvent.objects.filter(actor=owner).latest("id")
    assert regenerated.after == {
        "count": 10,
        "reason": "regenerated",
        "confirmed_with": device.persistent_id,
    }
    stale = password_step_client(owner)
    assert stale.post(VERIFY_URL, {"code": old_codes[1]}).status_code == 200
    unthrottle(StaticDevice.objects.get(user=owner))
    fresh = password_step_client(owner)
    assert fresh.post(VERIFY_URL, {"code": new_codes[1]}).status_code == 302


def test_removing_the_last_device_of_a_2fa_role_sends_the_user_back_to_setup() -> None:
    owner = merchant_owner()
    device, _codes = enrol(owner)
    client = password_step_client(owner)
    client.post(VERIFY_URL, {"code": totp_code(device, steps_ahead=1)})

    response = client.post(
        reverse("twofactor:device_remove", args=[device.pk]),
        {"code": totp_code(device, steps_ahead=2)},
    )

    assert response.status_code == 302
    assert response["Location"] == SETUP_URL
    assert not TOTPDevice.objects.filter(user=owner, confirmed=True).exists()
    assert not StaticDevice.objects.filter(user=owner).exists()
    assert not session_is_verified(client)
    removed = AuditEvent.objects.get(actor=owner, action="2fa.device_removed")
    assert removed.object_id == str(device.pk)
    assert removed.after == {"remaining_devices": 0, "recovery_codes_removed": True}
    assert client.get("/")["Location"] == f"{SETUP_URL}?next=%2F"


def test_removing_a_lost_device_with_a_recovery_code_keeps_the_other_device() -> None:
    owner = merchant_owner()
    lost, codes = enrol(owner)
    spare = confirmed_totp_device(owner, name="Spare phone")
    client = password_step_client(owner)
    client.post(VERIFY_URL, {"code": codes[0]})

    response = client.post(reverse("twofactor:device_remove", args=[lost.pk]), {"code": codes[1]})

    assert response["Location"] == MANAGE_URL
    assert list(TOTPDevice.objects.filter(user=owner)) == [spare]
    assert StaticToken.objects.filter(device__user=owner).count() == 8
    assert session_is_verified(client)
    assert client.get(MANAGE_URL).status_code == 200


def test_removing_a_device_with_a_wrong_code_changes_nothing() -> None:
    owner = merchant_owner()
    device, _codes = enrol(owner)
    client = password_step_client(owner)
    client.post(VERIFY_URL, {"code": totp_code(device, steps_ahead=1)})

    response = client.post(
        reverse("twofactor:device_remove", args=[device.pk]), {"code": wrong_totp_code(device)}
    )

    assert response.status_code == 200
    assert "That code is not valid" in response.context["form"].errors["code"][0]
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()
    assert StaticToken.objects.filter(device__user=owner).count() == 10
    assert "2fa.device_removed" not in two_factor_actions(owner)
    assert session_is_verified(client)


def test_a_user_cannot_remove_someone_elses_device(
    verified_client: VerifiedClientFactory,
) -> None:
    victim = merchant_owner("victim@example.com")
    victim_device, _codes = enrol(victim)
    attacker = merchant_owner("attacker@example.com")
    client = verified_client(attacker)
    attacker_device = TOTPDevice.objects.get(user=attacker)

    response = client.post(
        reverse("twofactor:device_remove", args=[victim_device.pk]),
        {"code": totp_code(attacker_device)},
    )

    assert response.status_code == 302
    assert response["Location"] == MANAGE_URL
    assert TOTPDevice.objects.filter(pk=victim_device.pk, confirmed=True).exists()
    assert not AuditEvent.objects.filter(action="2fa.device_removed").exists()


def test_manage_page_lists_the_users_devices_only(verified_client: VerifiedClientFactory) -> None:
    owner = merchant_owner()
    other = merchant_owner("other@example.com")
    confirmed_totp_device(other, name="Not mine")
    client = verified_client(owner)

    response = client.get(MANAGE_URL)

    assert response.status_code == 200
    assert [d.name for d in response.context["devices"]] == ["Test phone"]
    assert "Not mine" not in response.content.decode()
