"""The event and task forms (`/m/events/new/`, `/m/events/<id>/edit/`, the same for tasks): the engine's
record form (the tenant's layout, custom fields, owner, tags) plus what only the calendar services take —
invitees, several reminders, the related record and contacts, a recurrence builder and, for one
occurrence of a series, "this / this and following / all". Declared in this module's URLconf, which the
tenant URLconf includes before the generic `m/<module>/...` routes, so these paths are served here;
`events/form.html` and `tasks/form.html` are the engine's template-override names.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from billing.entitlements import PlanLimitReached
from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.display import record_url
from crm_apps.engine.forms import field_errors_to_form, form_to_service, record_form
from crm_apps.engine.selectors import access_record
from crm_apps.engine.services import ConflictError
from crm_apps.modules.calendar import selectors, services
from crm_apps.modules.calendar.forms import (
    SCOPES,
    WEEKDAYS,
    ActivityExtrasForm,
    builder_from_rrule,
    reminder_rows,
    reminders_from_post,
    rrule_build,
    rrule_summary,
    unit_choices,
    weekday_labels,
)
from crm_apps.modules.calendar.models import ActivityLink, Event, Task
from frontend.forms import form_add_service_errors
from frontend.pages import render_page
from tenants.runtime import current_schema

# Errors the services name by these keys belong to the calendar's own part of the form.
EXTRA_KEYS = ("related_to", "contacts", "invitees", "reminders", "rrule", "scope", "occurrence")
DEFAULT_REMINDERS = (15,)


def _parse_moment(raw: Any, tz: dt.tzinfo) -> dt.datetime | None:
    text = str(raw or "").strip()
    # "2027-03-03 11:00" (typed) or "2027-03-03T09:00:00 00:00" (a "+" that a query string turned into a space)
    text = text.replace(" ", "+") if "T" in text else text.replace(" ", "T", 1)
    moment = parse_datetime(text) if text else None
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, tz)
    return moment


def _record_label(actor: Member, module: str, record_id: Any) -> str:
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        return ""
    if not visibility.can_view_module(actor=actor, spec=spec):
        return ""
    record = access_record(spec=spec, actor=actor, record_id=record_id)
    return str(record) if record is not None else ""


def _current_links(activity: Event | Task | None, actor: Member) -> tuple[dict[str, str] | None, list[dict[str, str]]]:
    """The related record and contacts of an activity, labelled, the ones the member may see."""
    if activity is None:
        return None, []
    related = None
    contacts = []
    for link in activity.links.all():
        label = _record_label(actor, link.module, link.record_id)
        if not label:
            continue
        if link.role == ActivityLink.Role.RELATED:
            related = {"module": link.module, "id": str(link.record_id), "label": label}
        else:
            contacts.append({"id": str(link.record_id), "label": label})
    return related, contacts


def _related_from_query(request: HttpRequest, actor: Member) -> dict[str, str] | None:
    """`?related=<module>:<id>` (from a record's "Schedule" link) as the form's preselected record."""
    module, _sep, record_id = request.GET.get("related", "").partition(":")
    if not module or not record_id:
        return None
    try:
        uuid.UUID(record_id)
    except ValueError:
        return None
    label = _record_label(actor, module, record_id)
    return {"module": module, "id": record_id, "label": label} if label else None


def _posted_links(extras: ActivityExtrasForm, actor: Member) -> tuple[dict[str, str] | None, list[dict[str, str]]]:
    """What was submitted, labelled again for the re-rendered form."""
    related = extras.related_to()
    shown_related = None
    if related and related["module"] and related["id"]:
        shown_related = {**related, "label": _record_label(actor, related["module"], related["id"]) or related["id"]}
    contacts = [{"id": c, "label": _record_label(actor, "contacts", c) or c} for c in extras.contacts()]
    return shown_related, contacts


def _split_errors(exc: ValidationError) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}
    extra = {k: v for k, v in errors.items() if k in EXTRA_KEYS}
    rest = {k: v for k, v in errors.items() if k not in EXTRA_KEYS}
    return extra, rest


def _local_date(value: Any, zone_name: str, fallback: dt.tzinfo) -> dt.date | None:
    try:
        tz: dt.tzinfo = zoneinfo.ZoneInfo(zone_name) if zone_name else fallback
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = fallback
    moment = _parse_moment(value, fallback)
    return moment.astimezone(tz).date() if moment else None


def _form_context(
    request: HttpRequest,
    *,
    spec: Any,
    record: Any,
    form: Any,
    extras: ActivityExtrasForm,
    member: Member,
    extra_errors: dict[str, list[str]],
    related: dict[str, str] | None,
    contacts: list[dict[str, str]],
    reminders: list[int],
) -> dict[str, Any]:
    list_crumb = (reverse("engine:list", args=[spec.key]), spec.label_plural)
    return {
        "spec": spec,
        "record": record,
        "page_title": f"{_('Edit')} {record}" if record else _("New %(label)s") % {"label": spec.label},
        "crumbs": [list_crumb, (record_url(spec, record), record.number)] if record else [list_crumb],
        "form": form,
        "extras": extras,
        "extra_errors": extra_errors,
        "related": related,
        "contacts": contacts,
        "contacts_url": reverse("engine:lookup_json", args=["contacts"]),
        "can_pick_contacts": visibility.can_view_module(actor=member, spec=registry.get("contacts")),
        "reminder_rows": reminder_rows(reminders),
        "unit_choices": unit_choices(),
        "draft_key": f"crm-draft:{current_schema()}:{member.pk}:{spec.key}:{record.pk if record else 'new'}",
    }


# --- events -----------------------------------------------------------------------------------------


def _occurrence(request: HttpRequest, event: Event | None) -> dt.datetime | None:
    """The occurrence being edited (`?occurrence=` or the posted field), when it is one of the series'."""
    raw = request.POST.get("occurrence") or request.GET.get("occurrence")
    if event is None or not event.rrule or not raw:
        return None
    moment = _parse_moment(raw, dt.UTC)
    if moment is None:
        return None
    moment = moment.astimezone(dt.UTC)
    try:
        services._occurrence_check(event, moment)
    except ValidationError:
        return None
    return moment


def _event_save(request: HttpRequest, record_id: uuid.UUID | None) -> HttpResponse:
    member = request_member(request)
    spec = registry.get("events")
    event: Event | None = None
    if record_id is not None:
        event = selectors.event_get(actor=member, event_id=record_id)
        if event is None:
            raise Http404
        if not visibility.can_edit(actor=member, spec=spec, record=event):
            raise PermissionDenied
    elif not visibility.can_create(actor=member, spec=spec):
        raise PermissionDenied
    occurrence = _occurrence(request, event)
    data_in = request.POST if request.method == "POST" else None
    form = record_form(spec, actor=member, record=event, data=data_in)
    extras = ActivityExtrasForm(data_in, actor=member, event=True)
    tz = timezone.get_current_timezone()
    extra_errors: dict[str, list[str]] = {}
    scope = request.POST.get("scope", "all" if occurrence is None else "this")

    if request.method == "POST":
        data, custom = form_to_service(spec, form)
        reminders, reminder_errors = reminders_from_post(request.POST)
        if reminder_errors:
            extra_errors["reminders"] = reminder_errors
        zone_name = str(data.get("time_zone") or (event.time_zone if event else "UTC"))
        start_day = _local_date(data.get("start"), zone_name, tz)
        rrule_field = form.fields.get("rrule")
        if rrule_field is not None and not rrule_field.disabled:
            try:
                data["rrule"] = rrule_build(request.POST, start=start_day)
            except ValidationError as exc:
                extra_errors["rrule"] = list(exc.messages)
        if scope not in SCOPES:
            extra_errors["scope"] = [_('Choose "this", "following" or "all".')]
        if extra_errors:
            form.is_valid()  # the form's own field errors, shown with the calendar's
        else:
            saved = _event_write(
                request, member=member, event=event, occurrence=occurrence, scope=scope, data=data, custom=custom,
                extras=extras, reminders=reminders, form=form, extra_errors=extra_errors,
            )  # fmt: skip
            if saved is not None:
                return redirect(record_url(spec, saved))
        related, contacts = _posted_links(extras, member)
        shown_reminders = reminders
        builder = {**builder_from_rrule("", start=start_day), **_posted_builder(request.POST)}
        selected_invitees = extras.invitees()
    else:
        related, contacts = _current_links(event, member)
        if event is None:
            related = _related_from_query(request, member)
            _prefill_new(request, form)
            shown_reminders = list(DEFAULT_REMINDERS)
            selected_invitees = [str(v) for v in request.GET.getlist("invitee") if v.isdigit()]
        else:
            shown_reminders = list(event.reminders.values_list("minutes_before", flat=True))
            selected_invitees = [str(v) for v in event.invitees.values_list("member_id", flat=True)]
        start_value = occurrence or (event.start if event else None)
        start_day = start_value.astimezone(zoneinfo.ZoneInfo(event.time_zone)).date() if event and start_value else None
        builder = builder_from_rrule(event.rrule if event else "", start=start_day)
        if occurrence is not None and event is not None:
            form.initial["start"] = occurrence
            form.initial["end"] = occurrence + event.duration
    context = _form_context(
        request, spec=spec, record=event, form=form, extras=extras, member=member, extra_errors=extra_errors,
        related=related, contacts=contacts, reminders=shown_reminders,
    )  # fmt: skip
    context.update(
        {
            "builder": builder,
            "weekdays": [(code, weekday_labels()[code]) for code in WEEKDAYS],
            "rrule_summary": rrule_summary(event.rrule, start=start_day) if event and event.rrule else "",
            "occurrence": occurrence,
            "scope": scope,
            "has_rrule_field": "rrule" in form.fields,
            "selected_invitees": selected_invitees,
        }
    )
    return render_page(request, spec.template_for("form"), context)


def _posted_builder(post: Any) -> dict[str, Any]:
    return {
        "repeat_freq": post.get("repeat_freq", ""),
        "repeat_interval": post.get("repeat_interval", "1"),
        "repeat_byday": post.getlist("repeat_byday"),
        "repeat_monthly": post.get("repeat_monthly", "day"),
        "repeat_ends": post.get("repeat_ends", "never"),
        "repeat_until": post.get("repeat_until", ""),
        "repeat_count": post.get("repeat_count", ""),
        "repeat_custom": post.get("repeat_custom", ""),
    }


def _prefill_new(request: HttpRequest, form: Any) -> None:
    """A new event from the calendar's dialog ("More options") keeps what was typed and the chosen slot."""
    tz = timezone.get_current_timezone()
    for name in ("start", "end"):
        moment = _parse_moment(request.GET.get(name), tz)
        if moment is not None and name in form.fields:
            form.initial[name] = moment
    for name in ("subject", "location", "activity_type"):
        value = request.GET.get(name, "").strip()[:255]
        if value and name in form.fields:
            form.initial[name] = value
    if request.GET.get("all_day") in ("1", "true") and "all_day" in form.fields:
        form.initial["all_day"] = True


def _event_write(
    request: HttpRequest,
    *,
    member: Member,
    event: Event | None,
    occurrence: dt.datetime | None,
    scope: str,
    data: dict[str, Any],
    custom: dict[str, Any],
    extras: ActivityExtrasForm,
    reminders: list[int],
    form: Any,
    extra_errors: dict[str, list[str]],
) -> Event | None:
    """Call the right service; its errors land on the form (None then)."""
    kwargs: dict[str, Any] = {
        "related_to": extras.related_to(),
        "contacts": extras.contacts(),
        "reminders": reminders,
    }
    if "invitees" in extras.fields:
        kwargs["invitees"] = extras.invitees()
    try:
        if event is None:
            saved = services.event_create(actor=member, data=data, custom=custom, **kwargs)
            messages.success(request, _("Event created."))
            return saved
        if occurrence is not None and scope in ("this", "following"):
            if scope == "following" and data.get("rrule") == event.rrule:
                data.pop("rrule")  # unchanged: the service counts what is left of a COUNT
            saved = services.event_occurrence_update(
                actor=member, event=event, occurrence=occurrence, scope=scope, data=data, **kwargs
            )
            messages.success(request, _("Changes saved."))
            return saved
        if occurrence is not None:
            _shift_series(event, occurrence, data)
        version = request.POST.get("version", "")
        saved = services.event_update(
            actor=member,
            event=event,
            data=data,
            custom=custom,
            expected_version=int(version) if version.isdigit() and len(version) < 10 else -1,
            **kwargs,
        )
        messages.success(request, _("Changes saved."))
        return saved
    except visibility.FieldPermissionDenied as exc:
        field_errors_to_form(form, {name: [_("You may not change this field.")] for name in exc.fields})
    except PlanLimitReached as exc:
        form_add_service_errors(form, exc)
    except ValidationError as exc:
        mine, rest = _split_errors(exc)
        extra_errors.update(mine)
        field_errors_to_form(form, rest)
    except ConflictError:
        form.add_error(
            None, _("Someone else changed this record while you were editing. Reload the page to see their changes.")
        )
    return None


def _shift_series(event: Event, occurrence: dt.datetime, data: dict[str, Any]) -> None:
    """ "All events" edited from one occurrence: the series moves by as much as that occurrence did."""
    tz = timezone.get_current_timezone()
    start, end = _parse_moment(data.get("start"), tz), _parse_moment(data.get("end"), tz)
    if start is None or end is None:
        return
    first = event.start + (start - occurrence)
    data["start"] = first.isoformat()
    data["end"] = (first + (end - start)).isoformat()


@login_required
def event_create_view(request: HttpRequest) -> HttpResponse:
    return _event_save(request, None)


@login_required
def event_edit_view(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    return _event_save(request, record_id)


@require_GET
@login_required
def recurrence_summary(request: HttpRequest) -> JsonResponse:
    """The builder's fields -> {"rrule", "summary"} or {"error"} (the form's live summary)."""
    request_member(request)
    tz = timezone.get_current_timezone()
    start = _local_date(request.GET.get("start"), request.GET.get("time_zone", ""), tz)
    try:
        rule = rrule_build(request.GET, start=start)
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    return JsonResponse({"rrule": rule, "summary": rrule_summary(rule, start=start) or _("Does not repeat")})


# --- tasks ------------------------------------------------------------------------------------------


def _task_save(request: HttpRequest, record_id: uuid.UUID | None) -> HttpResponse:
    member = request_member(request)
    spec = registry.get("tasks")
    task: Task | None = None
    if record_id is not None:
        task = selectors.tasks_visible(actor=member).filter(pk=record_id).first()
        if task is None:
            raise Http404
        if not visibility.can_edit(actor=member, spec=spec, record=task):
            raise PermissionDenied
    elif not visibility.can_create(actor=member, spec=spec):
        raise PermissionDenied
    data_in = request.POST if request.method == "POST" else None
    form = record_form(spec, actor=member, record=task, data=data_in)
    extras = ActivityExtrasForm(data_in, actor=member, event=False)
    extra_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data, custom = form_to_service(spec, form)
        reminders, reminder_errors = reminders_from_post(request.POST)
        if reminder_errors:
            extra_errors["reminders"] = reminder_errors
            form.is_valid()
        else:
            kwargs = {"related_to": extras.related_to(), "contacts": extras.contacts(), "reminders": reminders}
            try:
                if task is None:
                    saved = services.task_create(actor=member, data=data, custom=custom, **kwargs)
                    messages.success(request, _("Task created."))
                else:
                    version = request.POST.get("version", "")
                    saved = services.task_update(
                        actor=member,
                        task=task,
                        data=data,
                        custom=custom,
                        expected_version=int(version) if version.isdigit() and len(version) < 10 else -1,
                        **kwargs,
                    )
                    messages.success(request, _("Changes saved."))
                return redirect(record_url(spec, saved))
            except visibility.FieldPermissionDenied as exc:
                field_errors_to_form(form, {name: [_("You may not change this field.")] for name in exc.fields})
            except PlanLimitReached as exc:
                form_add_service_errors(form, exc)
            except ValidationError as exc:
                mine, rest = _split_errors(exc)
                extra_errors.update(mine)
                field_errors_to_form(form, rest)
            except ConflictError:
                form.add_error(
                    None,
                    _("Someone else changed this record while you were editing. Reload the page to see their changes."),
                )
        related, contacts = _posted_links(extras, member)
        shown_reminders = reminders
    else:
        related, contacts = _current_links(task, member)
        if task is None:
            related = _related_from_query(request, member)
            shown_reminders = []
        else:
            shown_reminders = list(task.reminders.values_list("minutes_before", flat=True))
    context = _form_context(
        request, spec=spec, record=task, form=form, extras=extras, member=member, extra_errors=extra_errors,
        related=related, contacts=contacts, reminders=shown_reminders,
    )  # fmt: skip
    return render_page(request, spec.template_for("form"), context)


@login_required
def task_create_view(request: HttpRequest) -> HttpResponse:
    return _task_save(request, None)


@login_required
def task_edit_view(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    return _task_save(request, record_id)
