"""Detail panels: the "upcoming / history" of any record, and an event's people and reminders."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import extensions, registry
from crm_apps.engine.registry import spec_for_record
from crm_apps.engine.spec import ModuleSpec, Panel
from crm_apps.modules.calendar import selectors
from crm_apps.modules.calendar.forms import reminder_label
from crm_apps.modules.calendar.models import Event, EventInvitee, EventLink, Task, TaskLink


def activities_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    """The record's upcoming and past events and its open and done tasks (only what the viewer may
    see), and whether the viewer may schedule new ones."""
    spec = spec_for_record(record)
    found = selectors.record_activities(
        actor=member,
        module=spec.key,
        record_id=record.pk,
        events=extensions.may_have_rows(record, "activities", "events"),
        tasks=extensions.may_have_rows(record, "activities", "tasks"),
    )
    return {
        **found,
        "module": spec.key,
        "now": timezone.now(),
        "can_schedule": visibility.can_create(actor=member, spec=registry.get("events")),
        "can_add_task": visibility.can_create(actor=member, spec=registry.get("tasks")),
    }


def event_panel(event: Event, member: Member, request: HttpRequest) -> dict[str, Any]:
    """Invitees with their answers and comments (and how many gave each answer), the viewer's own
    invitation (to answer it), reminders, the repetition in words and the linked records. Opened from
    one occurrence of a series (`?occurrence=`), it offers to edit that occurrence."""
    from django.urls import reverse
    from django.utils.http import urlencode

    from crm_apps.modules.calendar.forms import rrule_summary

    invitees = list(event.invitees.select_related("member__user").order_by("member_id"))
    counts = [
        (label, sum(1 for i in invitees if i.response == value))
        for value, label in EventInvitee.Response.choices
        if any(i.response == value for i in invitees)
    ]
    occurrence = request.GET.get("occurrence", "") if event.rrule else ""
    edit_url = ""
    if occurrence and visibility.can_edit(actor=member, spec=registry.get("events"), record=event):
        edit_url = reverse("engine:edit", args=["events", event.pk]) + "?" + urlencode({"occurrence": occurrence})
    return {
        "invitees": invitees,
        "counts": counts,
        "reminders": [reminder_label(m) for m in event.reminders.values_list("minutes_before", flat=True)],
        "links": _links(event, member),
        "my_invitation": next((i for i in invitees if i.member_id == member.pk and event.owner_id != member.pk), None),
        "summary": rrule_summary(event.rrule, start=event.start.astimezone(member.zone).date()) if event.rrule else "",
        "occurrence_edit_url": edit_url,
    }


def task_panel(task: Task, member: Member, request: HttpRequest) -> dict[str, Any]:
    """A task's linked records, overdue flag, reminders, and (for who may edit it) "Mark completed" with
    an optional follow-up."""
    import datetime as dt

    can_edit = visibility.can_edit(actor=member, spec=registry.get("tasks"), record=task)
    return {
        "links": _links(task, member),
        "overdue": task.is_overdue(),
        "reminders": [reminder_label(m) for m in task.reminders.values_list("minutes_before", flat=True)],
        "can_complete": can_edit and task.is_open,
        "follow_up_date": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
    }


def _links(activity: Event | Task, member: Member) -> list[dict[str, Any]]:
    """Linked records the viewer may see, with their labels and URLs."""
    from crm_apps.engine.display import record_url
    from crm_apps.engine.selectors import access_record

    shown = []
    for link in activity.links.all():
        try:
            spec = registry.get(link.module)
        except registry.UnknownModule:
            continue
        if not visibility.can_view_module(actor=member, spec=spec):
            continue
        record = access_record(spec=spec, actor=member, record_id=link.record_id)
        if record is not None:
            shown.append(
                {
                    "role": link.get_role_display(),
                    "label": str(record),
                    "url": record_url(spec, record),
                    "module": spec.label,
                }
            )
    return shown


def activities_linked(spec: ModuleSpec) -> dict[str, QuerySet[Any]]:
    """A record's links to events and to tasks, whoever may see them (`Panel.linked`)."""
    return {
        "events": EventLink.objects.filter(module=spec.key, record_id=OuterRef("pk")),
        "tasks": TaskLink.objects.filter(module=spec.key, record_id=OuterRef("pk")),
    }


# The "upcoming / history" panel the other modules show on their records (each names it in its spec).
ACTIVITIES_PANEL = Panel(
    key="activities",
    template="calendar/_activities_panel.html",
    context=activities_panel,
    slot="side",
    linked=activities_linked,
)
