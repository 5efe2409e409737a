"""Validators for the merchant application (credit code, ID number, bank account, documents)
and for where a live webhook may be sent."""

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

# GB 32100-2015: the unified social credit code's alphabet (no I, O, Z, S, V) and weights.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CREDIT_CODE_LENGTH = 18

# GB 11643-1999: the resident identity card number (ISO 7064 MOD 11-2).
RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK = "10X98765432"

# Chinese settlement accounts (corporate and personal) run from 10 to 30 digits.
BANK_ACCOUNT_MIN_DIGITS = 10
BANK_ACCOUNT_MAX_DIGITS = 30


def normalize_code(value: str) -> str:
    """Return `value` upper-cased with spaces and dashes removed (how people type codes)."""
    return "".join(ch for ch in value.upper() if ch not in " -\t")


def credit_code_check_character(first_17: str) -> str:
    """Return the check character for the first 17 characters of a credit code."""
    total = sum(
        CREDIT_CODE_ALPHABET.index(ch) * weight
        for ch, weight in zip(first_17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    check = 31 - total % 31
    return CREDIT_CODE_ALPHABET[0 if check == 31 else check]


def validate_credit_code(value: str) -> None:
    """Refuse anything but an 18-character unified social credit code with a valid check."""
    code = normalize_code(value)
    if len(code) != CREDIT_CODE_LENGTH:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(count)d."),
            code="credit_code_length",
            params={"count": len(code)},
        )
    wrong = sorted({ch for ch in code if ch not in CREDIT_CODE_ALPHABET})
    if wrong:
        raise ValidationError(
            _("A unified social credit code cannot contain %(characters)s."),
            code="credit_code_characters",
            params={"characters": ", ".join(wrong)},
        )
    if credit_code_check_character(code[:17]) != code[17]:
        raise ValidationError(
            _("This unified social credit code is not valid: check the last character."),
            code="credit_code_check",
        )


def validate_resident_id(value: str) -> None:
    """Refuse anything but an 18-character resident identity card number with a valid check."""
    number = normalize_code(value)
    if len(number) != 18 or not number[:17].isdigit():
        raise ValidationError(
            _("An identity card number has 17 digits followed by a digit or X."),
            code="resident_id_format",
        )
    total = sum(int(d) * w for d, w in zip(number[:17], RESIDENT_ID_WEIGHTS, strict=True))
    if RESIDENT_ID_CHECK[total % 11] != number[17]:
        raise ValidationError(
            _("This identity card number is not valid: check the last character."),
            code="resident_id_check",
        )


def validate_phone(value: str) -> None:
    """Refuse a phone number that is not 7 to 15 digits (a leading + and separators allowed)."""
    digits = "".join(ch for ch in value if ch not in " -()")
    if digits.startswith("+"):
        digits = digits[1:]
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise ValidationError(
            _("Enter a phone number: 7 to 15 digits, for example 138 0013 8000."),
            code="phone",
        )


def normalize_bank_account(value: str) -> str:
    """Return the account number without the spaces people type to group digits."""
    return "".join(value.split())


def validate_bank_account_number(value: str) -> None:
    """Refuse an account number that is not 10 to 30 digits."""
    number = normalize_bank_account(value)
    if not number.isdigit():
        raise ValidationError(
            _("A bank account number contains digits only."), code="bank_account_digits"
        )
    if not BANK_ACCOUNT_MIN_DIGITS <= len(number) <= BANK_ACCOUNT_MAX_DIGITS:
        raise ValidationError(
            _("A bank account number has %(min)d to %(max)d digits; this one has %(count)d."),
            code="bank_account_length",
            params={
                "min": BANK_ACCOUNT_MIN_DIGITS,
                "max": BANK_ACCOUNT_MAX_DIGITS,
                "count": len(number),
            },
        )


def mask_account_number(value: str) -> str:
    """Return the account number hidden except for its last four digits."""
    if not value:
        return ""
    return "•••• " + value[-4:]


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def webhook_address_is_public(address: IPAddress) -> bool:
    """Return whether a live webhook may connect to `address`: a public unicast address.

    Refuses private, loopback, link-local (cloud metadata), shared (CGNAT), reserved,
    multicast and unspecified addresses, also when an IPv6 address wraps an IPv4 one
    (IPv4-mapped, 6to4). The one check for registration (a literal IP in the URL) and for
    sending (every address the host name resolves to at that moment).
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            address = embedded
    return address.is_global and not (address.is_multicast or address.is_reserved)


# Documents: the content type comes from the file's first bytes, never from the browser.
DOCUMENT_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)


@dataclass(frozen=True)
class InspectedDocument:
    """What a valid upload turned out to be."""

    content_type: str
    extension: str
    size: int
    sha256: str


def document_max_bytes() -> int:
    """Return the upload limit in bytes (setting KYC_DOCUMENT_MAX_BYTES, default 10 MB)."""
    return int(getattr(settings, "KYC_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024))


def sniff_content_type(head: bytes) -> tuple[str, str] | None:
    """Return (content type, extension) for a PDF, PNG or JPEG header, else None."""
    for signature, content_type, extension in DOCUMENT_SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    return None


def inspect_document(file: IO[bytes], size: int) -> InspectedDocument:
    """Check an uploaded file's size and real type and hash it; raise ValidationError if bad.

    The file is read in chunks and rewound, so the caller can store it afterwards.
    """
    limit = document_max_bytes()
    if size == 0:
        raise ValidationError(_("The file is empty."), code="document_empty")
    if size > limit:
        raise ValidationError(
            _("The file is %(size)s; the limit is %(limit)s."),
            code="document_too_large",
            params={"size": filesizeformat(size), "limit": filesizeformat(limit)},
        )
    file.seek(0)
    sniffed = sniff_content_type(file.read(16))
    if sniffed is None:
        raise ValidationError(
            _("Upload a PDF, PNG or JPEG file; this file is none of them."),
            code="document_type",
        )
    file.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(64 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    return InspectedDocument(
        content_type=sniffed[0], extension=sniffed[1], size=size, sha256=digest.hexdigest()
    )
