"""Reads of the calendar, always through the engine's visibility filter (`visible_records`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Q, QuerySet
from django.db.models.functions import JSONObject
from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.modules.calendar import recurrence
from crm_apps.modules.calendar.models import (
    ActivityLink,
    CalendarFeed,
    Event,
    EventInvitee,
    EventLink,
    EventReminder,
    Task,
    TaskLink,
    TaskReminder,
)

# A window wider than this is refused by the API (expansion cost grows with it).
MAX_WINDOW = dt.timedelta(days=400)


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of an event in a window (the event itself for a single event)."""

    event: Event
    start: dt.datetime
    end: dt.datetime

    @property
    def is_recurring(self) -> bool:
        return bool(self.event.rrule)


def events_visible(*, actor: Member) -> QuerySet[Event]:
    """Live events `actor` may see."""
    spec = registry.get("events")
    if not visibility.can_view_module(actor=actor, spec=spec):
        return Event.objects.none()
    return visibility.visible_records(actor=actor, spec=spec, queryset=Event.objects.filter(deleted_at__isnull=True))


def tasks_visible(*, actor: Member) -> QuerySet[Task]:
    """Live tasks `actor` may see."""
    spec = registry.get("tasks")
    if not visibility.can_view_module(actor=actor, spec=spec):
        return Task.objects.none()
    return visibility.visible_records(actor=actor, spec=spec, queryset=Task.objects.filter(deleted_at__isnull=True))


def event_get(*, actor: Member, event_id: Any) -> Event | None:
    """A live event `actor` may see; None for missing and forbidden alike."""
    try:
        pk = uuid.UUID(str(event_id))
    except ValueError:
        return None
    return events_visible(actor=actor).filter(pk=pk).first()


def _with_extras(qs: QuerySet[Any], *, event: bool) -> QuerySet[Any]:
    """Annotate links (and an event's invitees and reminders) as arrays: one statement for a detail."""
    links = (
        EventLink.objects.filter(event=OuterRef("pk")) if event else TaskLink.objects.filter(task=OuterRef("pk"))
    ).order_by("role", "record_id")
    qs = qs.annotate(
        api_links=ArraySubquery(links.values(json=JSONObject(module="module", id="record_id", role="role")))
    )
    if event:
        invitees = EventInvitee.objects.filter(event=OuterRef("pk")).order_by("member_id")
        reminders = EventReminder.objects.filter(event=OuterRef("pk")).order_by("minutes_before")
        qs = qs.annotate(
            api_invitees=ArraySubquery(invitees.values(json=JSONObject(member="member_id", response="response"))),
            api_reminders=ArraySubquery(reminders.values("minutes_before")),
        )
    else:
        task_reminders = TaskReminder.objects.filter(task=OuterRef("pk")).order_by("minutes_before")
        qs = qs.annotate(api_reminders=ArraySubquery(task_reminders.values("minutes_before")))
    return qs


def event_for_api(*, actor: Member, event_id: Any) -> Event | None:
    """A visible event with its links, invitees and reminders annotated (one query)."""
    try:
        pk = uuid.UUID(str(event_id))
    except ValueError:
        return None
    return _with_extras(events_visible(actor=actor).filter(pk=pk), event=True).order_by().first()


def task_for_api(*, actor: Member, task_id: Any) -> Task | None:
    """A visible task with its links annotated (one query)."""
    try:
        pk = uuid.UUID(str(task_id))
    except ValueError:
        return None
    return _with_extras(tasks_visible(actor=actor).filter(pk=pk), event=False).order_by().first()


def members_q(members: Iterable[int] | None) -> Q:
    if members is None:
        return Q()
    ids = list(members)
    return Q(owner_id__in=ids) | Q(invitees__member_id__in=ids)


def occurrences_in_window(
    *, actor: Member, start: dt.datetime, end: dt.datetime, members: Iterable[int] | None = None
) -> list[Occurrence]:
    """Every occurrence of the visible events (of `members`' calendars: owned or invited) that overlaps
    [start, end), series expanded in their own time zone, ordered by start."""
    qs = (
        events_visible(actor=actor)
        .filter(members_q(members))
        .filter(
            Q(rrule="", start__lt=end, end__gt=start)
            | Q(rrule="", start__gte=start, start__lt=end)
            | (~Q(rrule="") & Q(start__lt=end))
        )
        .distinct()
        .select_related("owner__user")
        .prefetch_related("invitees", "reminders")
        .order_by("start", "id")
    )
    found: list[Occurrence] = []
    for event in qs:
        duration = event.end - event.start
        for moment in recurrence.occurrence_starts(
            start=event.start,
            end=event.end,
            time_zone=event.time_zone,
            rrule=event.rrule,
            exdates=event.exdates,
            window_start=start,
            window_end=end,
        ):
            found.append(Occurrence(event, moment, moment + duration))
    found.sort(key=lambda o: (o.start, str(o.event.pk)))
    return found


def tasks_in_window(*, actor: Member, start: dt.date, end: dt.date, members: Iterable[int] | None = None) -> list[Task]:
    qs = tasks_visible(actor=actor).filter(due_date__gte=start, due_date__lt=end)
    if members is not None:
        qs = qs.filter(owner_id__in=list(members))
    return list(qs.select_related("owner__user").prefetch_related("reminders").order_by("due_date", "due_time", "id"))


def my_open_tasks(*, actor: Member, limit: int = 100) -> list[Task]:
    """The member's own open tasks, most urgent first (overdue ones lead)."""
    return list(
        tasks_visible(actor=actor)
        .filter(owner=actor, status__in=Task.OPEN_STATUSES)
        .prefetch_related("reminders")
        .order_by("due_date", "due_time", "-priority", "id")[:limit]
    )


def _linked(model: type[Event] | type[Task], *, module: str, record_id: Any) -> Q:
    links = EventLink.objects.values("event") if model is Event else TaskLink.objects.values("task")
    return Q(pk__in=links.filter(module=module, record_id=record_id))


# What a record page's activities panel shows (calendar/_activities_panel.html) and sorts by.
PANEL_EVENT_FIELDS = ("subject", "activity_type", "start", "end", "status", "rrule")
PANEL_TASK_FIELDS = ("subject", "due_date", "due_time", "status")


def record_activities(
    *, actor: Member, module: str, record_id: Any, limit: int = 50, events: bool = True, tasks: bool = True
) -> dict[str, list[Any]]:
    """A record's events and tasks the member may see (two queries, the latest `limit` of each, with the
    fields the panel shows): upcoming events (not ended yet, or repeating) and open tasks; past events and
    closed tasks as history. `events`/`tasks` False: the caller knows none is linked to the record (no query)."""
    now = timezone.now()

    def latest(visible: QuerySet[Any], model: Any, fields: Any, newest_first: str) -> list[Any]:
        linked = visible.filter(_linked(model, module=module, record_id=record_id)).only(*fields)
        return list(linked.order_by(newest_first, "-id")[:limit])

    found_events = latest(events_visible(actor=actor), Event, PANEL_EVENT_FIELDS, "-start") if events else []
    found_tasks = latest(tasks_visible(actor=actor), Task, PANEL_TASK_FIELDS, "-due_date") if tasks else []
    upcoming = sorted((e for e in found_events if e.end >= now or e.rrule), key=lambda e: e.start)
    return {
        "upcoming": upcoming,
        "history": [e for e in found_events if e not in upcoming],
        "open_tasks": sorted(
            (t for t in found_tasks if t.is_open), key=lambda t: (t.due_date, t.due_time or dt.time.max)
        ),
        "done_tasks": [t for t in found_tasks if not t.is_open],
    }


def feed_member(*, token_hash: str) -> Member | None:
    """The active member (an active member of the workspace and an active user account) whose feed secret
    hashes to `token_hash`; None otherwise, so a deactivated member's or user's feed stops at once."""
    feed = (
        CalendarFeed.objects.filter(token_hash=token_hash, member__active=True, member__user__is_active=True)
        .select_related("member__user")
        .first()
    )
    return feed.member if feed else None


def activity_links(activity: Event | Task) -> dict[str, Any]:
    """`related_to` and `contacts` of an event or task, as the API shows them (from the annotation of
    `event_for_api`/`task_for_api` when present)."""
    rows = getattr(activity, "api_links", None)
    if rows is None:
        rows = [{"module": x.module, "id": x.record_id, "role": x.role} for x in activity.links.all()]
    related = None
    contacts: list[str] = []
    for link in rows:
        if link["role"] == ActivityLink.Role.RELATED:
            related = {"module": link["module"], "id": str(link["id"])}
        else:
            contacts.append(str(link["id"]))
    return {"related_to": related, "contacts": sorted(contacts)}
