"""The calendar's API routes, included under /api/v1/ (ModuleSpec.api_urls) before the generic ones."""

from django.urls import path

from crm_apps.modules.calendar import api

urlpatterns = [
    path("events/", api.EventListView.as_view(), {"module": "events"}, name="api-events"),
    path("events/<uuid:record_id>/", api.EventDetailView.as_view(), {"module": "events"}, name="api-event"),
    path("events/<uuid:record_id>/ics", api.EventIcsView.as_view(), {"module": "events"}, name="api-event-ics"),
    path(
        "events/<uuid:record_id>/respond",
        api.EventRespondView.as_view(),
        {"module": "events"},
        name="api-event-respond",
    ),
    path("tasks/", api.TaskListView.as_view(), {"module": "tasks"}, name="api-tasks"),
    path("tasks/mine", api.MyOpenTasksView.as_view(), {"module": "tasks"}, name="api-tasks-mine"),
    path("tasks/<uuid:record_id>/", api.TaskDetailView.as_view(), {"module": "tasks"}, name="api-task"),
    path(
        "tasks/<uuid:record_id>/complete", api.TaskCompleteView.as_view(), {"module": "tasks"}, name="api-task-complete"
    ),
    path("me/calendar-feed", api.CalendarFeedView.as_view(), name="api-calendar-feed"),
]
