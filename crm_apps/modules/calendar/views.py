"""The calendar's screens: the calendar (day/week/month/agenda), the team view, my open tasks, the
.ics download and the secret feed. The calendar page is a shell: calendar.js reads the API."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.modules.calendar import selectors
from crm_apps.modules.calendar.api import event_ics_response
from crm_apps.modules.calendar.ical import calendar_of
from crm_apps.modules.calendar.models import Event

VIEWS = ("timeGridDay", "timeGridWeek", "dayGridMonth", "listWeek")
FEED_PAST = dt.timedelta(days=90)
FEED_FUTURE = dt.timedelta(days=365)


def _member(request: HttpRequest) -> Member:
    member = request_member(request)
    if not visibility.can_view_module(actor=member, spec=registry.get("events")):
        raise PermissionDenied
    return member


def _members_json() -> list[dict[str, object]]:
    return [
        {"id": m.pk, "name": m.user.get_full_name() or m.user.email}
        for m in Member.objects.filter(active=True).select_related("user").order_by("id")[:200]
    ]


@require_GET
@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    """Day, week, month and agenda views of the member's calendar; `?related=<module>:<id>` preselects
    the record new events are about (from a record's "Schedule" link)."""
    member = _member(request)
    related = request.GET.get("related", "")
    module, _sep, record_id = related.partition(":")
    return render(
        request,
        "calendar/calendar.html",
        {
            "member": member,
            "members": _members_json(),
            "related_module": module if record_id else "",
            "related_id": record_id,
            "can_create": visibility.can_create(actor=member, spec=registry.get("events")),
            "view": request.GET.get("view") if request.GET.get("view") in VIEWS else "timeGridWeek",
        },
    )


@require_GET
@login_required
def team(request: HttpRequest) -> HttpResponse:
    """Several members' days side by side (one column per member)."""
    member = _member(request)
    return render(request, "calendar/team.html", {"member": member, "members": _members_json()})


@require_GET
@login_required
def my_tasks(request: HttpRequest) -> HttpResponse:
    """The member's open tasks, overdue ones highlighted."""
    member = request_member(request)
    if not visibility.can_view_module(actor=member, spec=registry.get("tasks")):
        raise PermissionDenied
    tasks = selectors.my_open_tasks(actor=member)
    now = timezone.now()
    return render(
        request,
        "calendar/my_tasks.html",
        {"rows": [(t, t.is_overdue(now=now)) for t in tasks], "spec": registry.get("tasks")},
    )


@require_GET
@login_required
def event_ics(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """Download one event the member may see as an .ics file."""
    member = _member(request)
    event = selectors.event_get(actor=member, event_id=record_id)
    if event is None:
        raise Http404
    return event_ics_response(event, hidden=visibility.hidden_fields(actor=member, spec=registry.get("events")))


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The member's secret iCalendar feed (no login: the URL is the secret). It holds the events of
    their own calendar (owned or invited) that they may still see, from 90 days back to a year ahead,
    and their open tasks. An unknown, rotated or revoked secret is a 404."""
    member = selectors.feed_member(token_hash=hashlib.sha256(token.encode()).hexdigest())
    if member is None:
        raise Http404
    now = timezone.now()
    events = (
        selectors.events_visible(actor=member)
        .filter(selectors.members_q([member.pk]))
        .filter(end__gte=now - FEED_PAST, start__lte=now + FEED_FUTURE)
        .distinct()
        .prefetch_related("reminders")
    )
    series = (
        selectors.events_visible(actor=member)
        .filter(selectors.members_q([member.pk]))
        .exclude(rrule="")
        .filter(start__lte=now + FEED_FUTURE)
        .distinct()
        .prefetch_related("reminders")
    )
    found: dict[object, Event] = {e.pk: e for e in [*events, *series]}
    tasks = selectors.my_open_tasks(actor=member, limit=500)
    body = calendar_of(
        found.values(),
        tasks,
        name=_("CRM calendar"),
        hidden_event_fields=visibility.hidden_fields(actor=member, spec=registry.get("events")),
        hidden_task_fields=visibility.hidden_fields(actor=member, spec=registry.get("tasks")),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
