from django.urls import path

from crm_apps.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list_view, name="list"),
    path("bell/", views.bell, name="bell"),
    path("read-all/", views.notification_read_all_view, name="read_all"),
    path("preferences/", views.preferences_view, name="preferences"),
    path("<int:notification_id>/read/", views.notification_read_view, name="read"),
]
