"""Demo tickets (`manage.py seed_demo`): five tickets of the demo contacts, one closed with a solution."""

from __future__ import annotations

from crm_apps.engine.sample_data import SampleContext

TICKETS = [
    ("Printer shows error E42", "High", "Small Problem", "Email"),
    ("Cannot sign in to the portal", "Urgent", "Big Problem", "Web"),
    ("Invoice address is wrong", "Normal", "Other Problem", "Phone"),
    ("Request: training for new staff", "Low", "Other Problem", "Email"),
    ("Scanner driver for macOS", "Normal", "Small Problem", "Chat"),
]


def tickets_sample(ctx: SampleContext) -> None:
    contacts = ctx.records.get("contacts", [])
    contracts = ctx.records.get("service-contracts", [])
    for index, (title, priority, category, channel) in enumerate(TICKETS):
        contact = contacts[index % len(contacts)] if contacts else None
        data = {
            "title": title,
            "priority": priority,
            "category": category,
            "channel": channel,
            "contact": str(contact.pk) if contact else None,
            "organization": str(contact.organization_id) if contact and contact.organization_id else None,
            "service_contract": str(contracts[0].pk) if contracts and index == 0 else None,
        }
        if index == 2:
            data.update({"status": "Closed", "solution": "Corrected the billing address.", "hours_spent": "0.5"})
        ctx.make("tickets", data)
