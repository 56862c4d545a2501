"""The events and tasks calendars over the calendar module (`crm_apps.modules.calendar`), registered by
`DavConfig.ready()` when that app is installed. Written against the calendar module's `ical.py`
(`event_to_vevent`, `task_to_vtodo`, `vevent_to_data`, `vtodo_to_data`) and `services.py` (`event_create`,
`event_update`, `event_occurrence_delete`, `event_delete`, `task_create`, `task_update`), so a client's change gets the
module's own rules: invitations, reminders, sequence bumps, completion stamps.

A series is one resource: its RRULE and EXDATEs plus, as VEVENTs with the series' UID and a RECURRENCE-ID,
the occurrences edited in the CRM ("this occurrence" makes an exception event there, which the member sees
inside the series' resource, not as its own). A client's PUT of such an object goes through the calendar
module's services occurrence by occurrence (`_occurrences_sync`): a new RECURRENCE-ID VEVENT is
`event_occurrence_update(scope="this")`, a changed one `event_update` of the exception, a dropped one
`event_delete`; a new EXDATE `event_occurrence_delete`, a dropped one `occurrences.event_occurrence_restore`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import icalendar
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.dav.caldav import RecordCalendar, main_component
from crm_apps.dav.collections import UnsupportedData, collection_register

PRODID = "-//CRM Platform//CalDAV//EN"


def _calendar(component: Any, uid: str, overrides: Sequence[Any] = ()) -> str:
    component.pop("UID", None)
    component.add("uid", uid)
    component.pop("RECURRENCE-ID", None)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add_component(component)
    for override in overrides:
        calendar.add_component(override)
    calendar.add_missing_timezones()
    return str(calendar.to_ical().decode())


def _occurrence_value(moment: dt.datetime, series: Any) -> dt.date | dt.datetime:
    """An occurrence start as a series writes it: a DATE for all-day series, else local time with its TZID."""
    local = moment.astimezone(zoneinfo.ZoneInfo(series.time_zone))
    return local.date() if series.all_day else local


def event_render(event: Any, uid: str, hidden: set[str]) -> str:
    """The event as the member may see it (their hidden fields left out). A series comes with its edited
    occurrences the member can see (`EventCalendar.prepare` puts them on `_dav_overrides`) as VEVENTs with
    the series' UID and a RECURRENCE-ID, and EXDATEs only for the occurrences that are really left out."""
    from crm_apps.modules.calendar import ical

    master = ical.event_to_vevent(event, hidden=hidden)
    overrides = list(getattr(event, "_dav_overrides", ())) if event.rrule else []
    if event.rrule:
        replaced = {x.recurrence_id for x in overrides}
        master.pop("EXDATE", None)
        for moment in event.exdates:
            if moment not in replaced:
                master.add("exdate", _occurrence_value(moment, event))
    components = []
    for exception in overrides:
        vevent = ical.event_to_vevent(exception, hidden=hidden)
        vevent.pop("UID", None)
        vevent.add("uid", uid)
        vevent.pop("RRULE", None)
        vevent.pop("EXDATE", None)
        vevent.add("recurrence-id", _occurrence_value(exception.recurrence_id, event))
        components.append(vevent)
    return _calendar(master, uid, components)


# A date-only task is reminded counting back from this time of its due day in the owner's zone (the calendar
# module's rule, `models.REMIND_DATE_ONLY_AT`, where it has task reminders).
REMIND_DATE_ONLY_AT = dt.time(9, 0)


def task_reminders_supported() -> bool:
    """Whether the calendar module gives tasks reminders (`Task.reminders`, `task_create(reminders=...)`)."""
    import inspect

    from crm_apps.modules.calendar import services
    from crm_apps.modules.calendar.models import Task

    return hasattr(Task, "reminders") and "reminders" in inspect.signature(services.task_create).parameters


def _remind_base(due_date: dt.date, zone: dt.tzinfo) -> dt.datetime:
    from crm_apps.modules.calendar import models

    at = getattr(models, "REMIND_DATE_ONLY_AT", REMIND_DATE_ONLY_AT)
    return dt.datetime.combine(due_date, at, tzinfo=zone)


def vtodo_alarms_add(
    vtodo: Any, minutes: list[int], *, due_date: dt.date, due_time: dt.time | None, zone: dt.tzinfo, text: str
) -> None:
    """VALARMs for a task's reminders: relative to DUE (RELATED=END) for a task with a due time; absolute
    (the owner's 09:00 of the due day, minus the minutes) for a date-only task, whose DUE is a whole day."""
    for minute in sorted(set(minutes)):
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", text)
        if due_time is not None:
            alarm.add("trigger", -dt.timedelta(minutes=minute), parameters={"RELATED": "END"})
        else:
            moment = _remind_base(due_date, zone) - dt.timedelta(minutes=minute)
            alarm.add("trigger", moment.astimezone(dt.UTC))
        vtodo.add_component(alarm)


def vtodo_reminders(vtodo: Any, *, zone: dt.tzinfo) -> list[int]:
    """Minutes before due of a VTODO's VALARMs (relative ones before DUE; absolute ones counted back from the
    due time, or the 09:00 of a date-only task in `zone`); alarms after the due moment are ignored."""
    due = vtodo.decoded("due", None)
    base: dt.datetime | None = None
    if isinstance(due, dt.datetime):
        base = due if due.tzinfo else due.replace(tzinfo=zone)
    elif isinstance(due, dt.date):
        base = _remind_base(due, zone)
    found = set()
    for alarm in vtodo.walk("VALARM"):
        trigger = alarm.decoded("trigger", None)
        if isinstance(trigger, dt.timedelta) and trigger <= dt.timedelta():
            found.add(int(-trigger.total_seconds() // 60))
        elif isinstance(trigger, dt.datetime) and base is not None:
            moment = trigger if trigger.tzinfo else trigger.replace(tzinfo=zone)
            if moment <= base:
                found.add(int((base - moment).total_seconds() // 60))
    return sorted(found)


def task_render(task: Any, uid: str, hidden: set[str]) -> str:
    from crm_apps.modules.calendar import ical

    vtodo = ical.task_to_vtodo(task, hidden=hidden)
    if task_reminders_supported() and not vtodo.walk("VALARM"):
        minutes = [int(r.minutes_before) for r in task.reminders.all()]
        vtodo_alarms_add(
            vtodo, minutes, due_date=task.due_date, due_time=task.due_time, zone=task.owner.zone, text=task.subject
        )
    return _calendar(vtodo, uid)


_EXTRAS = ("reminders", "exdates", "overrides")


def _utc_iso(value: str) -> str:
    """An ISO date-time as UTC ISO, so a value equal to the stored one compares equal (and is not written)."""
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).isoformat()


def _vevent_payload(vevent: Any, default_time_zone: str) -> dict[str, Any]:
    from crm_apps.modules.calendar import ical

    payload = ical.vevent_to_data(vevent, default_time_zone=default_time_zone)
    data = dict(payload["data"])
    for name in ("start", "end"):
        data[name] = _utc_iso(data[name])
    return {**data, "reminders": payload["reminders"], "exdates": payload["exdates"]}


def _recurrence_id(vevent: Any, time_zone: str) -> dt.datetime:
    """The RECURRENCE-ID as a UTC instant (a DATE or floating time read in the series' zone)."""
    value = vevent.decoded("recurrence-id")
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zoneinfo.ZoneInfo(time_zone))
    return value.astimezone(dt.UTC)


def event_data(calendar: Any, *, actor: Member, record: Any) -> dict[str, Any]:
    """The series' (or single event's) fields, plus `reminders`, `exdates` and `overrides` for `event_write`:
    `overrides` maps each overridden occurrence (a VEVENT with RECURRENCE-ID, as UTC) to its fields."""
    master = main_component(calendar, "VEVENT")
    if master.get("RECURRENCE-ID") is not None:
        raise UnsupportedData(_("The object has edited occurrences but not the repeating event they belong to."))
    data = _vevent_payload(master, actor.timezone or "UTC")
    overrides: dict[dt.datetime, dict[str, Any]] = {}
    for vevent in calendar.walk("VEVENT"):
        if vevent.get("RECURRENCE-ID") is None:
            continue
        if not data["rrule"]:
            raise UnsupportedData(_("Only a repeating event (RRULE) can have edited occurrences (RECURRENCE-ID)."))
        payload = _vevent_payload(vevent, data["time_zone"])
        payload.pop("exdates")
        payload["rrule"] = ""
        overrides[_recurrence_id(vevent, data["time_zone"])] = payload
    data["overrides"] = overrides
    return data


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _EXTRAS}


def _stored(record: Any, name: str) -> Any:
    value = getattr(record, name)
    if hasattr(value, "pk"):
        return str(value.pk)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value


def _changed(record: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if _stored(record, k) != v}


def _reminders_of(event: Any) -> list[int]:
    return sorted({int(m) for m in event.reminders.values_list("minutes_before", flat=True)})


def event_write(actor: Member, record: Any, data: dict[str, Any], expected_version: int | None) -> Any:
    """The series through `event_create`/`event_update`, then its occurrences (`_occurrences_sync`)."""
    from crm_apps.modules.calendar import services

    fields = _fields(data)
    if record is None:
        event = services.event_create(actor=actor, data=fields, reminders=data.get("reminders", []))
    else:
        kwargs: dict[str, Any] = {}
        if "reminders" in data and _reminders_of(record) != data["reminders"]:
            kwargs["reminders"] = data["reminders"]  # unchanged ones are not re-created (nor re-armed)
        event = services.event_update(
            actor=actor, event=record, data=fields, expected_version=expected_version, **kwargs
        )
    if event.rrule and ("exdates" in data or "overrides" in data):
        event = _occurrences_sync(actor, event, exdates=data.get("exdates", []), overrides=data.get("overrides", {}))
    return event


def _exceptions(actor: Member, series_ids: list[Any]) -> Any:
    """The live edited occurrences (exception events) of these series that the member can see."""
    from crm_apps.access import visibility
    from crm_apps.engine import registry

    spec = registry.get("events")
    qs = spec.records().filter(
        deleted_at__isnull=True, recurrence_parent_id__in=series_ids, recurrence_id__isnull=False
    )
    return visibility.visible_records(actor=actor, spec=spec, queryset=qs)


def _occurrences_sync(
    actor: Member, series: Any, *, exdates: list[dt.datetime], overrides: dict[dt.datetime, dict[str, Any]]
) -> Any:
    """Make the series' occurrences what the client sent, through the calendar module's services:

    - an override of an occurrence that is already an edited one updates that event (`event_update`);
    - a new override becomes a "this occurrence" exception (`event_occurrence_update(scope="this")`);
    - an edited occurrence the client dropped is deleted (`event_delete`), and comes back as a normal
      occurrence unless the client lists it as an EXDATE;
    - a new EXDATE leaves the occurrence out (`event_occurrence_delete`), a dropped one restores it
      (`occurrences.event_occurrence_restore`).

    Edited occurrences the member cannot see are left alone (they are sent as EXDATEs, never as overrides)."""
    from crm_apps.modules.calendar import services
    from crm_apps.modules.calendar.models import Event
    from crm_apps.modules.calendar.occurrences import event_occurrence_restore

    def fresh() -> Any:
        return Event.objects.get(pk=series.pk)

    visible = {x.recurrence_id: x for x in _exceptions(actor, [series.pk]).prefetch_related("reminders")}
    replaced = set(
        Event.objects.filter(
            recurrence_parent_id=series.pk, recurrence_id__isnull=False, deleted_at__isnull=True
        ).values_list("recurrence_id", flat=True)
    )
    wanted_out = {moment.astimezone(dt.UTC) for moment in exdates}
    stored_out = {moment.astimezone(dt.UTC) for moment in series.exdates}
    for moment, payload in sorted(overrides.items()):
        reminders = payload.get("reminders", [])
        if moment in visible:
            exception = visible[moment]
            extras = {} if _reminders_of(exception) == reminders else {"reminders": reminders}
            changed = _changed(exception, _fields(payload))
            if changed or extras:
                services.event_update(actor=actor, event=exception, data=changed, **extras)
            continue
        if moment in replaced:
            raise PermissionDenied
        if moment in stored_out:
            event_occurrence_restore(actor=actor, event=fresh(), occurrence=moment)
        services.event_occurrence_update(
            actor=actor,
            event=fresh(),
            occurrence=moment,
            scope="this",
            data=_fields(payload),
            reminders=reminders,
        )
    for moment, exception in sorted(visible.items()):
        if moment in overrides:
            continue
        services.event_delete(actor=actor, event=exception)
        if moment not in wanted_out:
            event_occurrence_restore(actor=actor, event=fresh(), occurrence=moment)
    for moment in sorted(stored_out - replaced - wanted_out - set(overrides)):
        event_occurrence_restore(actor=actor, event=fresh(), occurrence=moment)
    for moment in sorted(wanted_out - stored_out - set(overrides)):
        services.event_occurrence_delete(actor=actor, event=fresh(), occurrence=moment)
    return fresh()


def event_remove(actor: Member, record: Any) -> None:
    """A client's delete goes through `event_delete`: the recycle bin, and invitees get the CANCEL. A series
    goes with the edited occurrences the member can see (they were part of its resource)."""
    from crm_apps.modules.calendar import services

    if record.rrule:
        for exception in _exceptions(actor, [record.pk]):
            services.event_delete(actor=actor, event=exception)
    services.event_delete(actor=actor, event=record)


def task_data(calendar: Any, *, actor: Member, record: Any) -> dict[str, Any]:
    """The task's fields, plus `reminders` (from its VALARMs) when the calendar module keeps task reminders."""
    from crm_apps.modules.calendar import ical

    vtodo = main_component(calendar, "VTODO")
    data = dict(ical.vtodo_to_data(vtodo)["data"])
    if task_reminders_supported():
        owner = record.owner if record is not None else actor
        data["reminders"] = vtodo_reminders(vtodo, zone=owner.zone)
    return data


def task_write(actor: Member, record: Any, data: dict[str, Any], expected_version: int | None) -> Any:
    from crm_apps.modules.calendar import services

    fields = {k: v for k, v in data.items() if k != "reminders"}
    extras: dict[str, Any] = {}
    if "reminders" in data and (record is None or _reminders_of(record) != data["reminders"]):
        extras["reminders"] = data["reminders"]
    if record is None:
        return services.task_create(actor=actor, data=fields, **extras)
    return services.task_update(actor=actor, task=record, data=fields, expected_version=expected_version, **extras)


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


class EventCalendar(RecordCalendar):
    """The events calendar: a series and its edited occurrences are one resource (RFC 4791 4.1), so a
    client round-trips "this occurrence" edits. Exception events whose series the member can see are not
    resources of their own; the series' ETag folds in their versions, so editing one occurrence in the CRM
    changes the series' ETag and sync token."""

    def visible(self, actor: Member) -> Any:
        base = super().visible(actor)
        series = base.exclude(rrule="").values("pk")
        return base.exclude(Q(recurrence_id__isnull=False) & Q(recurrence_parent_id__in=series))

    def etag_map(self, *, actor: Member, versions: dict[Any, int]) -> dict[Any, str]:
        folded: dict[Any, list[str]] = defaultdict(list)
        rows = (
            _exceptions(actor, list(versions))
            .order_by("recurrence_id", "pk")
            .values_list("recurrence_parent_id", "pk", "version")
        )
        for parent, pk, version in rows:
            folded[parent].append(f"{pk}:{version}")
        etags = {}
        for rid, version in versions.items():
            if folded.get(rid):
                digest = hashlib.sha256(",".join(folded[rid]).encode()).hexdigest()[:16]
                etags[rid] = f'"{version}-{digest}"'
            else:
                etags[rid] = f'"{version}"'
        return etags

    def prepare(self, *, actor: Member, records: list[Any]) -> None:
        series = [r for r in records if r.rrule]
        found: dict[Any, list[Any]] = defaultdict(list)
        if series:
            exceptions = _exceptions(actor, [r.pk for r in series]).prefetch_related("reminders")
            for exception in exceptions.order_by("recurrence_id"):
                found[exception.recurrence_parent_id].append(exception)
        for record in records:
            record._dav_overrides = found.get(record.pk, [])

    def current(self, record: Any, name: str) -> Any:
        if name in _EXTRAS:
            return _UNKNOWN  # always handed to event_write, which compares them itself
        return _stored(record, name)


_UNKNOWN = object()


def register() -> None:
    """The events (VEVENT) and tasks (VTODO) calendars."""
    collection_register(
        EventCalendar(
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
            select_related=("owner",),
            prefetch_related=("reminders",) if task_reminders_supported() else (),
            default_uid=lambda task: str(task.uid),
        )
    )
