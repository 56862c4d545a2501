"""Demo service contracts (`manage.py seed_demo`): one per first two organisations."""

from __future__ import annotations

import datetime as dt

from crm_apps.engine.sample_data import SampleContext


def contracts_sample(ctx: SampleContext) -> None:
    organizations = ctx.records.get("organizations", [])[:2]
    for index, organization in enumerate(organizations):
        ctx.make(
            "service-contracts",
            {
                "subject": f"Support {ctx.today.year} - {organization}",
                "organization": str(organization.pk),
                "type": "Support",
                "status": "In Progress",
                "tracking_unit": "Hours" if index == 0 else "Incidents",
                "total_units": "40" if index == 0 else "10",
                "start_date": dt.date(ctx.today.year, 1, 1).isoformat(),
                "due_date": dt.date(ctx.today.year, 12, 31).isoformat(),
            },
        )
