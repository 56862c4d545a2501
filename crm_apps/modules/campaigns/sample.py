"""Demo campaigns (`manage.py seed_demo`)."""

from __future__ import annotations

import datetime as dt

from crm_apps.engine.sample_data import SampleContext


def campaigns_sample(ctx: SampleContext) -> None:
    for name, kind in [
        ("Spring webinar series", "Webinar"),
        ("Trade fair Hannover", "Trade Show"),
        ("Newsletter Q3", "Email"),
    ]:
        ctx.make(
            "campaigns",
            {
                "name": name,
                "type": kind,
                "status": "Active",
                "expected_close_date": (ctx.today + dt.timedelta(days=60)).isoformat(),
                "budget_cost": "5000",
                "expected_revenue": "40000",
            },
        )
