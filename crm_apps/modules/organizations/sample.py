"""Demo organisations (`manage.py seed_demo`)."""

from __future__ import annotations

from crm_apps.engine.sample_data import COMPANIES, SampleContext


def organizations_sample(ctx: SampleContext) -> None:
    for name, industry, city, country in COMPANIES:
        ctx.make(
            "organizations",
            {
                "name": name,
                "industry": industry,
                "billing_city": city,
                "billing_country": country,
                "website": f"https://{name.split()[0].lower()}.example",
                "type": ctx.rng.choice(["Customer", "Prospect", "Partner"]),
                "phone": f"+{ctx.rng.randint(1, 49)} {ctx.rng.randint(100, 999)} {ctx.rng.randint(1000, 9999)}",
                "employees": ctx.rng.choice([12, 45, 120, 800, 2500]),
            },
        )
