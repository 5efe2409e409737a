"""Money in templates: amounts are stored in minor units and shown in major units.

    {% load money %}
    {{ payment.amount|money:payment.currency }}     -> "¥1,234.56"
    {{ 1234|money:"JPY" }}                          -> "JP¥1,234"

The helpers below (`currency_exponent`, `minor_to_major`, `money_format`) are the same
rules for Python code (CSV exports, emails): import them rather than dividing by 100.
"""

from decimal import Decimal

from django import template

register = template.Library()

# ISO 4217 minor units that are not 2. Zero-decimal currencies have no minor unit: an
# amount of 1234 JPY is ¥1,234, not ¥12.34.
ZERO_DECIMAL_CURRENCIES: frozenset[str] = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
        "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
THREE_DECIMAL_CURRENCIES: frozenset[str] = frozenset(
    {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
)
DEFAULT_EXPONENT = 2

# Symbols where one is unambiguous for our payers; anything else shows its ISO code.
# CNY is the platform's currency and gets the bare "¥"; the yen is told apart as "JP¥".
CURRENCY_SYMBOLS: dict[str, str] = {
    "CNY": "¥",
    "JPY": "JP¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "HKD": "HK$",
    "MOP": "MOP$",
    "TWD": "NT$",
    "SGD": "S$",
    "AUD": "A$",
    "CAD": "CA$",
    "KRW": "₩",
}


def currency_exponent(currency: str) -> int:
    """Return how many decimal places `currency`'s minor unit has (2 unless listed)."""
    code = (currency or "").upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return DEFAULT_EXPONENT


def minor_to_major(amount: int, currency: str) -> Decimal:
    """Return `amount` minor units of `currency` as an exact Decimal of major units."""
    exponent = currency_exponent(currency)
    return Decimal(int(amount)).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def major_to_minor(amount: Decimal, currency: str) -> Decimal:
    """Return `amount` major units of `currency` in minor units (not rounded)."""
    return Decimal(amount).scaleb(currency_exponent(currency))


def currency_symbol(currency: str) -> str:
    """Return the symbol shown before amounts of `currency`, or "" when it has none."""
    return CURRENCY_SYMBOLS.get((currency or "").upper(), "")


def money_format(amount: int, currency: str) -> str:
    """Return "¥1,234.56" for 123456 CNY; "1,234.560 KWD" for a currency without symbol."""
    major = minor_to_major(amount, currency)
    sign = "-" if major < 0 else ""
    # The separators are fixed, not localised: "1,234.56" reads the same in English and
    # Chinese, and a payer must never see "1.234,56" for the same amount elsewhere.
    digits = f"{abs(major):,f}"
    symbol = currency_symbol(currency)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {(currency or '').upper()}".strip()


@register.filter
def money(amount: int | str | None, currency: str = "CNY") -> str:
    """Format `amount` minor units of `currency` ("¥1,234.56"); "—" for no amount."""
    if amount is None or amount == "":
        return "—"
    try:
        value = int(amount)
    except (TypeError, ValueError):
        return "—"
    return money_format(value, currency or "CNY")


@register.filter
def money_major(amount: int | str | None, currency: str = "CNY") -> str:
    """Format `amount` without the currency: "1,234.56" (for a big figure beside its symbol)."""
    if amount is None or amount == "":
        return "—"
    return f"{minor_to_major(int(amount), currency or 'CNY'):,f}"


@register.filter(name="currency_symbol")
def currency_symbol_filter(currency: str) -> str:
    """Return the symbol of `currency`, or its code when it has none ("KWD")."""
    return currency_symbol(currency) or (currency or "").upper()
