"""An independent reference implementation of the documented totals rules, in exact fractions (no
Decimal, no quantize), for the property-based tests of crm_apps.inventory.totals and of the API."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

PLACES = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3, "RUB": 2}


def half_up(value: Fraction, places: int) -> Fraction:
    scale = 10**places
    scaled = abs(value) * scale
    rounded = math.floor(scaled + Fraction(1, 2))
    return Fraction(rounded if value >= 0 else -rounded, scale)


def reference_totals(doc: dict[str, Any]) -> dict[str, Fraction]:
    """doc: {currency, tax_mode, lines: [{quantity, list_price, discount_percent?, discount_amount?,
    taxes: [percent]}], taxes: [percent], discount_percent?, discount_amount?, shipping, shipping_tax,
    adjustment}, numbers as strings."""
    places = PLACES[doc["currency"]]

    def f(value: Any) -> Fraction:
        return Fraction(str(value))

    nets, line_tax = [], Fraction(0)
    for line in doc["lines"]:
        gross = f(line["quantity"]) * f(line["list_price"])
        if line.get("discount_percent") is not None:
            gross -= gross * f(line["discount_percent"]) / 100
        elif line.get("discount_amount") is not None:
            gross -= f(line["discount_amount"])
        net = half_up(gross, places)
        nets.append(net)
        if doc["tax_mode"] == "individual":
            for rate in line["taxes"]:
                line_tax += half_up(net * f(rate) / 100, places)
    subtotal = sum(nets, Fraction(0))
    if doc.get("discount_percent") is not None:
        discount = half_up(subtotal * f(doc["discount_percent"]) / 100, places)
    elif doc.get("discount_amount") is not None:
        discount = half_up(f(doc["discount_amount"]), places)
    else:
        discount = Fraction(0)
    group_tax = Fraction(0)
    if doc["tax_mode"] == "group":
        for rate in doc["taxes"]:
            group_tax += half_up((subtotal - discount) * f(rate) / 100, places)
    shipping = half_up(f(doc.get("shipping") or 0), places)
    shipping_tax = half_up(shipping * f(doc.get("shipping_tax") or 0) / 100, places)
    tax_total = line_tax + group_tax + shipping_tax
    adjustment = half_up(f(doc.get("adjustment") or 0), places)
    return {
        "subtotal": subtotal,
        "discount_total": discount,
        "tax_total": tax_total,
        "grand_total": subtotal - discount + tax_total + shipping + adjustment,
    }
