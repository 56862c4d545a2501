"""iCalendar (RFC 5545) for events and tasks: VEVENT/VTODO out, and back in as service payloads.

Used by the .ics download, invitation emails, the secret feed and (after merge) CalDAV. Writing is
`calendar_of(...)`; reading is `vevent_to_data` / `vtodo_to_data`, which return the keyword arguments
of `services.event_create`/`event_update` (`data` plus extras) so a client's change goes through the
same validation, rights and audit as the API.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection, Iterable
from typing import Any

import icalendar
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.modules.calendar.models import Event, EventInvitee, Task
from crm_apps.modules.calendar.recurrence import normalize_rrule
from saas.timezones import time_zone_names

PRODID = "-//CRM Platform//Calendar//EN"
_STATUS_OUT: dict[str, str] = {
    Event.Status.PLANNED: "CONFIRMED",
    Event.Status.HELD: "CONFIRMED",
    Event.Status.NOT_HELD: "CANCELLED",
}
_TASK_STATUS_OUT: dict[str, str] = {
    Task.Status.NOT_STARTED: "NEEDS-ACTION",
    Task.Status.IN_PROGRESS: "IN-PROCESS",
    Task.Status.COMPLETED: "COMPLETED",
    Task.Status.DEFERRED: "NEEDS-ACTION",
}
_TASK_STATUS_IN = {
    "NEEDS-ACTION": "not_started",
    "IN-PROCESS": "in_progress",
    "COMPLETED": "completed",
    "CANCELLED": "deferred",
}
_PRIORITY_OUT: dict[str, int] = {Task.Priority.HIGH: 1, Task.Priority.MEDIUM: 5, Task.Priority.LOW: 9}
_PARTSTAT: dict[str, str] = {
    EventInvitee.Response.NEEDS_ACTION: "NEEDS-ACTION",
    EventInvitee.Response.ACCEPTED: "ACCEPTED",
    EventInvitee.Response.DECLINED: "DECLINED",
    EventInvitee.Response.TENTATIVE: "TENTATIVE",
}


def _local(moment: dt.datetime, time_zone: str) -> dt.datetime:
    return moment.astimezone(zoneinfo.ZoneInfo(time_zone))


def _address(email: str) -> icalendar.vCalAddress:
    return icalendar.vCalAddress(f"mailto:{email}")


def event_to_vevent(
    event: Event,
    *,
    organizer_email: str | None = None,
    attendees: Iterable[tuple[str, str]] = (),
    hidden: Collection[str] = (),
) -> icalendar.Event:
    """One VEVENT: times in the event's zone (TZID), the RRULE and EXDATEs of a series, VALARMs for its
    reminders (prefetch `reminders` for lists). An edited occurrence is its own VEVENT with its own UID
    (the series lists its original start as an EXDATE), so every client reads it the same way. Fields in
    `hidden` (the reader's hidden fields, `visibility.hidden_fields`) are left out."""
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", timezone.now())
    vevent.add("sequence", event.sequence)
    vevent.add("summary", event.subject)
    if event.all_day:
        first = _local(event.start, event.time_zone).date()
        last = _local(event.end, event.time_zone).date()
        vevent.add("dtstart", first)
        vevent.add("dtend", max(last, first) + dt.timedelta(days=1))
    else:
        vevent.add("dtstart", _local(event.start, event.time_zone))
        vevent.add("dtend", _local(event.end, event.time_zone))
    if event.rrule:
        vevent.add("rrule", icalendar.vRecur.from_ical(event.rrule))
        for exdate in event.exdates:
            vevent.add("exdate", _local(exdate, event.time_zone))
    if event.location and "location" not in hidden:
        vevent.add("location", event.location)
    if event.description and "description" not in hidden:
        vevent.add("description", event.description)
    vevent.add("status", _STATUS_OUT.get(event.status, "CONFIRMED"))
    vevent.add("categories", [event.activity_type.upper()])
    vevent.add("created", event.created_at)
    vevent.add("last-modified", event.updated_at)
    if organizer_email:
        vevent.add("organizer", _address(organizer_email))
    for email, partstat in attendees:
        attendee = _address(email)
        attendee.params["PARTSTAT"] = partstat
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["RSVP"] = "TRUE"
        vevent.add("attendee", attendee, encode=False)
    for reminder in event.reminders.all():
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event.subject)
        alarm.add("trigger", -dt.timedelta(minutes=reminder.minutes_before))
        vevent.add_component(alarm)
    return vevent


def task_to_vtodo(task: Task, *, hidden: Collection[str] = ()) -> icalendar.Todo:
    """One VTODO; fields in `hidden` (the reader's hidden fields) are left out."""
    vtodo = icalendar.Todo()
    vtodo.add("uid", task.uid)
    vtodo.add("dtstamp", timezone.now())
    vtodo.add("summary", task.subject)
    if task.due_time is None:
        vtodo.add("due", task.due_date)
    else:
        vtodo.add("due", dt.datetime.combine(task.due_date, task.due_time, tzinfo=timezone.get_current_timezone()))
    vtodo.add("status", _TASK_STATUS_OUT.get(task.status, "NEEDS-ACTION"))
    vtodo.add("priority", _PRIORITY_OUT.get(task.priority, 5))
    if task.description and "description" not in hidden:
        vtodo.add("description", task.description)
    if task.completed_at:
        vtodo.add("completed", task.completed_at)
    vtodo.add("last-modified", task.updated_at)
    return vtodo


def calendar_of(
    events: Iterable[Event] = (),
    tasks: Iterable[Task] = (),
    *,
    method: str | None = None,
    name: str | None = None,
    organizer_email: str | None = None,
    attendees: dict[Any, list[tuple[str, str]]] | None = None,
    hidden_event_fields: Collection[str] = (),
    hidden_task_fields: Collection[str] = (),
) -> bytes:
    """A VCALENDAR with the events and tasks, as bytes (add_missing_timezones adds the VTIMEZONEs).
    `hidden_*_fields`: the reader's hidden fields of events / tasks, left out of every component."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(
            event_to_vevent(
                event,
                organizer_email=organizer_email,
                attendees=(attendees or {}).get(event.pk, []),
                hidden=hidden_event_fields,
            )
        )
    for task in tasks:
        cal.add_component(task_to_vtodo(task, hidden=hidden_task_fields))
    cal.add_missing_timezones()
    return cal.to_ical()


def _moment(value: Any, tz_name: str) -> tuple[dt.datetime, bool]:
    """A DTSTART/DTEND value as an aware datetime, and whether it was a DATE (all-day)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # floating time: the event's zone
            value = value.replace(tzinfo=zoneinfo.ZoneInfo(tz_name))
        return value, False
    return dt.datetime.combine(value, dt.time(), tzinfo=zoneinfo.ZoneInfo(tz_name)), True


def _tz_name(value: Any, default: str) -> str:
    tz = getattr(value, "tzinfo", None)
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    return key if isinstance(key, str) and key in time_zone_names() else default


def vevent_to_data(vevent: icalendar.Component, *, default_time_zone: str = "UTC") -> dict[str, Any]:
    """`{"data": {...}, "reminders": [...], "exdates": [...]}` for `event_create`/`event_update`."""
    if "dtstart" not in vevent:
        raise ValidationError({"start": [_("The event has no start (DTSTART).")]})
    start_raw = vevent.decoded("dtstart")
    if not isinstance(start_raw, dt.date):
        raise ValidationError({"start": [_("The event's start (DTSTART) is not a date or time.")]})
    tz_name = _tz_name(start_raw, default_time_zone)
    start, all_day = _moment(start_raw, tz_name)
    if "dtend" in vevent:
        end, _all = _moment(vevent.decoded("dtend"), tz_name)
    elif "duration" in vevent:
        end = start + vevent.decoded("duration")
    else:
        end = start + (dt.timedelta(days=1) if all_day else dt.timedelta())
    if all_day and end > start:
        end -= dt.timedelta(seconds=1)  # DTEND of a DATE event is exclusive
    status = str(vevent.get("status", "")).upper()
    data: dict[str, Any] = {
        "subject": str(vevent.get("summary", "")) or "(no subject)",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "all_day": all_day,
        "time_zone": tz_name,
        "location": str(vevent.get("location", "")),
        "description": str(vevent.get("description", "")),
        "rrule": normalize_rrule(_text(vevent["rrule"].to_ical())) if "rrule" in vevent else "",
    }
    if status == "CANCELLED":
        data["status"] = Event.Status.NOT_HELD
    reminders = []
    for alarm in vevent.walk("VALARM"):
        trigger = alarm.decoded("trigger", None)
        if isinstance(trigger, dt.timedelta) and trigger <= dt.timedelta():
            reminders.append(int(-trigger.total_seconds() // 60))
    exdates: list[dt.datetime] = []
    raw_ex = vevent.get("exdate")
    for group in raw_ex if isinstance(raw_ex, list) else ([raw_ex] if raw_ex is not None else []):
        for item in group.dts:
            exdates.append(_moment(item.dt, tz_name)[0].astimezone(dt.UTC))
    return {"data": data, "reminders": sorted(set(reminders)), "exdates": exdates}


def vtodo_to_data(vtodo: icalendar.Component) -> dict[str, Any]:
    """`{"data": {...}}` for `task_create`/`task_update`."""
    due = vtodo.decoded("due", None)
    data: dict[str, Any] = {"subject": str(vtodo.get("summary", "")) or "(no subject)"}
    if isinstance(due, dt.datetime):
        local = due.astimezone(timezone.get_current_timezone()) if due.tzinfo else due
        data["due_date"], data["due_time"] = local.date().isoformat(), local.time().replace(microsecond=0).isoformat()
    elif isinstance(due, dt.date):
        data["due_date"], data["due_time"] = due.isoformat(), None
    status = str(vtodo.get("status", "")).upper()
    if status in _TASK_STATUS_IN:
        data["status"] = _TASK_STATUS_IN[status]
    priority = int(vtodo.get("priority", 0) or 0)
    if priority:
        data["priority"] = "high" if priority <= 4 else ("medium" if priority == 5 else "low")
    if "description" in vtodo:
        data["description"] = str(vtodo["description"])
    return {"data": data}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse_calendar(raw: bytes | str) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(raw)
