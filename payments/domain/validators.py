"""Input rules of a payment that are not plain field types: currencies, regions,
metadata, and the refusal of anything that looks like a card number.

Each `*_validate` function returns the cleaned value or raises Django's
`ValidationError`; the API serializer turns those into the one error shape.
"""

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Active ISO 4217 currency codes that a payment can be made in (funds, precious metals
# and testing codes such as XAU, XTS or USN are left out on purpose).
_ISO_4217_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
    JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS
    TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF
    YER ZAR ZMW ZWG
"""
ISO_4217_CURRENCIES: frozenset[str] = frozenset(_ISO_4217_CODES.split())
DEFAULT_CURRENCY = "CNY"

# The operations report's regions, and the provinces (ISO 3166-2:CN) in each. A payment
# stores what the merchant sent (a region or a province) and the region derived from it,
# so that per-region KPIs group on one column.
REGION_EAST = "east"
REGION_NORTH = "north"
REGION_SOUTH = "south"
REGION_OTHER = "other"
REGIONS = (REGION_EAST, REGION_NORTH, REGION_SOUTH, REGION_OTHER)
PROVINCE_REGIONS: dict[str, str] = {
    # East China (华东)
    **dict.fromkeys(
        ["CN-SH", "CN-JS", "CN-ZJ", "CN-AH", "CN-FJ", "CN-JX", "CN-SD", "CN-TW"], REGION_EAST
    ),
    # North China (华北)
    **dict.fromkeys(["CN-BJ", "CN-TJ", "CN-HE", "CN-SX", "CN-NM"], REGION_NORTH),
    # South China (华南)
    **dict.fromkeys(["CN-GD", "CN-GX", "CN-HI", "CN-HK", "CN-MO"], REGION_SOUTH),
    # The rest: north-east, central, south-west and north-west China.
    **dict.fromkeys(
        [
            "CN-LN", "CN-JL", "CN-HL", "CN-HA", "CN-HB", "CN-HN", "CN-CQ", "CN-SC", "CN-GZ",
            "CN-YN", "CN-XZ", "CN-SN", "CN-GS", "CN-QH", "CN-NX", "CN-XJ",
        ],
        REGION_OTHER,
    ),
}  # fmt: skip

METADATA_MAX_KEYS = 20
METADATA_KEY_MAX_LENGTH = 40
METADATA_VALUE_MAX_LENGTH = 500

# Digit runs that could be a primary account number: plain runs, and runs whose groups are
# separated by single spaces or hyphens ("4111 1111 1111 1111").
_DIGIT_RUN = re.compile(r"\d+")
_GROUPED_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)+")
PAN_MIN_DIGITS = 13
PAN_MAX_DIGITS = 19


class CardNumberRefused(ValidationError):  # noqa: N818  (a refusal, named for the domain)
    """A value that looks like a card number: Paydesk never stores one."""


def luhn_is_valid(digits: str) -> bool:
    """Return whether the digit string passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """Return whether `text` holds a Luhn-valid run of 13 to 19 digits (a possible PAN)."""
    candidates = [match.group() for match in _DIGIT_RUN.finditer(text)]
    candidates += [re.sub(r"[ -]", "", m.group()) for m in _GROUPED_DIGIT_RUN.finditer(text)]
    return any(
        PAN_MIN_DIGITS <= len(run) <= PAN_MAX_DIGITS and luhn_is_valid(run) for run in candidates
    )


def card_number_refuse(text: str) -> str:
    """Return `text`, or raise CardNumberRefused if it contains what looks like a card number."""
    if looks_like_card_number(text):
        raise CardNumberRefused(
            _(
                "This looks like a card number. Paydesk never accepts or stores card "
                "numbers: send the acquirer's token instead."
            ),
            code="card_number_refused",
        )
    return text


def currency_validate(value: Any) -> str:
    """Return the ISO 4217 code `value` (three capital letters, e.g. CNY) or raise."""
    if not isinstance(value, str) or value not in ISO_4217_CURRENCIES:
        raise ValidationError(
            _("Use an ISO 4217 currency code in capitals, such as CNY."), code="invalid_currency"
        )
    return value


def region_validate(value: Any) -> tuple[str, str]:
    """Return `(region, region_group)` for a region name or a province code, or raise.

    `value` is one of east, north, south, other, or an ISO 3166-2:CN province code such as
    CN-ZJ (any case; the "CN-" prefix may be left out).
    """
    if not isinstance(value, str):
        raise ValidationError(_("Send the region as text."), code="invalid_region")
    cleaned = value.strip()
    if cleaned.lower() in REGIONS:
        return cleaned.lower(), cleaned.lower()
    code = cleaned.upper()
    if not code.startswith("CN-"):
        code = f"CN-{code}"
    if code in PROVINCE_REGIONS:
        return code, PROVINCE_REGIONS[code]
    raise ValidationError(
        _("Use east, north, south, other, or a province code such as CN-ZJ (ISO 3166-2:CN)."),
        code="invalid_region",
    )


def metadata_validate(value: Any) -> dict[str, str]:
    """Return `value` if it is a small map of strings, or raise with every problem found.

    At most 20 keys of 1 to 40 characters, each value a string of at most 500 characters;
    no key or value may look like a card number (raises CardNumberRefused for those).
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(
            _("Metadata is an object of string keys and string values."), code="invalid"
        )
    if len(value) > METADATA_MAX_KEYS:
        raise ValidationError(
            _("Metadata has at most %(limit)d keys.") % {"limit": METADATA_MAX_KEYS},
            code="too_many_keys",
        )
    problems: dict[str, list[str]] = {}
    card_numbers: dict[str, list[str]] = {}
    for key, item in value.items():
        # A key is named in the errors, unless it is itself what must never travel back.
        label = "****" if looks_like_card_number(key) else key[:METADATA_KEY_MAX_LENGTH]
        if not 1 <= len(key) <= METADATA_KEY_MAX_LENGTH:
            problems.setdefault(label, []).append(
                str(_("A key has 1 to %(limit)d characters.") % {"limit": METADATA_KEY_MAX_LENGTH})
            )
        if not isinstance(item, str):
            problems.setdefault(label, []).append(str(_("A value is a string.")))
        elif len(item) > METADATA_VALUE_MAX_LENGTH:
            problems.setdefault(label, []).append(
                str(
                    _("A value has at most %(limit)d characters.")
                    % {"limit": METADATA_VALUE_MAX_LENGTH}
                )
            )
        if looks_like_card_number(key) or (isinstance(item, str) and looks_like_card_number(item)):
            # The key is named, never the value: it must not travel back in the response.
            card_numbers.setdefault(label, []).append(
                str(_("This looks like a card number; card numbers are never accepted."))
            )
    if card_numbers:
        raise CardNumberRefused(card_numbers, code="card_number_refused")
    if problems:
        raise ValidationError(problems, code="invalid")
    return dict(value)
