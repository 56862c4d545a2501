"""The audit screen of tenant admins; included under `settings/audit/`."""

from django.urls import path

from crm_apps.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.events, name="events"),
    path("export.csv", views.export, name="export"),
    path("retention/", views.retention, name="retention"),
]
