"""Demo deals across the default pipeline's stages, some with a comment (`manage.py seed_demo`)."""

from __future__ import annotations

import datetime as dt

from crm_apps.engine.sample_data import SOURCES, SampleContext
from crm_apps.modules.deals.services import default_pipeline


def deals_sample(ctx: SampleContext) -> None:
    organizations = ctx.records.get("organizations", [])
    contacts = ctx.records.get("contacts", [])
    if not organizations:
        return
    stages = list(default_pipeline().stages.order_by("position"))
    for index in range(16):
        org = organizations[index % len(organizations)]
        stage = stages[index % len(stages)]
        deal = ctx.make(
            "deals",
            {
                "name": f"{org.name} – "
                + ctx.rng.choice(["annual licence", "pilot", "expansion", "renewal", "onboarding"]),
                "organization": org,
                "contact": contacts[index % len(contacts)] if contacts else None,
                "amount": str(ctx.rng.choice([4800, 12000, 25000, 60000, 150000])),
                "currency": "EUR",
                "close_date": (ctx.today + dt.timedelta(days=ctx.rng.randint(-30, 120))).isoformat(),
                "stage": stage,
                "probability": stage.probability,
                "lead_source": ctx.rng.choice(SOURCES),
            },
        )
        if index % 5 == 0:
            ctx.comment("deals", deal, "Sent the proposal; they will come back after their board meeting.")
