"""Demo contacts, one per sample person, at the sample organisations (`manage.py seed_demo`)."""

from __future__ import annotations

from crm_apps.engine.sample_data import PEOPLE, SOURCES, TITLES, SampleContext, email_for


def contacts_sample(ctx: SampleContext) -> None:
    organizations = ctx.records.get("organizations", [])
    for index, (first, last) in enumerate(PEOPLE):
        org = organizations[index % len(organizations)] if organizations else None
        ctx.make(
            "contacts",
            {
                "first_name": first,
                "last_name": last,
                "organization": org,
                "title": ctx.rng.choice(TITLES),
                "email": email_for(first, last, org.name if org else "Example"),
                "phone": f"+44 20 {ctx.rng.randint(1000, 9999)} {ctx.rng.randint(1000, 9999)}",
                "mailing_city": org.billing_city if org else "",
                "lead_source": ctx.rng.choice(SOURCES),
            },
        )
