"""Demo catalogue (`manage.py seed_demo`): the workspace's VAT and shipping charge, products from the demo
vendors with taxes, stock (one under its reorder level) and a bundle."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_noop as N_

from crm_apps.engine.sample_data import SampleContext
from crm_apps.finance.models import Charge, Tax
from crm_apps.modules.products.services import product_bundle_set, product_taxes_set
from saas.value_labels import labels_of

PRODUCTS = [
    ("Ergonomic office chair", "CHAIR-ERG", "Hardware", "Each", "249.00", "40.000", "10.000"),
    ("Standing desk 160 cm", "DESK-STD-160", "Hardware", "Each", "589.00", "12.000", "5.000"),
    ("Monitor arm, dual", "ARM-DUAL", "Hardware", "Each", "119.00", "3.000", "8.000"),
    ("Copy paper A4, 80 g", "PAPER-A4", "Hardware", "Reams", "4.90", "600.000", "100.000"),
    ("CRM seat licence, annual", "LIC-CRM-Y", "CRM Applications", "Each", "480.00", "0.000", "0.000"),
    ("Label printer software", "SW-LABEL", "Software", "Each", "79.00", "0.000", "0.000"),
]


def _tax(ctx: SampleContext, name: str, percent: str) -> Tax:
    # Seeded like the default pipeline (directly, translated, not as an admin's settings change).
    found = Tax.objects.filter(name__iexact=name).first()
    if found is None:
        found = Tax.objects.create(
            name=name, labels=labels_of(name), percent=Decimal(percent), position=Tax.objects.count()
        )
    return found


def products_sample(ctx: SampleContext) -> None:
    vat = _tax(ctx, N_("VAT"), "20")
    reduced = _tax(ctx, N_("Reduced VAT"), "10")
    if not Charge.objects.exists():
        name = N_("Shipping & Handling")
        charge = Charge.objects.create(name=name, labels=labels_of(name), format=Charge.FLAT, value=Decimal("25"))
        charge.taxes.set([vat])
    vendors = ctx.records.get("vendors", [])
    made = []
    for index, (name, code, category, unit, price, stock, reorder) in enumerate(PRODUCTS):
        product = ctx.make(
            "products",
            {
                "name": name,
                "code": code,
                "category": category,
                "usage_unit": unit,
                "unit_price": price,
                "currency": "EUR",
                "qty_in_stock": stock,
                "reorder_level": reorder,
                "vendor": vendors[index % len(vendors)] if vendors and category == "Hardware" else None,
                "manufacturer": "",
            },
        )
        tax = reduced if code == "PAPER-A4" else vat
        product_taxes_set(actor=ctx.admin, product_id=product.pk, taxes=[{"tax": tax.pk}])
        made.append(product)
    bundle = ctx.make(
        "products",
        {
            "name": "Home office starter kit",
            "code": "KIT-HOME",
            "category": "Hardware",
            "usage_unit": "Pack",
            "unit_price": str(Decimal("899.00")),
            "currency": "EUR",
            "qty_in_stock": "6.000",
            "reorder_level": "2.000",
        },
    )
    product_taxes_set(actor=ctx.admin, product_id=bundle.pk, taxes=[{"tax": vat.pk}])
    product_bundle_set(
        actor=ctx.admin,
        product_id=bundle.pk,
        items=[
            {"product": made[0].pk, "quantity": "1"},
            {"product": made[1].pk, "quantity": "1"},
            {"product": made[2].pk, "quantity": "1"},
        ],
    )
