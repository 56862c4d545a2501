"""The calendar's API: `/api/v1/events/` and `/api/v1/tasks/` (the engine's record API plus related_to,
contacts, invitees, reminders, window expansion and occurrence edits), and the member's secret feed.
Views parse, call one service or selector, and serialise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.engine import registry
from crm_apps.engine.api.views import RecordDetailView, RecordListView
from crm_apps.modules.calendar import selectors, services
from crm_apps.modules.calendar.ical import calendar_of
from crm_apps.modules.calendar.models import Event, Task
from crm_apps.modules.calendar.selectors import MAX_WINDOW, Occurrence
from saas.openapi import json_object_view

EVENT_EXTRAS = ("related_to", "contacts", "invitees", "reminders")
TASK_EXTRAS = ("related_to", "contacts", "reminders")


def parse_moment(raw: str | None, name: str) -> dt.datetime:
    """An ISO 8601 date or date-time from a query string; a naive one is in the member's time zone."""
    text = (raw or "").strip().replace(" ", "+")
    moment = parse_datetime(text) if "T" in text else None
    if moment is None:
        day = parse_date(text) if text else None
        if day is None:
            raise ValidationError({name: [_("Enter a date or an ISO 8601 date-time.")]})
        moment = dt.datetime.combine(day, dt.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def parse_window(params: Any) -> tuple[dt.datetime, dt.datetime]:
    start, end = parse_moment(params.get("start"), "start"), parse_moment(params.get("end"), "end")
    if end <= start:
        raise ValidationError({"end": [_("The end must be after the start.")]})
    if end - start > MAX_WINDOW:
        raise ValidationError({"end": [_("Ask for at most %(days)d days at a time.") % {"days": MAX_WINDOW.days}]})
    return start, end


def parse_members(params: Any) -> list[int] | None:
    raw = params.get("members")
    if not raw:
        return None
    ids = [p for p in str(raw).split(",") if p]
    if not all(p.isdigit() for p in ids) or len(ids) > 50:
        raise ValidationError({"members": [_("Send up to 50 member ids separated by commas.")]})
    return [int(p) for p in ids]


def _pop_extras(data: Any, names: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
    payload = dict(data)
    return payload, {name: payload.pop(name) for name in names if name in payload}


def expected_version(request: Request, version: Any) -> int | None:
    """The version the client last read: the body's `version` or the If-Match header (409 when stale)."""
    expected = version if version is not None else (request.headers.get("If-Match", "").strip('"W/ ') or None)
    if expected is None:
        return None
    if isinstance(expected, bool) or not str(expected).isdigit() or len(str(expected)) > 9:
        raise ValidationError({"version": [_("Enter a whole number.")]})
    return int(expected)


def _annotated(record: Any, name: str, fallback: Any) -> Any:
    value = getattr(record, name, None)
    return fallback() if value is None else value


def event_extras_to_api(event: Event) -> dict[str, Any]:
    return {
        **selectors.activity_links(event),
        "invitees": _annotated(
            event,
            "api_invitees",
            lambda: [{"member": i.member_id, "response": i.response} for i in event.invitees.order_by("member_id")],
        ),
        "reminders": _annotated(
            event, "api_reminders", lambda: list(event.reminders.values_list("minutes_before", flat=True))
        ),
        "exdates": [x.isoformat() for x in event.exdates],
        "recurrence_parent": str(event.recurrence_parent_id) if event.recurrence_parent_id else None,
        "recurrence_id": event.recurrence_id.isoformat() if event.recurrence_id else None,
        "uid": event.uid,
        "ics_url": reverse("calendar:event_ics", args=[event.pk]),
    }


def occurrence_to_api(occ: Occurrence, *, hidden: Collection[str] = ()) -> dict[str, Any]:
    """One occurrence for the calendar views; the reader's hidden fields (`hidden`) are left out."""
    event = occ.event
    row = {
        "id": str(event.pk),
        "number": event.number,
        "subject": event.subject,
        "activity_type": event.activity_type,
        "status": event.status,
        "start": occ.start.isoformat(),
        "end": occ.end.isoformat(),
        "occurrence": occ.start.isoformat() if event.rrule else None,
        "all_day": event.all_day,
        "time_zone": event.time_zone,
        "location": event.location,
        "owner": event.owner_id,
        "rrule": event.rrule,
        "invitees": [i.member_id for i in event.invitees.all()],
        "reminders": [r.minutes_before for r in event.reminders.all()],
        "version": event.version,
    }
    return {key: value for key, value in row.items() if key not in hidden}


def task_to_api_extra(task: Task) -> dict[str, Any]:
    return {
        **selectors.activity_links(task),
        "reminders": _annotated(task, "api_reminders", lambda: [r.minutes_before for r in task.reminders.all()]),
        "overdue": task.is_overdue(),
        "uid": task.uid,
    }


class EventListView(RecordListView):
    """GET with `start` and `end`: the occurrences overlapping that window (series expanded, `members`
    narrows to those members' calendars; `editable` says whether the reader may move it); without them,
    the engine's list. POST creates an event."""

    module_key = "events"

    def get(self, request: Request, module: str) -> Response:
        if "start" not in request.query_params and "end" not in request.query_params:
            return super().get(request, module)
        self.spec()
        start, end = parse_window(request.query_params)
        actor = request_member(request)
        found = selectors.occurrences_in_window(
            actor=actor, start=start, end=end, members=parse_members(request.query_params)
        )
        spec = self.spec()
        hidden = visibility.hidden_fields(actor=actor, spec=spec)
        editable: dict[Any, bool] = {}
        for occ in found:
            if occ.event.pk not in editable:
                editable[occ.event.pk] = visibility.can_edit(actor=actor, spec=spec, record=occ.event)
        return Response(
            {"results": [{**occurrence_to_api(o, hidden=hidden), "editable": editable[o.event.pk]} for o in found]}
        )

    def post(self, request: Request, module: str) -> Response:
        spec = self.spec()
        payload, extras = _pop_extras(request.data, EVENT_EXTRAS)
        data, custom, _version = self.split_payload(payload)
        event = services.event_create(actor=request_member(request), data=data, custom=custom, **extras)
        event = cast(Event, selectors.event_for_api(actor=request_member(request), event_id=event.pk))
        body = {**self.to_api(spec, [event])[0], **event_extras_to_api(event)}
        return Response(body, status=status.HTTP_201_CREATED)


class EventDetailView(RecordDetailView):
    """GET/PATCH/DELETE one event. PATCH with `occurrence` (its start) and `scope` ("this", "following",
    "all") edits part of a series; DELETE with `?occurrence=` leaves one occurrence out."""

    module_key = "events"

    def _event(self, record_id: Any) -> Event:
        self.spec()
        event = selectors.event_for_api(actor=request_member(self.request), event_id=record_id)
        if event is None:
            raise NotFound(_("Not found."))
        return event

    def _answer(self, event: Event, *, fresh: bool = False) -> Response:
        if not fresh:
            event = self._event(event.pk)
        return Response({**self.to_api(self.spec(), [event])[0], **event_extras_to_api(event)})

    def get(self, request: Request, module: str, record_id: str) -> Response:
        return self._answer(self._event(record_id), fresh=True)

    def patch(self, request: Request, module: str, record_id: str) -> Response:
        event = self._event(record_id)
        payload, extras = _pop_extras(request.data, EVENT_EXTRAS)
        occurrence = payload.pop("occurrence", None)
        scope = payload.pop("scope", None)
        data, custom, version = self.split_payload(payload)
        member = request_member(request)
        if occurrence is not None or scope not in (None, "all"):
            moment = parse_moment(occurrence, "occurrence")
            changed = services.event_occurrence_update(
                actor=member, event=event, occurrence=moment, scope=str(scope or "this"), data=data, **extras
            )
        else:
            expected = expected_version(request, version)
            changed = services.event_update(
                actor=member, event=event, data=data, custom=custom, expected_version=expected, **extras
            )
        return self._answer(changed)

    def delete(self, request: Request, module: str, record_id: str) -> Response:
        event = self._event(record_id)
        member = request_member(request)
        if request.query_params.get("occurrence"):
            moment = parse_moment(request.query_params["occurrence"], "occurrence")
            services.event_occurrence_delete(actor=member, event=event, occurrence=moment)
        else:
            services.event_delete(actor=member, event=event)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventIcsView(EventDetailView):
    """GET /api/v1/events/<id>/ics: the event as an iCalendar file."""

    def get(self, request: Request, module: str, record_id: str) -> Response:
        event = self._event(record_id)
        hidden = visibility.hidden_fields(actor=request_member(request), spec=registry.get("events"))
        return cast(Response, event_ics_response(event, hidden=hidden))


def event_ics_response(event: Event, *, hidden: Collection[str]) -> HttpResponse:
    """An .ics attachment of one event (METHOD:PUBLISH), without the reader's `hidden` fields."""
    attendees = {
        event.pk: [(i.member.user.email, "NEEDS-ACTION") for i in event.invitees.select_related("member__user")]
    }
    organizer = event.owner.user.email if event.owner_id and event.owner else None
    body = calendar_of(
        [event], method="PUBLISH", organizer_email=organizer, attendees=attendees, hidden_event_fields=hidden
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{event.number}.ics"'
    return response


class EventRespondView(EventDetailView):
    """POST /api/v1/events/<id>/respond {"response": "accepted"|"declined"|"tentative", "comment": "..."}
    (invitees only; the comment is optional)."""

    @extend_schema(
        request=inline_serializer(
            "EventRespondRequest",
            {
                "response": drf_serializers.ChoiceField(choices=["accepted", "declined", "tentative"]),
                "comment": drf_serializers.CharField(required=False, allow_blank=True, max_length=500),
            },
        ),
        responses=inline_serializer(
            "EventRespondResponse",
            {
                "member": drf_serializers.IntegerField(),
                "response": drf_serializers.CharField(),
                "comment": drf_serializers.CharField(),
            },
        ),
        description="An invitee answers an invitation, with an optional comment for the organiser.",
    )
    def post(self, request: Request, module: str, record_id: str) -> Response:
        event = self._event(record_id)
        data = request.data if isinstance(request.data, dict) else {}
        invitee = services.event_respond(
            actor=request_member(request),
            event=event,
            response=str(data.get("response", "")),
            comment=data.get("comment"),
        )
        return Response({"member": invitee.member_id, "response": invitee.response, "comment": invitee.comment})


class TaskListView(RecordListView):
    """GET with `start`/`end` (dates): tasks due in the window; POST creates a task (related_to, contacts)."""

    module_key = "tasks"

    def get(self, request: Request, module: str) -> Response:
        if "start" not in request.query_params and "end" not in request.query_params:
            return super().get(request, module)
        spec = self.spec()
        start, end = parse_window(request.query_params)
        tasks = selectors.tasks_in_window(
            actor=request_member(request),
            start=start.date(),
            end=end.date() + dt.timedelta(days=1),
            members=parse_members(request.query_params),
        )
        return Response(
            {
                "results": [
                    {**row, **task_to_api_extra(t)} for row, t in zip(self.to_api(spec, tasks), tasks, strict=True)
                ]
            }
        )

    def post(self, request: Request, module: str) -> Response:
        spec = self.spec()
        payload, extras = _pop_extras(request.data, TASK_EXTRAS)
        data, custom, _version = self.split_payload(payload)
        task = services.task_create(actor=request_member(request), data=data, custom=custom, **extras)
        task = cast(Task, selectors.task_for_api(actor=request_member(request), task_id=task.pk))
        return Response({**self.to_api(spec, [task])[0], **task_to_api_extra(task)}, status=status.HTTP_201_CREATED)


class MyOpenTasksView(TaskListView):
    """GET /api/v1/tasks/mine: the member's open tasks, overdue ones flagged."""

    def get(self, request: Request, module: str) -> Response:
        spec = self.spec()
        tasks = selectors.my_open_tasks(actor=request_member(request))
        return Response(
            {
                "results": [
                    {**row, **task_to_api_extra(t)} for row, t in zip(self.to_api(spec, tasks), tasks, strict=True)
                ]
            }
        )


class TaskDetailView(RecordDetailView):
    module_key = "tasks"

    def _task(self, record_id: Any) -> Task:
        self.spec()
        task = selectors.task_for_api(actor=request_member(self.request), task_id=record_id)
        if task is None:
            raise NotFound(_("Not found."))
        return task

    def _answer(self, task_id: Any) -> dict[str, Any]:
        fresh = self._task(task_id)
        return {**self.to_api(self.spec(), [fresh])[0], **task_to_api_extra(fresh)}

    def get(self, request: Request, module: str, record_id: str) -> Response:
        return Response(self._answer(record_id))

    def patch(self, request: Request, module: str, record_id: str) -> Response:
        task = self._task(record_id)
        payload, extras = _pop_extras(request.data, TASK_EXTRAS)
        data, custom, version = self.split_payload(payload)
        expected = expected_version(request, version)
        services.task_update(
            actor=request_member(request), task=task, data=data, custom=custom, expected_version=expected, **extras
        )
        return Response(self._answer(record_id))


class TaskCompleteView(TaskDetailView):
    """POST /api/v1/tasks/<id>/complete {"follow_up": {"subject", "due_date", ..., "reminders": [..]}}
    (follow-up optional; it keeps the task's reminders unless it names its own)."""

    def post(self, request: Request, module: str, record_id: str) -> Response:
        task = self._task(record_id)
        data = request.data if isinstance(request.data, dict) else {}
        done, follow_up = services.task_complete(
            actor=request_member(request), task=task, follow_up=data.get("follow_up")
        )
        return Response({"task": self._answer(done.pk), "follow_up": self._answer(follow_up.pk) if follow_up else None})


@json_object_view(binary="text/calendar")
class CalendarFeedView(APIView):
    """POST /api/v1/me/calendar-feed -> {"url"}: a new secret feed URL (the old one stops working);
    DELETE turns the feed off."""

    def post(self, request: Request) -> Response:
        token = services.calendar_feed_rotate(actor=request_member(request))
        url = request.build_absolute_uri(reverse("calendar:feed", args=[token]))
        return Response({"url": url}, status=status.HTTP_201_CREATED)

    def delete(self, request: Request) -> Response:
        services.calendar_feed_revoke(actor=request_member(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
