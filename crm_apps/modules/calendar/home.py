"""The calendar's boxes on the home page ("my day"): my events today and tomorrow, my overdue and due tasks.

Declared in `ModuleSpec.home_widgets` (events, tasks); each context reads through the calendar selectors
(the visibility filter) with a fixed number of queries, in the member's own time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from crm_apps.access.models import Member
from crm_apps.modules.calendar.selectors import my_open_tasks, occurrences_in_window

TASKS_SHOWN = 8


def _today(member: Member) -> tuple[dt.date, Any]:
    tz = member.zone
    return dt.datetime.now(tz).date(), tz


def my_events_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    """The member's events (owned or invited) today and tomorrow, repeating ones expanded, in their time."""
    today, tz = _today(member)
    start = dt.datetime.combine(today, dt.time.min, tzinfo=tz)
    found = occurrences_in_window(actor=member, start=start, end=start + dt.timedelta(days=2), members=[member.pk])
    days: dict[dt.date, list[dict[str, Any]]] = {today: [], today + dt.timedelta(days=1): []}
    for occurrence in found:
        local = occurrence.start.astimezone(tz)
        day = today if local.date() <= today else today + dt.timedelta(days=1)
        days[day].append(
            {
                "subject": occurrence.event.subject,
                "start": local,
                "all_day": occurrence.event.all_day,
                "location": occurrence.event.location,
                "url": reverse("engine:detail", args=["events", occurrence.event.pk]),
            }
        )
    return {
        "today": days[today],
        "tomorrow": days[today + dt.timedelta(days=1)],
        "calendar_url": reverse("calendar:calendar"),
        "new_url": reverse("engine:create", args=["events"]),
    }


def my_tasks_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    """The member's open tasks that are overdue or due today, most urgent first."""
    today, _tz = _today(member)
    tasks = [t for t in my_open_tasks(actor=member, limit=50) if t.due_date <= today]
    return {
        "rows": [
            {
                "subject": t.subject,
                "due_date": t.due_date,
                "due_time": t.due_time,
                "overdue": t.due_date < today,
                "url": reverse("engine:detail", args=["tasks", t.pk]),
            }
            for t in tasks[:TASKS_SHOWN]
        ],
        "more": max(len(tasks) - TASKS_SHOWN, 0),
        "tasks_url": reverse("calendar:my_tasks"),
        "new_url": reverse("engine:create", args=["tasks"]),
    }


def my_invitations_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    """Invitations waiting for the member's answer, soonest first, with the answer buttons."""
    from django.utils import timezone

    from crm_apps.modules.calendar.forms import rrule_summary
    from crm_apps.modules.calendar.invitations import pending_invitations

    tz = member.zone
    rows = []
    for invitee in pending_invitations(member=member, now=timezone.now(), limit=TASKS_SHOWN):
        event = invitee.event
        owner = event.owner
        rows.append(
            {
                "event_id": event.pk,
                "subject": event.subject,
                "start": event.start.astimezone(tz),
                "summary": rrule_summary(event.rrule, start=event.start.astimezone(tz).date()) if event.rrule else "",
                "organiser": (owner.user.get_full_name() or owner.user.email) if owner is not None else "",
                "url": reverse("engine:detail", args=["events", event.pk]),
                "action": reverse("calendar:event_respond", args=[event.pk]),
                "current": invitee.response,
                "uid": f"home{invitee.pk}",
            }
        )
    return {"rows": rows}
