"""The workspace's base currency and exchange rates (`engine.Currency`), and converting sums with them.

Minimal by design: one base currency (rate 1) and one current rate per other currency, "1 unit of the
currency = rate units of the base currency", set by tenant admins on `/settings/modules/currencies/`.
Issue 19 (currency management) extends the same table (dated rates, formats, rounding) and keeps
`rates()`/`convert()` as the reading side. Conversion is Decimal arithmetic at the stored rate, rounded
to cents once, at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from crm_apps.engine.models import Currency

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Rates:
    base: str | None
    rates: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Converted:
    """A sum in the base currency, and the currencies that could not be converted (no rate)."""

    total: Decimal | None
    missing: tuple[str, ...] = ()


def base_currency() -> str | None:
    """The workspace's base currency code, if an admin set one (new records' default currency)."""
    code: str | None = Currency.objects.filter(is_base=True).values_list("code", flat=True).first()
    return code


def rates() -> Rates:
    """The base currency and every rate, in one query."""
    rows = list(Currency.objects.all())
    base = next((r.code for r in rows if r.is_base), None)
    return Rates(base=base, rates={r.code: (Decimal(1) if r.is_base else r.rate) for r in rows})


def convert(amounts: dict[str, Decimal], table: Rates) -> Converted:
    """Sum amounts given per currency in the base currency. Amounts without a currency (models without a
    currency column) count as base-currency amounts. No base currency: nothing converted."""
    if table.base is None:
        return Converted(total=None, missing=tuple(sorted(c for c in amounts if c)))
    total = Decimal(0)
    missing = []
    for code, amount in amounts.items():
        if not code or code == table.base:
            total += amount
        elif code in table.rates:
            total += amount * table.rates[code]
        else:
            missing.append(code)
    return Converted(total=total.quantize(CENT), missing=tuple(sorted(missing)))
