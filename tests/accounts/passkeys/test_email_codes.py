"""Email one-time codes: hashed, expiring, limited, single use."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import AuditEvent, EmailCode, EmailCodePurpose
from accounts.passkeys.ceremonies import binding_encode
from accounts.passkeys.email_codes import (
    MAX_ATTEMPTS,
    MAX_CODES_PER_ADDRESS_PER_HOUR,
    MAX_CODES_PER_IP_PER_HOUR,
    _key,
    email_code_issue,
    email_code_verify,
)
from accounts.passkeys.errors import EmailCodeInvalid, RateLimited
from config.errors import ValidationFailed
from tests.accounts.passkeys.support import code_from_last_email

pytestmark = pytest.mark.django_db

SIGNUP = EmailCodePurpose.PAYER_SIGNUP
EMAIL = "new.payer@example.com"


@pytest.fixture
def issue(django_capture_on_commit_callbacks):
    """Return `issue(email, **kwargs)`: issue a code, send its email, return the code."""

    def _issue(email: str = EMAIL, **kwargs) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            email_code_issue(email=email, purpose=kwargs.pop("purpose", SIGNUP), **kwargs)
        return code_from_last_email()

    return _issue


def _fresh_cooldown(email: str = EMAIL, purpose: str = SIGNUP) -> None:
    """Forget the one-a-minute cooldown (the clock in these tests does not move)."""
    cache.delete(_key(f"cooldown:{purpose}", email))


def test_a_code_is_emailed_and_only_its_hash_is_kept(issue):
    code = issue("New.Payer@Example.com ")

    record = EmailCode.objects.get()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [EMAIL]
    assert mail.outbox[0].subject == f"Your Paydesk code: {code}"
    assert record.email == EMAIL
    assert len(record.code_hash) == 64
    assert code not in record.code_hash
    assert record.expires_at - record.created_at == timedelta(minutes=10)
    assert (record.attempts, record.used_at) == (0, None)
    event = AuditEvent.objects.get(action="email_code.sent")
    assert event.after == {"email": EMAIL, "purpose": "payer_signup", "code": record.pk}
    assert code not in str(event.after)


def test_a_code_is_accepted_once(issue):
    code = issue()

    record = email_code_verify(email=EMAIL, purpose=SIGNUP, code=code)

    assert record.used_at is not None
    with pytest.raises(EmailCodeInvalid) as again:
        email_code_verify(email=EMAIL, purpose=SIGNUP, code=code)
    assert again.value.code == "no_code"


def test_spaces_in_the_typed_code_and_case_in_the_address_do_not_matter(issue):
    code = issue()

    email_code_verify(email=EMAIL.upper(), purpose=SIGNUP, code=f"{code[:3]} {code[3:]}")

    assert EmailCode.objects.get().used_at is not None


def test_a_wrong_code_counts_and_the_fifth_locks_the_code(issue):
    code = issue()
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    for attempt in range(1, MAX_ATTEMPTS):
        with pytest.raises(EmailCodeInvalid) as caught:
            email_code_verify(email=EMAIL, purpose=SIGNUP, code=wrong)
        assert caught.value.code == "wrong_code"
        assert caught.value.details == {"attempts_left": MAX_ATTEMPTS - attempt}
    with pytest.raises(EmailCodeInvalid) as fifth:
        email_code_verify(email=EMAIL, purpose=SIGNUP, code=wrong)
    with pytest.raises(EmailCodeInvalid) as right_but_late:
        email_code_verify(email=EMAIL, purpose=SIGNUP, code=code)

    assert fifth.value.code == "too_many_attempts"
    assert right_but_late.value.code == "too_many_attempts"
    record = EmailCode.objects.get()
    assert (record.attempts, record.used_at) == (MAX_ATTEMPTS, None)
    assert AuditEvent.objects.filter(action="email_code.verify_failed").count() == MAX_ATTEMPTS + 1


def test_an_expired_code_is_refused(issue):
    code = issue()
    EmailCode.objects.update(
        created_at=timezone.now() - timedelta(minutes=11),
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    with pytest.raises(EmailCodeInvalid) as caught:
        email_code_verify(email=EMAIL, purpose=SIGNUP, code=code)

    assert caught.value.code == "code_expired"
    assert EmailCode.objects.get().used_at is None


def test_a_new_code_retires_the_previous_one(issue):
    first = issue()
    _fresh_cooldown()
    second = issue()
    if first == second:  # one chance in a million
        pytest.skip("the two random codes are equal")

    with pytest.raises(EmailCodeInvalid):
        email_code_verify(email=EMAIL, purpose=SIGNUP, code=first)
    email_code_verify(email=EMAIL, purpose=SIGNUP, code=second)


def test_a_code_is_for_its_purpose_and_address_only(issue):
    code = issue()

    with pytest.raises(EmailCodeInvalid):
        email_code_verify(email=EMAIL, purpose=EmailCodePurpose.PAYMENT_CONFIRMATION, code=code)
    with pytest.raises(EmailCodeInvalid):
        email_code_verify(email="someone.else@example.com", purpose=SIGNUP, code=code)
    assert EmailCode.objects.get().used_at is None


def test_a_bound_code_needs_the_same_binding(issue):
    payment: dict[str, str | int] = {"payment": "pay_1", "amount": 100, "currency": "CNY"}
    code = issue(purpose=EmailCodePurpose.PAYMENT_CONFIRMATION, binding=binding_encode(payment))

    with pytest.raises(EmailCodeInvalid) as caught:
        email_code_verify(
            email=EMAIL,
            purpose=EmailCodePurpose.PAYMENT_CONFIRMATION,
            code=code,
            binding=binding_encode({**payment, "amount": 200}),
        )

    assert caught.value.code == "binding_mismatch"
    assert mail.outbox[0].subject == f"Your Paydesk payment code: {code}"


def test_a_bound_code_is_accepted_with_its_binding(issue):
    payment: dict[str, str | int] = {"payment": "pay_1", "amount": 100, "currency": "CNY"}
    code = issue(purpose=EmailCodePurpose.PAYMENT_CONFIRMATION, binding=binding_encode(payment))

    record = email_code_verify(
        email=EMAIL,
        purpose=EmailCodePurpose.PAYMENT_CONFIRMATION,
        code=code,
        binding=binding_encode(payment),
    )
    assert record.used_at is not None


def test_one_code_a_minute_per_address(issue):
    issue()

    with pytest.raises(RateLimited) as caught:
        email_code_issue(email=EMAIL, purpose=SIGNUP)

    assert caught.value.retry_after_seconds == 60
    assert EmailCode.objects.count() == 1
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="email_code.rate_limited").count() == 1


def test_five_codes_an_hour_per_address(issue):
    for _ in range(MAX_CODES_PER_ADDRESS_PER_HOUR):
        issue()
        _fresh_cooldown()

    with pytest.raises(RateLimited) as caught:
        email_code_issue(email=EMAIL, purpose=SIGNUP)

    assert 3500 < caught.value.retry_after_seconds <= 3601
    assert EmailCode.objects.count() == MAX_CODES_PER_ADDRESS_PER_HOUR


def test_codes_are_limited_per_client_address():
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    request.user = type("Anonymous", (), {"is_authenticated": False})()
    for number in range(MAX_CODES_PER_IP_PER_HOUR):
        email_code_issue(email=f"p{number}@example.com", purpose=SIGNUP, request=request)

    with pytest.raises(RateLimited):
        email_code_issue(email="one.more@example.com", purpose=SIGNUP, request=request)

    assert EmailCode.objects.count() == MAX_CODES_PER_IP_PER_HOUR


def test_a_malformed_address_is_refused():
    with pytest.raises(ValidationFailed):
        email_code_issue(email="not-an-address", purpose=SIGNUP)

    assert EmailCode.objects.count() == 0
    assert mail.outbox == []
