"""Document totals: one pure function, all `Decimal`, no database.

The rules (docs/inventory.md, "Quotes, orders and invoices" -> "How totals are computed"):

1. A line's net = quantity x list price - line discount, rounded half-up to the currency's minor unit.
   The line discount is either a percentage of quantity x list price or an amount (never both).
2. subtotal = the sum of the line nets.
3. The overall discount (`discount_total`) is a percentage of the subtotal, rounded half-up, or an
   amount (rounded half-up to the minor unit).
4. Taxes on goods:
   - individual mode: every line's every tax = line net x rate / 100, rounded per line and per tax;
   - group mode: every document tax = (subtotal - discount_total) x rate / 100, rounded per tax.
5. Shipping and handling (`shipping`) carries its own taxes: shipping x rate / 100, rounded per tax.
6. tax_total = the taxes on goods + the taxes on shipping.
7. grand_total = subtotal - discount_total + tax_total + shipping + adjustment.

Half-up is `ROUND_HALF_UP` (2.345 -> 2.35, -2.345 -> -2.35). The minor unit is the currency's number of
decimal places (ISO 4217: JPY 0, EUR 2, BHD 3; `minor_unit()`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)

# ISO 4217 currencies whose minor unit is not two decimal places.
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip


def minor_unit(currency: str) -> int:
    """The number of decimal places of a currency (2 unless ISO 4217 says otherwise)."""
    return _MINOR_UNITS.get((currency or "").upper(), 2)


def money_round(value: Decimal, places: int) -> Decimal:
    """Half-up to `places` decimal places."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TaxRate:
    """One tax applied to an amount: a key naming it (the tax's id) and its percentage."""

    key: str
    percent: Decimal


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    list_price: Decimal
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    taxes: Sequence[TaxRate] = ()


@dataclass(frozen=True)
class DocumentInput:
    currency: str
    tax_mode: str  # "individual" | "group"
    lines: Sequence[LineInput]
    taxes: Sequence[TaxRate] = ()  # group mode
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    shipping: Decimal = Decimal(0)
    shipping_taxes: Sequence[TaxRate] = ()
    adjustment: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineTotals:
    net: Decimal
    taxes: tuple[Decimal, ...]  # per tax, in the line's order (zeros in group mode)

    @property
    def tax(self) -> Decimal:
        return sum(self.taxes, Decimal(0))


@dataclass(frozen=True)
class Totals:
    lines: tuple[LineTotals, ...]
    subtotal: Decimal
    discount_total: Decimal
    group_taxes: tuple[Decimal, ...]  # per document tax (group mode; zeros in individual mode)
    shipping_taxes: tuple[Decimal, ...]
    tax_total: Decimal
    grand_total: Decimal
    # Tax key -> amount, every tax of the document summed (the PDF's tax breakdown).
    breakdown: dict[str, Decimal] = field(default_factory=dict)

    @property
    def pre_tax_total(self) -> Decimal:
        return self.subtotal - self.discount_total


def line_net(line: LineInput, places: int) -> Decimal:
    gross = line.quantity * line.list_price
    if line.discount_percent is not None:
        discount = gross * line.discount_percent / HUNDRED
    elif line.discount_amount is not None:
        discount = line.discount_amount
    else:
        discount = Decimal(0)
    return money_round(gross - discount, places)


def compute_totals(doc: DocumentInput) -> Totals:
    """Every amount of a document from its inputs (see the module docstring for the rules)."""
    places = minor_unit(doc.currency)
    group = doc.tax_mode == "group"
    breakdown: dict[str, Decimal] = {}

    def add(key: str, amount: Decimal) -> None:
        breakdown[key] = breakdown.get(key, Decimal(0)) + amount

    lines = []
    for line in doc.lines:
        net = line_net(line, places)
        if group:
            taxes = tuple(Decimal(0) for _tax in line.taxes)
        else:
            taxes = tuple(money_round(net * tax.percent / HUNDRED, places) for tax in line.taxes)
            for tax, amount in zip(line.taxes, taxes, strict=True):
                add(tax.key, amount)
        lines.append(LineTotals(net=net, taxes=taxes))
    subtotal = sum((line.net for line in lines), Decimal(0))
    if doc.discount_percent is not None:
        discount_total = money_round(subtotal * doc.discount_percent / HUNDRED, places)
    elif doc.discount_amount is not None:
        discount_total = money_round(doc.discount_amount, places)
    else:
        discount_total = money_round(Decimal(0), places)
    if group:
        base = subtotal - discount_total
        group_taxes = tuple(money_round(base * tax.percent / HUNDRED, places) for tax in doc.taxes)
        for tax, amount in zip(doc.taxes, group_taxes, strict=True):
            add(tax.key, amount)
    else:
        group_taxes = tuple(money_round(Decimal(0), places) for _tax in doc.taxes)
    shipping = money_round(doc.shipping, places)
    shipping_taxes = tuple(money_round(shipping * tax.percent / HUNDRED, places) for tax in doc.shipping_taxes)
    for tax, amount in zip(doc.shipping_taxes, shipping_taxes, strict=True):
        add(tax.key, amount)
    goods_tax = sum((line.tax for line in lines), Decimal(0)) + sum(group_taxes, Decimal(0))
    tax_total = money_round(goods_tax + sum(shipping_taxes, Decimal(0)), places)
    adjustment = money_round(doc.adjustment, places)
    grand_total = money_round(subtotal - discount_total + tax_total + shipping + adjustment, places)
    return Totals(
        lines=tuple(lines),
        subtotal=money_round(subtotal, places),
        discount_total=discount_total,
        group_taxes=group_taxes,
        shipping_taxes=shipping_taxes,
        tax_total=tax_total,
        grand_total=grand_total,
        breakdown=breakdown,
    )
