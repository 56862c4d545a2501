"""Writes of the calendar: events (with links, invitees, reminders and recurrence edits), tasks, feeds.

Every write goes through the engine's `record_create`/`record_update`/`record_delete`, so rights,
validation, audit and timeline come with it; the extras (related record, contacts, invitees, reminders)
are validated before anything is written and saved in the same transaction. CalDAV and the API both
call these functions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry, selectors
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create, record_delete, record_update
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

MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 60 * 24 * 28
MAX_INVITEES = 200
# Fields whose change means invitees must get the update (and reminders re-time themselves).
_SCHEDULE_FIELDS = ("start", "end", "all_day", "time_zone", "rrule", "location", "subject")

_UNSET: Any = object()


@dataclass(frozen=True)
class RecordRef:
    module: str
    id: Any


def _events_spec() -> Any:
    return registry.get("events")


def _tasks_spec() -> Any:
    return registry.get("tasks")


# --- validation of the extras ----------------------------------------------------------------------


def _clean_related(actor: Member, value: Any) -> RecordRef | None:
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict) or set(value) - {"module", "id"} or "module" not in value or "id" not in value:
        raise ValidationError(_('Send {"module": "<module key>", "id": "<record id>"} or null.'))
    try:
        spec = registry.get(str(value["module"]))
    except registry.UnknownModule:
        raise ValidationError(_("Unknown module.")) from None
    if spec.key in ("events", "tasks") or not visibility.can_view_module(actor=actor, spec=spec):
        raise ValidationError(_("Unknown module."))
    record = selectors.access_record(spec=spec, actor=actor, record_id=value["id"])
    if record is None:
        raise ValidationError(_("No such record."))
    return RecordRef(spec.key, record.pk)


def _clean_contacts(actor: Member, value: Any) -> list[RecordRef]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > 50:
        raise ValidationError(_("Send a list of at most 50 contact ids."))
    spec = registry.get("contacts")
    refs = []
    for raw in dict.fromkeys(str(v) for v in value):
        record = selectors.access_record(spec=spec, actor=actor, record_id=raw)
        if record is None:
            raise ValidationError(_("No such contact: %(id)s.") % {"id": raw})
        refs.append(RecordRef("contacts", record.pk))
    return refs


def _clean_invitees(value: Any) -> list[Member]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_INVITEES:
        raise ValidationError(_("Send a list of member ids."))
    ids: list[int] = []
    for raw in value:
        if isinstance(raw, bool) or not str(raw).isdigit():
            raise ValidationError(_("Member ids are whole numbers."))
        ids.append(int(raw))
    members = {m.pk: m for m in Member.objects.filter(pk__in=ids, active=True).select_related("user")}
    missing = [i for i in ids if i not in members]
    if missing:
        raise ValidationError(_("No such active member: %(id)s.") % {"id": missing[0]})
    return [members[i] for i in dict.fromkeys(ids)]


def _clean_reminders(value: Any) -> list[int]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_REMINDERS:
        raise ValidationError(_("Send a list of at most %(max)d reminders.") % {"max": MAX_REMINDERS})
    minutes: list[int] = []
    for raw in value:
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_REMINDER_MINUTES:
            raise ValidationError(
                _("A reminder is a number of minutes from 0 to %(max)d.") % {"max": MAX_REMINDER_MINUTES}
            )
        minutes.append(raw)
    return sorted(set(minutes))


def _extras(
    actor: Member, *, related_to: Any, contacts: Any, invitees: Any, reminders: Any
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cleaned extras that were sent (`_UNSET` ones left out) and the errors, by field."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, raw, clean in (
        ("related_to", related_to, lambda v: _clean_related(actor, v)),
        ("contacts", contacts, lambda v: _clean_contacts(actor, v)),
        ("invitees", invitees, _clean_invitees),
        ("reminders", reminders, _clean_reminders),
    ):
        if raw is _UNSET:
            continue
        try:
            cleaned[name] = clean(raw)
        except ValidationError as exc:
            errors[name] = list(exc.messages)
    return cleaned, errors


def _owner_errors(actor: Member, data: dict[str, Any], *, current: int | None = None) -> dict[str, list[str]]:
    """An event may be put in another member's calendar only by someone who may edit that member's events
    (the sharing rules: public read-write, superiors, write-shared members; admins always)."""
    raw = data.get("owner")
    if raw in (None, "") or isinstance(raw, bool):
        return {}
    try:
        owner_id = int(str(raw))
    except ValueError:
        return {}  # the field's own validation reports it
    if owner_id in (actor.pk, current):
        return {}
    if visibility.can_edit(actor=actor, spec=_events_spec(), record=Event(owner_id=owner_id)):
        return {}
    return {"owner": [_("You may not schedule events in this member's calendar.")]}


def _merge_errors(exc: ValidationError, errors: dict[str, list[str]]) -> ValidationError:
    merged = dict(exc.message_dict) if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}
    merged.update(errors)
    return ValidationError(merged)


def _save_links(*, actor: Member, activity: Event | Task, cleaned: dict[str, Any]) -> None:
    """Replace the related record / contacts that were sent; tell each newly linked record's timeline."""
    model: type[EventLink] | type[TaskLink] = EventLink if isinstance(activity, Event) else TaskLink
    owner = {"event": activity} if isinstance(activity, Event) else {"task": activity}
    module = "events" if isinstance(activity, Event) else "tasks"
    wanted: list[tuple[str, RecordRef]] = []
    if "related_to" in cleaned:
        model.objects.filter(**owner, role=ActivityLink.Role.RELATED).delete()
        if cleaned["related_to"] is not None:
            wanted.append((ActivityLink.Role.RELATED, cleaned["related_to"]))
    if "contacts" in cleaned:
        model.objects.filter(**owner, role=ActivityLink.Role.CONTACT).delete()
        wanted += [(ActivityLink.Role.CONTACT, ref) for ref in cleaned["contacts"]]
    existing = set(model.objects.filter(**owner).values_list("module", "record_id"))
    rows, entries = [], []
    for role, ref in wanted:
        if (ref.module, ref.id) in existing:
            continue
        existing.add((ref.module, ref.id))
        rows.append(model(**owner, role=role, module=ref.module, record_id=ref.id))
        entries.append(
            TimelineEntry(
                module=ref.module,
                record_id=ref.id,
                kind=TimelineEntry.Kind.RELATED,
                actor=actor,
                data={"module": module, "id": str(activity.pk), "label": activity.subject, "number": activity.number},
            )
        )
    model.objects.bulk_create(rows)
    TimelineEntry.objects.bulk_create(entries)


def _save_invitees(event: Event, members: list[Member]) -> list[Member]:
    """Replace the invitees; the newly invited ones are returned (they get an invitation)."""
    current = set(EventInvitee.objects.filter(event=event).values_list("member_id", flat=True))
    wanted = {m.pk for m in members}
    EventInvitee.objects.filter(event=event).exclude(member_id__in=wanted).delete()
    added = [m for m in members if m.pk not in current]
    EventInvitee.objects.bulk_create([EventInvitee(event=event, member=m) for m in added])
    return added


def _save_reminders(event: Event, minutes: list[int]) -> None:
    EventReminder.objects.filter(event=event).delete()
    EventReminder.objects.bulk_create([EventReminder(event=event, minutes_before=m) for m in minutes])


def _save_task_reminders(task: Task, minutes: list[int]) -> None:
    TaskReminder.objects.filter(task=task).delete()
    TaskReminder.objects.bulk_create([TaskReminder(task=task, minutes_before=m) for m in minutes])


def _notify_invited(actor: Member, event: Event, added: list[Member]) -> None:
    """Newly invited members also find the invitation in the notification centre (unless they turned
    invitations off there); the email with the .ics is `_invite`'s, so this sends no email of its own."""
    from crm_apps.notifications import kinds
    from crm_apps.notifications.services import notification_send

    for member in added:
        if member.pk == event.owner_id:
            continue
        notification_send(
            recipient=member,
            kind=kinds.INVITATION,
            module="events",
            record_id=event.pk,
            actor=actor,
            params={"record": event.subject},
            url=f"/m/events/{event.pk}/",
            dedupe_key=f"invitation:{event.pk}:{member.pk}",
            own_email=True,
        )


def _invite(event: Event, member_ids: Iterable[int], method: str) -> None:
    """Email the invitees an .ics (METHOD:REQUEST or CANCEL) once the transaction commits."""
    ids = sorted(set(member_ids))
    if not ids:
        return
    from crm_apps.modules.calendar.tasks import invitation_send_task

    event_id = str(event.pk)
    transaction.on_commit(lambda: invitation_send_task.delay(event_id, ids, method))


# --- events ----------------------------------------------------------------------------------------


def _event_data(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if isinstance(data.get("rrule"), str):
        with contextlib.suppress(ValidationError):  # the field validator reports a bad rule
            data["rrule"] = recurrence.normalize_rrule(data["rrule"])
    return data


@transaction.atomic
def event_create(
    *,
    actor: Member,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    related_to: Any = None,
    contacts: Any = None,
    invitees: Any = None,
    reminders: Any = None,
) -> Event:
    """Create an event with its related record, contacts, invitees (emailed an .ics) and reminders;
    any invalid part is a ValidationError naming it, and nothing is written."""
    cleaned, errors = _extras(actor, related_to=related_to, contacts=contacts, invitees=invitees, reminders=reminders)
    errors.update(_owner_errors(actor, data))
    try:
        event: Event = record_create(spec=_events_spec(), actor=actor, data=_event_data(data), custom=custom)
    except ValidationError as exc:
        raise _merge_errors(exc, errors) from exc
    if errors:
        raise ValidationError(errors)
    _save_links(actor=actor, activity=event, cleaned=cleaned)
    added = _save_invitees(event, cleaned.get("invitees", []))
    _save_reminders(event, cleaned.get("reminders", []))
    _invite(event, [m.pk for m in added if m.pk != event.owner_id], "REQUEST")
    _notify_invited(actor, event, added)
    return event


@transaction.atomic
def event_update(
    *,
    actor: Member,
    event: Event,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    expected_version: int | None = None,
    related_to: Any = _UNSET,
    contacts: Any = _UNSET,
    invitees: Any = _UNSET,
    reminders: Any = _UNSET,
) -> Event:
    """Change a whole event (all occurrences of a series); extras left out stay as they are. Invitees
    are emailed the new version when its time, place or subject changes."""
    cleaned, errors = _extras(actor, related_to=related_to, contacts=contacts, invitees=invitees, reminders=reminders)
    errors.update(_owner_errors(actor, data, current=event.owner_id))
    before = {name: getattr(event, name) for name in _SCHEDULE_FIELDS}
    data = _event_data(data)
    bump = any(name in data for name in ("start", "end", "rrule", "time_zone", "all_day", "location"))
    try:
        updated: Event = record_update(
            spec=_events_spec(), actor=actor, record=event, data=data, custom=custom, expected_version=expected_version
        )
    except ValidationError as exc:
        raise _merge_errors(exc, errors) from exc
    if errors:
        raise ValidationError(errors)
    changed = any(getattr(updated, name) != value for name, value in before.items())
    if bump and changed:
        Event.objects.filter(pk=updated.pk).update(sequence=updated.sequence + 1)
        updated.sequence += 1
    _save_links(actor=actor, activity=updated, cleaned=cleaned)
    added: list[Member] = []
    if "invitees" in cleaned:
        added = _save_invitees(updated, cleaned["invitees"])
    if "reminders" in cleaned:
        _save_reminders(updated, cleaned["reminders"])
    everyone = list(EventInvitee.objects.filter(event=updated).values_list("member_id", flat=True))
    notify = everyone if changed else [m.pk for m in added]
    _invite(updated, [i for i in notify if i != updated.owner_id], "REQUEST")
    _notify_invited(actor, updated, added)
    return updated


@transaction.atomic
def event_delete(*, actor: Member, event: Event) -> None:
    """Move an event to the recycle bin; invitees get a cancellation, and its reminders stop."""
    invitees = list(EventInvitee.objects.filter(event=event).values_list("member_id", flat=True))
    record_delete(spec=_events_spec(), actor=actor, record=event)
    _invite(event, [i for i in invitees if i != event.owner_id], "CANCEL")


def _occurrence_check(event: Event, occurrence: dt.datetime) -> None:
    if not event.rrule:
        raise ValidationError({"occurrence": [_("This event does not repeat.")]})
    if occurrence in [x for x in event.exdates] or not recurrence.is_occurrence(
        start=event.start, time_zone=event.time_zone, rrule=event.rrule, moment=occurrence
    ):
        raise ValidationError({"occurrence": [_("The series has no occurrence at this time.")]})


def _copy_data(event: Event, start: dt.datetime) -> dict[str, Any]:
    spec = _events_spec()
    data = {name: getattr(event, name) for name in spec.form_fields if name not in ("owner",)}
    for name, value in list(data.items()):
        if hasattr(value, "pk"):
            data[name] = value.pk
        elif isinstance(value, dt.datetime | dt.date):
            data[name] = value.isoformat()
    data["owner"] = event.owner_id
    data["start"] = start.isoformat()
    data["end"] = (start + event.duration).isoformat()
    return data


def _extras_of(event: Event) -> dict[str, Any]:
    related = event.links.filter(role=ActivityLink.Role.RELATED).first()
    return {
        "related_to": {"module": related.module, "id": str(related.record_id)} if related else None,
        "contacts": [
            str(x) for x in event.links.filter(role=ActivityLink.Role.CONTACT).values_list("record_id", flat=True)
        ],
        "invitees": list(event.invitees.values_list("member_id", flat=True)),
        "reminders": list(event.reminders.values_list("minutes_before", flat=True)),
    }


def _exdate_add(event: Event, occurrence: dt.datetime) -> Event:
    """The series with one more EXDATE, as a change every reader sees: a new `sequence` (iTIP), `version`
    (the CalDAV ETag and sync token) and `updated_at`."""
    series = Event.objects.select_for_update().get(pk=event.pk)
    series.exdates = sorted({*series.exdates, occurrence})
    series.sequence += 1
    series.version += 1
    series.updated_at = timezone.now()
    series.save(update_fields=["exdates", "sequence", "version", "updated_at"])
    return series


@transaction.atomic
def event_occurrence_update(
    *,
    actor: Member,
    event: Event,
    occurrence: dt.datetime,
    scope: str,
    data: dict[str, Any],
    **extras: Any,
) -> Event:
    """Edit one occurrence of a series: `scope` "this" (the occurrence becomes its own event and the
    series skips it), "following" (the series ends before it, a new series starts with the change) or
    "all" (the whole series). Returns the event that now holds the change."""
    if scope == "all":
        return event_update(actor=actor, event=event, data=data, **extras)
    if scope not in ("this", "following"):
        raise ValidationError({"scope": [_('Choose "this", "following" or "all".')]})
    occurrence = occurrence.astimezone(dt.UTC)
    _occurrence_check(event, occurrence)
    if not visibility.can_edit(actor=actor, spec=_events_spec(), record=event):
        raise PermissionDenied
    copied = {**_extras_of(event), **extras}
    new_data = {**_copy_data(event, occurrence), **data}
    if scope == "this":
        new_data["rrule"] = ""
        created = event_create(actor=actor, data=new_data, **copied)
        Event.objects.filter(pk=created.pk).update(recurrence_parent=event.pk, recurrence_id=occurrence)
        series = _exdate_add(event, occurrence)
        invitees = series.invitees.values_list("member_id", flat=True)
        _invite(series, [i for i in invitees if i != series.owner_id], "REQUEST")
        created.recurrence_parent_id, created.recurrence_id = event.pk, occurrence
        return created
    # "following": the old series stops before this occurrence; the rest becomes a new series.
    if occurrence == event.start.astimezone(dt.UTC):
        return event_update(actor=actor, event=event, data=data, **extras)
    count = recurrence.rrule_count(event.rrule)
    if "rrule" not in data:
        remaining = None
        if count is not None:
            remaining = count - recurrence.count_before(
                start=event.start, time_zone=event.time_zone, rrule=event.rrule, moment=occurrence
            )
        new_data["rrule"] = recurrence.rrule_with_count(event.rrule, remaining)
    later = [x for x in event.exdates if x >= occurrence]
    created = event_create(actor=actor, data=new_data, **copied)
    Event.objects.filter(pk=created.pk).update(recurrence_parent=event.pk, exdates=later)
    event_update(actor=actor, event=event, data={"rrule": recurrence.rrule_end_before(event.rrule, occurrence)})
    Event.objects.filter(pk=event.pk).update(exdates=[x for x in event.exdates if x < occurrence])
    created.recurrence_parent_id, created.exdates = event.pk, later
    return created


@transaction.atomic
def event_occurrence_delete(*, actor: Member, event: Event, occurrence: dt.datetime) -> Event:
    """Leave one occurrence out of a series (an EXDATE); invitees get the updated series."""
    occurrence = occurrence.astimezone(dt.UTC)
    _occurrence_check(event, occurrence)
    if not visibility.can_edit(actor=actor, spec=_events_spec(), record=event):
        raise PermissionDenied
    series = _exdate_add(event, occurrence)
    invitees = series.invitees.values_list("member_id", flat=True)
    _invite(series, [i for i in invitees if i != series.owner_id], "REQUEST")
    return series


MAX_COMMENT = 500
INVITATION_ANSWER = "invitation_answer"  # the notification kind (registered in module.py)


@transaction.atomic
def event_respond(*, actor: Member, event: Event, response: str, comment: str | None = None) -> EventInvitee:
    """An invitee accepts, declines or tentatively accepts, with an optional comment for the organiser
    (None keeps the last one). Only the invitee answers for themselves: anyone else is refused. Their
    invitation under the bell is marked read."""
    if response not in EventInvitee.Response.values or response == EventInvitee.Response.NEEDS_ACTION:
        raise ValidationError({"response": [_("Choose accepted, declined or tentative.")]})
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise ValidationError({"comment": [_("Write at most %(max)d characters.") % {"max": MAX_COMMENT}]})
    if event.deleted_at is not None:
        raise PermissionDenied
    invitee = EventInvitee.objects.select_for_update().filter(event=event, member=actor).first()
    if invitee is None:
        raise PermissionDenied
    invitee.response = response
    if comment is not None:
        invitee.comment = comment.strip()
    invitee.responded_at = timezone.now()
    invitee.save(update_fields=["response", "comment", "responded_at"])
    from crm_apps.notifications import kinds
    from crm_apps.notifications.models import Notification

    Notification.objects.filter(
        recipient=actor, kind=kinds.INVITATION, module="events", record_id=event.pk, read_at__isnull=True
    ).update(read_at=timezone.now())
    _notify_answer(actor, event, invitee)
    return invitee


def _notify_answer(actor: Member, event: Event, invitee: EventInvitee) -> None:
    """Tell the organiser (the event's owner) how an invitee answered, in the organiser's language."""
    from django.utils import translation

    from crm_apps.notifications.services import notification_send

    owner = event.owner
    if owner is None or owner.pk == actor.pk:
        return
    with translation.override(owner.language):
        answer = str(EventInvitee.Response(invitee.response).label)
    stamp = invitee.responded_at.isoformat() if invitee.responded_at else ""
    notification_send(
        recipient=owner,
        kind=INVITATION_ANSWER,
        module="events",
        record_id=event.pk,
        actor=actor,
        params={"record": event.subject, "answer": answer, "body": invitee.comment},
        url=f"/m/events/{event.pk}/",
        dedupe_key=f"answer:{event.pk}:{actor.pk}:{stamp}",
    )


# --- tasks -----------------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    actor: Member,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    related_to: Any = None,
    contacts: Any = None,
    reminders: Any = None,
) -> Task:
    """Create a task, optionally about a record of any module and contacts, with reminders (minutes
    before it is due) for its owner."""
    cleaned, errors = _extras(actor, related_to=related_to, contacts=contacts, invitees=_UNSET, reminders=reminders)
    try:
        task: Task = record_create(spec=_tasks_spec(), actor=actor, data=dict(data), custom=custom)
    except ValidationError as exc:
        raise _merge_errors(exc, errors) from exc
    if errors:
        raise ValidationError(errors)
    if task.status == Task.Status.COMPLETED:
        Task.objects.filter(pk=task.pk).update(completed_at=timezone.now())
    _save_links(actor=actor, activity=task, cleaned=cleaned)
    _save_task_reminders(task, cleaned.get("reminders", []))
    return task


@transaction.atomic
def task_update(
    *,
    actor: Member,
    task: Task,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    expected_version: int | None = None,
    related_to: Any = _UNSET,
    contacts: Any = _UNSET,
    reminders: Any = _UNSET,
) -> Task:
    """Change a task; moving it to "completed" stamps the completion time. Reminders left out stay;
    a new due date or time re-plans them (the delivery key holds the due moment)."""
    cleaned, errors = _extras(actor, related_to=related_to, contacts=contacts, invitees=_UNSET, reminders=reminders)
    try:
        updated: Task = record_update(
            spec=_tasks_spec(),
            actor=actor,
            record=task,
            data=dict(data),
            custom=custom,
            expected_version=expected_version,
        )
    except ValidationError as exc:
        raise _merge_errors(exc, errors) from exc
    if errors:
        raise ValidationError(errors)
    completed_at = timezone.now() if updated.status == Task.Status.COMPLETED else None
    if (updated.completed_at is None) != (completed_at is None):
        Task.objects.filter(pk=updated.pk).update(completed_at=completed_at)
        updated.completed_at = completed_at
    _save_links(actor=actor, activity=updated, cleaned=cleaned)
    if "reminders" in cleaned:
        _save_task_reminders(updated, cleaned["reminders"])
    return updated


@transaction.atomic
def task_complete(*, actor: Member, task: Task, follow_up: dict[str, Any] | None = None) -> tuple[Task, Task | None]:
    """Mark a task completed; `follow_up` ({"subject", "due_date", ...}) schedules the next task about
    the same record and contacts, owned by the same member."""
    updated = task_update(actor=actor, task=task, data={"status": Task.Status.COMPLETED})
    if not follow_up:
        return updated, None
    if not isinstance(follow_up, dict):
        raise ValidationError({"follow_up": [_("Send an object of task fields.")]})
    related = updated.links.filter(role=ActivityLink.Role.RELATED).first()
    contacts = [
        str(x) for x in updated.links.filter(role=ActivityLink.Role.CONTACT).values_list("record_id", flat=True)
    ]
    follow_up = dict(follow_up)
    reminders = follow_up.pop("reminders", list(updated.reminders.values_list("minutes_before", flat=True)))
    data = {"owner": updated.owner_id, "priority": updated.priority, **follow_up}
    try:
        nxt = task_create(
            actor=actor,
            data=data,
            reminders=reminders,
            related_to={"module": related.module, "id": str(related.record_id)} if related else None,
            contacts=contacts,
        )
    except ValidationError as exc:
        raise ValidationError({f"follow_up.{k}": v for k, v in exc.message_dict.items()}) from exc
    return updated, nxt


# --- the secret iCalendar feed ---------------------------------------------------------------------


def feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_rotate(*, actor: Member) -> str:
    """A new secret for the member's feed (the old URL stops working); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(
        member=actor, defaults={"token_hash": feed_token_hash(token), "created_at": timezone.now()}
    )
    return token


@transaction.atomic
def calendar_feed_revoke(*, actor: Member) -> bool:
    """Turn the member's feed off; True when there was one."""
    deleted, _rows = CalendarFeed.objects.filter(member=actor).delete()
    return deleted > 0
