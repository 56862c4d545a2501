"""Demo leads (`manage.py seed_demo`)."""

from __future__ import annotations

from crm_apps.engine.sample_data import PEOPLE, SOURCES, SampleContext, email_for

LEAD_STATUSES = ["Not Contacted", "Attempted to Contact", "Contacted", "Warm", "Hot", "Cold", "Pre Qualified"]


def leads_sample(ctx: SampleContext) -> None:
    for index in range(12):
        first, last = PEOPLE[(index * 7) % len(PEOPLE)]
        prefix = ctx.rng.choice(["Blue", "North", "Bright", "Silver", "Green"])
        company = f"{prefix} {ctx.rng.choice(['Harbor', 'Peak', 'Works', 'Labs', 'Foods'])}"
        ctx.make(
            "leads",
            {
                "first_name": first,
                "last_name": f"{last}-{index}",
                "company": company,
                "email": email_for(first, f"{last}{index}", company),
                "status": ctx.rng.choice(LEAD_STATUSES),
                "source": ctx.rng.choice(SOURCES),
                "city": ctx.rng.choice(["Berlin", "Madrid", "Boston", "Riga", "Lisbon"]),
            },
        )
