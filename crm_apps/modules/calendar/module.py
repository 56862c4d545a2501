"""The Events and Tasks modules (vtiger's Events and Calendar to-dos) and their extension points."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine import extensions
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Action, Block, HomeWidget, Menu, ModuleHooks, ModuleSpec, Panel, RowFlag
from crm_apps.modules.calendar.home import my_events_widget, my_invitations_widget, my_tasks_widget
from crm_apps.modules.calendar.invitations import invitation_row_actions
from crm_apps.modules.calendar.models import Event, Task
from crm_apps.modules.calendar.panels import ACTIVITIES_PANEL, event_panel, task_panel
from crm_apps.modules.calendar.recurrence import normalize_rrule
from crm_apps.modules.calendar.sample import events_sample, tasks_sample
from crm_apps.notifications import kinds as notification_kinds


def _event_before_save(event: Event) -> None:
    """The RRULE is stored in canonical form (it was validated by the field)."""
    event.rrule = normalize_rrule(event.rrule)


def _related_to_field() -> Any:
    from rest_framework import serializers

    return serializers.DictField(
        child=serializers.CharField(),
        allow_null=True,
        required=False,
        help_text='The record it is about: {"module": "deals", "id": "<uuid>"} (null: none).',
    )


def _common_api_fields() -> dict[str, Any]:
    from rest_framework import serializers

    return {
        "related_to": _related_to_field(),
        "contacts": serializers.ListField(
            child=serializers.UUIDField(), required=False, help_text="Ids of the contacts it involves."
        ),
        "reminders": serializers.ListField(
            child=serializers.IntegerField(min_value=0),
            required=False,
            help_text="Minutes before the start (events) or the due time (tasks), e.g. [15, 1440].",
        ),
        "uid": serializers.CharField(read_only=True, help_text="The iCalendar UID (CalDAV)."),
    }


def _event_api_fields() -> dict[str, Any]:
    from rest_framework import serializers

    return {
        **_common_api_fields(),
        "invitees": serializers.ListField(
            child=serializers.IntegerField(),
            required=False,
            help_text=(
                'Member ids to invite. Read back as [{"member": id, "response": "accepted"|'
                '"declined"|"tentative"|"needs_action"}].'
            ),
        ),
        "exdates": serializers.ListField(
            child=serializers.DateTimeField(), read_only=True, help_text="Occurrences removed from the series."
        ),
        "recurrence_parent": serializers.UUIDField(
            read_only=True, allow_null=True, help_text="The series this changed occurrence belongs to."
        ),
        "recurrence_id": serializers.DateTimeField(
            read_only=True, allow_null=True, help_text="The original start of this changed occurrence."
        ),
        "ics_url": serializers.CharField(read_only=True, help_text="The event as an .ics file."),
        "occurrence": serializers.DateTimeField(
            required=False, write_only=True, help_text="PATCH: the start of the occurrence to change."
        ),
        "scope": serializers.ChoiceField(
            choices=["this", "following", "all"],
            required=False,
            write_only=True,
            help_text="PATCH of a series: this occurrence, this and the following ones, or all.",
        ),
    }


def _task_row_flags(task: Any) -> list[RowFlag]:
    return [RowFlag(key="overdue", label=_("Overdue"), tone="danger")] if task.is_overdue() else []


def _task_api_fields() -> dict[str, Any]:
    from rest_framework import serializers

    return {
        **_common_api_fields(),
        "overdue": serializers.BooleanField(read_only=True, help_text="Open and past its due date/time."),
    }


EVENTS = register(
    ModuleSpec(
        key="events",
        vtiger_module="Events",
        vtiger_fields={
            "subject": "subject",
            "activity_type": "activitytype",
            "start": "date_start",
            "end": "due_date",
            "all_day": "allday",
            "time_zone": "time_zone",
            "location": "location",
            "status": "eventstatus",
            "rrule": "recurringtype",
            "description": "description",
        },
        model=Event,
        label=_("Event"),
        label_plural=_("Events"),
        icon="calendar",
        number_prefix="EVT",
        title_fields=("subject",),
        example={
            "subject": "Kick-off with Globex",
            "activity_type": "meeting",
            "start": "2027-03-01T08:00:00+00:00",
            "end": "2027-03-01T09:00:00+00:00",
            "time_zone": "Europe/Berlin",
            "location": "Room 4",
        },
        blocks=(
            Block(
                "main",
                _("Event"),
                ("subject", "activity_type", "status", "start", "end", "all_day", "time_zone", "location", "rrule"),
            ),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("subject", "activity_type", "start", "end", "status", "owner"),
        search_fields=("subject", "location"),
        filter_fields=("activity_type", "status", "start"),
        default_ordering=("-start",),
        hooks=ModuleHooks(before_save=_event_before_save),  # type: ignore[arg-type]
        menu=Menu(group="tools", position=10),
        urls="crm_apps.modules.calendar.urls",
        api_urls="crm_apps.modules.calendar.api_urls",
        panels=(Panel(key="event", template="calendar/_event_panel.html", context=event_panel, slot="side"),),
        record_actions=(Action(key="ics", label=_("Download .ics"), url_name="calendar:event_ics", requires="view"),),
        list_actions=(Action(key="calendar", label=_("Calendar"), url_name="calendar:calendar", requires="view"),),
        home_widgets=(
            HomeWidget(
                key="mine",
                title=_("My events today and tomorrow"),
                template="calendar/_home_events.html",
                context=my_events_widget,
                position=20,
            ),
            HomeWidget(
                key="invitations",
                title=_("Invitations to answer"),
                template="calendar/_home_invitations.html",
                context=my_invitations_widget,
                position=21,
            ),
        ),
        sample_data=events_sample,
        sample_data_after=("deals", "contacts"),
        api_extra_fields=_event_api_fields,
    )
)

TASKS = register(
    ModuleSpec(
        key="tasks",
        vtiger_module="Calendar",
        vtiger_fields={
            "subject": "subject",
            "due_date": "due_date",
            "due_time": "time_end",
            "status": "taskstatus",
            "priority": "taskpriority",
            "description": "description",
            "completed_at": "completed_at",
        },
        model=Task,
        label=_("Task"),
        label_plural=_("Tasks"),
        icon="check",
        number_prefix="TSK",
        title_fields=("subject",),
        example={"subject": "Send the proposal", "due_date": "2027-03-05", "status": "not_started", "priority": "high"},
        blocks=(
            Block("main", _("Task"), ("subject", "due_date", "due_time", "status", "priority", "completed_at")),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("subject", "due_date", "status", "priority", "owner"),
        search_fields=("subject",),
        filter_fields=("status", "priority", "due_date"),
        readonly_fields=("completed_at",),
        default_ordering=("due_date",),
        menu=Menu(group="tools", position=11),
        panels=(Panel(key="task", template="calendar/_task_panel.html", context=task_panel, slot="top"),),
        list_actions=(Action(key="my_tasks", label=_("My open tasks"), url_name="calendar:my_tasks", requires="view"),),
        home_widgets=(
            HomeWidget(
                key="due",
                title=_("My tasks due"),
                template="calendar/_home_tasks.html",
                context=my_tasks_widget,
                position=30,
            ),
        ),
        sample_data=tasks_sample,
        sample_data_after=("deals",),
        api_extra_fields=_task_api_fields,
        row_flags=_task_row_flags,
        row_flag_fields=("status", "due_date", "due_time"),
    )
)

route_scopes_register("api-events", read=["events:read"], write=["events:write"])
route_scopes_register("api-event", read=["events:read"], write=["events:write"])
route_scopes_register("api-event-ics", read=["events:read"])
route_scopes_register("api-event-respond", write=["events:write"])
route_scopes_register("api-tasks", read=["tasks:read"], write=["tasks:write"])
route_scopes_register("api-task", read=["tasks:read"], write=["tasks:write"])
route_scopes_register("api-task-complete", write=["tasks:write"])
route_scopes_register("api-tasks-mine", read=["tasks:read"])

# The "upcoming / history" panel on the record page of every other module (the sales modules, calls,
# documents, custom modules...): activities may be related to a record of any module.
extensions.record_panel_add(ACTIVITIES_PANEL, applies=lambda spec: spec.key not in {"events", "tasks"})

# The organiser hears each invitee's answer (in the app by default; by email if they choose).
notification_kinds.kind_register(
    notification_kinds.Kind(
        key="invitation_answer",
        label=_("Answers to your invitations"),
        title=_("%(actor)s answered “%(answer)s” to %(record)s"),
        default=notification_kinds.INAPP,
        description=_("An invitee accepts, declines or answers “maybe” to an event you organise."),
    )
)

# Accept / Maybe / Decline on invitations in the notification centre and the home page's notifications.
notification_kinds.row_actions_register(
    notification_kinds.INVITATION,
    notification_kinds.RowActions(template="calendar/_notification_answer.html", context=invitation_row_actions),
)
