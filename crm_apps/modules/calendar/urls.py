from django.urls import path

from crm_apps.modules.calendar import form_views, views

app_name = "calendar"

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/team/", views.team, name="team"),
    path("calendar/tasks/", views.my_tasks, name="my_tasks"),
    path("calendar/recurrence/", form_views.recurrence_summary, name="recurrence_summary"),
    path("calendar/events/<uuid:record_id>.ics", views.event_ics, name="event_ics"),
    path("calendar/feed/<str:token>.ics", views.feed, name="feed"),
    path("calendar/events/<uuid:record_id>/respond/", views.event_respond, name="event_respond"),
    path("calendar/invitations/<str:token>/", views.invitation_answer, name="invitation_answer"),
    path("calendar/tasks/<uuid:record_id>/complete/", views.task_complete, name="task_complete"),
    # The event and task forms with invitees, reminders, related record and recurrence: these paths are
    # the generic `engine:create` / `engine:edit` ones, served here (this URLconf is included first).
    path("m/events/new/", form_views.event_create_view, name="event_create"),
    path("m/events/<uuid:record_id>/edit/", form_views.event_edit_view, name="event_edit"),
    path("m/tasks/new/", form_views.task_create_view, name="task_create"),
    path("m/tasks/<uuid:record_id>/edit/", form_views.task_edit_view, name="task_edit"),
]
