"""Demo calls on the demo contacts (`manage.py seed_demo`)."""

from __future__ import annotations

import datetime as dt

from crm_apps.engine.sample_data import SampleContext
from crm_apps.modules.calls.services import call_match


def calls_sample(ctx: SampleContext) -> None:
    contacts = [c for c in ctx.records.get("contacts", []) if getattr(c, "phone", "")]
    for index, contact in enumerate(contacts[:6]):
        status = ["Answered", "Missed", "Answered", "Busy", "Answered", "Missed"][index]
        started = dt.datetime.combine(ctx.today, dt.time(9 + index), tzinfo=dt.UTC) - dt.timedelta(days=index)
        call = ctx.make(
            "calls",
            {
                "direction": "Inbound" if index % 2 == 0 else "Outbound",
                "status": status,
                "from_number": contact.phone,
                "to_number": "+1 555 0100",
                "started_at": started.isoformat(),
                "duration": 60 + 30 * index if status == "Answered" else None,
            },
        )
        call_match(call=call, actor=None)
