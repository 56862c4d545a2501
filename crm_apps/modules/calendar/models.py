"""Events and tasks (vtiger's Events and Calendar/To-do modules) and the rows hanging off them.

vtiger names (for imports and the API reference): Events.subject -> subject, activitytype -> activity_type,
date_start + time_start -> start, due_date + time_end -> end, eventstatus -> status, location, description,
recurringtype -> rrule, reminder_time -> reminders, parent_id -> related_to, contact_id -> contacts;
Calendar (to-do): subject, due_date, time_end -> due_time, taskstatus -> status, taskpriority -> priority.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord, RecordLink
from crm_apps.modules.calendar.recurrence import validate_rrule
from saas.timezones import time_zone_names


def validate_time_zone(value: str) -> None:
    if value not in time_zone_names():
        raise ValidationError(_("Enter a valid time zone, such as Europe/Berlin."))


def new_uid() -> str:
    return f"{uuid.uuid4()}@crm"


# Starts outside these years are typing slips (0001, 20277) and would make a series expand for ages.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
# A task without a due time is reminded counting back from this time of its due day (owner's zone).
REMIND_DATE_ONLY_AT = dt.time(9, 0)


class Event(CrmRecord):
    """A meeting, call or other appointment; `rrule` (RFC 5545) makes it a series."""

    class Type(models.TextChoices):
        MEETING = "meeting", _("Meeting")
        CALL = "call", _("Call")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        HELD = "held", _("Held")
        NOT_HELD = "not_held", _("Not held")

    subject = models.CharField(_("subject"), max_length=255)
    activity_type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.MEETING)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    all_day = models.BooleanField(_("all day"), default=False)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_time_zone])
    location = models.CharField(_("location"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PLANNED)
    rrule = models.CharField(_("recurrence"), max_length=500, blank=True, validators=[validate_rrule])
    description = models.TextField(_("description"), blank=True, max_length=20_000)
    # Occurrence starts (UTC) left out of the series: deleted or replaced by an exception event.
    exdates = ArrayField(models.DateTimeField(), default=list, blank=True, editable=False)
    # An exception ("this occurrence" edited) or a split-off series points at the series it came from;
    # `recurrence_id` is the original start of the occurrence an exception replaces (iCalendar RECURRENCE-ID).
    recurrence_parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    recurrence_id = models.DateTimeField(null=True, blank=True, editable=False)
    uid = models.CharField(max_length=255, unique=True, default=new_uid, editable=False)
    # iCalendar SEQUENCE: bumped when the time changes, so invitees' clients replace their copy.
    sequence = models.PositiveIntegerField(default=0, editable=False)

    class Meta(CrmRecord.Meta):
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["subject"], name="event_subject_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["start", "id"], name="event_start"),
            models.Index(fields=["owner", "start"], name="event_owner_start"),
        ]
        constraints = [
            *CrmRecord.Meta.constraints,
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="event_end_after_start"),
        ]

    def clean(self) -> None:
        super().clean()
        if self.start and not (EARLIEST_YEAR <= self.start.year <= LATEST_YEAR):
            raise ValidationError(
                {
                    "start": [
                        _("The start must be between the years %(first)s and %(last)s.")
                        % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
                    ]
                }
            )
        if self.start and self.end and self.end < self.start:
            raise ValidationError({"end": [_("The end must not be before the start.")]})
        if self.rrule and self.start and "UNTIL=" in self.rrule.upper():
            from crm_apps.modules.calendar.recurrence import rrule_until

            until = rrule_until(self.rrule)
            if until is not None and until < self.start:
                raise ValidationError({"rrule": [_("The series ends before its first occurrence.")]})

    @property
    def duration(self) -> dt.timedelta:
        return self.end - self.start


class Task(CrmRecord):
    """A to-do with a due date; completing it can schedule a follow-up."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        DEFERRED = "deferred", _("Deferred")

    class Priority(models.TextChoices):
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    OPEN_STATUSES = (Status.NOT_STARTED, Status.IN_PROGRESS, Status.DEFERRED)

    subject = models.CharField(_("subject"), max_length=255)
    due_date = models.DateField(_("due date"), default=timezone.localdate)
    due_time = models.TimeField(_("due time"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    description = models.TextField(_("description"), blank=True, max_length=20_000)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    uid = models.CharField(max_length=255, unique=True, default=new_uid, editable=False)

    class Meta(CrmRecord.Meta):
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["subject"], name="task_subject_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["owner", "status", "due_date"], name="task_owner_open"),
        ]

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def due_at(self, tz: zoneinfo.ZoneInfo) -> dt.datetime:
        """The moment the task is due: its due time (end of day without one) in `tz`."""
        time = self.due_time or dt.time.max
        return dt.datetime.combine(self.due_date, time, tzinfo=tz)

    def remind_at(self, tz: zoneinfo.ZoneInfo) -> dt.datetime:
        """The moment task reminders count back from: the due time, or 09:00 of a date-only task."""
        return dt.datetime.combine(self.due_date, self.due_time or REMIND_DATE_ONLY_AT, tzinfo=tz)

    def is_overdue(self, *, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.is_open and self.due_at(zoneinfo.ZoneInfo(timezone.get_current_timezone_name())) < now


class ActivityLink(RecordLink):
    """An event or task is about a record of any module (`related`) or involves a contact (`contact`).
    A RecordLink: merged records move their activities, purged ones drop them, visibility follows."""

    class Role(models.TextChoices):
        RELATED = "related", _("Related to")
        CONTACT = "contact", _("Contact")

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.RELATED)

    class Meta(RecordLink.Meta):
        abstract = True

    def __str__(self) -> str:
        return f"{self.role} {self.module}:{self.record_id}"


class EventLink(ActivityLink):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="links")

    class Meta(ActivityLink.Meta):
        constraints = [models.UniqueConstraint("event", "module", "record_id", name="eventlink_unique")]


class TaskLink(ActivityLink):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="links")

    class Meta(ActivityLink.Meta):
        constraints = [models.UniqueConstraint("task", "module", "record_id", name="tasklink_unique")]


class EventInvitee(models.Model):
    """A member invited to an event, with their answer."""

    class Response(models.TextChoices):
        NEEDS_ACTION = "needs_action", _("No answer yet")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        TENTATIVE = "tentative", _("Tentative")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitees")
    member = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    response = models.CharField(max_length=20, choices=Response.choices, default=Response.NEEDS_ACTION)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("event", "member", name="eventinvitee_unique")]
        indexes = [models.Index(fields=["member"], name="eventinvitee_member")]

    def __str__(self) -> str:
        return f"{self.member_id} -> {self.event_id}"


class EventReminder(models.Model):
    """Remind the owner and invitees `minutes_before` each occurrence starts."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="reminders")
    minutes_before = models.PositiveIntegerField()

    class Meta:
        ordering = ["minutes_before"]
        constraints = [models.UniqueConstraint("event", "minutes_before", name="eventreminder_unique")]

    def __str__(self) -> str:
        return f"{self.minutes_before} min before {self.event_id}"


class ReminderDelivery(models.Model):
    """One reminder sent (or claimed for sending) to one member: the unique row makes it exactly once.
    Keyed by the occurrence's start, so a moved event is reminded again at its new time."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        IN_APP = "in_app", _("In-app")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    occurrence_start = models.DateTimeField()
    minutes_before = models.PositiveIntegerField()
    member = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "event", "occurrence_start", "minutes_before", "member", "channel", name="reminderdelivery_once"
            )
        ]

    def __str__(self) -> str:
        return f"reminder {self.event_id} {self.occurrence_start:%Y-%m-%d %H:%M} -> {self.member_id}"


class TaskReminder(models.Model):
    """Remind a task's owner `minutes_before` it is due (its due time, or 09:00 of a date-only task,
    in the owner's time zone)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reminders")
    minutes_before = models.PositiveIntegerField()

    class Meta:
        ordering = ["minutes_before"]
        constraints = [models.UniqueConstraint("task", "minutes_before", name="taskreminder_unique")]

    def __str__(self) -> str:
        return f"{self.minutes_before} min before {self.task_id} is due"


class TaskReminderDelivery(models.Model):
    """One task reminder sent (or claimed) to one member: the unique row makes it exactly once. Keyed
    by the due moment, so a task whose due time moves is reminded again at its new time."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    minutes_before = models.PositiveIntegerField()
    member = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint("task", "due_at", "minutes_before", "member", name="taskreminderdelivery_once")
        ]

    def __str__(self) -> str:
        return f"task reminder {self.task_id} {self.due_at:%Y-%m-%d %H:%M} -> {self.member_id}"


class CalendarFeed(models.Model):
    """A member's secret iCalendar feed: only the SHA-256 of the secret is stored."""

    member = models.OneToOneField("access.Member", on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"calendar feed of {self.member_id}"
