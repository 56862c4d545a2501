"""Demo vendors (`manage.py seed_demo`)."""

from __future__ import annotations

from crm_apps.engine.sample_data import SampleContext


def vendors_sample(ctx: SampleContext) -> None:
    for name, category, city in [
        ("Nordic Paper Supply", "Manufacturer", "Stockholm"),
        ("Atlas Freight", "Service Provider", "Rotterdam"),
        ("Blue Ocean Components", "Distributor", "Gdańsk"),
    ]:
        ctx.make(
            "vendors",
            {"name": name, "category": category, "city": city, "email": f"orders@{name.split()[0].lower()}.example"},
        )
