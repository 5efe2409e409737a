"""One-time codes by email: 6 digits, hashed at rest, 10 minutes, 5 tries, single use.

    email_code_issue(email=..., purpose=EmailCodePurpose.PAYER_SIGNUP, request=request)
    email_code_verify(email=..., purpose=..., code="123456", request=request)

Only the newest code of an (email, purpose) pair is valid. Codes are stored as an
HMAC-SHA256 keyed with SECRET_KEY (and the email and purpose), never in clear; the
plain code exists only in the email. Issuing is limited per address (one a minute,
five an hour) and per client IP. A code may be bound to data, like a WebAuthn
challenge (`binding`, see ceremonies.binding_encode): it is then accepted only with
the same binding.

The email is sent right after the transaction commits, from the request (a Celery task
would need the plain code in the broker). A wrong attempt is committed before the
error is raised: do not call `email_code_verify` inside an atomic block that rolls back.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.passkeys.ceremonies import binding_digest
from accounts.passkeys.errors import EmailCodeInvalid, RateLimited
from accounts.passkeys.models import EmailCode, EmailCodePurpose
from accounts.services.audit import audit_event_record, client_ip
from config.errors import ValidationFailed

logger = logging.getLogger("paydesk.accounts.email_codes")

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_INTERVAL_SECONDS = 60
MAX_CODES_PER_ADDRESS_PER_HOUR = 5
MAX_CODES_PER_IP_PER_HOUR = 20
_HASH_SALT = "paydesk.accounts.passkeys.email_code"


def email_normalize(email: str) -> str:
    """Return the address as stored: trimmed and lower-cased (User.email is lower case)."""
    return str(email or "").strip().lower()


def _valid_address(email: str) -> str:
    address = email_normalize(email)
    try:
        validate_email(address)
    except ValidationError as exc:
        raise ValidationFailed(
            _("Enter a valid email address."), details={"email": "invalid"}
        ) from exc
    return address


def _code_hashes(email: str, purpose: str, code: str) -> list[str]:
    """Return the stored form of a code under SECRET_KEY, then under each fallback key."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    value = f"{purpose}:{email}:{code}"
    return [
        salted_hmac(_HASH_SALT, value, secret=key, algorithm="sha256").hexdigest() for key in keys
    ]


def _key(kind: str, value: str) -> str:
    # Hash the address so that cache keys carry no personal data.
    return f"email-code:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def _rate_limit(address: str, purpose: str, request: HttpRequest | None) -> None:
    now = timezone.now()
    if not cache.add(_key(f"cooldown:{purpose}", address), 1, RESEND_INTERVAL_SECONDS):
        raise RateLimited(
            _("A code was just sent. Wait a minute before asking for another one."),
            retry_after_seconds=RESEND_INTERVAL_SECONDS,
        )
    recent = list(
        EmailCode.objects.filter(
            email=address, purpose=purpose, created_at__gt=now - timedelta(hours=1)
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)[:MAX_CODES_PER_ADDRESS_PER_HOUR]
    )
    if len(recent) >= MAX_CODES_PER_ADDRESS_PER_HOUR:
        wait = int((recent[0] + timedelta(hours=1) - now).total_seconds()) + 1
        raise RateLimited(
            ngettext(
                "Too many codes were sent to this address. Try again in %(minutes)s minute.",
                "Too many codes were sent to this address. Try again in %(minutes)s minutes.",
                max(1, wait // 60),
            )
            % {"minutes": max(1, wait // 60)},
            retry_after_seconds=wait,
        )
    ip = client_ip(request)
    if ip:
        key = _key("ip", ip)
        cache.add(key, 0, 3600)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, 3600)
            count = 1
        if count > MAX_CODES_PER_IP_PER_HOUR:
            raise RateLimited(retry_after_seconds=3600)


def _send(address: str, purpose: str, code: str, expires_minutes: int) -> None:
    context = {
        "code": code,
        "purpose": purpose,
        "is_signup": purpose == EmailCodePurpose.PAYER_SIGNUP,
        "expires_minutes": expires_minutes,
    }
    # Rendered now, in the request's language; only the send waits for the commit.
    subject = " ".join(render_to_string("emails/accounts/email_code_subject.txt", context).split())
    body = render_to_string("emails/accounts/email_code.txt", context)
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address]
    )
    transaction.on_commit(message.send)


def email_code_issue(
    *,
    email: str,
    purpose: EmailCodePurpose,
    binding: bytes | None = None,
    request: HttpRequest | None = None,
) -> EmailCode:
    """Create a code for (email, purpose), email it, and return the stored row.

    The new code retires earlier ones. Raise ValidationFailed for a malformed address
    and RateLimited (with `retry_after_seconds`) when codes are asked for too often; a
    refusal is audited `email_code.rate_limited`, a sent code `email_code.sent`.
    """
    address = _valid_address(email)
    try:
        _rate_limit(address, purpose, request)
    except RateLimited:
        audit_event_record(
            action="email_code.rate_limited",
            after={"email": address, "purpose": purpose},
            request=request,
        )
        raise
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = timezone.now()
    with transaction.atomic():
        record = EmailCode.objects.create(
            email=address,
            purpose=purpose,
            code_hash=_code_hashes(address, purpose, code)[0],
            bound_digest=binding_digest(binding) if binding is not None else None,
            created_at=now,
            expires_at=now + CODE_TTL,
            ip_address=client_ip(request),
        )
        audit_event_record(
            action="email_code.sent",
            after={"email": address, "purpose": purpose, "code": record.pk},
            request=request,
        )
        _send(address, purpose, code, int(CODE_TTL.total_seconds() // 60))
    return record


def _refuse(reason: str, attempts_left: int = 0) -> EmailCodeInvalid:
    messages = {
        "no_code": _("There is no code waiting for this address. Ask for a new one."),
        "code_expired": _("This code has expired. Ask for a new one."),
        "too_many_attempts": _("Too many wrong codes. Ask for a new one."),
        "binding_mismatch": _("This code was sent for something else. Ask for a new one."),
        "wrong_code": ngettext(
            "That code is not right. You can try %(count)s more time.",
            "That code is not right. You can try %(count)s more times.",
            attempts_left,
        )
        % {"count": attempts_left},
    }
    details = {"attempts_left": attempts_left} if reason == "wrong_code" else {}
    return EmailCodeInvalid(messages[reason], code=reason, details=details)


def _binding_matches(record: EmailCode, binding: bytes | None) -> bool:
    if record.bound_digest is None or binding is None:
        return record.bound_digest is None and binding is None
    return constant_time_compare(binding_digest(binding), bytes(record.bound_digest))


def email_code_verify(
    *,
    email: str,
    purpose: EmailCodePurpose,
    code: str,
    binding: bytes | None = None,
    request: HttpRequest | None = None,
) -> EmailCode:
    """Accept the newest code of (email, purpose) once, and return its row (now used).

    Raise EmailCodeInvalid whose `code` is no_code, code_expired, too_many_attempts,
    wrong_code (details: attempts_left) or binding_mismatch; every refusal is audited
    `email_code.verify_failed` and a wrong code counts against the five attempts.
    """
    address = email_normalize(email)
    typed = "".join(str(code or "").split())
    refusal: EmailCodeInvalid | None = None
    with transaction.atomic():
        # The row lock makes two guesses at once count as two, and lets one success only.
        record = (
            EmailCode.objects.select_for_update()
            .filter(email=address, purpose=purpose)
            .order_by("-created_at", "-id")
            .first()
        )
        now = timezone.now()
        if record is None or record.used_at is not None:
            refusal = _refuse("no_code")
        elif record.expires_at <= now:
            refusal = _refuse("code_expired")
        elif record.attempts >= MAX_ATTEMPTS:
            refusal = _refuse("too_many_attempts")
        elif not any(
            constant_time_compare(candidate, record.code_hash)
            for candidate in _code_hashes(address, purpose, typed)
        ):
            record.attempts += 1
            record.save(update_fields=["attempts"])
            left = MAX_ATTEMPTS - record.attempts
            refusal = _refuse("wrong_code" if left else "too_many_attempts", left)
        elif not _binding_matches(record, binding):
            # Spent all the same: the data it was sent for has changed.
            record.used_at = now
            record.save(update_fields=["used_at"])
            refusal = _refuse("binding_mismatch")
        else:
            record.used_at = now
            record.save(update_fields=["used_at"])
        if refusal is not None:
            audit_event_record(
                action="email_code.verify_failed",
                after={
                    "email": address,
                    "purpose": purpose,
                    "reason": refusal.code,
                    "code": record.pk if record is not None else None,
                    "attempts": record.attempts if record is not None else 0,
                },
                request=request,
            )
    if refusal is not None:
        raise refusal
    assert record is not None
    return record
