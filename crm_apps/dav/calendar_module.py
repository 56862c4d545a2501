"""The events and tasks calendars over the calendar module (`crm_apps.modules.calendar`), registered by
`DavConfig.ready()` when that app is installed. Written against the calendar module's `ical.py`
(`event_to_vevent`, `task_to_vtodo`, `vevent_to_data`, `vtodo_to_data`) and `services.py` (`event_create`,
`event_update`, `event_occurrence_delete`, `event_delete`, `task_create`, `task_update`), so a client's change gets the
module's own rules: invitations, reminders, sequence bumps, completion stamps.

A series is one resource (its RRULE and EXDATEs); an occurrence edited in the CRM ("this occurrence") is its
own event there, and is sent as a standalone event (the series leaves that occurrence out with an EXDATE).
A client deleting one occurrence (a new EXDATE) goes through `event_occurrence_delete`; a client editing one
occurrence (a VEVENT with RECURRENCE-ID) is refused with a message: edit single occurrences in the CRM.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.dav.caldav import RecordCalendar, main_component
from crm_apps.dav.collections import UnsupportedData, collection_register

PRODID = "-//CRM Platform//CalDAV//EN"


def _calendar(component: Any, uid: str) -> str:
    component.pop("UID", None)
    component.add("uid", uid)
    component.pop("RECURRENCE-ID", None)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add_component(component)
    calendar.add_missing_timezones()
    return str(calendar.to_ical().decode())


def event_render(event: Any, uid: str, hidden: set[str]) -> str:
    """The event as the member may see it (their hidden fields left out)."""
    from crm_apps.modules.calendar import ical

    return _calendar(ical.event_to_vevent(event, hidden=hidden), uid)


def task_render(task: Any, uid: str, hidden: set[str]) -> str:
    from crm_apps.modules.calendar import ical

    return _calendar(ical.task_to_vtodo(task, hidden=hidden), uid)


def event_data(calendar: Any, *, actor: Member, record: Any) -> dict[str, Any]:
    """The event's fields, plus `reminders` and `exdates` for `event_write`."""
    from crm_apps.modules.calendar import ical

    if any(c.get("RECURRENCE-ID") is not None for c in calendar.walk("VEVENT")):
        raise UnsupportedData(_("Change single occurrences of a repeating event in the CRM."))
    payload = ical.vevent_to_data(main_component(calendar, "VEVENT"), default_time_zone=actor.timezone or "UTC")
    return {**payload["data"], "reminders": payload["reminders"], "exdates": payload["exdates"]}


def event_write(actor: Member, record: Any, data: dict[str, Any], expected_version: int | None) -> Any:
    from crm_apps.modules.calendar import services

    fields = {k: v for k, v in data.items() if k not in ("reminders", "exdates")}
    if record is None:
        event = services.event_create(actor=actor, data=fields, reminders=data.get("reminders", []))
    else:
        kwargs: dict[str, Any] = {} if "reminders" not in data else {"reminders": data["reminders"]}
        event = services.event_update(
            actor=actor, event=record, data=fields, expected_version=expected_version, **kwargs
        )
    known = {moment.astimezone(dt.UTC) for moment in event.exdates}
    for moment in sorted(m for m in data.get("exdates", []) if m.astimezone(dt.UTC) not in known):
        event = services.event_occurrence_delete(actor=actor, event=event, occurrence=moment)
    return event


def event_remove(actor: Member, record: Any) -> None:
    """A client's delete goes through `event_delete`: the recycle bin, and invitees get the CANCEL."""
    from crm_apps.modules.calendar import services

    services.event_delete(actor=actor, event=record)


def task_data(calendar: Any, *, actor: Member, record: Any) -> dict[str, Any]:
    from crm_apps.modules.calendar import ical

    return dict(ical.vtodo_to_data(main_component(calendar, "VTODO"))["data"])


def task_write(actor: Member, record: Any, data: dict[str, Any], expected_version: int | None) -> Any:
    from crm_apps.modules.calendar import services

    if record is None:
        return services.task_create(actor=actor, data=data)
    return services.task_update(actor=actor, task=record, data=data, expected_version=expected_version)


def events_between(queryset: Any, start: Any, end: Any) -> Any:
    """Events overlapping [start, end); a series whenever it starts before the end (clients expand it)."""
    from django.db.models import Q

    if end is not None:
        queryset = queryset.filter(start__lt=end)
    if start is not None:
        queryset = queryset.filter(Q(end__gt=start) | ~Q(rrule=""))
    return queryset


def tasks_between(queryset: Any, start: Any, end: Any) -> Any:
    if start is not None:
        queryset = queryset.filter(due_date__gte=start.date())
    if end is not None:
        queryset = queryset.filter(due_date__lte=end.date())
    return queryset


def register() -> None:
    """The events (VEVENT) and tasks (VTODO) calendars."""
    collection_register(
        RecordCalendar(
            key="events",
            module="events",
            component="VEVENT",
            render=event_render,
            to_data=event_data,
            write=event_write,
            remove=event_remove,
            span_filter=events_between,
            prefetch_related=("reminders",),
            default_uid=lambda event: str(event.uid),
        )
    )
    collection_register(
        RecordCalendar(
            key="tasks",
            module="tasks",
            component="VTODO",
            render=task_render,
            to_data=task_data,
            write=task_write,
            span_filter=tasks_between,
            default_uid=lambda task: str(task.uid),
        )
    )
