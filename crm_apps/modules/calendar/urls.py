from django.urls import path

from crm_apps.modules.calendar import views

app_name = "calendar"

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/team/", views.team, name="team"),
    path("calendar/tasks/", views.my_tasks, name="my_tasks"),
    path("calendar/events/<uuid:record_id>.ics", views.event_ics, name="event_ics"),
    path("calendar/feed/<str:token>.ics", views.feed, name="feed"),
]
