"""What the workspace knows about currency codes: minor units (ISO 4217 exponents), names and symbols, and
the default currency of a new record (the workspace's base currency, else USD)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

FALLBACK_CURRENCY = "USD"

# ISO 4217 minor units where they are not 2 (the default for every other code).
_MINOR_UNITS = {
    "BHD": 3,
    "BIF": 0,
    "CLF": 4,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "RWF": 0,
    "TND": 3,
    "UGX": 0,
    "UYI": 0,
    "UYW": 4,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}

# Names and symbols of the currencies people pick most; any other 3-letter code works without them.
KNOWN = {
    "USD": (_("US dollar"), "$"),
    "EUR": (_("Euro"), "€"),
    "GBP": (_("Pound sterling"), "£"),
    "RUB": (_("Russian rouble"), "₽"),
    "CHF": (_("Swiss franc"), "CHF"),
    "JPY": (_("Japanese yen"), "¥"),
    "CNY": (_("Chinese yuan"), "¥"),
    "CAD": (_("Canadian dollar"), "$"),
    "AUD": (_("Australian dollar"), "$"),
    "SEK": (_("Swedish krona"), "kr"),
    "NOK": (_("Norwegian krone"), "kr"),
    "DKK": (_("Danish krone"), "kr"),
    "PLN": (_("Polish złoty"), "zł"),
    "CZK": (_("Czech koruna"), "Kč"),
    "INR": (_("Indian rupee"), "₹"),
    "BRL": (_("Brazilian real"), "R$"),
    "KZT": (_("Kazakhstani tenge"), "₸"),
    "BYN": (_("Belarusian rouble"), "Br"),
    "UAH": (_("Ukrainian hryvnia"), "₴"),
    "TRY": (_("Turkish lira"), "₺"),
    "AED": (_("UAE dirham"), "AED"),
    "KWD": (_("Kuwaiti dinar"), "KD"),
}


def minor_units(code: str) -> int:
    """Digits after the decimal point of the currency (JPY 0, EUR 2, KWD 3)."""
    return _MINOR_UNITS.get((code or "").upper(), 2)


def quantum(code: str) -> Decimal:
    """The currency's smallest unit as a Decimal exponent, for `quantize` (EUR Decimal("0.01"))."""
    return Decimal(1).scaleb(-minor_units(code))


def currency_name(code: str) -> str:
    known = KNOWN.get((code or "").upper())
    return str(known[0]) if known else code


def currency_symbol(code: str) -> str:
    known = KNOWN.get((code or "").upper())
    return known[1] if known else code


def default_currency() -> str:
    """The currency a new record starts in: the workspace's base currency when an admin set one, else
    USD. A model default (callable), so the form, the API, imports and sample data all agree."""
    from django.db import connection
    from django_tenants.utils import get_public_schema_name

    from crm_apps.engine.currency import base_currency

    if getattr(connection, "schema_name", None) in (None, get_public_schema_name()):
        return FALLBACK_CURRENCY  # no workspace: no table of currencies to ask
    return base_currency() or FALLBACK_CURRENCY
