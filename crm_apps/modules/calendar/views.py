"""The calendar's screens: the calendar (day/week/month/agenda), the team view, my open tasks, the
.ics download and the secret feed. The calendar page is a shell: calendar.js reads the API."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.modules.calendar import invitations, selectors, services
from crm_apps.modules.calendar.api import event_ics_response
from crm_apps.modules.calendar.forms import reminder_rows, rrule_summary, unit_choices
from crm_apps.modules.calendar.ical import calendar_of
from crm_apps.modules.calendar.models import Event, EventInvitee
from tenants.runtime import current_schema

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
            "default_reminders": reminder_rows([15]),
            "unit_choices": unit_choices(),
            "view": request.GET.get("view") if request.GET.get("view") in VIEWS else "timeGridWeek",
        },
    )


def schedulable_ids(actor: Member, member_ids: list[int]) -> set[int]:
    """The members `actor` may put events in the calendar of: themselves, and anyone whose events the
    sharing rules let them edit (public read-write, their subordinates, write-shared members...)."""
    spec = registry.get("events")
    if not visibility.can_create(actor=actor, spec=spec):
        return set()
    return {
        i for i in member_ids if i == actor.pk or visibility.can_edit(actor=actor, spec=spec, record=Event(owner_id=i))
    }


@require_GET
@login_required
def team(request: HttpRequest) -> HttpResponse:
    """Several members' days side by side (one column per member): drag to move and resize, click or
    select to create in the calendar of a member the actor may schedule for."""
    member = _member(request)
    members = _members_json()
    allowed = schedulable_ids(member, [int(str(m["id"])) for m in members])
    for m in members:
        m["can_schedule"] = m["id"] in allowed
    return render(
        request,
        "calendar/team.html",
        {
            "member": member,
            "members": members,
            "default_reminders": reminder_rows([15]),
            "unit_choices": unit_choices(),
        },
    )


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


# --- answering invitations --------------------------------------------------------------------------


def _answer_message(response: str) -> str:
    messages_by_answer: dict[str, str] = {
        EventInvitee.Response.ACCEPTED.value: _("You accepted the invitation."),
        EventInvitee.Response.TENTATIVE.value: _("You answered “maybe”."),
        EventInvitee.Response.DECLINED.value: _("You declined the invitation."),
    }
    return messages_by_answer.get(response, _("Your answer was saved."))


@require_POST
@login_required
def event_respond(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """An invitee answers from a screen (event page, notification centre, home page): accepted,
    tentative or declined, with an optional comment. Only the invitee answers for themselves."""
    member = request_member(request)
    event = Event.objects.filter(pk=record_id, deleted_at__isnull=True).first()
    if event is None:
        raise Http404
    comment = request.POST.get("comment")
    try:
        services.event_respond(actor=member, event=event, response=request.POST.get("response", ""), comment=comment)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _answer_message(request.POST.get("response", "")))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("engine:detail", args=["events", event.pk])
    return redirect(target)


def invitation_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation email's answer links open (no sign-in: the signed link names the tenant,
    event and invitee, and expires). GET shows the event with the three answers (the link's one
    preselected); POST answers. A bad, expired, other tenant's or withdrawn link is a 404."""
    invitee = invitations.invitation_for(token, schema=current_schema())
    if invitee is None:
        raise Http404
    event = invitee.event
    done = None
    error = ""
    if request.method == "POST":
        try:
            services.event_respond(
                actor=invitee.member,
                event=event,
                response=request.POST.get("response", ""),
                comment=request.POST.get("comment"),
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except PermissionDenied:
            raise Http404 from None
        else:
            invitee.refresh_from_db()
            done = _answer_message(invitee.response)
    elif request.method != "GET":
        return HttpResponse(status=405)
    tz = invitee.member.zone
    chosen = request.GET.get("answer", "") if request.method == "GET" else request.POST.get("response", "")
    with timezone.override(tz):
        return render(
            request,
            "calendar/invitation_answer.html",
            {
                "invitee": invitee,
                "event": event,
                "start": event.start.astimezone(tz),
                "end": event.end.astimezone(tz),
                "summary": rrule_summary(event.rrule, start=event.start.astimezone(tz).date()),
                "chosen": chosen if chosen in EventInvitee.Response.values else invitee.response,
                "done": done,
                "error": error,
                "signed_in": request.user.is_authenticated,
            },
        )


@require_POST
@login_required
def task_complete(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """Mark a task completed from its page or the task list; with a follow-up subject, the next task is
    scheduled (same record, contacts, owner, priority and reminders) through `services.task_complete`."""
    member = request_member(request)
    spec = registry.get("tasks")
    task = selectors.tasks_visible(actor=member).filter(pk=record_id).first()
    if task is None:
        raise Http404
    if not visibility.can_edit(actor=member, spec=spec, record=task):
        raise PermissionDenied
    follow_up: dict[str, str] | None = None
    subject = request.POST.get("follow_up_subject", "").strip()
    if subject:
        follow_up = {"subject": subject, "due_date": request.POST.get("follow_up_due_date", "").strip()}
        if request.POST.get("follow_up_due_time", "").strip():
            follow_up["due_time"] = request.POST["follow_up_due_time"].strip()
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("engine:detail", args=["tasks", task.pk])
    try:
        _done, nxt = services.task_complete(actor=member, task=task, follow_up=follow_up)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(target)
    if nxt is not None:
        messages.success(
            request, _("Task completed. The follow-up “%(subject)s” is scheduled.") % {"subject": nxt.subject}
        )
    else:
        messages.success(request, _("Task completed."))
    return redirect(target)
