"""Hypothesis strategies of documents: any mix of lines, discounts, tax modes, currencies and charges."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from crm_apps.inventory.tests.reference import PLACES


def _decimal(low: str, high: str, places: int) -> st.SearchStrategy[str]:
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=places).map(str)


percent = _decimal("0", "100", 3)


@st.composite
def line(draw: st.DrawFn, places: int) -> dict[str, object]:
    data: dict[str, object] = {
        "quantity": draw(_decimal("0.001", "1000", 3)),
        "list_price": draw(_decimal("0", "100000", places)),
        "taxes": draw(st.lists(percent, max_size=3)),
    }
    kind = draw(st.sampled_from(["none", "percent", "amount"]))
    if kind == "percent":
        data["discount_percent"] = draw(percent)
    elif kind == "amount":
        data["discount_amount"] = draw(_decimal("0", "500", places))
    return data


@st.composite
def document(draw: st.DrawFn, max_lines: int = 8) -> dict[str, object]:
    currency = draw(st.sampled_from(sorted(PLACES)))
    places = PLACES[currency]
    doc: dict[str, object] = {
        "currency": currency,
        "tax_mode": draw(st.sampled_from(["individual", "group"])),
        "lines": draw(st.lists(line(places), min_size=0, max_size=max_lines)),
        "taxes": draw(st.lists(percent, max_size=3)),
        "shipping": draw(_decimal("0", "1000", places)),
        "shipping_tax": draw(percent),
        "adjustment": draw(_decimal("-100", "100", places)),
    }
    kind = draw(st.sampled_from(["none", "percent", "amount"]))
    if kind == "percent":
        doc["discount_percent"] = draw(percent)
    elif kind == "amount":
        doc["discount_amount"] = draw(_decimal("0", "1000", places))
    return doc
