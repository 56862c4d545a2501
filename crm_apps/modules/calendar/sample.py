"""Demo events and tasks (`manage.py seed_demo`), linked to the demo deals."""

from __future__ import annotations

import datetime as dt

from crm_apps.engine.sample_data import SampleContext


def events_sample(ctx: SampleContext) -> None:
    from crm_apps.modules.calendar.services import event_create

    deals = ctx.records.get("deals", [])
    base = dt.datetime.combine(ctx.today, dt.time(9), tzinfo=dt.UTC)
    for index, (subject, kind, days, hours, rrule) in enumerate(
        [
            ("Discovery call", "call", 1, 0, ""),
            ("Product demo", "meeting", 2, 4, ""),
            ("Weekly pipeline review", "meeting", 0, 1, "FREQ=WEEKLY;BYDAY=MO"),
            ("Contract negotiation", "meeting", 5, 2, ""),
        ]
    ):
        start = base + dt.timedelta(days=days, hours=hours)
        owner = ctx.rng.choice(ctx.owners)
        deal = deals[index % len(deals)] if deals else None
        event = event_create(
            actor=owner,
            data={
                "subject": subject,
                "activity_type": kind,
                "start": start.isoformat(),
                "end": (start + dt.timedelta(hours=1)).isoformat(),
                "rrule": rrule,
            },
            related_to={"module": "deals", "id": str(deal.pk)} if deal and not rrule else None,
            reminders=[],  # demo data emails nobody: real colleagues own these events
        )
        ctx.records.setdefault("events", []).append(event)


def tasks_sample(ctx: SampleContext) -> None:
    from crm_apps.modules.calendar.services import task_create

    deals = ctx.records.get("deals", [])
    for index, (subject, days, priority) in enumerate(
        [("Send the proposal", 1, "high"), ("Follow up on the quote", -1, "medium"), ("Update the CRM notes", 3, "low")]
    ):
        deal = deals[index % len(deals)] if deals else None
        task = task_create(
            actor=ctx.rng.choice(ctx.owners),
            data={
                "subject": subject,
                "due_date": (ctx.today + dt.timedelta(days=days)).isoformat(),
                "priority": priority,
            },
            related_to={"module": "deals", "id": str(deal.pk)} if deal else None,
        )
        ctx.records.setdefault("tasks", []).append(task)
