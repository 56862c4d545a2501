"""The totals calculator against the independent reference implementation, and worked examples of the
documented rounding rules."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings

from crm_apps.inventory.tests.reference import reference_totals
from crm_apps.inventory.tests.strategies import document
from crm_apps.inventory.totals import DocumentInput, LineInput, TaxRate, compute_totals, minor_unit


def _d(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def to_input(doc: dict) -> DocumentInput:
    return DocumentInput(
        currency=doc["currency"],
        tax_mode=doc["tax_mode"],
        lines=[
            LineInput(
                quantity=Decimal(line["quantity"]),
                list_price=Decimal(line["list_price"]),
                discount_percent=_d(line.get("discount_percent")),
                discount_amount=_d(line.get("discount_amount")),
                taxes=[TaxRate(str(i), Decimal(rate)) for i, rate in enumerate(line["taxes"])],
            )
            for line in doc["lines"]
        ],
        taxes=[TaxRate(str(i), Decimal(rate)) for i, rate in enumerate(doc["taxes"])],
        discount_percent=_d(doc.get("discount_percent")),
        discount_amount=_d(doc.get("discount_amount")),
        shipping=Decimal(doc["shipping"]),
        shipping_taxes=[TaxRate("shipping", Decimal(doc["shipping_tax"]))],
        adjustment=Decimal(doc["adjustment"]),
    )


@settings(max_examples=400, deadline=None)
@given(document())
def test_totals_equal_the_reference_to_the_minor_unit(doc: dict) -> None:
    totals = compute_totals(to_input(doc))
    expected = reference_totals(doc)
    places = minor_unit(doc["currency"])
    for name in ("subtotal", "discount_total", "tax_total", "grand_total"):
        value = getattr(totals, name)
        assert Fraction(value) == expected[name], name
        assert -value.as_tuple().exponent <= max(places, 0), (name, value)


def test_worked_example_individual_mode() -> None:
    # 3 x 19.99 - 10 % = 53.973 -> 53.97; VAT 20 % of 53.97 = 10.794 -> 10.79; 1 x 0.05 (no tax)
    doc = DocumentInput(
        currency="EUR",
        tax_mode="individual",
        lines=[
            LineInput(Decimal(3), Decimal("19.99"), discount_percent=Decimal(10), taxes=[TaxRate("vat", Decimal(20))]),
            LineInput(Decimal(1), Decimal("0.05")),
        ],
        discount_amount=Decimal("1.00"),
        shipping=Decimal("5.00"),
        shipping_taxes=[TaxRate("shipping", Decimal(20))],
        adjustment=Decimal("-0.01"),
    )
    totals = compute_totals(doc)
    assert [line.net for line in totals.lines] == [Decimal("53.97"), Decimal("0.05")]
    assert totals.subtotal == Decimal("54.02")
    assert totals.discount_total == Decimal("1.00")
    assert totals.tax_total == Decimal("11.79")  # 10.79 + shipping 1.00
    assert totals.grand_total == Decimal("69.80")  # 54.02 - 1 + 11.79 + 5 - 0.01


def test_group_mode_taxes_the_discounted_total_per_tax() -> None:
    doc = DocumentInput(
        currency="EUR",
        tax_mode="group",
        lines=[LineInput(Decimal(1), Decimal("10.05")), LineInput(Decimal(1), Decimal("10.00"))],
        taxes=[TaxRate("a", Decimal("7.5")), TaxRate("b", Decimal("2.5"))],
        discount_percent=Decimal(5),
    )
    totals = compute_totals(doc)
    # subtotal 20.05, discount 1.0025 -> 1.00, base 19.05; 7.5 % = 1.42875 -> 1.43; 2.5 % = 0.47625 -> 0.48
    assert totals.discount_total == Decimal("1.00")
    assert totals.group_taxes == (Decimal("1.43"), Decimal("0.48"))
    assert totals.grand_total == Decimal("20.96")


def test_half_up_and_minor_units() -> None:
    yen = compute_totals(
        DocumentInput(currency="JPY", tax_mode="individual", lines=[LineInput(Decimal(1), Decimal("100.5"))])
    )
    assert yen.subtotal == Decimal("101")
    dinar = compute_totals(
        DocumentInput(currency="KWD", tax_mode="individual", lines=[LineInput(Decimal(3), Decimal("0.3335"))])
    )
    assert dinar.subtotal == Decimal("1.001")  # 1.0005 half-up
