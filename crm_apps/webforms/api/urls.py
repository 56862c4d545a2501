"""/api/v1/ routes of web forms (included by saas/urls_tenant.py before the engine's routes)."""

from django.urls import path

from crm_apps.webforms.api import views

urlpatterns = [
    path("webforms/", views.WebFormListView.as_view(), name="api-webforms"),
    path("webforms/<int:form_id>", views.WebFormDetailView.as_view(), name="api-webform"),
    path("webforms/<int:form_id>/submissions", views.SubmissionListView.as_view(), name="api-webform-submissions"),
    path("webforms/<int:form_id>/stats", views.StatsView.as_view(), name="api-webform-stats"),
]
