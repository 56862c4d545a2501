"""Reminders: which are due, and delivering each exactly once.

Beat runs `reminders_due_all_task` every minute; it fans out to each tenant, where `reminders_send_due`
looks at the events that start within the longest reminder lead, computes each occurrence's reminder
moments, and delivers those that fell due in the last `GRACE` (so a worker that was down a few minutes
catches up; older ones are dropped, a reminder after the meeting helps nobody).

Exactly once: a delivery is claimed by inserting its `ReminderDelivery` row (unique per event,
occurrence start, lead, member and channel) with ON CONFLICT DO NOTHING inside the sending transaction;
only the worker whose insert won sends, and the email is queued on commit. The key holds the occurrence
start, so a moved event has new keys and reminds at its new time; a deleted event, a status other
than "planned" or a removed occurrence (EXDATE) is never considered.

Tasks: a task's reminders count back from its due moment (the due time, or 09:00 of a date-only task,
in the owner's time zone) and go to the owner only; completed, deferred and deleted tasks are never
considered, and the claim row (`TaskReminderDelivery`) holds the due moment, so moving the due date or
time re-plans them.

Channels: `reminder_notify` follows the member's choice for "Reminders" in the notification centre
(off; in the app; in the app and by this module's email, which names the event's time and place).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone, translation

from crm_apps.access.formats import formats_override
from crm_apps.access.models import Member
from crm_apps.modules.calendar import recurrence
from crm_apps.modules.calendar.models import (
    Event,
    EventInvitee,
    EventReminder,
    ReminderDelivery,
    Task,
    TaskReminder,
    TaskReminderDelivery,
)
from tenants.mail import mail_enqueue

logger = logging.getLogger(__name__)

# A reminder that fell due longer ago than this (worker down) is dropped rather than sent late.
GRACE = dt.timedelta(minutes=15)


def _recipients(event: Event) -> list[Member]:
    members = {
        m.pk: m
        for m in Member.objects.filter(
            pk__in=EventInvitee.objects.filter(event=event).values("member_id"), active=True
        ).select_related("user")
    }
    if event.owner_id and event.owner is not None and event.owner.active:
        members.setdefault(event.owner_id, event.owner)
    return list(members.values())


def reminders_due(*, now: dt.datetime) -> list[tuple[Event, dt.datetime, int]]:
    """(event, occurrence start, minutes before) of every reminder whose moment is in (now - GRACE, now]."""
    longest = EventReminder.objects.aggregate(m=Max("minutes_before"))["m"]
    if longest is None:
        return []
    horizon = now + dt.timedelta(minutes=longest)
    events = (
        Event.objects.filter(deleted_at__isnull=True, status=Event.Status.PLANNED, reminders__isnull=False)
        .filter(start__lte=horizon)
        .filter(Q(rrule="", start__gt=now - GRACE) | ~Q(rrule=""))
        .distinct()
        .select_related("owner__user")
        .prefetch_related("reminders")
    )
    due = []
    for event in events:
        for reminder in event.reminders.all():
            lead = dt.timedelta(minutes=reminder.minutes_before)
            for start in recurrence.occurrence_starts(
                start=event.start,
                end=event.start,
                time_zone=event.time_zone,
                rrule=event.rrule,
                exdates=event.exdates,
                window_start=now - GRACE + lead,
                window_end=now + lead + dt.timedelta(microseconds=1),
            ):
                if now - GRACE < start - lead <= now:
                    due.append((event, start, reminder.minutes_before))
    return due


def reminder_notify(*, member: Member, event: Event, occurrence_start: dt.datetime, minutes_before: int) -> None:
    """Remind one member of one occurrence, once (the caller holds the claimed delivery row), as they chose
    for reminders in the notification centre: off, in the app, or in the app and by this module's email."""
    from crm_apps.notifications import kinds
    from crm_apps.notifications.services import channel_for, notification_send

    channel = channel_for(member=member, kind=kinds.REMINDER)
    if channel == kinds.OFF:
        return
    if channel == kinds.EMAIL:
        _send_email(member, event, occurrence_start, minutes_before)
    notification_send(
        recipient=member,
        kind=kinds.REMINDER,
        module="events",
        record_id=event.pk,
        params={"record": event.subject},
        url=f"/m/events/{event.pk}/",
        dedupe_key=f"reminder:{event.pk}:{occurrence_start.isoformat()}:{minutes_before}",
        own_email=True,
    )


def _send_email(member: Member, event: Event, start: dt.datetime, minutes: int) -> None:
    tz = member.zone
    with translation.override(member.language), formats_override(member):
        mail_enqueue(
            to=[member.user.email],
            subject=translation.gettext("Reminder: %(subject)s at %(time)s")
            % {"subject": event.subject, "time": start.astimezone(tz).strftime("%Y-%m-%d %H:%M")},
            template="calendar/email/reminder.txt",
            context={"event": event, "start": start.astimezone(tz), "minutes": minutes, "member": member},
        )


def reminders_send_due(*, now: dt.datetime | None = None) -> int:
    """Deliver this tenant's due reminders (events and tasks) by email and in the app, each exactly once."""
    now = now or timezone.now()
    sent = task_reminders_send_due(now=now)
    for event, start, minutes in reminders_due(now=now):
        for member in _recipients(event):
            with transaction.atomic():
                _, created = _claim_row(event, start, minutes, member)
                if not created:
                    continue
                reminder_notify(member=member, event=event, occurrence_start=start, minutes_before=minutes)
                sent += 1
    return sent


def _claim_row(event: Event, start: dt.datetime, minutes: int, member: Member) -> tuple[Any, bool]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: (row id or None, whether this call created it)."""
    from django.db import connection

    table = ReminderDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, occurrence_start, minutes_before, member_id, channel, sent_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [event.pk, start, minutes, member.pk, ReminderDelivery.Channel.EMAIL, timezone.now()],
        )
        row = cursor.fetchone()
    return (row[0] if row else None), row is not None


# --- tasks -----------------------------------------------------------------------------------------

TASK_REMINDABLE = (Task.Status.NOT_STARTED, Task.Status.IN_PROGRESS)


def task_reminders_due(*, now: dt.datetime) -> list[tuple[Task, dt.datetime, int]]:
    """(task, due moment, minutes before) of every task reminder whose moment is in (now - GRACE, now]."""
    longest = TaskReminder.objects.aggregate(m=Max("minutes_before"))["m"]
    if longest is None:
        return []
    # Due dates are local to the owner: a day of slack either side covers every time zone.
    first = (now - GRACE - dt.timedelta(days=1)).date()
    last = (now + dt.timedelta(minutes=longest) + dt.timedelta(days=1)).date()
    tasks = (
        Task.objects.filter(
            deleted_at__isnull=True,
            status__in=TASK_REMINDABLE,
            reminders__isnull=False,
            owner__active=True,
            due_date__gte=first,
            due_date__lte=last,
        )
        .distinct()
        .select_related("owner__user")
        .prefetch_related("reminders")
    )
    due = []
    for task in tasks:
        assert task.owner is not None
        moment = task.remind_at(task.owner.zone).astimezone(dt.UTC)
        for reminder in task.reminders.all():
            if now - GRACE < moment - dt.timedelta(minutes=reminder.minutes_before) <= now:
                due.append((task, moment, reminder.minutes_before))
    return due


def task_reminder_notify(*, member: Member, task: Task, due_at: dt.datetime, minutes_before: int) -> None:
    """Remind the owner of a task once (the caller holds the claim), following their "Reminders" choice."""
    from crm_apps.notifications import kinds
    from crm_apps.notifications.services import channel_for, notification_send

    channel = channel_for(member=member, kind=kinds.REMINDER)
    if channel == kinds.OFF:
        return
    if channel == kinds.EMAIL:
        tz = member.zone
        with translation.override(member.language), formats_override(member):
            mail_enqueue(
                to=[member.user.email],
                subject=translation.gettext("Task due: %(subject)s at %(time)s")
                % {"subject": task.subject, "time": due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")},
                template="calendar/email/task_reminder.txt",
                context={"task": task, "due": due_at.astimezone(tz), "minutes": minutes_before, "member": member},
            )
    notification_send(
        recipient=member,
        kind=kinds.REMINDER,
        module="tasks",
        record_id=task.pk,
        params={"record": task.subject},
        url=f"/m/tasks/{task.pk}/",
        dedupe_key=f"task-reminder:{task.pk}:{due_at.isoformat()}:{minutes_before}",
        own_email=True,
    )


def task_reminders_send_due(*, now: dt.datetime | None = None) -> int:
    """Deliver this tenant's due task reminders, each exactly once (the claim is a unique row)."""
    from django.db import connection

    now = now or timezone.now()
    table = TaskReminderDelivery._meta.db_table
    sent = 0
    for task, due_at, minutes in task_reminders_due(now=now):
        owner = task.owner
        assert owner is not None
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} (task_id, due_at, minutes_before, member_id, sent_at) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
                    [task.pk, due_at, minutes, owner.pk, timezone.now()],
                )
                if cursor.fetchone() is None:
                    continue
            task_reminder_notify(member=owner, task=task, due_at=due_at, minutes_before=minutes)
            sent += 1
    return sent
