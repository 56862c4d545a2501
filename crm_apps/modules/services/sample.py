"""Demo services (`manage.py seed_demo`), taxed at the workspace's VAT when the products sample made it."""

from __future__ import annotations

from crm_apps.engine.sample_data import SampleContext
from crm_apps.finance.models import Tax
from crm_apps.modules.services.services import service_taxes_set

SERVICES = [
    ("On-site installation", "SRV-INST", "Installation", "Hours", "85.00"),
    ("Data migration from spreadsheets", "SRV-MIG", "Migration", "Days", "640.00"),
    ("Priority support, monthly", "SRV-SUP", "Support", "Incidents", "149.00"),
    ("Team training workshop", "SRV-TRAIN", "Training", "Days", "1200.00"),
]


def services_sample(ctx: SampleContext) -> None:
    vat = Tax.objects.filter(name__iexact="VAT").first()
    for name, code, category, unit, price in SERVICES:
        service = ctx.make(
            "services",
            {
                "name": name,
                "code": code,
                "category": category,
                "usage_unit": unit,
                "unit_price": price,
                "currency": "EUR",
            },
        )
        if vat is not None:
            service_taxes_set(actor=ctx.admin, service_id=service.pk, taxes=[{"tax": vat.pk}])
