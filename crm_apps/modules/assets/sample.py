"""Demo assets (`manage.py seed_demo`): three printers sold to the demo organisations."""

from __future__ import annotations

import datetime as dt

from crm_apps.engine.sample_data import SampleContext


def assets_sample(ctx: SampleContext) -> None:
    organizations = ctx.records.get("organizations", [])
    products = ctx.records.get("products", [])
    today = ctx.today
    for index in range(3):
        sold = today - dt.timedelta(days=200 * (index + 1))
        ctx.make(
            "assets",
            {
                "name": f"Printer unit {index + 1}",
                "serial_number": f"SN-{1000 + index}",
                "status": "In Service",
                "organization": str(organizations[index % len(organizations)].pk) if organizations else None,
                "product": str(products[0].pk) if products else None,
                "date_sold": sold.isoformat(),
                "date_in_service": sold.isoformat(),
                "warranty_end": (sold + dt.timedelta(days=730)).isoformat(),
            },
        )
